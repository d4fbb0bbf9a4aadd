package campaign

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/cli"
)

// The encodings Options.Encoding accepts; EncodingAuto detects one.
const (
	EncodingAuto        = "auto"
	EncodingUTF8        = "utf-8"
	EncodingWindows1252 = "windows-1252"
	EncodingUTF16       = "utf-16"
	EncodingMacintosh   = "macintosh"
)

// ParseEncoding reads --encoding, accepting the usual spellings.
func ParseEncoding(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "auto":
		return EncodingAuto, nil
	case "utf-8", "utf8":
		return EncodingUTF8, nil
	case "windows-1252", "cp1252", "win1252", "windows1252", "latin1", "iso-8859-1":
		return EncodingWindows1252, nil
	case "utf-16", "utf16", "utf-16le", "utf-16be":
		return EncodingUTF16, nil
	case "macintosh", "mac", "macroman", "mac-roman":
		return EncodingMacintosh, nil
	}
	return "", cli.Usagef("--encoding %s: want auto, utf-8, windows-1252, utf-16 or macintosh", cli.ClipQuote(v))
}

// FileInfo says how a campaign's file was read, for the summary.
type FileInfo struct {
	Format    string `json:"format"`              // "csv" or "xlsx"
	Encoding  string `json:"encoding,omitempty"`  // csv: the encoding it was read with
	Separator string `json:"separator,omitempty"` // csv: the separator of its columns
	Sheet     string `json:"sheet,omitempty"`     // xlsx: the sheet read
}

// Describe says how the file was read: "CSV, Windows-1252, separated by semicolons".
func (fi FileInfo) Describe() string {
	if fi.Format == "xlsx" {
		return fmt.Sprintf("Excel workbook, sheet %s", cli.ClipQuote(fi.Sheet))
	}
	sep := map[string]string{",": "commas", ";": "semicolons", "\t": "tabs"}[fi.Separator]
	return fmt.Sprintf("CSV, %s, separated by %s", fi.Encoding, sep)
}

// readOptions say how to read a campaign's file.
type readOptions struct {
	flag     string // the flag that named the file, for errors: "--csv" or "--file"
	encoding string // one of the Encoding constants
	sheet    string // an .xlsx file's sheet; "" for the first
}

// Magic numbers of the files people pass by mistake.
var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") // .xls, and encrypted .xlsx
)

// The encodings a CSV file is read with, once detected.
const (
	textUTF8 = iota
	textUTF8BOM
	textWindows1252
	textMac
	textUTF16LE
	textUTF16BE
)

var textNames = map[int]string{textUTF8: "UTF-8", textUTF8BOM: "UTF-8 with BOM", textWindows1252: "Windows-1252",
	textMac: "Mac Roman", textUTF16LE: "UTF-16LE", textUTF16BE: "UTF-16BE"}

// source is a campaign's file, read from its start once per pass, so that no pass holds more
// than a chunk of its rows: a CSV or TSV in any of the encodings spreadsheets export (see
// detectText), with LF, CRLF or CR line ends, or an .xlsx workbook read with excelize's
// streaming row iterator. The content decides, not the name.
type source struct {
	path  string
	opt   readOptions
	info  FileInfo
	stamp fileStamp

	text int  // csv: one of the text constants
	sep  rune // csv: the separator

	book  *excelize.File // xlsx
	sheet string
}

// fileStamp tells whether a file changed between the passes.
type fileStamp struct {
	size int64
	mod  time.Time
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{size: fi.Size(), mod: fi.ModTime()}, nil
}

// openSource looks at the file: its format, and for a CSV its encoding and separator.
func openSource(path string, opt readOptions) (*source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, cli.Usagef("reading %s: %v", opt.flag, err)
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, cli.Usagef("reading %s: %v", opt.flag, err)
	}
	head = head[:n]
	src := &source{path: path, opt: opt}
	if src.stamp, err = stampOf(path); err != nil {
		return nil, cli.Usagef("reading %s: %v", opt.flag, err)
	}
	switch {
	case bytes.HasPrefix(head, zipMagic):
		return src, src.openXLSX()
	case bytes.HasPrefix(head, oleMagic):
		return nil, cli.Invalid(opt.flag, "%s is not a spreadsheet this command reads: it is an Excel 97-2003 (.xls) or encrypted workbook; save it as .xlsx or CSV", path)
	case opt.sheet != "":
		return nil, cli.Usagef("--sheet is for .xlsx workbooks, and %s is not one", path)
	}
	if src.text, err = detectText(f, head, opt.encoding); err != nil {
		return nil, cli.Invalid(opt.flag, "%s: %v", path, err)
	}
	src.info = FileInfo{Format: "csv", Encoding: textNames[src.text]}

	// The first 64 Ki characters decide whether it is text; the first line, the separator.
	r, closeFile, err := src.openText()
	if err != nil {
		return nil, err
	}
	defer closeFile()
	br := bufio.NewReaderSize(r, 64<<10)
	sample, _ := br.Peek(64 << 10)
	if binary(string(sample)) {
		return nil, cli.Invalid(opt.flag, "%s is not a spreadsheet: it holds binary data; export it as CSV or .xlsx", path)
	}
	if src.sep, err = delimiter(br); err != nil {
		return nil, cli.Invalid(opt.flag, "%s: %v", path, err)
	}
	src.info.Separator = string(src.sep)
	return src, nil
}

