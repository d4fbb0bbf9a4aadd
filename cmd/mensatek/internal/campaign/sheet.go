package campaign

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/cli"
)

// columns maps a sheet's columns to a template's variables.
type columns struct {
	phone, name, email int            // column indexes, -1 when absent
	vars               map[string]int // Recipient.Vars key -> column index
	header             []string
}

// The names a column may have, compared by headerKey.
var (
	phoneHeaders = []string{"Telefono", "Móvil", "Celular", "Phone", "Mobile", "Teléfono móvil", "Telefono movil", "Mobile phone", "Phone number"}
	nameHeaders  = []string{"Nombre", "Name"}
	emailHeaders = []string{"Email", "E-mail", "Correo", "Correo electrónico"}
)

// headerKey is what column names are compared by: without case, accents, surrounding spaces
// (also no-break spaces and a stray byte-order mark) or repeated inner spaces.
func headerKey(s string) string {
	if len(s) > 200 {
		return s // longer than any name it could match; normalising it would only cost time
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\ufeff' }), " ")
	stripMarks := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC) // "é" -> "e"
	if out, _, err := transform.String(stripMarks, s); err == nil {
		s = out
	}
	return strings.ToLower(s)
}

// findColumn returns the index of the first column with one of the names, else -1.
func findColumn(header []string, names []string) int {
	keys := make([]string, len(header))
	for i, h := range header {
		keys[i] = headerKey(h)
	}
	return findKey(keys, names)
}

// findKey is findColumn on the headerKey of each column.
func findKey(keys []string, names []string) int {
	for _, n := range names {
		if n == "" {
			continue
		}
		k := headerKey(n)
		for i, h := range keys {
			if h == k {
				return i
			}
		}
	}
	return -1
}

// mapColumns finds the column of every variable of the template, by the variable's field, else
// its name, compared by headerKey. A variable without a column is an error; the columns no
// variable uses make one warning.
func mapColumns(header []string, encoding, flag string, d *mensatek.TemplateDetails) (*columns, string, error) {
	keys := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		k := headerKey(h)
		if k != "" && seen[k] {
			return nil, "", cli.Invalid(flag, "the column %s appears twice in the header", cli.ClipQuote(h))
		}
		seen[k], keys[i] = true, k
	}
	c := &columns{phone: findKey(keys, phoneHeaders), name: findKey(keys, nameHeaders),
		email: findKey(keys, emailHeaders), vars: map[string]int{}, header: header}
	if c.phone < 0 {
		hint := ""
		if strings.ContainsRune(strings.Join(header, ""), '\uFFFD') {
			hint = fmt.Sprintf(" (the header has characters that %s cannot hold: is --encoding right?)", encoding)
		}
		return nil, "", cli.Invalid(flag, "no Telefono column (the recipient's phone; Teléfono, Móvil, Celular, Phone and Mobile work too)%s; the columns are: %s",
			hint, quoteList(header, 10))
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
		i := findKey(keys, []string{v.Field, v.Name})
		if i < 0 {
			missing = append(missing, describeVar(v))
			continue
		}
		c.vars[key] = i
		used[i] = true
	}
	if len(missing) > 0 {
		return nil, "", cli.Invalid(flag, "no column for %s of template %s; the columns are: %s",
			strings.Join(missing, ", "), d.Name, quoteList(header, 10))
	}
	var unused []string
	for i, h := range header {
		if !used[i] {
			unused = append(unused, h)
		}
	}
	switch len(unused) {
	case 0:
		return c, "", nil
	case 1:
		return c, fmt.Sprintf("column %s is not a variable of template %s: it is not sent", cli.ClipQuote(unused[0]), d.Name), nil
	}
	return c, fmt.Sprintf("columns %s are not variables of template %s: they are not sent", quoteList(unused, 5), d.Name), nil
}

func isOneOf(s string, list []string) bool {
	for _, l := range list {
		if headerKey(s) == headerKey(l) {
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

// value returns what a recipient gets for a template variable.
func (c *columns) value(v mensatek.TemplateVariable, rec mensatek.Recipient) string {
	switch {
	case v.Index == 1 || strings.EqualFold(v.Field, "Telefono"):
		return rec.Phone
	case isOneOf(v.Field, nameHeaders) || (v.Field == "" && isOneOf(v.Name, nameHeaders)):
		return rec.Name
	case isOneOf(v.Field, emailHeaders) || (v.Field == "" && isOneOf(v.Name, emailHeaders)):
		return rec.Email
	case v.Field != "":
		return rec.Vars[v.Field]
	}
	return rec.Vars[v.Name]
}

// problems checks the row against the template and returns what is wrong, naming columns.
func (c *columns) problems(r sheetRow, rec mensatek.Recipient, phoneProblem, encoding string, d *mensatek.TemplateDetails) []string {
	var out []string
	if extra := r.cells[min(len(r.cells), len(c.header)):]; strings.Join(extra, "") != "" {
		out = append(out, fmt.Sprintf("has %d cells but the header has %d (a comma inside a value needs quotes)",
			len(r.cells), len(c.header)))
	}
	reported := map[string]bool{} // fields with a problem already said
	if phoneProblem != "" {
		out = append(out, c.header[c.phone]+": "+phoneProblem)
		reported["Phone"] = true
	}
	check := func(field, value string) {
		switch {
		case reported[field]:
		case len(value) > maxCell:
			out = append(out, fmt.Sprintf("%s: %s is longer than any value a message can carry", c.column(field), cli.ClipQuote(value)))
			reported[field] = true
		case strings.ContainsRune(value, '\uFFFD'):
			out = append(out, fmt.Sprintf("%s: %s holds \uFFFD, a character lost to a wrong encoding (the file was read as %s): fix the value, or pass --encoding",
				c.column(field), cli.ClipQuote(value), encoding))
			reported[field] = true
		}
	}
	check("Phone", rec.Phone)
	check("Name", rec.Name)
	check("Email", rec.Email)
	for k, v := range rec.Vars {
		check("Vars["+k+"]", v)
	}
	err := d.ValidateRecipient(rec)
	for _, e := range flatten(err) {
		var verr *mensatek.ValidationError
		switch {
		case errors.As(e, &verr) && reported[verr.Field]:
		case errors.As(e, &verr):
			out = append(out, c.column(verr.Field)+": "+verr.Reason)
		case e != nil:
			out = append(out, cli.OneLine(e))
		}
	}
	return out
}

// maxCell is the longest value, in bytes, a row may hold in a column that is sent: more is
// surely a mistake (WhatsApp's longest text is 4,096 characters).
const maxCell = 16 << 10

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
