package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/campaign"
	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/fakeapi"
)

// The test binary is the command when MENSATEK_TEST_RUN_MAIN is set: tests run it as a child
// process, to kill it or to measure its memory apart from the test's.
func init() {
	if os.Getenv("MENSATEK_TEST_RUN_MAIN") == "1" {
		main()
	}
}

// child returns the command line args run as a child process against the fake at baseURL.
func child(ctx context.Context, baseURL string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{args[0], "--base-url", baseURL}, args[1:]...)...)
	cmd.Env = append(os.Environ(), "MENSATEK_TEST_RUN_MAIN=1", "MENSATEK_API_USER=user", "MENSATEK_API_TOKEN=token")
	return cmd
}

// writeBigCSV writes n valid rows of customer_welcome to a new file.
func writeBigCSV(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "customers.csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, csvHeader)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "346%08d,Name %d,https://example.com/banner.jpg,https://example.com/offer/%d\n", i, i, i)
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
	return path
}

// campaignRSS sends n rows in batches of 100 with the command as a child process and returns
// its max RSS in bytes.
func campaignRSS(t *testing.T, n int) int64 {
	t.Helper()
	srv := fakeapi.New()
	defer srv.Close()
	path := writeBigCSV(t, n)
	var stdout, stderr bytes.Buffer
	cmd := child(context.Background(), srv.BaseURL(), "campaign", "--template", "customer_welcome", "--csv", path, "--batch", "100", "--json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stderr: %.2000s", stderr.String())
	var sum campaign.Summary
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &sum))
	assert.Equal(t, fmt.Sprintf("2-%d", n+1), sum.Sent.String())
	_, recipients := srv.Sends()
	assert.Equal(t, n, recipients)
	assert.Less(t, stdout.Len(), 1000, "the summary does not grow with the rows")
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Skip("no rusage on this system")
	}
	return ru.Maxrss * 1024 // kilobytes on Linux
}