// openText opens the file as decoded text with LF line ends.
func (src *source) openText() (io.Reader, func(), error) {
	f, err := os.Open(src.path)
	if err != nil {
		return nil, nil, cli.Usagef("reading %s: %v", src.opt.flag, err)
	}
	skip := map[int]int{textUTF8BOM: 3}[src.text]
	if src.text == textUTF16LE || src.text == textUTF16BE {
		var bom [2]byte
		if n, _ := io.ReadFull(f, bom[:]); n == 2 && (bom == [2]byte{0xff, 0xfe} || bom == [2]byte{0xfe, 0xff}) {
			skip = 0
		} else if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, nil, &cli.LocalError{Err: err}
		}
	}
	if skip > 0 {
		if _, err := f.Seek(int64(skip), io.SeekStart); err != nil {
			f.Close()
			return nil, nil, &cli.LocalError{Err: err}
		}
	}
	var r io.Reader = bufio.NewReaderSize(f, 64<<10)
	var dec *encoding.Decoder
	switch src.text {
	case textWindows1252:
		dec = charmap.Windows1252.NewDecoder()
	case textMac:
		dec = charmap.Macintosh.NewDecoder()
	case textUTF16LE:
		dec = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder()
	case textUTF16BE:
		dec = unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder()
	}
	if dec != nil {
		r = transform.NewReader(r, dec)
	}
	return &lineEnds{r: bufio.NewReaderSize(r, 64<<10)}, func() { f.Close() }, nil
}

// lineEnds turns CRLF and lone CR (old Mac exports) into LF as it reads.
type lineEnds struct{ r *bufio.Reader }

func (l *lineEnds) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if n > 0 && l.r.Buffered() == 0 {
			break // return what there is rather than wait
		}
		b, err := l.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b == '\r' {
			if next, err := l.r.Peek(1); err == nil && next[0] == '\n' {
				l.r.ReadByte()
			}
			b = '\n'
		}
		p[n] = b
		n++
	}
	return n, nil
}

// detectText picks a CSV file's encoding. enc auto reads a byte-order mark (UTF-8, UTF-16 LE or
// BE), recognises UTF-16 without one by its zero bytes, takes text that is valid UTF-8 as UTF-8,
// and anything else as Windows-1252, the encoding of Excel's "CSV" export on Spanish and other
// Western Windows systems, or Mac Roman for a file whose lines end in CR alone, as Excel's "CSV
// (Macintosh)" writes them. Bytes the encoding cannot map come out as U+FFFD, which makes the
// row invalid. Only auto reads the whole file (once, in chunks).
func detectText(f io.Reader, head []byte, enc string) (int, error) {
	utf16 := func() int {
		switch {
		case bytes.HasPrefix(head, []byte("\xfe\xff")):
			return textUTF16BE
		case bytes.HasPrefix(head, []byte("\xff\xfe")):
			return textUTF16LE
		case utf16WithoutBOM(head) == "BE":
			return textUTF16BE
		}
		return textUTF16LE
	}
	switch enc {
	case EncodingUTF8:
		if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
			return textUTF8BOM, nil
		}
		return textUTF8, nil
	case EncodingWindows1252:
		return textWindows1252, nil
	case EncodingMacintosh:
		return textMac, nil
	case EncodingUTF16:
		return utf16(), nil
	}
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		return textUTF8BOM, nil
	case bytes.HasPrefix(head, []byte("\xff\xfe")), bytes.HasPrefix(head, []byte("\xfe\xff")), utf16WithoutBOM(head) != "":
		return utf16(), nil
	}
	valid, cr, lf, err := scanText(io.MultiReader(bytes.NewReader(head), f))
	switch {
	case err != nil:
		return 0, err
	case valid:
		return textUTF8, nil
	case cr && !lf:
		return textMac, nil // CR-only lines: Excel's "CSV (Macintosh)"
	}
	return textWindows1252, nil
}

