package main

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// The encodings --encoding accepts; encAuto detects one.
const (
	encAuto    = "auto"
	encUTF8    = "utf-8"
	encWin1252 = "windows-1252"
	encUTF16   = "utf-16"
	encMac     = "macintosh"
)

// parseEncoding reads --encoding, accepting the usual spellings.
func parseEncoding(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "auto":
		return encAuto, nil
	case "utf-8", "utf8":
		return encUTF8, nil
	case "windows-1252", "cp1252", "win1252", "windows1252", "latin1", "iso-8859-1":
		return encWin1252, nil
	case "utf-16", "utf16", "utf-16le", "utf-16be":
		return encUTF16, nil
	case "macintosh", "mac", "macroman", "mac-roman":
		return encMac, nil
	}
	return "", usagef("--encoding %s: want auto, utf-8, windows-1252, utf-16 or macintosh", clipQuote(v))
}

// fileInfo says how a campaign's file was read, for the summary.
type fileInfo struct {
	Format    string `json:"format"`              // "csv" or "xlsx"
	Encoding  string `json:"encoding,omitempty"`  // csv: the encoding it was read with
	Separator string `json:"separator,omitempty"` // csv: the separator of its columns
	Sheet     string `json:"sheet,omitempty"`     // xlsx: the sheet read
}

// describe says how the file was read: "CSV, Windows-1252, separated by semicolons".
func (fi fileInfo) describe() string {
	if fi.Format == "xlsx" {
		return fmt.Sprintf("Excel workbook, sheet %s", clipQuote(fi.Sheet))
	}
	sep := map[string]string{",": "commas", ";": "semicolons", "\t": "tabs"}[fi.Separator]
	return fmt.Sprintf("CSV, %s, separated by %s", fi.Encoding, sep)
}

// readOptions say how to read a campaign's file.
type readOptions struct {
	flag     string // the flag that named the file, for errors: "--csv" or "--file"
	encoding string // one of the enc constants
	sheet    string // an .xlsx file's sheet; "" for the first
}

// Magic numbers of the files people pass by mistake.
var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") // .xls, and encrypted .xlsx
)

// readSheet reads a campaign's file: a CSV or TSV in any of the encodings spreadsheets export
// (see decodeText), with LF, CRLF or CR line ends, or an .xlsx workbook. The content decides,
// not the name.
func readSheet(path string, opt readOptions) (*sheet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("reading %s: %v", opt.flag, err)
	}
	switch {
	case bytes.HasPrefix(data, zipMagic):
		return readXLSX(data, path, opt)
	case bytes.HasPrefix(data, oleMagic):
		return nil, invalid(opt.flag, "%s is not a spreadsheet this command reads: it is an Excel 97-2003 (.xls) or encrypted workbook; save it as .xlsx or CSV", path)
	case opt.sheet != "":
		return nil, usagef("--sheet is for .xlsx workbooks, and %s is not one", path)
	}
	text, enc, err := decodeText(data, opt.encoding)
	if err != nil {
		return nil, invalid(opt.flag, "%s: %v", path, err)
	}
	if binary(text) {
		return nil, invalid(opt.flag, "%s is not a spreadsheet: it holds binary data; export it as CSV or .xlsx", path)
	}
	text = normalizeLineEnds(text)
	sep := delimiter(text)
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = sep
	r.FieldsPerRecord = -1
	sh := &sheet{info: fileInfo{Format: "csv", Encoding: enc, Separator: string(sep)}}
	for num := 1; ; num++ {
		cells, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, invalid(opt.flag, "%s: %v", path, err)
		}
		sh.add(num, cells)
	}
	return sh, sh.check(path, opt)
}

// readXLSX reads the first sheet of a workbook, or opt.sheet.
func readXLSX(data []byte, path string, opt readOptions) (*sheet, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return nil, invalid(opt.flag, "%s is not a spreadsheet: it is a ZIP archive but not an .xlsx workbook (%s)", path, clipQuote(err.Error()))
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, invalid(opt.flag, "%s has no sheets", path)
	}
	name := sheets[0]
	if opt.sheet != "" {
		name = ""
		for _, s := range sheets {
			if headerKey(s) == headerKey(opt.sheet) {
				name = s
				break
			}
		}
		if name == "" {
			return nil, usagef("--sheet %s: %s has no such sheet; its sheets are: %s", clipQuote(opt.sheet), path, quoteList(sheets, 10))
		}
	}
	rows, err := f.Rows(name)
	if err != nil {
		return nil, invalid(opt.flag, "%s, sheet %s: %s", path, clipQuote(name), clipQuote(err.Error()))
	}
	defer rows.Close()
	sh := &sheet{info: fileInfo{Format: "xlsx", Sheet: name}}
	phoneCol, looked := -1, false
	for num := 1; rows.Next(); num++ {
		cells, err := rows.Columns()
		if err != nil {
			return nil, invalid(opt.flag, "%s, sheet %s, row %d: %s", path, clipQuote(name), num, clipQuote(err.Error()))
		}
		if sh.header != nil && phoneCol >= 0 && phoneCol < len(cells) && !plainDigits(cells[phoneCol]) {
			cells[phoneCol] = rawNumber(f, name, phoneCol, num, cells[phoneCol])
		}
		sh.add(num, cells)
		if sh.header != nil && !looked {
			phoneCol, looked = findColumn(sh.header, phoneHeaders), true
		}
	}
	if err := rows.Error(); err != nil {
		return nil, invalid(opt.flag, "%s, sheet %s: %s", path, clipQuote(name), clipQuote(err.Error()))
	}
	return sh, sh.check(path, opt)
}

