package wire

import "encoding/json"

// Flat is a reply struct whose members are all scalars (the API's usual reply: one object of
// strings and numbers). DecodeReply reads such a reply with a small scanner instead of
// encoding/json's reflection, which made up most of the cost of decoding a send's reply; any
// reply the scanner is not sure of goes to encoding/json, so the result is the same either way.
type Flat interface {
	// Member returns the field that the member named name decodes into, or nil when the struct
	// has no such field. The names are the struct's encoding/json names in ASCII lower case
	// (name holds the member's name folded so), which must differ from each other without
	// regard to case: that is how encoding/json matches them.
	Member(name Name) json.Unmarshaler
}

// Name is a member's name in ASCII lower case, held by value so that asking for a member
// allocates nothing.
type Name struct {
	n int
	b [maxFlatName]byte
}

// Bytes returns the name; compare it with string(name.Bytes()) == "idmensaje".
func (n *Name) Bytes() []byte { return n.b[:n.n] }

// maxFlatMembers is how many members the scanner holds before it gives the reply to
// encoding/json; the API's replies have about ten.
const maxFlatMembers = 32

// maxFlatName is the longest member name the scanner folds; longer names (which no reply field
// has) are skipped as unknown after the same checks.
const maxFlatName = 64

// decodeFlat decodes b, an object or an array whose first element is an object, into v when b
// is, to the last byte, a flat object of scalar members with plain ASCII names, optionally
// alone in an array: the shape of nearly every reply. It reports false, having changed nothing,
// for anything else (nesting, further array elements, escapes in names, invalid JSON), which
// the caller then gives to encoding/json. Values reach the same UnmarshalJSON methods that
// encoding/json calls, with the same literal bytes; of a name given twice the last wins, as in
// encoding/json.
func decodeFlat(b []byte, v Flat) bool {
	type set struct {
		field json.Unmarshaler
		lit   []byte
	}
	var sets [maxFlatMembers]set
	n := 0
	i := skipSpace(b, 0)
	inArray := i < len(b) && b[i] == '['
	if inArray {
		i = skipSpace(b, i+1)
	}
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		var lower Name
		for {
			// A name: ASCII, no escapes.
			if i >= len(b) || b[i] != '"' {
				return false
			}
			start := i + 1
			end := start
			for end < len(b) && b[end] != '"' {
				c := b[end]
				if c == '\\' || c < 0x20 || c >= 0x80 {
					return false
				}
				end++
			}
			if end >= len(b) {
				return false
			}
			name := b[start:end]
			i = skipSpace(b, end+1)
			if i >= len(b) || b[i] != ':' {
				return false
			}
			i = skipSpace(b, i+1)
			litEnd, ok := scalarEnd(b, i)
			if !ok {
				return false
			}
			if len(name) <= maxFlatName {
				for k, c := range name {
					if 'A' <= c && c <= 'Z' {
						c += 'a' - 'A'
					}
					lower.b[k] = c
				}
				lower.n = len(name)
				if f := v.Member(lower); f != nil {
					if n == len(sets) {
						return false
					}
					sets[n] = set{f, b[i:litEnd]}
					n++
				}
			}
			i = skipSpace(b, litEnd)
			if i >= len(b) {
				return false
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return false
			}
			i = skipSpace(b, i+1)
		}
	}
	i = skipSpace(b, i)
	if inArray {
		if i >= len(b) || b[i] != ']' {
			return false
		}
		i = skipSpace(b, i+1)
	}
	if i != len(b) {
		return false
	}
	for _, s := range sets[:n] {
		_ = s.field.UnmarshalJSON(s.lit) // the lenient types never fail
	}
	return true
}

// skipSpace returns the index of the first byte at or after i that is not JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scalarEnd returns the end of the JSON string, number, true, false or null that starts at
// b[i], and false when there is none (an object, an array, or invalid JSON).
func scalarEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		for j := i + 1; j < len(b); j++ {
			switch c := b[j]; {
			case c == '"':
				return j + 1, true
			case c < 0x20:
				return 0, false
			case c == '\\':
				j++
				if j >= len(b) {
					return 0, false
				}
				switch b[j] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				case 'u':
					if j+4 >= len(b) {
						return 0, false
					}
					for _, h := range b[j+1 : j+5] {
						if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
							return 0, false
						}
					}
					j += 4
				default:
					return 0, false
				}
			}
		}
		return 0, false
	case c == 't':
		return literalEnd(b, i, "true")
	case c == 'f':
		return literalEnd(b, i, "false")
	case c == 'n':
		return literalEnd(b, i, "null")
	case c == '-' || '0' <= c && c <= '9':
		return numberEnd(b, i)
	}
	return 0, false
}

func literalEnd(b []byte, i int, word string) (int, bool) {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return 0, false
	}
	return i + len(word), true
}

// numberEnd returns the end of the JSON number at b[i] (RFC 8259's grammar: -?int frac? exp?).
func numberEnd(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return 0, false
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = digitsEnd(b, i)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		d := digitsEnd(b, i+1)
		if d == i+1 {
			return 0, false
		}
		i = d
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := digitsEnd(b, i)
		if d == i {
			return 0, false
		}
		i = d
	}
	return i, true
}

// digitsEnd returns the index of the first byte at or after i that is not an ASCII digit.
func digitsEnd(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
