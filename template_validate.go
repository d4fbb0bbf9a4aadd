package mensatek

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/mensatek-go/mensatek/internal/wire"
)

// VariableFormat is the kind of value a template variable takes (Formato). A value the SDK does
// not list is kept as it came, and checked as text.
type VariableFormat string

// The variable formats the API names. Any other format is checked as text.
const (
	FormatPhone    VariableFormat = "TELEFONO"
	FormatText     VariableFormat = "TEXTO"
	FormatURL      VariableFormat = "URL"
	FormatImageURL VariableFormat = "URL_IMAGEN"
	FormatDocURL   VariableFormat = "URL_DOCUMENTO"
	FormatVideoURL VariableFormat = "URL_VIDEO"
)

// Validate checks that the template can be sent to these recipients: it is approved, there is at
// least one recipient, and each recipient carries every variable with a value that fits its
// Format (variable 1 is the phone): a valid phone for TELEFONO, an absolute http(s) URL for URL,
// URL_IMAGEN, URL_DOCUMENTO and URL_VIDEO, non-empty text otherwise that WhatsApp accepts in a
// template (no line break, no tab, no more than 4 spaces in a row: Meta refuses such a send after
// the API took it, so a spreadsheet cell with a line break in a name is caught here, before
// anything is spent).
//
// A variable is given in Recipient.Vars by its Field (Campo), in any case, or by its Name
// (Nombre) when that names no other variable; the variable Nombre (or Email) may also come from
// the recipient's Name (Email). Matching is strict: a Vars key the template does not have (a
// typo, an extra "Cupon") is a problem naming the key, with a "did you mean" when a variable's
// name is close; so is a name that fits several variables (the Nombre of two, or the Campo of
// one and the Nombre of another), and one variable given twice. Nombre and Email are the
// recipient's own fields and are never unknown. A missing name that feeds the variable Nombre is
// reported as "To[i].Name".
//
// Validate accepts a variable by its Name, but the live API knows only the Campo:
// [Client.SendChecked] sends such a value under its Campo, and Send sends Vars as they are.
//
// A template that is not approved is a [*TemplateError] matching [ErrTemplateNotApproved]. The
// recipients' problems are [ValidationErrors], every one a *ValidationError naming the recipient
// and variable ("To[3].Vars[Producto]", "To[3].Name"), in order: for each recipient, its phone,
// its variables by Index, then the keys the template does not have.
func (d *TemplateDetails) Validate(to ...Recipient) error {
	_, err := d.bind(to)
	return err
}

