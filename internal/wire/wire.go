// Package wire holds the lenient decoding rules for what the Mensatek API and its webhooks send:
// replies that are an object or a one-element array, numbers that are JSON numbers or strings (with
// a comma as the decimal separator), case-insensitive field names, and objects that arrive as a
// string holding JSON, sometimes escaped once more than needed.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Fields is a decoded JSON object whose keys are lower-cased, so lookups ignore case the way the
// API does.
type Fields map[string]json.RawMessage

// ErrEmpty reports a reply with no content.
var ErrEmpty = errors.New("empty reply")

// Object returns the one JSON object of a reply that is either an object or an array holding one.
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
func (f Fields) String(names ...string) (string, bool) {
	raw, ok := f.Raw(names...)
	if !ok {
		return "", false
	}
	return Text(raw), true
}

// Int returns a field as an integer; absent, null and "" are (0, false, nil).
func (f Fields) Int(names ...string) (int64, bool, error) {
	raw, ok := f.Raw(names...)
	if !ok {
		return 0, false, nil
	}
	return Int(raw)
}

// Float returns a field as a number; absent, null and "" are (0, false, nil).
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
func Text(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		return unquote(raw)
	}
	if isNull(raw) {
		return ""
	}
	return string(raw)
}

// Int decodes a JSON number or a string holding one as an integer. A value with a fractional
// part is an error; "" and null are (0, false, nil).
func Int(raw json.RawMessage) (int64, bool, error) {
	s, ok, err := numberText(raw)
	if !ok || err != nil {
		return 0, ok, err
	}
	return ParseInt(s)
}

// Float decodes a JSON number or a string holding one; "" and null are (0, false, nil).
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
		s := strings.TrimSpace(unquote(raw))
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

// ParseInt parses an integer written as digits, or as a number with no fractional part
// ("10", "-3", "12000.0", "1.234.567", "1e3").
func ParseInt(s string) (int64, bool, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false, nil
	}
	if v, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64); err == nil {
		return v, true, nil
	}
	f, err := ParseFloat(s)
	if err != nil {
		return 0, false, err
	}
	// 1<<63 is the first value an int64 cannot hold; float64(math.MaxInt64) rounds up to it.
	if f != math.Trunc(f) || f >= 1<<63 || f < math.MinInt64 {
		return 0, false, fmt.Errorf("%q is not a whole number", s)
	}
	return int64(f), true, nil
}

// ParseFloat parses a number as Spanish and English systems write it: "12000", "12.5", "12,5",
// "12.345,67", "12,345.67", "1.234.567". When both separators appear the last one is the decimal
// point; a single comma is a decimal comma; several of one kind are thousands separators.
func ParseFloat(s string) (float64, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty number")
	}
	dots, commas := strings.Count(s, "."), strings.Count(s, ",")
	switch {
	case dots > 0 && commas > 0:
		if strings.LastIndexByte(s, ',') > strings.LastIndexByte(s, '.') {
			s = strings.ReplaceAll(s, ".", "")
			s = strings.Replace(s, ",", ".", 1)
		} else {
			s = strings.ReplaceAll(s, ",", "")
		}
	case commas == 1:
		s = strings.Replace(s, ",", ".", 1)
	case commas > 1:
		s = strings.ReplaceAll(s, ",", "")
	case dots > 1:
		s = strings.ReplaceAll(s, ".", "")
	}
	if strings.Count(s, ".") > 1 {
		return 0, fmt.Errorf("%q is not a number", Excerpt([]byte(orig), 40))
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a number", Excerpt([]byte(orig), 40))
	}
	return v, nil
}

// EmbeddedObject decodes a value that is a JSON object, or a string holding one. The API's
// examples escape such strings once more than JSON needs (`{\"id\": ...}` after decoding), so a
// string that is not valid JSON is unescaped once more and tried again. An empty string, an empty
// array and null are an empty object.
func EmbeddedObject(raw json.RawMessage) (map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	for depth := 0; depth < 3; depth++ {
		if isNull(raw) {
			return map[string]json.RawMessage{}, nil
		}
		switch raw[0] {
		case '{':
			m := make(map[string]json.RawMessage)
			if err := ScanObject(raw, func(k string, v []byte) { m[k] = v }); err != nil {
				return nil, fmt.Errorf("invalid JSON object: %w", err)
			}
			return m, nil
		case '[':
			var a []json.RawMessage
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("invalid JSON array: %w", err)
			}
			if len(a) == 0 {
				return map[string]json.RawMessage{}, nil
			}
			// A list is keyed by position, from 1, like the API's variable numbers.
			m := make(map[string]json.RawMessage, len(a))
			for i, v := range a {
				m[strconv.Itoa(i+1)] = v
			}
			return m, nil
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
				return map[string]json.RawMessage{}, nil
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

// unescapeBytes decodes b as the inside of a JSON string literal, leniently: raw control
// characters and quotes are kept as they are; a malformed escape is an error; invalid UTF-8
// becomes U+FFFD, byte by byte, as encoding/json does.
func unescapeBytes(b []byte) ([]byte, error) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			if c < utf8.RuneSelf {
				out = append(out, c)
				continue
			}
			r, size := utf8.DecodeRune(b[i:])
			out = utf8.AppendRune(out, r) // RuneError for an invalid byte
			i += size - 1
			continue
		}
		i++
		if i >= len(b) {
			return nil, errors.New("string ends with a backslash")
		}
		switch b[i] {
		case '"', '\\', '/':
			out = append(out, b[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(b[i+1:])
			if !ok {
				return nil, errors.New("malformed \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(-1), false
				if i+2 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					r2, ok = hex4(b[i+3:])
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, fmt.Errorf("invalid escape \\%c", b[i])
		}
	}
	return out, nil
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// Excerpt returns at most n bytes of b as printable text, for error messages: control characters
// and invalid UTF-8 are replaced, and a cut is marked with "...".
func Excerpt(b []byte, n int) string {
	cut := len(b) > n
	if cut {
		b = b[:n]
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			if len(b) < utf8.UTFMax && cut {
				break // a rune split by the cut
			}
			sb.WriteRune('\uFFFD')
		} else if r < 0x20 || r == 0x7f {
			sb.WriteByte(' ')
		} else {
			sb.WriteRune(r)
		}
		b = b[size:]
	}
	if cut {
		sb.WriteString("...")
	}
	return sb.String()
}

// FormFields turns form values into Fields whose values are JSON strings, so a form and a JSON
// body read the same way. Of names that differ only in case, the one that sorts first wins, so
// the result does not depend on map order. names maps each lower-cased name to the name as sent.
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
