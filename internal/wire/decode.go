package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Decoding is encoding/json into typed structs whose members are the lenient types below. Member
// names match without regard to case, as the API reads them, and of a name given twice the last
// value wins: both are encoding/json's rules. A lenient type never returns an error from
// UnmarshalJSON (that would abort the whole decode): it keeps what it could not read in an Err
// field, so a reply with one unreadable member still yields the others.

// DecodeReply decodes a reply into v, a pointer to a struct. A reply is a JSON object or, as the
// API usually sends it, an array whose first element is that object (further elements are
// ignored). A UTF-8 byte order mark and white space around the JSON are allowed.
func DecodeReply(body []byte, v any) error {
	b := trimJSON(body)
	if len(b) == 0 {
		return ErrEmpty
	}
	if f, ok := v.(Flat); ok && decodeFlat(b, f) {
		return nil
	}
	switch b[0] {
	case '{':
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("reply is not a valid JSON object: %w", err)
		}
		return nil
	case '[':
		first := bytes.TrimLeft(b[1:], " \t\r\n")
		if len(first) == 0 || first[0] != '{' {
			return notAnObject(b, first)
		}
		// encoding/json decodes an array's elements into those of a Go array and drops the rest;
		// an element that is an interface holding a pointer is decoded into what it points to.
		one := [1]any{v}
		if err := json.Unmarshal(b, &one); err != nil {
			var syn *json.SyntaxError
			if errors.As(err, &syn) {
				return fmt.Errorf("reply is not valid JSON: %w", err)
			}
			return fmt.Errorf("reply is not a valid JSON object: %w", err)
		}
		return nil
	}
	return errors.New("reply is not a JSON object")
}

// notAnObject says why an array reply whose first element (first) is not an object cannot be
// read.
func notAnObject(b, first []byte) error {
	switch {
	case !json.Valid(b):
		return fmt.Errorf("reply is not valid JSON: %w", json.Unmarshal(b, new(any)))
	case first[0] == ']':
		return errors.New("reply is an empty JSON array")
	case first[0] == 'n':
		return errors.New("reply is null, not a JSON object")
	}
	return fmt.Errorf("reply is not a valid JSON object: %s", Excerpt(first, 40))
}

// trimJSON removes white space and a UTF-8 byte order mark (which some PHP servers send, maybe
// after a line break) around JSON text.
func trimJSON(b []byte) []byte {
	b = bytes.TrimSpace(b)
	return bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
}

// Number is a number as the API writes it: a JSON number, or a string holding one with a point
// or a comma as the decimal separator ([ParseFloat]); true and false are 1 and 0. null, "" and an
// absent member leave it unset. A value that is not a number is kept as an error, returned by
// Int and Float.
type Number struct {
	text string // the number as written, trimmed; "" when unset
	err  error
}

// UnmarshalJSON reads a number leniently; it never returns an error. null leaves n unchanged,
// as encoding/json leaves a number unchanged.
func (n *Number) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	switch c := b[0]; {
	case c == 'n':
		return nil
	case c == '"':
		n.text, n.err = strings.TrimSpace(unquote(b)), nil
	case c == 't':
		n.text, n.err = "1", nil
	case c == 'f':
		n.text, n.err = "0", nil
	case c == '-' || '0' <= c && c <= '9':
		n.text, n.err = string(b), nil
	default:
		n.text, n.err = "", fmt.Errorf("%s is not a number", Excerpt(b, 40))
	}
	return nil
}

// IsSet reports whether the member was present with a value other than null and "".
func (n Number) IsSet() bool { return n.text != "" || n.err != nil }

// Int returns the number as an integer; ok is false when it is unset. A value with a fractional
// part, or that is not a number, is an error ([ParseInt]).
func (n Number) Int() (v int64, ok bool, err error) {
	if n.err != nil {
		return 0, false, n.err
	}
	return ParseInt(n.text)
}

// Float returns the number; ok is false when it is unset.
func (n Number) Float() (v float64, ok bool, err error) {
	if n.err != nil || n.text == "" {
		return 0, false, n.err
	}
	v, err = ParseFloat(n.text)
	return v, err == nil, err
}

// String is text as the API writes it: a JSON string, or a number or boolean as written (an
// object or array keeps its JSON text). null leaves it unchanged.
type String string

// UnmarshalJSON reads text leniently; it never returns an error.
func (s *String) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		*s = String(unquote(b))
	case 'n':
	default:
		*s = String(b)
	}
	return nil
}

// unquote decodes a JSON string literal that encoding/json has already checked.
func unquote(lit []byte) string {
	if len(lit) < 2 {
		return ""
	}
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	_ = json.Unmarshal(lit, &s)
	return s
}

// First returns the first of values that is not empty.
func First(values ...String) string {
	for _, v := range values {
		if v != "" {
			return string(v)
		}
	}
	return ""
}

