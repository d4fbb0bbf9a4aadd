package phone

import (
	"strings"
	"testing"
)

// FuzzParse: any input, in any region, gives a problem or international digits that read back
// as themselves; never a panic. (cmd/mensatek's TestPhoneAgreesWithLibrary checks the answers.)
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"+34 600 123 456", "0034600123456", "600 123 456", "+33 (0)6 12 34 56 78",
		"011 44 20 7946 0000", "+0034600123456", "+", "", "(+1) 202-555-0123", "8 (800) 555-35-35", "+800 1234 5678"} {
		for _, region := range []string{"", "ES", "US", "RU", "GB"} {
			f.Add(seed, region)
		}
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		r := Region(region)
		n, p := Parse(raw, r)
		if p != OK {
			if n.E164 != "" {
				t.Fatalf("%q in %q: problem %d with %q", raw, region, p, n.E164)
			}
			return
		}
		if !allDigits(n.E164) || len(n.E164) > 17+maxCountryLen || n.E164[0] == '0' {
			t.Fatalf("%q in %q: %q", raw, region, n.E164)
		}
		again, p := Parse(n.E164, nil)
		if p != OK || again.E164 != n.E164 {
			t.Fatalf("%q in %q gave %q, which reads back as %q (problem %d)", raw, region, n.E164, again.E164, p)
		}
	})
}

func TestRegion(t *testing.T) {
	for _, code := range []string{"ES", "es", " Us ", "GB", "AC"} {
		if r := Region(code); r == nil || r.Code() != strings.ToUpper(strings.TrimSpace(code)) {
			t.Errorf("Region(%q) = %v", code, r)
		}
	}
	for _, code := range []string{"", "001", "XX", "ESP", "E"} {
		if r := Region(code); r != nil {
			t.Errorf("Region(%q) = %s", code, r.Code())
		}
	}
	if cc := Region("ES").CountryCode(); cc != 34 {
		t.Errorf("ES: +%d", cc)
	}
}
