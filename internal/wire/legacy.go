package wire

// TO BE DELETED with mensatektest's rewrite (it must stop importing this package): the
// hand-written scanner and the field-by-field accessors that decoded replies and webhooks before
// encoding/json took over (decode.go). The SDK itself no longer uses anything in this file; only
// mensatektest does.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Fields is a decoded JSON object whose keys are lower-cased, so lookups ignore case the way the
// API does.
//
// Legacy: only mensatektest uses it; it goes with legacy.go.
type Fields map[string]json.RawMessage

// Object returns the one JSON object of a reply that is either an object or an array holding one.
//
// Legacy: only mensatektest uses it; it goes with legacy.go.
func Object(body []byte) (Fields, error) {
	b := bytes.TrimSpace(body)
	// A UTF-8 byte order mark is not JSON but some PHP servers send one, maybe before a line break.
	b = bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	if len(b) == 0 {
		return nil, ErrEmpty
	}
	switch b[0] {
	case '[':
		if !json.Valid(b) {
			var v any
			return nil, fmt.Errorf("reply is not valid JSON: %w", json.Unmarshal(b, &v))
		}
		i := skipSpace(b, 1)
		if i >= len(b) || b[i] == ']' {
			return nil, errors.New("reply is an empty JSON array")
		}
		return decodeValidObject(b[i:skipValue(b, i)])
	case '{':
		return DecodeObject(b)
	default:
		return nil, errors.New("reply is not a JSON object")
	}
}

// DecodeObject decodes one JSON object into Fields. A key that appears twice in different case
// keeps its first value.
//
// Legacy: only mensatektest uses it; it goes with legacy.go.
func DecodeObject(b []byte) (Fields, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' && !json.Valid(b) {
		var v any
		return nil, scanError(json.Unmarshal(b, &v))
	}
	return decodeValidObject(b)
}

// decodeValidObject is DecodeObject for input already known to be valid JSON.
func decodeValidObject(b []byte) (Fields, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		if string(b) == "null" {
			return nil, errors.New("reply is null, not a JSON object")
		}
		return nil, fmt.Errorf("reply is not a valid JSON object: %s", Excerpt(b, 40))
	}
	f := make(Fields, 12)
	scanObject(b, func(key string, val []byte) {
		lk := strings.ToLower(key)
		if _, dup := f[lk]; !dup {
			f[lk] = val
		}
	})
	return f, nil
}

// Raw returns the first of names that is present and not null. Names are ASCII; they are
// lower-cased on the stack, so a lookup costs no allocation.
//
// Legacy: only mensatektest uses it; it goes with legacy.go.
func (f Fields) Raw(names ...string) (json.RawMessage, bool) {
	var buf [64]byte
	for _, n := range names {
		key := buf[:0]
		for i := 0; i < len(n); i++ {
			c := n[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			key = append(key, c)
		}
		if v, ok := f[string(key)]; ok && !isNull(v) {
			return v, true
		}
	}
	return nil, false
}

// String returns a field as text. Numbers and booleans are returned as written.
//
// Legacy: only mensatektest uses it; it goes with legacy.go.
func (f Fields) String(names ...string) (string, bool) {
	raw, ok := f.Raw(names...)
	if !ok {
		return "", false
	}
	return Text(raw), true
}

// Int returns a field as an integer; absent, null and "" are (0, false, nil).
//
// Legacy: only mensatektest uses it; it goes with legacy.go.
func (f Fields) Int(names ...string) (int64, bool, error) {
	raw, ok := f.Raw(names...)
	if !ok {
		return 0, false, nil
	}
	return Int(raw)
}

// Float returns a field as a number; absent, null and "" are (0, false, nil).
//
// Legacy: only mensatektest uses it; it goes with legacy.go.
func (f Fields) Float(names ...string) (float64, bool, error) {
	raw, ok := f.Raw(names...)
	if !ok {
		return 0, false, nil
	}
	return Float(raw)
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// Text returns a JSON value as text: a string unquoted, anything else as written.
//
// Legacy: only mensatektest uses it; it goes with legacy.go.
func Text(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		return legacyUnquote(raw)
	}
	if isNull(raw) {
		return ""
	}
	return string(raw)
}

// Int decodes a JSON number or a string holding one as an integer. A value with a fractional
// part is an error; "" and null are (0, false, nil).
//
// Legacy: only mensatektest uses it; it goes with legacy.go.
func Int(raw json.RawMessage) (int64, bool, error) {
	s, ok, err := numberText(raw)
	if !ok || err != nil {
		return 0, ok, err
	}
	return ParseInt(s)
}

// Float decodes a JSON number or a string holding one; "" and null are (0, false, nil).
//
// Legacy: only mensatektest uses it; it goes with legacy.go.
func Float(raw json.RawMessage) (float64, bool, error) {
	s, ok, err := numberText(raw)
	if !ok || err != nil {
		return 0, ok, err
	}
	v, err := ParseFloat(s)
	return v, err == nil, err
}

func numberText(raw json.RawMessage) (string, bool, error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return "", false, nil
	}
	switch raw[0] {
	case '"':
		if !json.Valid(raw) {
			return "", false, fmt.Errorf("invalid string %s", Excerpt(raw, 40))
		}
		s := strings.TrimSpace(legacyUnquote(raw))
		if s == "" {
			return "", false, nil
		}
		return s, true, nil
	case 't':
		if string(raw) == "true" {
			return "1", true, nil
		}
	case 'f':
		if string(raw) == "false" {
			return "0", true, nil
		}
	}
	if raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9') {
		return string(raw), true, nil
	}
	return "", false, fmt.Errorf("%s is not a number", Excerpt(raw, 40))
}

