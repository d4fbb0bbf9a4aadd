package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
