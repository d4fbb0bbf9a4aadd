package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/campaign"
	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/cli"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// writeEncoded writes text to a new file named name, encoded with enc (nil: as it is).
func writeEncoded(t *testing.T, name, text string, enc encoding.Encoding) string {
	t.Helper()
	data := []byte(text)
	if enc != nil {
		var err error
		data, err = enc.NewEncoder().Bytes(data)
		require.NoError(t, err)
	}
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

// spanishRows are rows of customer_welcome as a Spanish office keeps them: accented names and
// national phone numbers in several spellings.
var spanishRows = [][]string{
	{"600 123 456", "José Muñoz", "https://example.com/b.jpg", "https://example.com/o/1"},
	{"612345678", "Begoña Peña", "https://example.com/b.jpg", "https://example.com/o/2"},
	{"+34 699-000-111", "Íñigo Ærøskøbing", "https://example.com/b.jpg", "https://example.com/o/3"},
}

// spanishText joins a header and spanishRows with sep and the line end eol.
func spanishText(header, sep, eol string) string {
	lines := []string{header}
	for _, r := range spanishRows {
		lines = append(lines, strings.Join(r, sep))
	}
	return strings.Join(lines, eol) + eol
}

// assertSpanishSent checks that the fake got the three rows with their names intact and their
// phones in international form.
func assertSpanishSent(t *testing.T, srv *mensatektest.Server) {
	t.Helper()
	assert.Equal(t, []string{"34600123456", "34612345678", "34699000111"}, sentPhones(srv))
	var names []string
	for _, m := range srv.Sent() {
		for _, r := range m.To {
			names = append(names, r.Name)
			assert.Equal(t, "https://example.com/b.jpg", r.Vars["Variable_Cabecera_image"])
		}
	}
	assert.Equal(t, []string{"José Muñoz", "Begoña Peña", "Íñigo Ærøskøbing"}, names)
}

// Excel's "CSV (delimitado por comas)" on a Spanish Windows: Windows-1252, semicolons, CRLF,
// an accented header.
func TestCampaignWindows1252(t *testing.T) {
	srv, h := newFake(t)
	path := writeEncoded(t, "clientes.csv",
		spanishText("TELÉFONO;Nombre;Variable_Cabecera_image;Valor-URL-Boton-0", ";", "\r\n"), charmap.Windows1252)
	r := h.api(srv, "campaign", "--template", "customer_welcome", path, "--region", "ES")
	require.Equal(t, exitOK, r.code, r.stderr)
	assertSpanishSent(t, srv)
	assert.Contains(t, r.stdout, "Read "+path+": CSV, Windows-1252, separated by semicolons.\n")
	assert.Contains(t, r.stdout, "Sent 3 rows (rows 2-4)")

	// Forced to read it as UTF-8, the accents cannot be read: every row is refused, none sent.
	srv2, h2 := newFake(t)
	path = writeEncoded(t, "clientes.csv",
		spanishText("Telefono;Nombre;Variable_Cabecera_image;Valor-URL-Boton-0", ";", "\r\n"), charmap.Windows1252)
	r = h2.api(srv2, "campaign", "--template", "customer_welcome", path, "--region", "ES", "--encoding", "utf-8")
	assertFailed(t, r, exitValidation, "3 of 3 rows are invalid; nothing was sent: fix them")
	assert.NotContains(t, r.stderr, "--skip-invalid")
	assert.Contains(t, r.stderr, "row 2 (34600123456): Nombre: \"Jos\uFFFD Mu\uFFFDoz\" holds \uFFFD, a character lost to a wrong encoding (the file was read as UTF-8)")
	assert.Zero(t, srv2.Calls(mensatek.OpSend))
	assert.NoFileExists(t, resultsOf(path))
}

// A UTF-8 export with a byte-order mark, and headers in other words, case and spacing.
func TestCampaignUTF8BOM(t *testing.T) {
	srv, h := newFake(t)
	path := writeEncoded(t, "clientes.csv",
		"\ufeff MÓVIL , nombre ,variable_cabecera_image,VALOR-URL-BOTON-0\n"+spanishText("", ",", "\n")[1:], nil)
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--file", path, "--json")
	// Without --region, national numbers cannot be placed: refused with the hint.
	assertFailed(t, r, exitValidation, "2 of 3 rows are invalid")
	assert.Contains(t, r.stderr, `row 2 (600 123 456): MÓVIL: phone number "600 123 456" is too short for a number of MY (+60); a national number? write its country prefix, like 34600000001, or pass --region, such as --region ES, or set MENSATEK_REGION`)
	assert.Zero(t, srv.Calls(mensatek.OpSend))

	h.env["MENSATEK_REGION"] = "es"
	r = h.api(srv, "campaign", "--template", "customer_welcome", "--file", path, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	assertSpanishSent(t, srv)
	var sum campaign.Summary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum))
	assert.Equal(t, &campaign.FileInfo{Format: "csv", Encoding: "UTF-8 with BOM", Separator: ","}, sum.File)
	assert.Equal(t, 3, sum.Valid)
}