// plainDigits reports whether s is empty or has only digits, spaces and a leading "+": a phone
// Excel shows as it is stored.
func plainDigits(s string) bool {
	return !strings.ContainsFunc(strings.TrimPrefix(s, "+"), func(r rune) bool { return (r < '0' || r > '9') && r != ' ' })
}

// rawNumber returns the digits of a phone Excel stores as a number but shows in another format
// ("3.46E+10", "34,600,123,456"): the number stored, written out in full.
func rawNumber(f *excelize.File, sheetName string, col, row int, shown string) string {
	cell, err := excelize.CoordinatesToCellName(col+1, row)
	if err != nil {
		return shown
	}
	raw, err := f.GetCellValue(sheetName, cell, excelize.Options{RawCellValue: true})
	if err != nil {
		return shown
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
	if err != nil || v != math.Trunc(v) || math.IsInf(v, 0) {
		return shown
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// decodeText decodes a text file. enc auto reads a byte-order mark (UTF-8, UTF-16 LE or BE),
// recognises UTF-16 without one by its zero bytes, takes text that is valid UTF-8 as UTF-8, and
// anything else as Windows-1252, the encoding of Excel's "CSV" export on Spanish and other
// Western Windows systems, or Mac Roman for a file whose lines end in CR alone, as Excel's "CSV
// (Macintosh)" writes them. It returns the name of the encoding used. Bytes the encoding
// cannot map come out as U+FFFD, which makes the row invalid.
func decodeText(data []byte, enc string) (string, string, error) {
	le := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	be := unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	switch enc {
	case encUTF8:
		data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		return strings.ToValidUTF8(string(data), "\uFFFD"), "UTF-8", nil
	case encWin1252:
		return decodeWith(charmap.Windows1252.NewDecoder(), data, "Windows-1252")
	case encMac:
		return decodeWith(charmap.Macintosh.NewDecoder(), data, "Mac Roman")
	case encUTF16:
		switch {
		case bytes.HasPrefix(data, []byte("\xfe\xff")):
			return decodeWith(be.NewDecoder(), data[2:], "UTF-16BE")
		case bytes.HasPrefix(data, []byte("\xff\xfe")):
			return decodeWith(le.NewDecoder(), data[2:], "UTF-16LE")
		case utf16WithoutBOM(data) == "BE":
			return decodeWith(be.NewDecoder(), data, "UTF-16BE")
		}
		return decodeWith(le.NewDecoder(), data, "UTF-16LE")
	}
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		return strings.ToValidUTF8(string(data[3:]), "\uFFFD"), "UTF-8 with BOM", nil
	case bytes.HasPrefix(data, []byte("\xff\xfe")), bytes.HasPrefix(data, []byte("\xfe\xff")), utf16WithoutBOM(data) != "":
		return decodeText(data, encUTF16)
	case utf8.Valid(data):
		return string(data), "UTF-8", nil
	case bytes.IndexByte(data, '\r') >= 0 && bytes.IndexByte(data, '\n') < 0:
		return decodeText(data, encMac) // CR-only lines: Excel's "CSV (Macintosh)"
	}
	return decodeText(data, encWin1252)
}

func decodeWith(dec *encoding.Decoder, data []byte, name string) (string, string, error) {
	b, err := dec.Bytes(data)
	if err != nil {
		return "", "", fmt.Errorf("cannot be read as %s: %v", name, err)
	}
	return string(b), name, nil
}

// utf16WithoutBOM recognises UTF-16 text without a byte-order mark by its zero bytes, as a
// header of Latin letters has one in every pair: "LE" or "BE", else "".
func utf16WithoutBOM(data []byte) string {
	n := min(len(data), 512) &^ 1
	if n < 8 {
		return ""
	}
	var even, odd int
	for i := 0; i < n; i += 2 {
		if data[i] == 0 {
			even++
		}
		if data[i+1] == 0 {
			odd++
		}
	}
	pairs := n / 2
	switch {
	case odd*10 >= pairs*7 && even == 0:
		return "LE"
	case even*10 >= pairs*7 && odd == 0:
		return "BE"
	}
	return ""
}

// binary reports whether decoded text is binary data rather than a spreadsheet's export: it has
// a zero character, or control characters other than tabs and line ends are more than 1 in 100
// of its first 64 KiB.
func binary(text string) bool {
	sample := text[:prefixLen(text, 64<<10)]
	controls, n := 0, 0
	for _, r := range sample {
		n++
		switch {
		case r == 0:
			return true
		case r < ' ' && r != '\t' && r != '\n' && r != '\r', r == 0x7f:
			controls++
		}
	}
	return controls*100 > n
}

// normalizeLineEnds turns CRLF and lone CR (old Mac exports) into LF.
func normalizeLineEnds(text string) string {
	if !strings.Contains(text, "\r") {
		return text
	}
	return strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
}

// delimiter picks the separator the first line uses most, outside quotes.
func delimiter(text string) rune {
	line, _, _ := strings.Cut(text, "\n")
	counts := map[rune]int{}
	quoted := false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case !quoted && (r == ',' || r == ';' || r == '\t'):
			counts[r]++
		}
	}
	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

// quoteList quotes up to max values for a message, each clipped, saying how many more there are.
func quoteList(values []string, max int) string {
	var parts []string
	for i, v := range values {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(values)-max))
			break
		}
		parts = append(parts, clipQuote(v))
	}
	return strings.Join(parts, ", ")
}
