package mensatek

import "testing"

func TestOptOutKeywordMatching(t *testing.T) {
	t.Parallel()
	out, in := newKeywordSet(DefaultOptOutKeywords()), newKeywordSet(DefaultOptInKeywords())
	for _, msg := range []string{"BAJA", "baja", "Baja.", "  ¡Baja!  ", "BAJA 🙏", "stop", "Cancelar", "darse de baja", "Darse  de\tBAJA.", "UNSUBSCRIBE", "bája"} {
		if !out[normalizeKeyword(msg)] {
			t.Errorf("%q is an opt-out keyword, normalised to %q", msg, normalizeKeyword(msg))
		}
	}
	for _, msg := range []string{"no quiero la baja", "BAJA ya mismo por favor", "bajamos", "stopped", "", "🙏", "alta"} {
		if out[normalizeKeyword(msg)] {
			t.Errorf("%q is not an opt-out keyword (only a whole message is)", msg)
		}
	}
	for _, msg := range []string{"ALTA", "alta.", "Start", "¡Álta!"} {
		if !in[normalizeKeyword(msg)] {
			t.Errorf("%q is an opt-in keyword", msg)
		}
	}
}

func TestFoldAccent(t *testing.T) {
	t.Parallel()
	if got := normalizeKeyword("ÁàÂäÃå ÉèÊë ÍìÎï ÓòÔöÕ ÚùÛü Çç Ññ"); got != "AAAAAA EEEE IIII OOOOO UUUU CC NN" {
		t.Errorf("normalizeKeyword folded to %q", got)
	}
}