// Excel's "Texto Unicode": UTF-16LE with a byte-order mark, tabs, CRLF.
func TestCampaignUTF16(t *testing.T) {
	srv, h := newFake(t)
	path := writeEncoded(t, "clientes.txt",
		spanishText("Teléfono\tNombre\tVariable_Cabecera_image\tValor-URL-Boton-0", "\t", "\r\n"),
		unicode.UTF16(unicode.LittleEndian, unicode.UseBOM))
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--region", "ES")
	require.Equal(t, exitOK, r.code, r.stderr)
	assertSpanishSent(t, srv)
	assert.Contains(t, r.stdout, "CSV, UTF-16LE, separated by tabs.")
}

// Excel's "CSV (Macintosh)": Mac Roman, lines ending in CR alone.
func TestCampaignCROnly(t *testing.T) {
	srv, h := newFake(t)
	path := writeEncoded(t, "clientes.csv",
		spanishText("Telefono,Nombre,Variable_Cabecera_image,Valor-URL-Boton-0", ",", "\r"), charmap.Macintosh)
	r := h.api(srv, "campaign", "--template", "customer_welcome", path, "--region", "ES")
	require.Equal(t, exitOK, r.code, r.stderr)
	assertSpanishSent(t, srv)
	assert.Contains(t, r.stdout, "CSV, Mac Roman, separated by commas.")

	// The same in UTF-8, as newer Macs save it.
	srv2, h2 := newFake(t)
	path = writeEncoded(t, "clientes.csv",
		spanishText("Telefono,Nombre,Variable_Cabecera_image,Valor-URL-Boton-0", ",", "\r"), nil)
	r = h2.api(srv2, "campaign", "--template", "customer_welcome", path, "--region", "ES")
	require.Equal(t, exitOK, r.code, r.stderr)
	assertSpanishSent(t, srv2)
	assert.Contains(t, r.stdout, "CSV, UTF-8, separated by commas.")
}

// writeXLSX writes a workbook whose sheet "Clientes" holds the header and rows, after an empty
// first sheet "Notas" unless first is true.
func writeXLSX(t *testing.T, first bool, header []any, rows ...[]any) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sheet := "Clientes"
	if first {
		require.NoError(t, f.SetSheetName("Sheet1", sheet))
	} else {
		require.NoError(t, f.SetSheetName("Sheet1", "Notas"))
		require.NoError(t, f.SetCellValue("Notas", "A1", "nothing here"))
		_, err := f.NewSheet(sheet)
		require.NoError(t, err)
	}
	require.NoError(t, f.SetSheetRow(sheet, "A1", &header))
	for i, r := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		require.NoError(t, err)
		require.NoError(t, f.SetSheetRow(sheet, cell, &r))
	}
	// Phones shown in scientific notation, as Excel shows long numbers in narrow columns.
	sci, err := f.NewStyle(&excelize.Style{NumFmt: 11}) // 0.00E+00
	require.NoError(t, err)
	require.NoError(t, f.SetCellStyle(sheet, "A2", "A9", sci))
	path := filepath.Join(t.TempDir(), "clientes.xlsx")
	require.NoError(t, f.SaveAs(path))
	return path
}

