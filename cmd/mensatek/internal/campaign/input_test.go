package campaign

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/cli"
)

// readAll reads a file as a campaign does, returning its header and data rows.
func readAll(path string, opt readOptions) (*source, [][]string, error) {
	src, err := openSource(path, opt)
	if err != nil {
		return nil, nil, err
	}
	defer src.close()
	rr, err := src.open()
	if err != nil {
		return src, nil, err
	}
	defer rr.close()
	rows := [][]string{rr.header}
	for {
		r, err := rr.data()
		if errors.Is(err, io.EOF) {
			return src, rows, nil
		}
		if err != nil {
			return src, rows, err
		}
		rows = append(rows, r.cells)
	}
}

func TestReadEncodings(t *testing.T) {
	dir := t.TempDir()
	for i, c := range []struct {
		data     string
		enc      string
		cell     string
		encoding string
	}{
		{"Nombre\nJosé\n", EncodingAuto, "José", "UTF-8"},
		{"\xef\xbb\xbfNombre\nJosé\n", EncodingAuto, "José", "UTF-8 with BOM"},
		{"Nombre\r\nJos\xe9\r\n", EncodingAuto, "José", "Windows-1252"},
		{"\xff\xfeN\x00o\x00m\x00b\x00r\x00e\x00\n\x00J\x00o\x00s\x00\xe9\x00", EncodingAuto, "José", "UTF-16LE"},
		{"\xfe\xff\x00N\x00o\x00m\x00b\x00r\x00e\x00\n\x00J\x00o\x00s\x00\xe9", EncodingAuto, "José", "UTF-16BE"},
		{"N\x00o\x00m\x00b\x00r\x00e\x00\n\x00J\x00o\x00s\x00\xe9\x00", EncodingAuto, "José", "UTF-16LE"},
		{"Nombre\rJos\x8e\r", EncodingAuto, "José", "Mac Roman"},
		{"Nombre\nJos\xe9\n", EncodingUTF8, "Jos\uFFFD", "UTF-8"},
		{"Nombre\nJosé\n", EncodingWindows1252, "JosÃ©", "Windows-1252"},
		// A character cut by the end of the detection's first chunk is still UTF-8.
		{"Nombre\n" + strings.Repeat("a", 64<<10-8) + "é\n", EncodingAuto, strings.Repeat("a", 64<<10-8) + "é", "UTF-8"},
	} {
		path := filepath.Join(dir, "f.csv")
		require.NoError(t, os.WriteFile(path, []byte(c.data), 0o600))
		src, rows, err := readAll(path, readOptions{flag: "--file", encoding: c.enc})
		require.NoError(t, err, "case %d", i)
		assert.Equal(t, c.encoding, src.info.Encoding, "case %d", i)
		require.Len(t, rows, 2, "case %d", i)
		assert.Equal(t, []string{"Nombre"}, rows[0], "case %d", i)
		assert.Equal(t, []string{c.cell}, rows[1], "case %d", i)
	}
	assert.True(t, binary("a\x00b"))
	assert.False(t, binary("a\tb\r\nc"))
	sep, err := delimiter(strings.NewReader(`"a,b,c";d;e` + "\nx,y,z,w"))
	require.NoError(t, err)
	assert.Equal(t, ';', sep)
}

// lineEnds turns every line end into LF, also across its reads.
func TestLineEnds(t *testing.T) {
	for _, in := range []string{"a\r\nb\rc\nd\r", "\r\r\n\n"} {
		got, err := io.ReadAll(&lineEnds{r: bufio.NewReaderSize(&oneByte{strings.NewReader(in)}, 16)})
		require.NoError(t, err)
		assert.Equal(t, strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(in), string(got))
	}
}

// A file changed between the passes is refused: the rows sent must be the rows checked.
func TestSourceChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.csv")
	require.NoError(t, os.WriteFile(path, []byte("Telefono\n34600000001\n"), 0o600))
	src, err := openSource(path, readOptions{flag: "--file", encoding: EncodingAuto})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte("Telefono\n34600000002\n34600000003\n"), 0o600))
	_, err = src.open()
	require.ErrorContains(t, err, "changed while the campaign read it")
}

// FuzzReadRows reads any file as a campaign's recipients: never a panic, and every error fits
// on one bounded line, as the command prints it.
func FuzzReadRows(f *testing.F) {
	for _, seed := range []string{
		"Telefono,Nombre\n34600000001,Ana\n",
		"Tel\xe9fono;Nombre\r\n34600000001;Jos\xe9\r\n",
		"\xff\xfeT\x00e\x00l\x00\n\x00",
		"Telefono\tNombre\r34600000001\tAna\r",
		"\xef\xbb\xbfTelefono,\"Nom\"\"bre\"\n\"34600000001\",\"A\nna\"\n",
		"PK\x03\x04garbage", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "\x00\x01\x02", "", "Telefono\n",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.csv")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := readAll(path, readOptions{flag: "--file", encoding: EncodingAuto})
		if err != nil {
			line := cli.BoundLine(cli.OneLine(err))
			if n := utf8.RuneCountInString(line); n > cli.MaxLine+60 {
				t.Fatalf("an error line of %d characters", n)
			}
		}
	})
}

// oneByte reads one byte at a time, to cut CRLF between reads.
type oneByte struct{ r io.Reader }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}
