package mensatek

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBase64DownloadMemory checks that a 100 MB file sent in base64 inside a JSON reply streams
// like a binary one: the bytes the process allocates while DownloadMediaTo runs (an upper bound
// of the heap's growth, server included) stay under 4 MiB. It counts bytes, not time.
func TestBase64DownloadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 100 MB")
	}
	raw := pseudoRandom(3 << 14) // 48 KiB: its base64 has no padding, so copies concatenate
	chunk := []byte(base64.StdEncoding.EncodeToString(raw))
	const copies = 2048 // 96 MiB, 100.7 MB
	want := sha256.New()
	for range copies {
		want.Write(raw)
	}
	fx := setup(t)
	fx.handle("DescargarMultimediaWhatsapp", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[{"Res":"1","Cred":"12000","Mimetype":"video/mp4","Contenido":"`)
		for range copies {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		io.WriteString(w, `","NombreArchivo":"video.mp4"}]`)
	})
	got := sha256.New()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	info, err := fx.client.DownloadMediaTo(context.Background(), 1, "34600000001", got)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.Equal(t, MediaInfo{ContentType: "video/mp4", Filename: "video.mp4", Size: copies * int64(len(raw))}, *info)
	assert.Equal(t, want.Sum(nil), got.Sum(nil))
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("decoded %d MiB of base64 allocating %d KiB", copies*len(raw)>>20, allocated>>10)
	assert.LessOrEqual(t, allocated, uint64(4<<20), "a 100 MB base64 download must add at most 4 MiB to the heap")
}

// A base64 reply whose connection breaks is a transport failure, not a malformed reply, and
// what reached the writer is not reported as a file.
func TestDownloadMediaBase64Cut(t *testing.T) {
	t.Parallel()
	b64 := base64.StdEncoding.EncodeToString(pseudoRandom(300 << 10))
	fx := setup(t)
	fx.handle("DescargarMultimediaWhatsapp", func(w http.ResponseWriter, r *http.Request) {
		body := `{"Res":"1","Contenido":"` + b64 + `"}`
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		io.WriteString(w, body[:len(body)/2]) // then the handler returns: the connection is cut
	})
	var buf bytes.Buffer
	info, err := fx.client.DownloadMediaTo(context.Background(), 1, "34600000001", &buf)
	require.Error(t, err)
	assert.Nil(t, info)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Contains(t, err.Error(), "download cut after")
	var re *ResponseError
	assert.False(t, errors.As(err, &re), "a cut body is not a malformed reply: %v", err)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)

	m, err := fx.client.DownloadMedia(context.Background(), 1, "34600000001")
	require.Error(t, err)
	assert.Nil(t, m)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

// The writer's own error comes back as it is.
func TestDownloadMediaBase64WriterFails(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.handle("DescargarMultimediaWhatsapp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"Res":"1","Contenido":"`+base64.StdEncoding.EncodeToString(pseudoRandom(300<<10))+`"}`)
	})
	diskFull := errors.New("disk full")
	_, err := fx.client.DownloadMediaTo(context.Background(), 1, "34600000001", failingWriter{diskFull})
	assert.ErrorIs(t, err, diskFull)
	var re *ResponseError
	assert.False(t, errors.As(err, &re))
}

// oldBase64Decode is how the file of a JSON reply was decoded before it was streamed: the whole
// text, white space removed, tried in the four alphabets. The streaming decoder must accept
// exactly what it accepted, and give the same bytes.
func oldBase64Decode(content string) ([]byte, error) {
	content = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, content)
	var data []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if data, err = enc.DecodeString(content); err == nil {
			break
		}
	}
	return data, err
}

// FuzzBase64Text checks the streaming base64 decoder against oldBase64Decode, fed in pieces.
func FuzzBase64Text(f *testing.F) {
	for _, seed := range []string{
		"aGk=", "aGk", "aG9sYQ==", "aG9sYQ", "+/+/", "-_-_", "+/-_", "aGk=aGk=", "a", "ab=", "aGk=\r\n",
		" a G 9\tsYQ", "YWJj", "====", "YQ=\n=", "=", "", "000=++++", "00==-_",
	} {
		f.Add(seed, uint8(3))
	}
	f.Fuzz(func(t *testing.T, text string, piece uint8) {
		want, wantErr := oldBase64Decode(text)
		var r io.Reader = strings.NewReader(text)
		if piece%2 == 1 {
			r = iotest.OneByteReader(r)
		}
		var buf bytes.Buffer
		d := &base64File{w: &buf}
		err := d.decode(nil, r)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: streaming error %v, whole-text error %v", text, err, wantErr)
		}
		if err == nil && !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("%q: streaming %x, whole text %x", text, buf.Bytes(), want)
		}
	})
}

