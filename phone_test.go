package mensatek

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A phone that is not a valid international number never leaves: a national number read
// internationally ("600 123 456" is +60, Malaysia) and a number no country uses.
func TestSendRefusesInvalidPhones(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.handle("EnviarWHATSAPP", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request left with an invalid phone")
		writeReply(w, 200, okSendReply)
	})
	for _, tt := range []struct{ phone, reason string }{
		{"600 123 456", "for a number of MY (+60); a national number?"},
		{"612345678", "a national number?"},
		{"+1 555 0100", "too short for a number of US (+1)"},
		{"+1 555 010 0000", "not a valid number of US (+1)"},  // 555-01xx is fictional
		{"+34 500 123 456", "not a valid number of ES (+34)"}, // no Spanish line starts with 5
		{"+34 600 12 34 5", "too short for a number of ES (+34)"},
		{"+999 600 123 456", "unknown country prefix"},
		{"0600000000", "unknown country prefix"},
	} {
		t.Run(tt.phone, func(t *testing.T) {
			to := []Recipient{{Phone: "34600000001"}, {Phone: tt.phone}}
			_, err := fx.client.Send(context.Background(), SendRequest{To: to, Message: Text{Body: "hola"}})
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "To[1].Phone", ve.Field)
			assert.Contains(t, ve.Reason, tt.reason)

			_, err = NormalizePhone(tt.phone)
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "Phone", ve.Field)
		})
	}
	assert.Zero(t, fx.hits.Load(), "requests reached the server")
}

// The international forms of a number, with or without "+" or "00", are the same number.
func TestNormalizePhoneInternationalForms(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+34 600-123-456":         "34600123456",
		"0034600123456":           "34600123456",
		"34600123456":             "34600123456",
		"+34 (600) 12.34.56":      "34600123456",
		"+34\u00a0600\t123456":    "34600123456",
		"(+34) 600 123 456":       "34600123456",
		"+33 (0)6 12 34 56 78":    "33612345678", // the national prefix written after the country's
		"+44 7911 123456":         "447911123456",
		"+1 (202) 555-0123":       "12025550123",
		"+39 06 1234 5678":        "390612345678", // Rome keeps its leading 0
		"+800 1234 5678":          "80012345678",  // a non-geographic code
		"+683 7290":               "6837290",      // Niue: 7 digits is a whole number
		"00 44 20 7946 0000":      "442079460000",
		"+86 138 1234 5678":       "8613812345678",
		"+34/600/123/456":         "34600123456",
		" +34 600 123 456 ":       "34600123456",
		"+7 912 345-67-89":        "79123456789",
		"+49 (0) 30 901820":       "4930901820",
		"+61 4 1234 5678":         "61412345678",
		"+55 11 96123-4567":       "5511961234567",
		"+971 50 123 4567":        "971501234567",
		"+351 912 345 678":        "351912345678",
		"+353 85 012 3456":        "353850123456",
		"+90 501 234 56 78":       "905012345678",
		"+27 71 123 4567":         "27711234567",
		"+91 81234 56789":         "918123456789",
		"+81 90-1234-5678":        "819012345678",
		"+1 242 359 1234":         "12423591234", // Bahamas, sharing +1
		"+7 701 123 4567":         "77011234567", // Kazakhstan, sharing +7
		"+262 692 12 34 56":       "262692123456",
		"+44 (0)20 7946 0000":     "442079460000",
		"+34 9 1234 5678":         "34912345678",
		"34912345678":             "34912345678",
		"+34 71 234 5678":         "34712345678",
		"+0034600123456":          "",
		"+34 600 123 456 ext 2":   "",
		"34600O23456":             "",
		"++34600123456":           "",
		"34+600123456":            "",
		"３４６００１２３４５６":             "", // full-width digits
		"":                        "",
		"+":                       "",
		"+34":                     "",
		"34600123456789012345678": "",
	} {
		got, err := NormalizePhone(in)
		if want == "" {
			var ve *ValidationError
			assert.ErrorAs(t, err, &ve, "%q gave %q", in, got)
			continue
		}
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
}

