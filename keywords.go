package mensatek

import (
	"strings"
	"unicode"
)

// Opt-out and opt-in keywords the webhook recognises by default ([WithWebhookContacts]).
var (
	defaultOptOutKeywords = []string{"BAJA", "STOP", "CANCELAR", "DARSE DE BAJA", "UNSUBSCRIBE"}
	defaultOptInKeywords  = []string{"ALTA", "START"}
)

// DefaultOptOutKeywords returns the words that opt a customer out when they are a whole inbound
// text: BAJA, STOP, CANCELAR, DARSE DE BAJA and UNSUBSCRIBE.
func DefaultOptOutKeywords() []string { return append([]string(nil), defaultOptOutKeywords...) }

// DefaultOptInKeywords returns the words that opt a customer back in: ALTA and START.
func DefaultOptInKeywords() []string { return append([]string(nil), defaultOptInKeywords...) }

// normalizeKeyword folds a message for keyword matching: upper case, accents removed,
// punctuation and symbols dropped, spaces collapsed, so "¡Baja!", " baja. " and "BAJA" match.
func normalizeKeyword(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		r = foldAccent(r)
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToUpper(r))
		case unicode.IsSpace(r):
			space = true
		default:
			// Punctuation, symbols and emoji do not change what a keyword says; they do not
			// separate words either ("DARSE-DE-BAJA" is not a keyword, "BAJA!!" is).
		}
	}
	return b.String()
}

// foldAccent maps the accented Latin letters of Spanish, Catalan, Portuguese and French to
// their base letter.
func foldAccent(r rune) rune {
	if r < 0xC0 || r > 0x17F {
		return r
	}
	switch r {
	case 'á', 'à', 'â', 'ä', 'ã', 'å', 'Á', 'À', 'Â', 'Ä', 'Ã', 'Å':
		return 'a'
	case 'é', 'è', 'ê', 'ë', 'É', 'È', 'Ê', 'Ë':
		return 'e'
	case 'í', 'ì', 'î', 'ï', 'Í', 'Ì', 'Î', 'Ï':
		return 'i'
	case 'ó', 'ò', 'ô', 'ö', 'õ', 'Ó', 'Ò', 'Ô', 'Ö', 'Õ':
		return 'o'
	case 'ú', 'ù', 'û', 'ü', 'Ú', 'Ù', 'Û', 'Ü':
		return 'u'
	case 'ç', 'Ç':
		return 'c'
	case 'ñ', 'Ñ':
		return 'n'
	}
	return r
}

// keywordSet holds normalised keywords.
type keywordSet map[string]bool

func newKeywordSet(words []string) keywordSet {
	s := make(keywordSet, len(words))
	for _, w := range words {
		if n := normalizeKeyword(w); n != "" {
			s[n] = true
		}
	}
	return s
}

// ConsentChange is what an inbound message said about consent, as the webhook read it.
type ConsentChange string

// The consent changes a webhook event can carry ([Event.Consent]).
const (
	ConsentNone     ConsentChange = ""          // the message is no opt-out or opt-in keyword
	ConsentOptedOut ConsentChange = "opted_out" // an opt-out keyword: the customer is recorded as opted out
	ConsentOptedIn  ConsentChange = "opted_in"  // an opt-in keyword: the opt-out is lifted
)