// FuzzMediaReply reads any 2xx body as a media reply: never a panic, and never a success that
// does not match what reached the writer.
func FuzzMediaReply(f *testing.F) {
	for _, seed := range []string{
		`[{"Res":"1","Contenido":"aG9sYQ==","Mimetype":"text/plain","NombreArchivo":"../a.txt","Cred":"1"}]`,
		`{"Res":1,"Fichero":"data:image/png;base64,iVBORw0KGgo="}`, `{"Data":"aGk","Res":"1"}`,
		`{"Res":-3,"Error":"x"}`, `{"pedido":1,"lineas":[{"a":[1,2,{"b":null}]}]}`, `[1,2]`, `{"Res":"1"}`,
		`{"Res":"1","Contenido":"aGk=",}`, "\xef\xbb\xbf {\"Res\":1,\"Base64\":\"aGk=\"}", `{"Res":null,"res":1}`,
		`{"Res":"1","Contenido":"aG\u0039sYQ\u003d\u003d"}`, `{"Res":"1","Contenido":"aGk=`, ``, `<html>`,
		// Malformed replies, each a different way for the streaming reader to stop.
		`{"Res":1 "Contenido":"aGk="}`, `{"Res":1,"Contenido":"aGk="`, `{"Res":1,"Contenido":"aGk="]`, `{"Res":1,}`,
		`{"Res":tru,"Contenido":"aGk="}`, `{"Res":1,"Contenido":"aGk=\x"}`, `{"Res":1,"Contenido":"aGk=\u12"}`,
		`{"Res":1,"Contenido":"\ud83d\ude01"}`, `{"Res":1,"Extra":{"a":[1,{"b":"\"}"}]},"Contenido":"aGk="}`,
		`{"Res":1,"Extra":[[[[[[[[[[]]]]]]]]]],"Contenido":"aGk="}`, `{"Res":1,"Contenido":"aGk="} trailing`,
		`{1:2}`, `{"Res":1,"Contenido":12}`, `{"Res":1,"Contenido":null,"Data":"aGk="}`, `{"Res":-1e3,"Error":"x"}`,
		`{"Res":"1","Contenido":"data:image/png,notbase64"}`, `{"Res":"1","Contenido":"a`, `{"Res":"1","Conte`,
		`{"Res":1,"Extra":"` + strings.Repeat("x", 70<<10) + `","Contenido":"aGk="}`,
		`{"Res":1,"Contenido":"` + strings.Repeat("QUJD", 20<<10) + `"}`, `{"Res":1,"Error":"` + strings.Repeat("e", 70<<10) + `"}`,
		`{"pedido":{"lineas":[1,2,3]},"total":12.5,"ok":true,"nada":null}`, `[{"Res":"1","Contenido":"aGk="},{"Res":"2"}]`,
	} {
		f.Add("application/json", []byte(seed))
	}
	f.Add("text/plain", []byte(` {"Res":1,"Contenido":"aGk="}`))
	f.Add("", []byte(`{"a":"b"}`))
	c, err := NewClient("u", "t")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		resp := &http.Response{
			StatusCode: 200, Header: http.Header{"Content-Type": {contentType}},
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: -1,
		}
		var buf bytes.Buffer
		ex := &exchange{resp: resp, ctx: context.Background(), done: func() {}}
		info, _, cut, err := c.readMedia(ex, &buf)
		switch {
		case err == nil && info == nil:
			t.Fatal("no file and no error")
		case err == nil && info.Size != int64(buf.Len()):
			t.Fatalf("reported %d bytes, wrote %d", info.Size, buf.Len())
		case err != nil && info != nil:
			t.Fatal("a file with an error")
		case cut:
			t.Fatalf("a body read whole reported as cut: %v", err)
		}
		if err != nil {
			_ = err.Error()
		}
	})
}
