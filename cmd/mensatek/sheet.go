package main

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/mensatek-go/mensatek"
)

// sheet is a campaign's CSV file: a header and one recipient per row.
type sheet struct {
	header []string
	rows   []sheetRow
}

// sheetRow is one data row. num counts the header as row 1, as a spreadsheet does.
type sheetRow struct {
	num   int
	cells []string
}

// readSheet reads a CSV file separated by commas, semicolons (as Spanish spreadsheets export
// it) or tabs, whichever the header uses, with or without a UTF-8 byte-order mark.
func readSheet(path string) (*sheet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("reading --csv: %v", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = delimiter(data)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, invalid("--csv", "%s is empty: it needs a header row (Telefono, Nombre, one column per template variable) and a row per recipient", path)
	}
	if err != nil {
		return nil, invalid("--csv", "%s: %v", path, err)
	}
	sh := &sheet{header: make([]string, len(header))}
	for i, h := range header {
		sh.header[i] = strings.TrimSpace(h)
	}
	for num := 2; ; num++ {
		cells, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, invalid("--csv", "%s: %v", path, err)
		}
		blank := true
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
			blank = blank && cells[i] == ""
		}
		if blank {
			continue // a spreadsheet's empty row
		}
		sh.rows = append(sh.rows, sheetRow{num: num, cells: cells})
	}
	return sh, nil
}

// delimiter picks the separator the first line uses most.
func delimiter(data []byte) rune {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	best, n := ',', bytes.Count(line, []byte(","))
	for _, c := range []rune{';', '\t'} {
		if m := bytes.Count(line, []byte(string(c))); m > n {
			best, n = c, m
		}
	}
	return best
}

// columns maps a sheet's columns to a template's variables.
type columns struct {
	phone, name, email int            // column indexes, -1 when absent
	vars               map[string]int // Recipient.Vars key -> column index
	header             []string
}

var (
	phoneHeaders = []string{"Telefono", "Teléfono", "Phone"}
	nameHeaders  = []string{"Nombre", "Name"}
	emailHeaders = []string{"Email", "E-mail"}
)

// mapColumns finds the column of every variable of the template, by the variable's field, else
// its name. A variable without a column is an error; a column no variable uses is a warning.
func mapColumns(header []string, d *mensatek.TemplateDetails) (*columns, []string, error) {
	find := func(names ...string) int {
		for _, n := range names {
			if n == "" {
				continue
			}
			for i, h := range header {
				if strings.EqualFold(h, n) {
					return i
				}
			}
		}
		return -1
	}
	seen := map[string]bool{}
	for _, h := range header {
		k := strings.ToLower(h)
		if h != "" && seen[k] {
			return nil, nil, invalid("--csv", "the column %q appears twice in the header", h)
		}
		seen[k] = true
	}
	c := &columns{phone: find(phoneHeaders...), name: find(nameHeaders...), email: find(emailHeaders...),
		vars: map[string]int{}, header: header}
	if c.phone < 0 {
		return nil, nil, invalid("--csv", "no Telefono column (the recipient's phone); the columns are: %s", strings.Join(header, ", "))
	}
	used := map[int]bool{c.phone: true, c.name: true, c.email: true}
	var missing []string
	for _, v := range d.Variables {
		switch {
		case v.Index == 1 || strings.EqualFold(v.Field, "Telefono"):
			continue
		case isOneOf(v.Field, nameHeaders) || (v.Field == "" && isOneOf(v.Name, nameHeaders)):
			if c.name < 0 {
				missing = append(missing, describeVar(v))
			}
			continue
		case isOneOf(v.Field, emailHeaders) || (v.Field == "" && isOneOf(v.Name, emailHeaders)):
			if c.email < 0 {
				missing = append(missing, describeVar(v))
			}
			continue
		}
		key := v.Field
		if key == "" {
			key = v.Name
		}
		i := find(v.Field, v.Name)
		if i < 0 {
			missing = append(missing, describeVar(v))
			continue
		}
		c.vars[key] = i
		used[i] = true
	}
	if len(missing) > 0 {
		return nil, nil, invalid("--csv", "no column for %s of template %s; the columns are: %s",
			strings.Join(missing, ", "), d.Name, strings.Join(header, ", "))
	}
	var warnings []string
	for i, h := range header {
		if !used[i] {
			warnings = append(warnings, fmt.Sprintf("column %q is not a variable of template %s: it is not sent", h, d.Name))
		}
	}
	return c, warnings, nil
}

func isOneOf(s string, list []string) bool {
	for _, l := range list {
		if strings.EqualFold(s, l) {
			return true
		}
	}
	return false
}

func describeVar(v mensatek.TemplateVariable) string {
	col := v.Field
	if col == "" {
		col = v.Name
	}
	return fmt.Sprintf("%s (variable %d, %s)", col, v.Index, strings.ToLower(string(v.Format)))
}

func (c *columns) cell(r sheetRow, i int) string {
	if i < 0 || i >= len(r.cells) {
		return ""
	}
	return r.cells[i]
}

// recipient builds the row's recipient.
func (c *columns) recipient(r sheetRow) mensatek.Recipient {
	rec := mensatek.Recipient{Phone: c.cell(r, c.phone), Name: c.cell(r, c.name), Email: c.cell(r, c.email)}
	if len(c.vars) > 0 {
		rec.Vars = make(map[string]string, len(c.vars))
		for k, i := range c.vars {
			rec.Vars[k] = c.cell(r, i)
		}
	}
	return rec
}

// problems checks the row against the template and returns what is wrong, naming columns.
func (c *columns) problems(r sheetRow, rec mensatek.Recipient, d *mensatek.TemplateDetails) []string {
	var out []string
	if extra := r.cells[min(len(r.cells), len(c.header)):]; strings.Join(extra, "") != "" {
		out = append(out, fmt.Sprintf("has %d cells but the header has %d (a comma inside a value needs quotes)",
			len(r.cells), len(c.header)))
	}
	err := d.ValidateRecipient(rec)
	for _, e := range flatten(err) {
		var verr *mensatek.ValidationError
		if errors.As(e, &verr) {
			out = append(out, c.column(verr.Field)+": "+verr.Reason)
		} else if e != nil {
			out = append(out, oneLine(e))
		}
	}
	return out
}

// column names the CSV column a validation error's field comes from.
func (c *columns) column(field string) string {
	switch {
	case field == "Phone":
		return c.header[c.phone]
	case field == "Name" && c.name >= 0:
		return c.header[c.name]
	case field == "Email" && c.email >= 0:
		return c.header[c.email]
	case strings.HasPrefix(field, "Vars[") && strings.HasSuffix(field, "]"):
		key := field[len("Vars[") : len(field)-1]
		if i, ok := c.vars[key]; ok {
			return c.header[i]
		}
		return key
	}
	return field
}

// flatten lists the errors joined in err.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// ranges writes sorted numbers as ranges: "2-4, 7, 9-10".
func ranges[T int | int64](xs []T) string {
	xs = append([]T(nil), xs...)
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	var b strings.Builder
	for i := 0; i < len(xs); {
		j := i
		for j+1 < len(xs) && xs[j+1] <= xs[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(int64(xs[i]), 10))
		if xs[j] != xs[i] {
			b.WriteString("-" + strconv.FormatInt(int64(xs[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}
