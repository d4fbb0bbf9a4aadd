package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mensatek-go/mensatek"
)

// phoneChecker turns the phones of a campaign's rows into international digits (E.164 without
// the "+") with the core's own check (mensatek.NormalizePhoneIn, libphonenumber's answers), so a
// row the command accepts is one Send accepts. With a region, national numbers ("600 123 456")
// are read as numbers of that region; without one, a number must carry its country prefix.
type phoneChecker struct {
	region string // ISO 3166 code such as "ES", or "" for none
}

// newPhoneChecker checks the region (from --region or MENSATEK_REGION; "" for none).
func newPhoneChecker(region string) (*phoneChecker, error) {
	region = strings.ToUpper(strings.TrimSpace(region))
	if region == "" {
		return &phoneChecker{}, nil
	}
	if mensatek.CheckPhoneRegion(region) != nil {
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
	e164, err := mensatek.NormalizePhoneIn(raw, p.region)
	if err != nil {
		// The core's advice names its Go option; here the flag does that.
		return "", strings.Replace(reasonOf(err), "read it in a region with WithDefaultRegion",
			"pass --region, such as --region ES, or set MENSATEK_REGION", 1)
	}
	return e164, ""
}

// reasonOf returns a validation error's reason without its field, else the error's text.
func reasonOf(err error) string {
	var verr *mensatek.ValidationError
	if errors.As(err, &verr) {
		return verr.Reason
	}
	return oneLine(err)
}
