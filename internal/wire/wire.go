// Package wire holds what the SDK reads and writes on the wire. Reading is encoding/json into
// typed structs with a few lenient member types (decode.go) for what the Mensatek API and its
// webhooks send: replies that are an object or a one-element array, numbers that are JSON numbers
// or strings (with a comma as the decimal separator), text that may arrive as a number, and
// objects that arrive as a string holding JSON, sometimes escaped once more than needed.
// Writing is a hand-written encoder (encode.go), for the size of a 10,000-recipient send.
package wire

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrEmpty reports a reply with no content.
var ErrEmpty = errors.New("empty reply")

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
