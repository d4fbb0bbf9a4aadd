package wire

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FoldKey(a) == FoldKey(b) exactly when strings.EqualFold(a, b), for every rune: each rune's key
// is in its orbit (so equal keys mean EqualFold) and is the same for the whole orbit (so
// EqualFold means equal keys).
func TestFoldRuneCoversEveryOrbit(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		k := FoldRune(r)
		if !strings.EqualFold(string(r), string(k)) {
			t.Fatalf("FoldRune(%U) = %U, not in its fold orbit", r, k)
		}
		for o := unicode.SimpleFold(r); o != r; o = unicode.SimpleFold(o) {
			if FoldRune(o) != k {
				t.Fatalf("FoldRune(%U) = %U but FoldRune(%U) = %U, same orbit", r, k, o, FoldRune(o))
			}
		}
	}
}

func TestFoldKey(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"Estado", "ESTADO", true},
		{"estado", "eſtado", true}, // long s
		{"key", "\u212Aey", true},  // Kelvin sign
		{"KEY", "\u212AEY", true},
		{"a", "b", false},
		{"ab", "a", false},
		{"\xff", "\xfe", true}, // both read as U+FFFD, by EqualFold too
		{"\xff", "\uFFFD", true},
		{"ß", "ss", false},
		{"Σ", "ς", true},
		{"", "", true},
	} {
		if got := FoldKey(tc.a) == FoldKey(tc.b); got != tc.same || strings.EqualFold(tc.a, tc.b) != tc.same {
			t.Errorf("%q, %q: same key %v, EqualFold %v, want %v", tc.a, tc.b, got, strings.EqualFold(tc.a, tc.b), tc.same)
		}
	}
	if s := "ESTADO_1"; FoldKey(s) != s {
		t.Errorf("an upper-case ASCII name is its own key")
	}
}