// scanText reads r to its end and reports whether it is valid UTF-8 and holds CRs and LFs.
func scanText(r io.Reader) (valid, cr, lf bool, err error) {
	buf := make([]byte, 64<<10)
	carry := 0 // bytes of a character cut by the end of the last chunk
	valid = true
	for {
		n, rerr := io.ReadFull(r, buf[carry:])
		chunk := buf[:carry+n]
		cr = cr || bytes.IndexByte(chunk[carry:], '\r') >= 0
		lf = lf || bytes.IndexByte(chunk[carry:], '\n') >= 0
		end := len(chunk)
		if rerr == nil {
			for i := len(chunk) - 1; i >= 0 && i >= len(chunk)-utf8.UTFMax; i-- {
				if utf8.RuneStart(chunk[i]) {
					if !utf8.FullRune(chunk[i:]) {
						end = i
					}
					break
				}
			}
		}
		valid = valid && utf8.Valid(chunk[:end])
		carry = copy(buf, chunk[end:])
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			return valid, cr, lf, nil
		}
		if rerr != nil {
			return false, false, false, rerr
		}
	}
}

// openXLSX opens the workbook and picks its first sheet, or opt.sheet. excelize keeps the
// compressed file and the shared strings in memory, and unzips a large sheet to a temporary
// file that Rows reads as a stream.
func (src *source) openXLSX() error {
	path, opt := src.path, src.opt
	f, err := excelize.OpenFile(path)
	if err != nil {
		return cli.Invalid(opt.flag, "%s is not a spreadsheet: it is a ZIP archive but not an .xlsx workbook (%s)", path, cli.ClipQuote(err.Error()))
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		f.Close()
		return cli.Invalid(opt.flag, "%s has no sheets", path)
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
			f.Close()
			return cli.Usagef("--sheet %s: %s has no such sheet; its sheets are: %s", cli.ClipQuote(opt.sheet), path, quoteList(sheets, 10))
		}
	}
	src.book, src.sheet = f, name
	src.info = FileInfo{Format: "xlsx", Sheet: name}
	return nil
}

// close releases the workbook, if any.
func (src *source) close() {
	if src.book != nil {
		src.book.Close()
	}
}

// where names the file in messages, with its sheet.
func (src *source) where() string {
	if src.info.Sheet != "" {
		return fmt.Sprintf("%s (sheet %s)", src.path, cli.ClipQuote(src.info.Sheet))
	}
	return src.path
}

// sheetRow is one data row. num counts the header as row 1, as a spreadsheet does.
type sheetRow struct {
	num   int
	cells []string
}

// rowReader yields a file's rows in order: the header first, then the data rows. Blank rows (a
// spreadsheet's empty lines) are skipped.
type rowReader struct {
	src    *source
	header []string
	next   func() (num int, cells []string, err error) // io.EOF at the end
	close  func()
}

// open starts a pass over the file, reading its header. It refuses a file that changed since
// openSource looked at it: the rows sent must be the rows checked.
func (src *source) open() (*rowReader, error) {
	if st, err := stampOf(src.path); err != nil || st != src.stamp {
		return nil, &cli.LocalError{Err: fmt.Errorf("%s changed while the campaign read it: run the command again", src.path)}
	}
	rr := &rowReader{src: src}
	var err error
	if src.book != nil {
		err = rr.openXLSX()
	} else {
		err = rr.openCSV()
	}
	if err != nil {
		return nil, err
	}
	for {
		_, cells, err := rr.row()
		if errors.Is(err, io.EOF) {
			rr.close()
			return nil, cli.Invalid(src.opt.flag, "%s is empty: it needs a header row (Telefono, Nombre, one column per template variable) and a row per recipient", src.where())
		}
		if err != nil {
			rr.close()
			return nil, err
		}
		if cells != nil {
			rr.header = cells
			return rr, nil
		}
	}
}

// row returns the next row, with its cells trimmed; nil cells for a blank row.
func (rr *rowReader) row() (int, []string, error) {
	num, cells, err := rr.next()
	if err != nil {
		return 0, nil, err
	}
	blank := true
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
		blank = blank && cells[i] == ""
	}
	if blank {
		return num, nil, nil
	}
	return num, cells, nil
}