func TestCampaignXLSX(t *testing.T) {
	srv, h := newFake(t)
	header := []any{"Teléfono", "Nombre", "Variable_Cabecera_image", "Valor-URL-Boton-0"}
	path := writeXLSX(t, true, header,
		[]any{34600123456, "José Muñoz", "https://example.com/b.jpg", "https://example.com/o/1"},
		[]any{612345678.0, "Begoña Peña", "https://example.com/b.jpg", "https://example.com/o/2"},
		[]any{"+34 699 000 111", "Íñigo Ærøskøbing", "https://example.com/b.jpg", "https://example.com/o/3"},
	)
	r := h.api(srv, "campaign", "--template", "customer_welcome", path, "--region", "ES", "--dry-run")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Read "+path+": Excel workbook, sheet \"Clientes\".\n")
	assert.Contains(t, r.stdout, "  1  Destinatario (Telefono)                 recipient  34600123456\n")
	assert.Contains(t, r.stdout, "  2  Nombre                                  body       José Muñoz\n")
	assert.Contains(t, r.stdout, "Dry run: 3 valid rows, 0 invalid; 3 would be sent")
	assert.NotContains(t, r.stdout+r.stderr, "E+")
	assert.Zero(t, srv.Calls(mensatek.OpSend))

	r = h.api(srv, "campaign", "--template", "customer_welcome", path, "--region", "ES")
	require.Equal(t, exitOK, r.code, r.stderr)
	assertSpanishSent(t, srv)
	raw, err := os.ReadFile(resultsOf(strings.TrimSuffix(path, ".xlsx") + ".csv"))
	require.NoError(t, err)
	assert.Contains(t, string(raw), "2,34600123456,sent,1,\n")
}

// --sheet picks a sheet by name; a numeric phone without --region keeps all its digits.
func TestCampaignXLSXSheet(t *testing.T) {
	srv, h := newFake(t)
	path := writeXLSX(t, false, []any{"Phone", "Name", "Variable_Cabecera_image", "Valor-URL-Boton-0"},
		[]any{34600123456, "José Muñoz", "https://example.com/b.jpg", "https://example.com/o/1"})
	r := h.api(srv, "campaign", "--template", "customer_welcome", path)
	assertFailed(t, r, exitValidation, `clientes.xlsx (sheet "Notas") has a header but no data rows`)

	r = h.api(srv, "campaign", "--template", "customer_welcome", path, "--sheet", "Hoja")
	assertFailed(t, r, exitUsage, `--sheet "Hoja"`, `its sheets are: "Notas", "Clientes"`)
	r = h.api(srv, "campaign", "--template", "customer_welcome", goodCSV(t, 1), "--sheet", "Hoja")
	assertFailed(t, r, exitUsage, "--sheet is for .xlsx workbooks")
	r = h.api(srv, "campaign", "--template", "customer_welcome", path, "--file", path)
	assertFailed(t, r, exitUsage, "unexpected argument")
	r = h.api(srv, "campaign", "--template", "customer_welcome", "--encoding", "ebcdic", path)
	assertFailed(t, r, exitUsage, `--encoding "ebcdic"`)

	// --csv takes a workbook too: the content decides, not the flag or the name.
	r = h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--sheet", "clientes")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, []string{"34600123456"}, sentPhones(srv))
	assert.Equal(t, "José Muñoz", srv.Sent()[0].To[0].Name)
}

// Files that are not campaigns are refused with one line on stderr, before anything is sent
// or written.
func TestCampaignRefusedFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, data, 0o600))
		return path
	}
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0, 1, 2, 3, 200}, 100)...)
	for _, c := range []struct {
		name, path string
		want       string
	}{
		{"header only", write("header.csv", []byte("Telefono;Nombre;Variable_Cabecera_image;Valor-URL-Boton-0\r\n")),
			"header.csv has a header but no data rows: nothing to send"},
		{"header and blank rows", write("blank.csv", []byte("Telefono,Nombre\n,\n\n ,  \n")),
			"blank.csv has a header but no data rows: nothing to send"},
		{"header-only workbook", writeXLSX(t, true, []any{"Telefono", "Nombre"}),
			`has a header but no data rows: nothing to send`},
		{"empty", write("empty.csv", nil), "empty.csv is empty"},
		{"binary", write("photo.csv", png), "photo.csv is not a spreadsheet: it holds binary data"},
		{"zip", write("archive.xlsx", []byte("PK\x03\x04not really a zip")), "archive.xlsx is not a spreadsheet: it is a ZIP archive"},
		{"xls", write("old.xls", append([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), make([]byte, 600)...)), "Excel 97-2003 (.xls)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, h := newFake(t)
			r := h.api(srv, "campaign", "--template", "customer_welcome", c.path)
			assertFailed(t, r, exitValidation, c.want)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
			assert.Empty(t, r.stdout)
			assert.Zero(t, srv.Calls(mensatek.OpSend))
			assert.NoFileExists(t, resultsOf(strings.TrimSuffix(c.path, filepath.Ext(c.path))+".csv"))
		})
	}
}

