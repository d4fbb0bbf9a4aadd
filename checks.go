package mensatek

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// Local checks of field values that every message type shares; each failure is a
// [*ValidationError] naming the field.

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// checkLen fails when s has more than max characters (runes, as WhatsApp counts them).
func checkLen(field, s string, max int) error {
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(field, "has %d characters; WhatsApp allows at most %d", n, max)
	}
	return nil
}

// checkRequired fails when s is empty or only white space, or longer than max characters.
func checkRequired(field, s string, max int) error {
	if strings.TrimSpace(s) == "" {
		return invalid(field, "is required")
	}
	return checkLen(field, s, max)
}

// checkURL fails unless s is an absolute http or https URL with a host.
func checkURL(field, s string) error {
	if strings.TrimSpace(s) == "" {
		return invalid(field, "URL is required")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid(field, "%q is not an absolute http(s) URL", s)
	}
	return nil
}
