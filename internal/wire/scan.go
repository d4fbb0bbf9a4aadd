package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ScanObject calls fn with each member of the JSON object b, in order: the key, decoded, and
// the value's raw bytes (a sub-slice of b). It validates b first, so a malformed object is an
// error and fn is never called with broken input. It is the allocation-light path that reply
// and webhook decoding share, instead of decoding into a map by reflection.
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
		key := unquote(b[i:end])
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
func unquote(lit []byte) string {
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
