package wire

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// AppendString appends s to dst as a JSON string literal. It escapes what JSON requires (quotes,
// backslashes, control characters) plus U+2028 and U+2029, and replaces invalid UTF-8 with
// U+FFFD, like encoding/json; it leaves <, > and & as they are.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// AppendEscaped appends b escaped as the inside of a JSON string literal, without the quotes.
// Writing JSON text through it embeds that JSON as a string value in one pass, with no copy.
func AppendEscaped(dst []byte, b []byte) []byte { return appendEscaped(dst, b) }

// appendEscaped is the one escaper for strings and byte slices: generic, so neither is copied
// into the other's type to be escaped.
func appendEscaped[T string | []byte](dst []byte, b T) []byte {
	start := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, b[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		// At most 4 bytes: for a []byte the conversion uses a buffer on the stack.
		r, size := utf8.DecodeRuneInString(string(b[i:min(i+utf8.UTFMax, len(b))]))
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, b[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, b[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, b[start:]...)
}

// AppendValue appends v as JSON: strings, booleans, numbers, maps with sorted keys and slices
// without reflection, anything else through encoding/json. It is how message data, small maps
// of plain values, is encoded on every send.
func AppendValue(dst []byte, v any) ([]byte, error) {
	return appendValue(dst, v, 0)
}

// maxDepth bounds nesting, so data that refers to itself fails instead of overflowing the stack.
const maxDepth = 64

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, fmt.Errorf("nested more than %d levels deep (a cycle?)", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return AppendString(dst, x), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case float64:
		abs := math.Abs(x)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return dst, fmt.Errorf("unsupported number %v", x)
		}
		if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
			break // encoding/json's exponent form
		}
		return strconv.AppendFloat(dst, x, 'f', -1, 64), nil
	case map[string]any:
		var small [8]string // message data has a few keys: sorted on the stack
		keys := small[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = appendValue(dst, x[k], depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case []map[string]any:
		return appendArray(dst, x, depth)
	case []any:
		return appendArray(dst, x, depth)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

func appendArray[T any](dst []byte, xs []T, depth int) ([]byte, error) {
	dst = append(dst, '[')
	for i, e := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendValue(dst, e, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}