// A campaign's memory does not grow with its rows: 80,000 rows take about what 10,000 take,
// both well under the 150 MB that a million may take. MENSATEK_SCALE_ROWS=1000000 measures a
// million (a minute or two):
//
//	MENSATEK_SCALE_ROWS=1000000 go test -run TestCampaignScale -v ./cmd/mensatek
func TestCampaignScale(t *testing.T) {
	switch {
	case testing.Short():
		t.Skip("sends 90,000 rows")
	case raceEnabled:
		t.Skip("the race detector multiplies the memory measured")
	}
	large := 80_000
	if v := os.Getenv("MENSATEK_SCALE_ROWS"); v != "" {
		var err error
		large, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	small := campaignRSS(t, 10_000)
	big := campaignRSS(t, large)
	t.Logf("max RSS: %.1f MB for 10,000 rows, %.1f MB for %d rows", float64(small)/1e6, float64(big)/1e6, large)
	assert.Less(t, big, int64(150e6), "max RSS for %d rows", large)
	if large <= 100_000 {
		// The rows cost a few dozen bytes each (a bit a row and set, a number a phone); before
		// the campaign streamed, 70,000 more rows cost about 110 MB.
		assert.Less(t, big-small, int64(16e6), "max RSS grew from %d to %d bytes", small, big)
	}
}

// Killed with --parallel 4 while four batches wait for their replies, a campaign leaves exactly
// those rows pending, and --resume sends every other row once and none of them.
func TestCampaignKilledWithBatchesInFlight(t *testing.T) {
	srv := fakeapi.New()
	defer srv.Close()
	srv.Gate = make(chan struct{}) // never opened: the batches stay in flight
	srv.Arrived = make(chan struct{}, 100)
	path := goodCSV(t, 60)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := child(ctx, srv.BaseURL(), "campaign", "--template", "customer_welcome", "--csv", path, "--batch", "5", "--parallel", "4")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	for range 4 {
		select {
		case <-srv.Arrived:
		case <-ctx.Done():
			t.Fatalf("4 batches did not arrive: %s", stderr.String())
		}
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL: no chance to record anything more
	_ = cmd.Wait()
	assert.Empty(t, srv.Arrived, "no fifth batch left")

	st, _ := statuses(t, resultsOf(path))
	pending := 0
	for row, s := range st {
		assert.Equal(t, campaign.StatusPending, s, "row %d", row)
		pending++
	}
	assert.Equal(t, 20, pending, "the four batches in flight, recorded before they left")

	srv2 := fakeapi.New()
	defer srv2.Close()
	srv2.Record = true
	h := newHarness(t, map[string]string{"MENSATEK_API_USER": "user", "MENSATEK_API_TOKEN": "token"})
	r := h.run(context.Background(), "campaign", "--base-url", srv2.BaseURL(), "--template", "customer_welcome",
		"--csv", path, "--batch", "5", "--parallel", "4", "--resume", resultsOf(path), "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var sum campaign.Summary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum))
	assert.Equal(t, 20, sum.WasUnknown.Len())
	assert.Equal(t, 40, sum.Sent.Len())
	sent := map[string]bool{}
	for _, p := range srv2.Phones() {
		assert.False(t, sent[p], "%s sent twice", p)
		sent[p] = true
	}
	assert.Len(t, sent, 40)
	sum.WasUnknown.Each(func(row int) bool {
		assert.False(t, sent[phone(row-1)], "row %d, pending when the run was killed, was sent again", row)
		return true
	})
}

// What an .xlsx workbook of MENSATEK_SCALE_XLSX_ROWS rows costs to send, written as Excel
// writes it: every text in the shared strings table, phones as numbers. excelize keeps the
// compressed file and the shared strings in memory; the sheet is streamed.
//
//	MENSATEK_SCALE_XLSX_ROWS=1000000 go test -run TestCampaignScaleXLSX -v -timeout 30m ./cmd/mensatek
func TestCampaignScaleXLSX(t *testing.T) {
	v := os.Getenv("MENSATEK_SCALE_XLSX_ROWS")
	if v == "" {
		t.Skip("set MENSATEK_SCALE_XLSX_ROWS to measure")
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "customers.xlsx")
	writeSharedStringsXLSX(t, path, n)
	st, err := os.Stat(path)
	require.NoError(t, err)

	srv := fakeapi.New()
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	cmd := child(context.Background(), srv.BaseURL(), "campaign", "--template", "customer_welcome", path, "--batch", "100", "--json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	require.NoError(t, cmd.Run(), "stderr: %.2000s", stderr.String())
	var sum campaign.Summary
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &sum))
	assert.Equal(t, n, sum.Sent.Len())
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	t.Logf("%d rows, %.1f MB .xlsx: max RSS %.1f MB, %s", n, float64(st.Size())/1e6, float64(ru.Maxrss)*1024/1e6, time.Since(start).Round(time.Second))
}

// writeSharedStringsXLSX writes a workbook of n rows of customer_welcome as Excel saves one.
func writeSharedStringsXLSX(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	z := zip.NewWriter(f)
	part := func(name, content string) {
		w, err := z.Create(name)
		require.NoError(t, err)
		_, err = io.WriteString(w, content)
		require.NoError(t, err)
	}
	const ns = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	const rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	part("[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`)
	part("_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="`+rel+`/officeDocument" Target="xl/workbook.xml"/></Relationships>`)
	part("xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook `+ns+` xmlns:r="`+rel+`"><sheets><sheet name="Clientes" sheetId="1" r:id="rId1"/></sheets></workbook>`)
	part("xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="`+rel+`/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="`+rel+`/sharedStrings" Target="sharedStrings.xml"/></Relationships>`)

	// Strings 0-3: the header; 4: the banner; then a name and an offer URL per row.
	w, err := z.Create("xl/sharedStrings.xml")
	require.NoError(t, err)
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst %s count="%d" uniqueCount="%d">`, ns, 3*n+4, 2*n+5)
	for _, s := range []string{"Teléfono", "Nombre", "Variable_Cabecera_image", "Valor-URL-Boton-0", "https://example.com/banner.jpg"} {
		fmt.Fprintf(bw, "<si><t>%s</t></si>", s)
	}
	for i := 1; i <= n; i++ {
		fmt.Fprintf(bw, "<si><t>Name %d</t></si><si><t>https://example.com/offer/%d</t></si>", i, i)
	}
	bw.WriteString("</sst>")
	require.NoError(t, bw.Flush())

	w, err = z.Create("xl/worksheets/sheet1.xml")
	require.NoError(t, err)
	bw = bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet %s><sheetData>`, ns)
	bw.WriteString(`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c></row>`)
	for i := 1; i <= n; i++ {
		r := i + 1
		fmt.Fprintf(bw, `<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d" t="s"><v>%d</v></c><c r="C%d" t="s"><v>4</v></c><c r="D%d" t="s"><v>%d</v></c></row>`,
			r, r, 34600000000+i, r, 3+2*i, r, r, 4+2*i)
	}
	bw.WriteString("</sheetData></worksheet>")
	require.NoError(t, bw.Flush())
	require.NoError(t, z.Close())
}