// WithDefaultRegion reads national numbers in the region; international ones are unchanged.
func TestWithDefaultRegion(t *testing.T) {
	t.Parallel()
	fx := setup(t, WithDefaultRegion("es"))
	rec := fx.reply(t, "EnviarWHATSAPP", http.StatusOK, okSendReply)
	to := []Recipient{{Phone: "600 123 456"}, {Phone: "+34 600-123-457"}, {Phone: "0034600123458"},
		{Phone: "34600123459"}, {Phone: "91 234 56 78"}, {Phone: "+44 7911 123456"}, {Phone: "0033612345678"}}
	_, err := fx.client.Send(context.Background(), SendRequest{To: to, Message: Text{Body: "hola"}})
	require.NoError(t, err)
	sent := decodeSend(t, rec.last(t))
	var phones []string
	for _, r := range sent.To {
		phones = append(phones, r["Telefono"].(string))
	}
	assert.Equal(t, []string{"34600123456", "34600123457", "34600123458", "34600123459", "34912345678", "447911123456", "33612345678"}, phones)

	// A number that is not valid in the region is still refused.
	_, err = fx.client.Send(context.Background(), SendRequest{To: []Recipient{{Phone: "500 123 456"}}, Message: Text{Body: "hola"}})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "To[0].Phone", ve.Field)
	assert.Contains(t, ve.Reason, "not a valid number of ES (+34)")
	assert.Equal(t, 1, rec.count())

	// A checked send reads the phones in the region too.
	ts := newTemplateServer(t, WithDefaultRegion("ES"))
	_, err = ts.client.SendChecked(context.Background(), SendRequest{To: []Recipient{goodRecipient("600 123 456")}, Message: Template{Name: "customer_welcome"}})
	require.NoError(t, err)
	assert.Equal(t, int64(1), ts.sends.Load())

	for _, region := range []string{"Spain", "XX", "E", "001"} {
		_, err := NewClient(testUser, testToken, WithDefaultRegion(region))
		assert.ErrorContains(t, err, "WithDefaultRegion", region)
		assert.Error(t, CheckPhoneRegion(region), region)
	}
	_, err = NewClient(testUser, testToken, WithDefaultRegion(""))
	assert.NoError(t, err, "no region")
	assert.NoError(t, CheckPhoneRegion(" us "))
}

// NormalizePhoneIn reads as a person in the region dials.
func TestNormalizePhoneIn(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, region, want string }{
		{"600 123 456", "ES", "34600123456"},
		{"34600123456", "ES", "34600123456"},
		{"0034600123456", "ES", "34600123456"},
		{"(202) 555-0123", "US", "12025550123"},
		{"1 202 555 0123", "US", "12025550123"},
		{"011 34 600 123 456", "US", "34600123456"},
		{"020 7946 0000", "GB", "442079460000"},
		{"06 12 34 56 78", "FR", "33612345678"},
		{"600 123 456", "", ""},
		{"500 123 456", "ES", ""},
		{"600 123 456", "ZZ", ""},
	} {
		got, err := NormalizePhoneIn(tt.in, tt.region)
		if tt.want == "" {
			assert.Error(t, err, "%q in %q gave %q", tt.in, tt.region, got)
			continue
		}
		if assert.NoError(t, err, "%q in %q", tt.in, tt.region) {
			assert.Equal(t, tt.want, got)
		}
	}
	_, err := NormalizePhoneIn("600 123 456", "Spain")
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "Region", ve.Field)
}

// One phone twice in one send, however written, is refused with both indexes named.
func TestSendRefusesDuplicatePhones(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.handle("EnviarWHATSAPP", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request left with a phone twice")
		writeReply(w, 200, okSendReply)
	})
	to := []Recipient{{Phone: "+34 600 000 001"}, {Phone: "34600000002"}, {Phone: "0034600000001"}}
	_, err := fx.client.Send(context.Background(), SendRequest{To: to, Message: Template{Name: "customer_welcome"}})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "To[2].Phone", ve.Field)
	assert.Contains(t, ve.Reason, "To[0].Phone")
	assert.Contains(t, ve.Reason, "34600000001")

	_, err = fx.client.SendChecked(context.Background(), SendRequest{To: to, Message: Template{Name: "customer_welcome"}})
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "To[2].Phone", ve.Field)
	assert.Zero(t, fx.hits.Load(), "requests reached the server")
}