// EmbeddedObject decodes a value that is a JSON object, or a string holding one, as [Map] does.
//
// Legacy: only mensatektest uses it; it goes with legacy.go.
func EmbeddedObject(raw json.RawMessage) (map[string]json.RawMessage, error) {
	var m Map[json.RawMessage]
	_ = m.UnmarshalJSON(raw)
	if m.Err != nil {
		return nil, m.Err
	}
	if m.Value == nil {
		m.Value = map[string]json.RawMessage{}
	}
	return m.Value, nil
}

// FormFields turns form values into Fields whose values are JSON strings, so a form and a JSON
// body read the same way. Of names that differ only in case, the one that sorts first wins, so
// the result does not depend on map order. names maps each lower-cased name to the name as sent.
//
// Legacy: only mensatektest uses it; it goes with legacy.go.
func FormFields(vals map[string][]string) (f Fields, names map[string]string) {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	f = make(Fields, len(vals))
	names = make(map[string]string, len(vals))
	for _, k := range keys {
		lk := strings.ToLower(k)
		if _, dup := f[lk]; dup || len(vals[k]) == 0 {
			continue
		}
		f[lk], names[lk] = AppendString(nil, vals[k][0]), k
	}
	return f, names
}

// ScanObject calls fn with each member of the JSON object b, in order: the key, decoded, and
// the value's raw bytes (a sub-slice of b). It validates b first, so a malformed object is an
// error and fn is never called with broken input. It is the allocation-light path that reply
// and webhook decoding share, instead of decoding into a map by reflection.
//
// Legacy: only mensatektest uses it; it goes with legacy.go.
func ScanObject(b []byte, fn func(key string, val []byte)) error {
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return err
	}
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errors.New("not a JSON object")
	}
	scanObject(b, fn)
	return nil
}

// scanObject is ScanObject for input already known to be a valid JSON object.
func scanObject(b []byte, fn func(key string, val []byte)) {
	i := skipSpace(b, 0)
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return
	}
	for i < len(b) {
		// b is valid JSON, so a key string starts here.
		end := skipString(b, i)
		key := legacyUnquote(b[i:end])
		i = skipSpace(b, end)
		i = skipSpace(b, i+1) // ':'
		vend := skipValue(b, i)
		fn(key, b[i:vend])
		i = skipSpace(b, vend)
		if i >= len(b) || b[i] == '}' {
			return
		}
		i = skipSpace(b, i+1) // ','
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string literal that starts at b[i].
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the JSON value that starts at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		return j
	}
}

// unquote decodes a JSON string literal, without reflection when it has no escapes.
func legacyUnquote(lit []byte) string {
	if len(lit) >= 2 && lit[0] == '"' && lit[len(lit)-1] == '"' {
		inner := lit[1 : len(lit)-1]
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			return string(inner)
		}
	}
	if len(lit) >= 2 && lit[0] == '"' && lit[len(lit)-1] == '"' {
		if out, err := unescapeBytes(lit[1 : len(lit)-1]); err == nil {
			return string(out)
		}
	}
	return string(lit)
}

func scanError(err error) error {
	return fmt.Errorf("reply is not a valid JSON object: %w", err)
}