// bind validates as Validate does and returns the recipients as they are to be sent: a value
// given by a variable's display name moved to its Campo. It returns to itself when nothing
// changes, else a new slice whose changed recipients have new Vars maps: the caller's request is
// never modified.
func (d *TemplateDetails) bind(to []Recipient) ([]Recipient, error) {
	if d == nil {
		return nil, invalid("Template", "no template details")
	}
	if !d.Verified {
		return nil, &TemplateError{Name: d.Name, Status: d.Status, err: ErrTemplateNotApproved}
	}
	if len(to) == 0 {
		return nil, invalid("To", "at least one recipient is required")
	}
	b := d.newBinder()
	var errs ValidationErrors
	out := to
	for i, r := range to {
		var vars map[string]string
		errs, vars = b.check(errs, i, r)
		if vars != nil && len(errs) == 0 {
			if &out[0] == &to[0] {
				out = append([]Recipient(nil), to...)
			}
			out[i].Vars = vars
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// ValidateRecipient checks one recipient's variables as [TemplateDetails.Validate] does, without
// the approval check, so a caller can sort good rows from bad ones. Its problems are
// [ValidationErrors] with paths relative to the recipient ("Vars[Cupon]", "Name").
func (d *TemplateDetails) ValidateRecipient(r Recipient) error {
	if d == nil {
		return invalid("Template", "no template details")
	}
	errs, _ := d.newBinder().check(nil, -1, r)
	return errs.orNil()
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// binder matches recipients' Vars keys to a template's variables. It is built once per
// Validate, so each key costs a map lookup, and reuses its scratch space from one recipient to
// the next: matching a campaign whose keys are all Campo names allocates nothing per recipient
// (BenchmarkTemplateValidate10k).
type binder struct {
	d      *TemplateDetails
	exact  map[string]varRefs // by the name as the server spells it
	folded map[string]varRefs // by its lower case
	given  []givenVar         // scratch: the keys of one recipient that name one variable
	bad    []string           // scratch: the keys of one recipient that are problems
}

// varRefs are the variables (positions in Variables) a key names: by the name they are sent
// under (the Campo, or the Nombre of a variable without one), and by their display name.
type varRefs struct{ byKey, byName []int }

// givenVar is a Vars key that names one variable.
type givenVar struct {
	key    string
	v      int  // position in Variables
	byName bool // the key is the variable's display name, not its Campo
}

func (d *TemplateDetails) newBinder() *binder {
	b := &binder{d: d, exact: map[string]varRefs{}, folded: map[string]varRefs{}}
	add := func(name string, i int, byName bool) {
		for _, m := range []struct {
			refs map[string]varRefs
			k    string
		}{{b.exact, name}, {b.folded, strings.ToLower(name)}} {
			refs := m.refs[m.k]
			if byName {
				if !slices.Contains(refs.byName, i) {
					refs.byName = append(refs.byName, i)
				}
			} else if !slices.Contains(refs.byKey, i) {
				refs.byKey = append(refs.byKey, i)
			}
			m.refs[m.k] = refs
		}
	}
	for i, v := range d.Variables {
		if k := v.key(); k != "" {
			add(k, i, false)
		}
		if v.Field != "" && v.Name != "" && !strings.EqualFold(v.Name, v.Field) {
			add(v.Name, i, true)
		}
	}
	return b
}

func (b *binder) lookup(key string) varRefs {
	if refs, ok := b.exact[key]; ok {
		return refs
	}
	return b.folded[strings.ToLower(key)]
}

func (r varRefs) count() int { return len(r.byKey) + len(r.byName) }

// only returns the one variable of refs whose count is 1.
func (r varRefs) only() int {
	if len(r.byKey) == 1 {
		return r.byKey[0]
	}
	return r.byName[0]
}

// key is the name a variable is sent under: its Campo, or its Nombre when it has none.
func (v TemplateVariable) key() string {
	if v.Field != "" {
		return v.Field
	}
	return v.Name
}

func isPhoneVariable(v TemplateVariable) bool {
	return v.Index == 1 || strings.EqualFold(v.Field, fieldPhone)
}

// isOwnField reports whether a Vars key is one of the recipient's own fields that Vars may
// carry (Nombre, Email): never a key the template lacks.
func isOwnField(k string) bool {
	return strings.EqualFold(k, fieldName) || strings.EqualFold(k, fieldEmail)
}

// ownFieldOf returns the recipient's own field (Nombre, Email) that gives v's value, or "":
// the one its Campo or its Nombre is.
func ownFieldOf(v TemplateVariable) string {
	for _, own := range []string{fieldName, fieldEmail} {
		if strings.EqualFold(v.Field, own) || strings.EqualFold(v.Name, own) {
			return own
		}
	}
	return ""
}

// ownValue finds the value of the recipient's own field: in Vars (in any case), else in Name
// or Email. key is the Vars key it was found under, "" when it was not in Vars.
func ownValue(own string, r Recipient) (key, value string, found bool) {
	for k, v := range r.Vars {
		if strings.EqualFold(k, own) {
			return k, v, true
		}
	}
	if own == fieldEmail {
		return "", r.Email, r.Email != ""
	}
	return "", r.Name, r.Name != ""
}

// ownPath is the Go path of the recipient's own field: "Name" or "Email".
func ownPath(own string) string {
	if own == fieldEmail {
		return "Email"
	}
	return "Name"
}

// check adds the problems of r, recipient at of the send (-1: paths relative to r), to errs:
// its phone, then its variables in order, then its keys that name no variable or several. vars
// is r's Vars as they are to be sent, set only when that differs from r.Vars: a value given by
// display name goes under its Campo. Paths are built only for a problem: a good campaign
// builds none.
func (b *binder) check(errs ValidationErrors, at int, r Recipient) (_ ValidationErrors, vars map[string]string) {
	d, first := b.d, len(errs)
	prefix := func() string {
		if at < 0 {
			return ""
		}
		return "To[" + strconv.Itoa(at) + "]."
	}
	if _, err := normalizePhone("", r.Phone); err != nil {
		errs = appendValidation(errs, err)
		errs[len(errs)-1].Field = prefix() + "Phone"
	}

	b.given, b.bad = b.given[:0], b.bad[:0]
	for k := range r.Vars {
		if isOwnField(k) {
			continue
		}
		refs := b.lookup(k)
		switch {
		case refs.count() != 1:
			b.bad = append(b.bad, k)
		case len(refs.byKey) == 1:
			b.given = append(b.given, givenVar{key: k, v: refs.byKey[0]})
		default:
			b.given = append(b.given, givenVar{key: k, v: refs.byName[0], byName: true})
		}
	}
	// By variable; for one given twice, the Campo first, so the other key is reported.
	slices.SortFunc(b.given, func(x, y givenVar) int {
		switch {
		case x.v != y.v:
			return x.v - y.v
		case x.byName != y.byName:
			if x.byName {
				return 1
			}
			return -1
		}
		return strings.Compare(x.key, y.key)
	})
	rename := false
	g := 0
	for i, v := range d.Variables {
		var key string
		var found bool
		for ; g < len(b.given) && b.given[g].v == i; g++ {
			switch {
			case isPhoneVariable(v) || found:
				b.bad = append(b.bad, b.given[g].key)
			default:
				key, found = b.given[g].key, true
				rename = rename || b.given[g].byName
			}
		}
		if isPhoneVariable(v) {
			continue // checked above
		}
		value, own := r.Vars[key], ownFieldOf(v)
		if !found && own != "" {
			key, value, found = ownValue(own, r)
			rename = rename || (found && !strings.EqualFold(v.key(), own))
		}
		path := func() string {
			switch {
			case key != "":
				return prefix() + "Vars[" + key + "]"
			case own != "":
				return prefix() + ownPath(own)
			}
			return prefix() + "Vars[" + v.key() + "]"
		}
		if !found && b.badHas(v.key()) {
			continue // given, but ambiguous: said with the key
		}
		if !found || strings.TrimSpace(value) == "" {
			reason := fmt.Sprintf("missing variable %d (%s, %s)", v.Index, v.Name, strings.ToLower(orNone(string(v.Format))))
			if v.Example != "" {
				reason += fmt.Sprintf("; for example %q", v.Example)
			}
			if key == "" && own != "" {
				reason += "; set Recipient." + ownPath(own)
			}
			errs = append(errs, &ValidationError{Field: path(), Reason: reason})
			continue
		}
		if problem := valueProblem(v, value); problem != nil {
			problem.Field = path()
			errs = append(errs, problem)
		}
	}

	if len(b.bad) > 0 {
		slices.Sort(b.bad)
		for _, k := range b.bad {
			errs = append(errs, &ValidationError{Field: prefix() + "Vars[" + k + "]", Reason: b.keyProblem(k)})
		}
	}
	if !rename || len(errs) > first {
		return errs, nil
	}
	return errs, b.sendVars(r)
}

// badHas reports whether a problem key of the recipient is name, in any case.
func (b *binder) badHas(name string) bool {
	for _, k := range b.bad {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// sendVars returns a copy of r.Vars with every value keyed as the API knows it: a value given
// by a variable's display name under its Campo instead, and a value taken from the recipient's
// Name or Email also under the Campo of a variable whose Campo is another name.
func (b *binder) sendVars(r Recipient) map[string]string {
	vars := make(map[string]string, len(r.Vars)+1)
	for k, v := range r.Vars {
		vars[k] = v
	}
	for _, gv := range b.given {
		if gv.byName {
			delete(vars, gv.key)
			vars[b.d.Variables[gv.v].key()] = r.Vars[gv.key]
		}
	}
	for i, v := range b.d.Variables {
		own := ownFieldOf(v)
		if own == "" || isPhoneVariable(v) || strings.EqualFold(v.key(), own) || slices.ContainsFunc(b.given, func(gv givenVar) bool { return gv.v == i }) {
			continue
		}
		if _, value, found := ownValue(own, r); found {
			vars[v.key()] = value
		}
	}
	return vars
}

// keyProblem says why the Vars key k is refused.
func (b *binder) keyProblem(k string) string {
	d := b.d
	refs := b.lookup(k)
	numbers := func(list []int) string {
		var s []string
		for _, i := range list {
			s = append(s, strconv.Itoa(d.Variables[i].Index))
		}
		if len(s) == 1 {
			return "variable " + s[0]
		}
		return "variables " + strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
	}
	switch {
	case refs.count() == 0:
		reason := fmt.Sprintf("template %q has no variable %q", d.Name, wire.Excerpt([]byte(k), 80))
		if near := b.nearest(k); near != "" {
			return reason + "; did you mean " + near + "?"
		}
		return reason + "; its variables are " + b.names()
	case refs.count() > 1:
		var parts []string
		if len(refs.byKey) > 0 {
			parts = append(parts, "the Campo of "+numbers(refs.byKey))
		}
		if len(refs.byName) > 0 {
			parts = append(parts, "the Nombre of "+numbers(refs.byName))
		}
		return fmt.Sprintf("%q is ambiguous in template %q: %s; give the Campo of the one you mean", wire.Excerpt([]byte(k), 80), d.Name, strings.Join(parts, " and "))
	}
	i := refs.only()
	v := d.Variables[i]
	if isPhoneVariable(v) {
		return fmt.Sprintf("variable %d (%s) is the recipient's phone: set Recipient.Phone", v.Index, v.Name)
	}
	// The variable is given by another key as well.
	for _, gv := range b.given {
		if gv.v == i && gv.key != k {
			return fmt.Sprintf("gives variable %d (%s) a second time: it is also in Vars[%s]; keep one", v.Index, v.Name, gv.key)
		}
	}
	return fmt.Sprintf("gives variable %d (%s) a second time", v.Index, v.Name)
}

// names lists the variables a recipient gives, as "Campo (Nombre)", for an error.
func (b *binder) names() string {
	var s []string
	for _, v := range b.d.Variables {
		if isPhoneVariable(v) {
			continue
		}
		if len(s) == 20 {
			s = append(s, "...")
			break
		}
		n := v.key()
		if v.Name != "" && !strings.EqualFold(v.Name, n) {
			n += " (" + v.Name + ")"
		}
		s = append(s, n)
	}
	if len(s) == 0 {
		return "none (the phone is Recipient.Phone)"
	}
	return strings.Join(s, ", ")
}

// nearest returns the variable k most likely meant, quoted, or "" when none is close: one whose
// Campo or Nombre differs from k only in case and separators ("Valor_URL_Boton_0"), else within
// a few edits ("Produto"). A match by Nombre names the Campo to use and the Nombre.
func (b *binder) nearest(k string) string {
	best, bestDist := "", 4
	for _, v := range b.d.Variables {
		if isPhoneVariable(v) {
			continue
		}
		for _, c := range []struct {
			name   string
			byName bool
		}{{v.key(), false}, {v.Name, true}} {
			if c.name == "" {
				continue
			}
			dist := nameDistance(k, c.name)
			if dist < 0 || dist >= bestDist {
				continue
			}
			best, bestDist = strconv.Quote(v.key()), dist
			if c.byName && !strings.EqualFold(v.Name, v.key()) {
				best += " (" + v.Name + ")"
			}
		}
	}
	return best
}

// nameDistance is how far a key is from a variable's name: 0 when they differ only in case and
// separators, else the edit distance of their lower cases when it is small for the name's length;
// -1 when they are not close. Names longer than 64 characters are only compared the first way,
// so the cost of a key is bounded whatever its length.
func nameDistance(key, name string) int {
	if squash(key) == squash(name) {
		return 0
	}
	a, b := []rune(strings.ToLower(key)), []rune(strings.ToLower(name))
	if len(a) > 64 || len(b) > 64 {
		return -1
	}
	limit := min(1+len(b)/8, 3)
	if len(a)-len(b) > limit || len(b)-len(a) > limit {
		return -1
	}
	// Levenshtein distance, one row at a time.
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	if prev[len(b)] > limit {
		return -1
	}
	return prev[len(b)]
}

// squash keeps a name's letters and digits, in lower case: "Valor_URL_Boton_0" and
// "Valor-URL-Boton-0" are both "valorurlboton0".
func squash(s string) string {
	if len(s) > 256 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}

// valueProblem says why value does not fit v's Format, with Field left for the caller, or is nil.
func valueProblem(v TemplateVariable, value string) *ValidationError {
	var err error
	switch VariableFormat(strings.ToUpper(string(v.Format))) {
	case FormatPhone:
		_, err = normalizePhone("", value)
	case FormatURL, FormatImageURL, FormatDocURL, FormatVideoURL:
		err = checkURL("", value)
	default:
		if reason := metaTextProblem(value); reason != "" {
			return &ValidationError{Reason: reason}
		}
	}
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return &ValidationError{Reason: err.Error()}
	}
	return &ValidationError{Reason: ve.Reason}
}

// appendValidation adds the *ValidationError err holds (the local checks return nothing else).
func appendValidation(errs ValidationErrors, err error) ValidationErrors {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		ve = &ValidationError{Reason: err.Error()}
	}
	return append(errs, ve)
}

// metaTextProblem says why Meta would refuse value as a template's text parameter: it may hold
// no line break or tab, nor more than four spaces in a row. "" means none.
func metaTextProblem(value string) string {
	spaces := 0
	for i, r := range value {
		switch r {
		case '\n', '\r', '\v', '\f', '\u0085', '\u2028', '\u2029':
			return fmt.Sprintf("has a line break at byte %d; WhatsApp refuses line breaks in a template's variables", i)
		case '\t':
			return fmt.Sprintf("has a tab at byte %d; WhatsApp refuses tabs in a template's variables", i)
		case ' ':
			if spaces++; spaces > 4 {
				return fmt.Sprintf("has more than 4 spaces in a row at byte %d; WhatsApp refuses them in a template's variables", i-4)
			}
		default:
			spaces = 0
		}
	}
	return ""
}
