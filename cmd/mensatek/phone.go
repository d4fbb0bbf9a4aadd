package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/mensatek-go/mensatek"
)

// phoneChecker turns the phones of a campaign's rows into international digits (E.164 without
// the "+"), checking each against libphonenumber's data. With a region, national numbers
// ("600 123 456") are read as numbers of that region; without one, a number must carry its
// country prefix.
type phoneChecker struct {
	region string // ISO 3166 code such as "ES", or "" for none
}

// newPhoneChecker checks the region (from --region or MENSATEK_REGION; "" for none).
func newPhoneChecker(region string) (*phoneChecker, error) {
	region = strings.ToUpper(strings.TrimSpace(region))
	if region == "" {
		return &phoneChecker{}, nil
	}
	if phonenumbers.GetCountryCodeForRegion(region) == 0 {
		return nil, usagef("--region %s: not a region libphonenumber knows; give a two-letter country code, such as ES", clipQuote(region))
	}
	return &phoneChecker{region: region}, nil
}

// maxPhone is the longest phone cell read, in bytes: longer is no phone, however written.
const maxPhone = 100

// normalize returns the phone's international digits, or why it cannot be sent to.
func (p *phoneChecker) normalize(raw string) (string, string) {
	if len(raw) > maxPhone {
		return "", fmt.Sprintf("%s is too long for a phone number", clipQuote(raw))
	}
	if p.region == "" {
		digits, err := mensatek.NormalizePhone(raw)
		if err != nil {
			return "", reasonOf(err)
		}
		if e164, ok := international(digits); ok {
			return e164, ""
		}
		return "", fmt.Sprintf("%s is not a valid number with a country prefix (a national number? pass --region, such as --region ES, or set MENSATEK_REGION)", clipQuote(raw))
	}
	if strings.TrimSpace(raw) == "" {
		return "", "phone number is empty"
	}
	if strings.HasPrefix(strings.TrimSpace(raw), "+") { // international: the region plays no part
		if digits, err := mensatek.NormalizePhone(raw); err == nil {
			if e164, ok := international(digits); ok {
				return e164, ""
			}
		}
	}
	num, err := phonenumbers.Parse(raw, p.region)
	if err != nil {
		return "", fmt.Sprintf("%s is not a phone number (%s)", clipQuote(raw), parseProblem(err))
	}
	cc := num.GetCountryCode()
	where := fmt.Sprintf("+%d", cc)
	if r := phonenumbers.GetRegionCodeForCountryCode(int(cc)); r != "" && r != "ZZ" && r != "001" {
		where = fmt.Sprintf("%s (+%d)", r, cc)
	}
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "", fmt.Sprintf("%s has an unknown country prefix (+%d)", clipQuote(raw), cc)
	case phonenumbers.TOO_SHORT:
		return "", fmt.Sprintf("%s is too short for a number of %s", clipQuote(raw), where)
	case phonenumbers.TOO_LONG:
		return "", fmt.Sprintf("%s is too long for a number of %s", clipQuote(raw), where)
	case phonenumbers.INVALID_LENGTH:
		return "", fmt.Sprintf("%s has the wrong number of digits for %s", clipQuote(raw), where)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Sprintf("%s is not a valid number of %s", clipQuote(raw), where)
	}
	e164 := strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+")
	if _, err := mensatek.NormalizePhone(e164); err != nil { // the API's own limits
		return "", reasonOf(err)
	}
	return e164, ""
}

// parseProblem says in words why libphonenumber could not parse a number.
func parseProblem(err error) string {
	switch err {
	case phonenumbers.ErrInvalidCountryCode:
		return "unknown country prefix"
	case phonenumbers.ErrTooShortNSN, phonenumbers.ErrTooShortAfterIDD:
		return "too short"
	case phonenumbers.ErrNumTooLong:
		return "too long"
	}
	return "not a number"
}

// reasonOf returns a validation error's reason without its field, else the error's text.
func reasonOf(err error) string {
	var verr *mensatek.ValidationError
	if errors.As(err, &verr) {
		return verr.Reason
	}
	return oneLine(err)
}

// international returns the E.164 digits of digits, a country prefix and a national number,
// as libphonenumber's Parse and IsValidNumber would for "+" and the digits, or false when they
// are not a valid number. The rules of phoneRules answer for most numbers; one they refuse is
// asked of the library itself, whose Parse also strips a national prefix written after the
// country's ("+33 (0)6 12 34 56 78" is 33612345678).
func international(digits string) (string, bool) {
	for n := 1; n <= 3 && n < len(digits); n++ {
		cc, err := strconv.Atoi(digits[:n])
		if err != nil || len(phonenumbers.GetRegionCodesForCountryCode(cc)) == 0 {
			continue // country codes are prefix-free: at most one length is one
		}
		if national := digits[n:]; strings.Trim(national, "0") != "" {
			if valid, ok := rules.valid(cc, national); ok && valid {
				return digits, true
			}
		}
		break
	}
	num, err := phonenumbers.Parse("+"+digits, "")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	return strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+"), true
}
