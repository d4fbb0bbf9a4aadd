package mensatek

import (
	"fmt"
	"strings"

	"github.com/mensatek-go/mensatek/internal/phone"
)

// NormalizePhone returns phone as the API expects it, the international digits of a valid number
// (E.164 without the "+"), or a *ValidationError saying why it is not one. It reads phone as an
// international number, with or without its "+" or "00": "+34 600-123-456", "0034600123456" and
// "34600123456" are all 34600123456. Digits, one leading "+" and the separators space, tab,
// no-break space, "-", ".", "(", ")" and "/" are allowed; nothing else.
//
// Valid means what libphonenumber (github.com/nyaruka/phonenumbers) calls valid: a known country
// prefix followed by a number of one of that country's kinds of line, of the right length.
// A national number ("600 123 456") is not read as Spanish: as an international number it is
// +60 (Malaysia), and refused. Read national numbers with [NormalizePhoneIn], or let the client
// do it with [WithDefaultRegion]. [Client.Send] checks every recipient this way before anything
// leaves.
func NormalizePhone(phone string) (string, error) {
	return normalizePhone("Phone", phone)
}

// NormalizePhoneIn is [NormalizePhone] with national numbers read as numbers of region, an
// ISO 3166-1 two-letter code such as "ES", the way a person in that region dials them:
// "600 123 456" and "34600123456" are 34600123456 in "ES"; a number of another country needs its
// "+" or the region's international prefix ("00" in Spain, "011" in the US). It answers as
// libphonenumber's Parse(phone, region) and IsValidNumber do. An empty region is NormalizePhone;
// an unknown one is a *ValidationError for the field "Region". This is the reading
// [WithDefaultRegion] gives a client, and the command line's --region.
func NormalizePhoneIn(phone, region string) (string, error) {
	if strings.TrimSpace(region) == "" {
		return normalizePhone("Phone", phone)
	}
	r, err := phoneRegion(region)
	if err != nil {
		return "", err
	}
	return normalizePhoneIn("Phone", phone, r)
}

// CheckPhoneRegion returns a *ValidationError for the field "Region" unless region is a region
// [NormalizePhoneIn] and [WithDefaultRegion] know (an ISO 3166-1 two-letter code, any case).
func CheckPhoneRegion(region string) error {
	_, err := phoneRegion(region)
	return err
}

func phoneRegion(region string) (*phone.RegionData, error) {
	r := phone.Region(region)
	if r == nil {
		return nil, invalid("Region", "%s is not a region libphonenumber knows; give a two-letter country code, such as \"ES\"", clipPhone(region))
	}
	return r, nil
}

// normalizePhone is NormalizePhone for a named field.
func normalizePhone(field, raw string) (string, error) {
	return normalizePhoneIn(field, raw, nil)
}

// normalizePhoneIn reads raw in region (nil: international only) and names field in its error.
// A valid number in international digits costs no allocation.
func normalizePhoneIn(field, raw string, region *phone.RegionData) (string, error) {
	n, p := phone.Parse(raw, region)
	if p == phone.OK {
		return n.E164, nil
	}
	return "", invalid(field, "%s", phoneProblem(raw, n, p, region))
}

// phoneProblem says in words why raw is not a valid number, and what to do about it.
func phoneProblem(raw string, n phone.Number, p phone.Problem, region *phone.RegionData) string {
	q := clipPhone(raw)
	where := fmt.Sprintf("+%d", n.Country)
	if n.Region != "" && n.Region != "001" {
		where = fmt.Sprintf("%s (+%d)", n.Region, n.Country)
	}
	hint := ""
	if region == nil && !strings.HasPrefix(strings.TrimSpace(raw), "+") {
		// Most likely a national number read as an international one.
		hint = "; a national number? write its country prefix, like 34600000001, or read it in a region with WithDefaultRegion"
	}
	switch p {
	case phone.Empty:
		return "phone number is empty"
	case phone.BadChar:
		return fmt.Sprintf("phone number %s contains %q; use digits with the country prefix, like 34600000001", q, n.Char)
	case phone.NoCountry:
		return fmt.Sprintf("phone number %s has no country prefix", q)
	case phone.UnknownCountry:
		return fmt.Sprintf("phone number %s has an unknown country prefix%s", q, hint)
	case phone.TooShort:
		if n.Country == 0 {
			return fmt.Sprintf("phone number %s is too short%s", q, hint)
		}
		return fmt.Sprintf("phone number %s is too short for a number of %s%s", q, where, hint)
	case phone.TooLong:
		if n.Country == 0 {
			return fmt.Sprintf("phone number %s is too long", q)
		}
		return fmt.Sprintf("phone number %s is too long for a number of %s%s", q, where, hint)
	case phone.WrongLength:
		return fmt.Sprintf("phone number %s has the wrong number of digits for %s%s", q, where, hint)
	}
	return fmt.Sprintf("phone number %s is not a valid number of %s%s", q, where, hint)
}

// clipPhone quotes s for an error, cut to a length that keeps the message readable.
func clipPhone(s string) string {
	const max = 40
	if len(s) > max {
		cut := max
		for cut > 0 && s[cut]&0xC0 == 0x80 { // not in the middle of a UTF-8 sequence
			cut--
		}
		return fmt.Sprintf("%q...", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

// inboundPhone normalises a phone the network gave (a webhook's Telefono): as NormalizePhone
// when it can, else its digits without "+" or "00", 5 to 15 of them. The provider saw that number
// write to us, so it is recorded even when this SDK's copy of the numbering plans is older than
// the number: an opt-out must never be lost to a stale table. A valid number gets the same key
// as a send to it.
func inboundPhone(raw string) (string, bool) {
	if p, err := normalizePhone("", raw); err == nil {
		return p, true
	}
	if len(raw) > phone.MaxInput {
		return "", false
	}
	b := make([]byte, 0, 16)
	for i, r := range raw {
		switch {
		case r >= '0' && r <= '9':
			b = append(b, byte(r))
		case r == '+' && len(b) == 0 && strings.TrimSpace(raw[:i]) == "":
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '\t' || r == '\u00a0':
		default:
			return "", false
		}
		if len(b) > 17 {
			return "", false
		}
	}
	if len(b) >= 2 && b[0] == '0' && b[1] == '0' {
		b = b[2:]
	}
	if len(b) < 5 || len(b) > 15 || b[0] == '0' {
		return "", false
	}
	return string(b), true
}
