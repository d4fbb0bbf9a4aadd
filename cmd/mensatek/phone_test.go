package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// international builds numbers itself for speed: it must agree with libphonenumber's Parse.
func TestInternationalAgreesWithParse(t *testing.T) {
	for _, digits := range []string{
		"34600123456", "34912345678", "34500123456", "3460012345", // Spain: mobile, landline, invalid, short
		"390612345678", "393123456789", // Italy: a Rome landline keeps its leading 0; a mobile
		"447911123456", "12025550123", "33612345678", "5215512345678", "8613812345678",
		"80012345678",   // +800, a non-geographic code
		"99912345678",   // no such country
		"600123456",     // a Spanish national number read as +60 (Malaysia)
		"6112345678",    // +61 (Australia), too short
		"35312345678",   // +353 (Ireland)
		"3460000000001", // too long
		"330612345678",  // France with its national prefix 0 after the country's: Parse strips it
	} {
		want := ""
		if num, err := phonenumbers.Parse("+"+digits, ""); err == nil && phonenumbers.IsValidNumber(num) {
			want = strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+")
		}
		got, ok := international(digits)
		assert.Equal(t, want, got, digits)
		assert.Equal(t, want != "", ok, digits)
	}
}

// phoneRules must say what the library says: every region's example number of every kind of
// line, and variants of each (a digit changed, dropped or added), against IsValidNumber.
func TestPhoneRulesAgreeWithLibrary(t *testing.T) {
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	checked, valid := 0, 0
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range types {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			cc := int(ex.GetCountryCode())
			nsn := phonenumbers.GetNationalSignificantNumber(ex)
			variants := []string{nsn, nsn + "1", nsn[:len(nsn)-1], "9" + nsn[1:], nsn[:len(nsn)-1] + "7", "0" + nsn}
			for _, v := range variants {
				if strings.Trim(v, "0") == "" {
					continue
				}
				nn, err := strconv.ParseUint(v, 10, 64)
				require.NoError(t, err)
				num := &phonenumbers.PhoneNumber{CountryCode: proto.Int32(int32(cc)), NationalNumber: proto.Uint64(nn)}
				if zeros := len(v) - len(strings.TrimLeft(v, "0")); zeros > 0 {
					num.ItalianLeadingZero = proto.Bool(true)
					num.NumberOfLeadingZeros = proto.Int32(int32(zeros))
				}
				want := phonenumbers.IsValidNumber(num)
				got, ok := rules.valid(cc, v)
				require.True(t, ok)
				assert.Equal(t, want, got, "+%d %s (%s)", cc, v, region)
				checked++
				if want {
					valid++
				}
			}
		}
	}
	t.Logf("%d numbers, %d valid", checked, valid)
	assert.Greater(t, checked, 3000)
	assert.Greater(t, valid, 1000)
}

func TestPhoneChecker(t *testing.T) {
	none, err := newPhoneChecker("")
	require.NoError(t, err)
	es, err := newPhoneChecker(" es ")
	require.NoError(t, err)
	for _, c := range []struct {
		p        *phoneChecker
		raw, out string
	}{
		{none, "+34 600 123 456", "34600123456"},
		{none, "0034600123456", "34600123456"},
		{es, "600 123 456", "34600123456"},
		{es, "34600123456", "34600123456"}, // the country prefix without "+" is recognised
		{es, "+33 6 12 34 56 78", "33612345678"},
		{es, "0033612345678", "33612345678"},
	} {
		got, problem := c.p.normalize(c.raw)
		assert.Empty(t, problem, c.raw)
		assert.Equal(t, c.out, got, c.raw)
	}
	// With a region, a number written with "+" gives what Parse gives.
	for _, raw := range []string{"+44 7911 123456", "+1 (202) 555-0123", "+39 06 1234 5678", "+33 (0)6 12 34 56 78", "+34 500 123 456"} {
		want := ""
		if num, err := phonenumbers.Parse(raw, "ES"); err == nil && phonenumbers.IsValidNumber(num) {
			want = strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+")
		}
		got, _ := es.normalize(raw)
		assert.Equal(t, want, got, raw)
	}
	got, problem := none.normalize("+33 (0)6 12 34 56 78")
	assert.Empty(t, problem)
	assert.Equal(t, "33612345678", got, "the number sent is the one libphonenumber reads")
	_, problem = none.normalize("612345678")
	assert.Contains(t, problem, "pass --region")
	_, problem = es.normalize("")
	assert.Equal(t, "phone number is empty", problem)
	_, err = newPhoneChecker("Spain")
	assert.Error(t, err)
}

func BenchmarkPhoneNoRegion(b *testing.B) {
	p, _ := newPhoneChecker("")
	for i := 0; i < b.N; i++ {
		if _, r := p.normalize(fmt.Sprintf("3460%07d", i%20000+1)); r != "" {
			b.Fatal(r)
		}
	}
}

func BenchmarkPhoneRegion(b *testing.B) {
	p, _ := newPhoneChecker("ES")
	for i := 0; i < b.N; i++ {
		if _, r := p.normalize(fmt.Sprintf("600 %03d %03d", i%1000, i%997)); r != "" {
			b.Fatal(r)
		}
	}
}