// Webhooks record the phones they receive, valid by this SDK's numbering plans or not: an
// opt-out from a number newer than the plans must not be lost.
func TestInboundPhone(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"34600000001":         "34600000001",
		"+34 600 000 001":     "34600000001",
		"+33 (0)6 12 34 56":   "3306123456",   // not valid: its digits, as received
		"34500123456":         "34500123456",  // no such Spanish line yet: kept
		"+44 (0)20 7946 0000": "442079460000", // valid: the key a send uses
		"1234":                "",
		"abc":                 "",
		"":                    "",
		"1234567890123456":    "",
	} {
		got, ok := inboundPhone(in)
		assert.Equal(t, want, got, in)
		assert.Equal(t, want != "", ok, in)
	}
}

// BenchmarkNormalizePhone: the check each recipient of a send goes through.
func BenchmarkNormalizePhone(b *testing.B) {
	es := WithDefaultRegion("ES")
	var cfg config
	require.NoError(b, es(&cfg))
	for _, bc := range []struct {
		name   string
		region bool
		phone  func(i int) string
	}{
		{"international-digits", false, func(i int) string { return strconv.Itoa(34600000000 + i%20000) }},
		{"international-formatted", false, func(i int) string { return fmt.Sprintf("+34 600 %03d %03d", i%1000, i%997) }},
		{"national-ES", true, func(i int) string { return fmt.Sprintf("600 %03d %03d", i%1000, i%997) }},
	} {
		phones := make([]string, 1000)
		for i := range phones {
			phones[i] = bc.phone(i)
		}
		b.Run(bc.name, func(b *testing.B) {
			region := cfg.region
			if !bc.region {
				region = nil
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := normalizePhoneIn("", phones[i%len(phones)], region); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Calls about a received message take its phone as the webhook gave it, even when the SDK's
// numbering plans do not know the number, and read a national one in the client's region.
func TestMessageCallsTakeInboundPhones(t *testing.T) {
	t.Parallel()
	fx := setup(t, WithDefaultRegion("ES"))
	rec := fx.reply(t, "EscribiendoWhatsapp", http.StatusOK, okReply)
	for in, want := range map[string]string{"34500123456": "34500123456", "600 000 001": "34600000001"} {
		_, err := fx.client.SendTyping(context.Background(), 7, in)
		require.NoError(t, err, in)
		assert.Equal(t, want, rec.last(t)["Telefono"], in)
	}
	_, err := fx.client.SendTyping(context.Background(), 7, "600")
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "Phone", ve.Field)
}

// A phone already in international digits is checked without allocating: a campaign's phones
// cost no garbage (not under the race detector, which defeats regexp's pooled matchers).
func TestNormalizePhoneAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector defeats sync.Pool")
	}
	if _, err := NormalizePhone("34600000001"); err != nil { // compiles Spain's patterns
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := normalizePhoneIn("", "34600000001", nil); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string // want "" means an error
	}{
		{"34600000001", "34600000001"},
		{"+34 600 000 001", "34600000001"},
		{"+34600000001", "34600000001"},
		{"0034600000001", "34600000001"},
		{"34-600-000-001", "34600000001"},
		{"(34) 600.000.001", "34600000001"},
		{" +34 (600) 00-00.01 ", "34600000001"},
		{"+34\u00a0600\t000001", "34600000001"},
		{"+00 34 600 000 001", ""},         // "+" and "00" both: no country starts with 0
		{"6837290", "6837290"},             // Niue: 7 digits is a whole number
		{"5491123456789", "5491123456789"}, // 13 digits, an Argentine mobile
		{"0044 20 7946 0000", "442079460000"},
		{"12345678", ""},         // 8 digits, but +1 234 is no number
		{"123456789012345", ""},  // 15 digits of nothing
		{"1234567", ""},          // too short
		{"+34 600", ""},          // too short
		{"0012345", ""},          // too short once 00 is gone
		{"1234567890123456", ""}, // too long
		{"+34 600 000 000 000 00", ""},
		{"34600abc001", ""},
		{"34600O00001", ""}, // letter O
		{"+34 600 000 001 ext 2", ""},
		{"34+600000001", ""},
		{"++34600000001", ""},
		{"0600000000", ""}, // national number without country prefix
		{"06 00 00 00 00", ""},
		{"000000000000", ""},
		{"３４６００００００１", ""}, // full-width digits
		{"", ""},
		{"   ", ""},
		{"+", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizePhone(tt.in)
			if tt.want == "" {
				var ve *ValidationError
				require.ErrorAs(t, err, &ve, "got %q", got)
				assert.Equal(t, "Phone", ve.Field)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