// A 50 MB line (a huge header, then a huge cell) gives one short error line, which says how
// long the value was.
func TestCampaignHugeLine(t *testing.T) {
	huge := strings.Repeat("x", 50<<20)
	srv, h := newFake(t)
	path := writeCSV(t, huge, goodRow(1))
	r := h.api(srv, "campaign", "--template", "customer_welcome", path)
	assertFailed(t, r, exitValidation, "no Telefono column", `"xxxxxxxx`, "… (52428800 characters)")
	assert.Less(t, len(r.stderr), 600, "one short line")
	assert.Zero(t, srv.Calls(mensatek.OpSend))

	path = writeCSV(t, csvHeader, goodRow(1), phone(2)+","+huge+",https://example.com/b.jpg,https://example.com/o/2")
	r = h.api(srv, "campaign", "--template", "customer_welcome", path)
	assertFailed(t, r, exitValidation, "1 of 2 rows is invalid")
	assert.Contains(t, r.stderr, `row 3 (`+phone(2)+`): Nombre: "xxxx`)
	assert.Contains(t, r.stderr, "… (52428800 characters) is longer than any value a message can carry")
	assert.Less(t, len(r.stderr), 800, "short lines")
	assert.Zero(t, srv.Calls(mensatek.OpSend))

	// A huge phone, with --skip-invalid: the results file and the JSON summary stay small too.
	path = writeCSV(t, csvHeader, goodRow(1), "+34 6"+huge+",Ana,https://example.com/b.jpg,https://example.com/o/2")
	r = h.api(srv, "campaign", "--template", "customer_welcome", path, "--skip-invalid", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, `Telefono: "+34 6xxx`)
	assert.Contains(t, r.stderr, "… (52428805 characters) is too long for a phone number")
	assert.Less(t, len(r.stderr)+len(r.stdout), 1200)
	st, err := os.Stat(resultsOf(path))
	require.NoError(t, err)
	assert.Less(t, st.Size(), int64(500))
	assert.Equal(t, []string{phone(1)}, sentPhones(srv))
}

// With --region, numbers that are not valid for their country are refused with the reason.
func TestCampaignRegionReasons(t *testing.T) {
	srv, h := newFake(t)
	path := writeCSV(t, csvHeader,
		"600 123 45,Ana,https://example.com/b.jpg,https://example.com/o/1",      // row 2: too short
		"500 123 456,Eva,https://example.com/b.jpg,https://example.com/o/2",     // row 3: not a Spanish range
		"+999 1234 5678,Luis,https://example.com/b.jpg,https://example.com/o/3", // row 4: no such country
		"hola,Marta,https://example.com/b.jpg,https://example.com/o/4",          // row 5
		"0034 600 000 005,Pilar,https://example.com/b.jpg,https://example.com/o/5",
		"+33 6 12 34 56 78,Zoé,https://example.com/b.jpg,https://example.com/o/6", // a French mobile
	)
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--region", "ES", "--skip-invalid")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, `row 2 (600 123 45): Telefono: phone number "600 123 45" is too short for a number of ES (+34)`)
	assert.Contains(t, r.stderr, `row 3 (500 123 456): Telefono: phone number "500 123 456" is not a valid number of ES (+34)`)
	assert.Contains(t, r.stderr, `row 4 (+999 1234 5678): Telefono: phone number "+999 1234 5678" has an unknown country prefix`)
	assert.Contains(t, r.stderr, `row 5 (hola): Telefono: phone number "hola" contains 'h'`)
	assert.Equal(t, []string{"34600000005", "33612345678"}, sentPhones(srv))

	r = h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--region", "XX")
	assertFailed(t, r, exitUsage, `--region "XX": not a region`)
}

func TestClip(t *testing.T) {
	assert.Equal(t, `"short"`, clipQuote("short"))
	long := strings.Repeat("é", 100)
	assert.Equal(t, `"`+strings.Repeat("é", cli.ClipAt)+`"… (100 characters)`, clipQuote(long))
	assert.Equal(t, strings.Repeat("é", cli.ClipAt)+"… (100 characters)", clip(long))
	line := boundLine(strings.Repeat("a", 5000))
	assert.Equal(t, cli.MaxLine+len("… (cut: 5000 characters in all)"), len(line))
}

// On a terminal, the bar shows the rate and a labelled time left.
func TestCampaignProgressRate(t *testing.T) {
	srv, h := newFake(t)
	h.sys.isTerminal = func(io.Writer) bool { return true }
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--csv", goodCSV(t, 3), "--batch", "1")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "time left 0s")
	assert.Regexp(t, `\(3/3, \d+ rows/s\)`, r.stderr)
}
