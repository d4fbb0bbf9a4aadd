package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
)

// The core reads phones from a copy of libphonenumber's metadata, in its internal/phone/data.go,
// so that it does not depend on the library; this module does, so it writes that copy and
// proves the core reads numbers as the library does (TestPhoneAgreesWithLibrary).

var updatePhoneData = flag.Bool("update-phone-data", false, "rewrite the core's internal/phone/data.go from libphonenumber's metadata")

const phoneDataPath = "../../internal/phone/data.go"

// TestPhoneDataIsCurrent fails when the core's copy of the metadata is not the library's, as
// after an upgrade of github.com/nyaruka/phonenumbers: run go generate in internal/phone (or
// this test with -update-phone-data).
func TestPhoneDataIsCurrent(t *testing.T) {
	want := phoneData(t)
	if *updatePhoneData {
		require.NoError(t, os.WriteFile(phoneDataPath, want, 0o644))
		return
	}
	got, err := os.ReadFile(phoneDataPath)
	require.NoError(t, err)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not the metadata of the phonenumbers version in go.mod: run go generate ./internal/phone in the core", phoneDataPath)
	}
}

// phoneData is the Go source of internal/phone/data.go.
func phoneData(t *testing.T) []byte {
	coll, err := phonenumbers.MetadataCollection()
	require.NoError(t, err)
	metas := coll.GetMetadata()
	sort.Slice(metas, func(i, j int) bool {
		if metas[i].GetId() != metas[j].GetId() {
			return metas[i].GetId() < metas[j].GetId()
		}
		return metas[i].GetCountryCode() < metas[j].GetCountryCode()
	})
	index := map[string]int{} // "ES", or "001/800" for a non-geographic code
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated from the metadata of github.com/nyaruka/phonenumbers %s by cmd/mensatek's TestPhoneDataIsCurrent. DO NOT EDIT.\n\n", libraryVersion(t))
	b.WriteString("package phone\n\n")
	b.WriteString("// regions are the regions of libphonenumber's metadata, by id; the non-geographic codes\n// (id \"001\") by code.\n")
	b.WriteString("var regions = []RegionData{\n")
	ccs := map[int]bool{}
	for i, m := range metas {
		key := m.GetId()
		if key == "001" {
			key = fmt.Sprintf("001/%d", m.GetCountryCode())
		}
		index[key] = i
		ccs[int(m.GetCountryCode())] = true
		g := m.GetGeneralDesc()
		fmt.Fprintf(&b, "{id: %q, cc: %d, idd: %q, natPrefix: %q, natTransform: %q, leading: %q, sameMobileFixed: %t,\n",
			m.GetId(), m.GetCountryCode(), m.GetInternationalPrefix(), m.GetNationalPrefixForParsing(),
			m.GetNationalPrefixTransformRule(), m.GetLeadingDigits(), m.GetSameMobileAndFixedLinePattern())
		fmt.Fprintf(&b, "localOnly: %s,\n", int8s(g.GetPossibleLengthLocalOnly()))
		fmt.Fprintf(&b, "general: %s,\nfixed: %s,\nmobile: %s,\nother: [8]desc{\n", descOf(g), descOf(m.GetFixedLine()), descOf(m.GetMobile()))
		for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetPremiumRate(), m.GetTollFree(), m.GetSharedCost(),
			m.GetVoip(), m.GetPersonalNumber(), m.GetPager(), m.GetUan(), m.GetVoicemail()} {
			fmt.Fprintf(&b, "%s,\n", strings.TrimPrefix(descOf(d), "desc"))
		}
		b.WriteString("}},\n")
	}
	b.WriteString("}\n\n")
	b.WriteString("// countries are the country calling codes, in order, each with its regions, the main one first.\n")
	b.WriteString("var countries = []country{\n")
	codes := make([]int, 0, len(ccs))
	for cc := range ccs {
		codes = append(codes, cc)
	}
	sort.Ints(codes)
	for _, cc := range codes {
		var idx []string
		for _, r := range phonenumbers.GetRegionCodesForCountryCode(cc) {
			key := r
			if r == "001" {
				key = fmt.Sprintf("001/%d", cc)
			}
			i, ok := index[key]
			require.True(t, ok, "no metadata for region %s of +%d", r, cc)
			idx = append(idx, fmt.Sprint(i))
		}
		fmt.Fprintf(&b, "{%d, []uint16{%s}},\n", cc, strings.Join(idx, ", "))
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	require.NoError(t, err)
	return src
}

