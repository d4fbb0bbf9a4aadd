package wire

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// FoldKey returns a string that is the same for two names exactly when strings.EqualFold says
// they are equal, which is how encoding/json matches member names: every rune becomes the
// smallest rune of its simple-fold orbit ('k', 'K' and the Kelvin sign U+212A all become 'K';
// 's', 'S' and the long s U+017F become 'S'). Invalid UTF-8 bytes become U+FFFD, as
// strings.EqualFold reads them. With it, names are grouped by case in a map, in time linear in
// their length, instead of being compared pairwise.
func FoldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf {
			ascii = false
			break
		} else if 'a' <= c && c <= 'z' {
			ascii = false
			break
		}
	}
	if ascii {
		return s // nothing to fold
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(FoldRune(r))
	}
	return b.String()
}

// FoldRune returns the smallest rune of r's simple-fold orbit.
func FoldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}