// ObjectOr is a member that is a JSON object in one shape of a message and a plain value in
// another ("text": "hi" or "text": {"body": "hi"}): an object is decoded into Object, anything
// else is kept as Text. null leaves it unchanged.
type ObjectOr[T any] struct {
	Object *T
	Text   String
}

// UnmarshalJSON reads either shape; it never returns an error. An object that is not a T, which
// only nesting beyond encoding/json's limit can cause for the types used here, leaves Object nil.
func (o *ObjectOr[T]) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case 'n':
		return nil
	case '{':
		o.Object, o.Text = new(T), ""
		if json.Unmarshal(b, o.Object) != nil {
			o.Object = nil
		}
		return nil
	}
	o.Object = nil
	return o.Text.UnmarshalJSON(b)
}

// Map is a JSON object of T values, keyed by name, that may also arrive as a string holding the
// object (the reference's examples escape that string once more than JSON needs: `{\"1\": ...}`
// once decoded; see [Embedded]) or as an array (keyed "1", "2", ... by position, like the API's
// variable numbers). null, "", [] and {} leave Value empty. What cannot be read, a value that is
// not a T included, is kept in Err rather than returned, so the rest of the reply still reads.
type Map[T any] struct {
	Value map[string]T
	Err   error
}

// UnmarshalJSON reads any of the shapes; it never returns an error.
func (m *Map[T]) UnmarshalJSON(b []byte) error {
	m.Value, m.Err = nil, nil
	raw, err := Embedded(b)
	if err != nil || len(raw) == 0 {
		m.Err = err
		return nil
	}
	if raw[0] == '[' {
		var list []T
		if err := json.Unmarshal(raw, &list); err != nil {
			m.Err = fmt.Errorf("invalid JSON array: %w", err)
			return nil
		}
		m.Value = make(map[string]T, len(list))
		for i, v := range list {
			m.Value[strconv.Itoa(i+1)] = v
		}
		return nil
	}
	if err := json.Unmarshal(raw, &m.Value); err != nil {
		m.Value, m.Err = nil, fmt.Errorf("invalid JSON object: %w", err)
	}
	return nil
}

// Embedded returns the JSON object or array that raw is, or that a string raw holds. The API's
// examples escape such strings once more than JSON needs (`{\"id\": ...}` after decoding), so a
// string that does not hold valid JSON is unescaped once more and tried again. It returns nil for
// null, an empty or blank string, and a string holding null; whether the result is valid JSON is
// left to the decode that follows.
func Embedded(raw []byte) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	for range 3 {
		if len(raw) == 0 || string(raw) == "null" {
			return nil, nil
		}
		switch raw[0] {
		case '{', '[':
			return raw, nil
		case '"':
			if len(raw) < 2 || raw[len(raw)-1] != '"' {
				return nil, fmt.Errorf("invalid JSON string: %s", Excerpt(raw, 40))
			}
			inner, err := unescapeBytes(raw[1 : len(raw)-1])
			if err != nil {
				return nil, fmt.Errorf("invalid JSON string: %w", err)
			}
			inner = bytes.TrimSpace(inner)
			if len(inner) == 0 {
				return nil, nil
			}
			if json.Valid(inner) {
				raw = inner
				continue
			}
			// One escaping level too many: read the text as the inside of a JSON string literal.
			u, err := unescapeBytes(inner)
			if err != nil {
				return nil, fmt.Errorf("string does not hold JSON: %s", Excerpt(inner, 60))
			}
			raw = bytes.TrimSpace(u)
			if len(raw) == 0 || raw[0] == '"' {
				return nil, fmt.Errorf("string does not hold a JSON object: %s", Excerpt(inner, 60))
			}
		default:
			return nil, fmt.Errorf("expected a JSON object, got %s", Excerpt(raw, 40))
		}
	}
	return nil, errors.New("JSON nested in strings too deeply")
}

// FormObject turns form values into one JSON object of strings, so that a form body decodes
// into the same structs as a JSON body. Each name's first value is used. Of names that differ
// only in case (as [FoldKey] groups them), only the one that sorts first in byte order is
// written: "ESTADO" wins over "Estado", which wins over "estado". The time taken is linear in
// the size of the form: names are grouped by their fold key in a map, never compared pairwise
// or sorted; the members come in no particular order.
func FormObject(vals map[string][]string) []byte {
	winners := make(map[string]string, len(vals)) // fold key -> the name that sorts first
	for k, v := range vals {
		if len(v) == 0 {
			continue
		}
		fk := FoldKey(k)
		if w, ok := winners[fk]; !ok || k < w {
			winners[fk] = k
		}
	}
	size := 2
	for _, k := range winners {
		size += len(k) + len(vals[k][0]) + 8
	}
	b := make([]byte, 0, size)
	b = append(b, '{')
	first := true
	for _, k := range winners {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = AppendString(b, k)
		b = append(b, ':')
		b = AppendString(b, vals[k][0])
	}
	return append(b, '}')
}