func descOf(d *phonenumbers.PhoneNumberDesc) string {
	if d == nil || d.GetNationalNumberPattern() == "" || d.GetNationalNumberPattern() == "NA" {
		return "desc{}" // "NA" is the library's pattern for no number: it matches no digits
	}
	return fmt.Sprintf("desc{%q, %s}", d.GetNationalNumberPattern(), int8s(d.GetPossibleLength()))
}

func int8s(l []int32) string {
	if len(l) == 0 {
		return "nil"
	}
	s := make([]string, len(l))
	for i, n := range l {
		s[i] = fmt.Sprint(n)
	}
	return "[]int8{" + strings.Join(s, ", ") + "}"
}

// libraryVersion is the version of phonenumbers this module requires.
func libraryVersion(t *testing.T) string {
	mod, err := os.ReadFile("go.mod")
	require.NoError(t, err)
	m := regexp.MustCompile(`github\.com/nyaruka/phonenumbers (v\S+)`).FindSubmatch(mod)
	require.NotNil(t, m, "go.mod does not require phonenumbers")
	return string(m[1])
}

// TestPhoneAgreesWithLibrary: the core's reading of a phone (mensatek.NormalizePhoneIn, which
// Send, WithDefaultRegion and --region use) is libphonenumber's Parse and IsValidNumber, on
// every region's example number of every kind of line, written in the international, national
// and E.164 forms and as bare digits, with variants that are not valid (a digit added, dropped
// or changed), read without a region, in the number's own region and in two others.
func TestPhoneAgreesWithLibrary(t *testing.T) {
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	var examples []*phonenumbers.PhoneNumber
	var homes []string
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range types {
			if ex := phonenumbers.GetExampleNumberForType(region, typ); ex != nil {
				examples, homes = append(examples, ex), append(homes, region)
			}
		}
	}
	for cc := range phonenumbers.GetSupportedGlobalNetworkCallingCodes() {
		if ex := phonenumbers.GetExampleNumberForNonGeoEntity(cc); ex != nil {
			examples, homes = append(examples, ex), append(homes, "")
		}
	}
	require.Greater(t, len(examples), 1000)

	checked, valid, skipped := 0, 0, 0
	check := func(raw, region string) {
		var want string
		if num, err := phonenumbers.Parse(libraryInput(raw, region), region); err == nil && phonenumbers.IsValidNumber(num) {
			want = strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+")
		}
		got, err := mensatek.NormalizePhoneIn(raw, region)
		if want != "" {
			valid++
		}
		checked++
		if got != want {
			t.Errorf("%q in region %q: library %q, core %q (%v)", raw, region, want, got, err)
		}
		if (err == nil) != (got != "") {
			t.Errorf("%q in region %q: %q with error %v", raw, region, got, err)
		}
	}
	for i, ex := range examples {
		cc := int(ex.GetCountryCode())
		nsn := phonenumbers.GetNationalSignificantNumber(ex)
		forms := []string{
			phonenumbers.Format(ex, phonenumbers.E164),
			phonenumbers.Format(ex, phonenumbers.INTERNATIONAL),
			fmt.Sprintf("%d%s", cc, nsn),
			fmt.Sprintf("00%d%s", cc, nsn),
		}
		national := phonenumbers.Format(ex, phonenumbers.NATIONAL)
		if onlySeparators(national) {
			forms = append(forms, national)
		} else {
			skipped++
		}
		for _, v := range []string{nsn + "1", nsn[:len(nsn)-1], "9" + nsn[1:], nsn[:len(nsn)-1] + "7", "0" + nsn, "1" + nsn} {
			forms = append(forms, fmt.Sprintf("+%d %s", cc, v), v, fmt.Sprintf("%d%s", cc, v))
		}
		for _, raw := range forms {
			check(raw, "")
			for _, region := range []string{homes[i], "ES", "US"} {
				if region != "" {
					check(raw, region)
				}
			}
		}
	}
	t.Logf("%d readings of %d example numbers agree, %d of them valid (%d national forms skipped: characters the core refuses)",
		checked, len(examples), valid, skipped)
	assert.Greater(t, valid, 10000)
}

// libraryInput is what the library is given for raw: without a region the core reads a number
// as international, with or without its "+" or "00", as Parse does with a "+" in front.
func libraryInput(raw, region string) string {
	if region != "" || strings.HasPrefix(strings.TrimSpace(raw), "+") {
		return raw
	}
	return "+" + strings.TrimPrefix(strings.TrimSpace(raw), "00")
}

// onlySeparators reports whether s holds only what the core reads: digits, a leading "+" and
// the separators space, "-", ".", "(", ")" and "/".
func onlySeparators(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789+ -.()/\u00a0\t", r) {
			return false
		}
	}
	return true
}