// data returns the next data row, skipping blank ones; io.EOF at the end.
func (rr *rowReader) data() (sheetRow, error) {
	for {
		num, cells, err := rr.row()
		if err != nil {
			return sheetRow{}, err
		}
		if cells != nil {
			return sheetRow{num: num, cells: cells}, nil
		}
	}
}

func (rr *rowReader) openCSV() error {
	src := rr.src
	r, closeFile, err := src.openText()
	if err != nil {
		return err
	}
	cr := csv.NewReader(r)
	cr.Comma = src.sep
	cr.FieldsPerRecord = -1
	utf8Text := src.text == textUTF8 || src.text == textUTF8BOM
	num := 0
	rr.next = func() (int, []string, error) {
		cells, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return 0, nil, io.EOF
		}
		if err != nil {
			return 0, nil, cli.Invalid(src.opt.flag, "%s: %v", src.path, err)
		}
		num++
		if utf8Text {
			for i, c := range cells {
				if !utf8.ValidString(c) {
					cells[i] = strings.ToValidUTF8(c, "\uFFFD")
				}
			}
		}
		return num, cells, nil
	}
	rr.close = closeFile
	return nil
}

// openXLSX iterates the sheet twice in step: the values as Excel shows them, and the raw values,
// for a phone Excel shows in another format than it stores ("3.46E+10").
func (rr *rowReader) openXLSX() error {
	src := rr.src
	f, name, flag := src.book, src.sheet, src.opt.flag
	shown, err := f.Rows(name)
	if err != nil {
		return cli.Invalid(flag, "%s, sheet %s: %s", src.path, cli.ClipQuote(name), cli.ClipQuote(err.Error()))
	}
	raw, err := f.Rows(name)
	if err != nil {
		shown.Close()
		return cli.Invalid(flag, "%s, sheet %s: %s", src.path, cli.ClipQuote(name), cli.ClipQuote(err.Error()))
	}
	phoneCol := -1
	num := 0
	rr.next = func() (int, []string, error) {
		if !shown.Next() {
			if err := shown.Error(); err != nil {
				return 0, nil, cli.Invalid(flag, "%s, sheet %s: %s", src.path, cli.ClipQuote(name), cli.ClipQuote(err.Error()))
			}
			return 0, nil, io.EOF
		}
		raw.Next()
		num++
		cells, err := shown.Columns()
		if err != nil {
			return 0, nil, cli.Invalid(flag, "%s, sheet %s, row %d: %s", src.path, cli.ClipQuote(name), num, cli.ClipQuote(err.Error()))
		}
		rawCells, _ := raw.Columns(excelize.Options{RawCellValue: true})
		switch {
		case rr.header == nil:
		case phoneCol < 0:
			phoneCol = findColumn(rr.header, phoneHeaders)
			if phoneCol < 0 {
				phoneCol = math.MaxInt
			}
			fallthrough
		default:
			if phoneCol < len(cells) && !plainDigits(cells[phoneCol]) && phoneCol < len(rawCells) {
				cells[phoneCol] = rawNumber(rawCells[phoneCol], cells[phoneCol])
			}
		}
		return num, cells, nil
	}
	rr.close = func() {
		shown.Close()
		raw.Close()
	}
	return nil
}

// plainDigits reports whether s is empty or has only digits, spaces and a leading "+": a phone
// Excel shows as it is stored.
func plainDigits(s string) bool {
	return !strings.ContainsFunc(strings.TrimPrefix(s, "+"), func(r rune) bool { return (r < '0' || r > '9') && r != ' ' })
}

// rawNumber returns the digits of a phone Excel stores as a number but shows in another format
// ("3.46E+10", "34,600,123,456"): the number stored, written out in full.
func rawNumber(raw, shown string) string {
	v, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
	if err != nil || v != math.Trunc(v) || math.IsInf(v, 0) {
		return shown
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
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
	sample := text[:cli.PrefixLen(text, 64<<10)]
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

// delimiter picks the separator the first line uses most, outside quotes, reading only that
// line (however long).
func delimiter(r io.RuneReader) (rune, error) {
	counts := map[rune]int{}
	quoted := false
	for {
		c, _, err := r.ReadRune()
		if errors.Is(err, io.EOF) || c == '\n' {
			break
		}
		if err != nil {
			return 0, err
		}
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best, nil
}

// quoteList quotes up to max values for a message, each clipped, saying how many more there are.
func quoteList(values []string, max int) string {
	var parts []string
	for i, v := range values {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(values)-max))
			break
		}
		parts = append(parts, cli.ClipQuote(v))
	}
	return strings.Join(parts, ", ")
}
