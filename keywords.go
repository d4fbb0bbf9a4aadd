package mensatek

import (
	"sort"
	"strings"
	"unicode"
)

// Opt-out and opt-in keywords the webhook recognises by default ([WithWebhookContacts]).
var (
	defaultOptOutKeywords = []string{"BAJA", "STOP", "CANCELAR", "DARSE DE BAJA", "UNSUBSCRIBE"}
	defaultOptInKeywords  = []string{"ALTA", "START"}
)

// DefaultOptOutKeywords returns the words that opt a customer out when they are a whole inbound
// text (or all a short one says besides courtesy words, such as "por favor"): BAJA, STOP,
// CANCELAR, DARSE DE BAJA and UNSUBSCRIBE. The opt-out phrases [WithWebhookContacts] also
// reads are not in this list.
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
	ConsentNone     ConsentChange = ""          // the message says nothing about consent
	ConsentOptedOut ConsentChange = "opted_out" // an opt-out keyword, phrase or button: the customer is recorded as opted out
	ConsentOptedIn  ConsentChange = "opted_in"  // an opt-in keyword, phrase or button: the opt-out is lifted
)

// maxShortWords is how many words a message may have to be read beyond whole keywords: only in
// a message this short are courtesy words around a keyword ignored and opt-out phrases looked
// for. Twelve words hold "Hola buenas tardes, por favor quiero darme de baja de sus mensajes";
// a longer message is a conversation in which a phrase is more likely quoted, reported or
// denied than meant ("ayer intenté darme de baja pero...").
const maxShortWords = 12

// Phrases that opt a customer out, or back in, wherever they appear in a short message, unless
// a negation comes before them in the same clause ("no quiero darme de baja"). Each is written
// folded, as normalizeKeyword writes it. They are specific on purpose: "baja" alone also means
// sick leave ("estoy de baja"), "stop" a bus stop, "dar de baja" cancelling a phone line.
var (
	optOutPhrases = indexPhrases(
		// Spanish: asking to be unsubscribed.
		"DARME DE BAJA", "DARSE DE BAJA", "DADME DE BAJA", "DENME DE BAJA", "DEME DE BAJA",
		"DAME DE BAJA", "ME DOY DE BAJA", "ME DAN DE BAJA", "ME DAIS DE BAJA",
		"QUE ME DEIS DE BAJA", "QUE ME DEN DE BAJA", "QUE ME DES DE BAJA", "QUE ME DE DE BAJA",
		"QUIERO LA BAJA", "QUIERO MI BAJA", "SOLICITO LA BAJA", "PIDO LA BAJA",
		"CANCELAR SUSCRIPCION", "CANCELAR LA SUSCRIPCION", "CANCELAR MI SUSCRIPCION",
		"ANULAR SUSCRIPCION", "ANULAR LA SUSCRIPCION", "ANULAR MI SUSCRIPCION",
		"DESUSCRIBIRME", "DESUSCRIBIRSE", "DESUSCRIBIR", "DESAPUNTARME",
		"BORRADME DE LA LISTA", "BORRENME DE LA LISTA", "QUITADME DE LA LISTA",
		"QUITENME DE LA LISTA", "SACADME DE LA LISTA", "SACARME DE LA LISTA",
		"DETENER PROMOCIONES", // WhatsApp's marketing opt-out button, in Spanish
		// Spanish: asking for no more messages.
		"NO QUIERO RECIBIR MAS MENSAJES", "NO QUIERO RECIBIR MAS", "NO QUIERO RECIBIR MENSAJES",
		"NO QUIERO RECIBIR PUBLICIDAD", "NO QUIERO RECIBIR NADA", "NO QUIERO MAS MENSAJES",
		"NO QUIERO MAS PUBLICIDAD", "NO QUIERO MAS OFERTAS", "NO MAS MENSAJES", "NO MAS PUBLICIDAD",
		"NO ME ENVIEIS MAS", "NO ME ENVIEN MAS", "NO ME ENVIES MAS", "NO ME MANDEIS MAS",
		"NO ME MANDEN MAS", "NO ME MANDES MAS", "NO ME ESCRIBAIS MAS", "NO ME ESCRIBAN MAS",
		"NO ME ESCRIBAS MAS", "NO ME MOLESTEIS MAS", "NO ME MOLESTEN MAS",
		"DEJAD DE ENVIARME", "DEJEN DE ENVIARME", "DEJA DE ENVIARME", "DEJAD DE MANDARME",
		"DEJEN DE MANDARME", "DEJA DE MANDARME", "DEJAD DE ESCRIBIRME", "DEJEN DE ESCRIBIRME",
		"DEJA DE ESCRIBIRME",
		// English.
		"UNSUBSCRIBE", "OPT OUT", "OPT ME OUT", "OPTOUT", "STOP SENDING", "STOP MESSAGING",
		"STOP TEXTING", "STOP CONTACTING", "STOP ALL MESSAGES", "STOP PROMOTIONS",
		"REMOVE ME", "NO MORE MESSAGES", "NO MORE TEXTS", "DONT MESSAGE ME", "DONT TEXT ME",
		"DONT CONTACT ME", "DO NOT CONTACT ME", "DO NOT MESSAGE ME", "DONT SEND ME ANY MORE",
		"DONT SEND ME MORE", "DONT WANT ANY MORE MESSAGES", "DONT WANT MORE MESSAGES",
		"DONT WANT TO RECEIVE ANY MORE", "DONT WANT TO RECEIVE MORE",
		"CANCEL SUBSCRIPTION", "CANCEL MY SUBSCRIPTION",
	)
	// Opt-in phrases are few and explicit: a wrong opt-in messages someone who asked not to be.
	optInPhrases = indexPhrases(
		"DARME DE ALTA", "DADME DE ALTA", "DENME DE ALTA", "ME DOY DE ALTA",
		"QUE ME DEIS DE ALTA", "QUE ME DEN DE ALTA",
	)
	// courtesyWords may surround a keyword ("Baja, por favor", "stop please"); longer first, so
	// "BUENAS TARDES" goes whole.
	courtesyWords = indexPhrases(
		"MUCHAS GRACIAS", "BUENOS DIAS", "BUENAS TARDES", "BUENAS NOCHES", "POR FAVOR",
		"YA MISMO", "AHORA MISMO", "THANK YOU", "HOLA", "BUENAS", "PORFAVOR", "PORFA", "GRACIAS",
		"YA", "AHORA", "VALE", "PLEASE", "PLS", "PLZ", "THANKS", "THX", "HI", "HELLO", "HEY",
		"NOW", "OK",
	)
	// negationWords before a phrase in its clause deny it.
	negationWords = map[string]bool{"NO": true, "NUNCA": true, "JAMAS": true, "NI": true,
		"NOT": true, "DONT": true, "NEVER": true}
	// ambiguousOnButtons are keywords that do not opt out when they are all a button says: a
	// template's "Cancelar" button usually cancels an appointment or an order.
	ambiguousOnButtons = map[string]bool{"CANCELAR": true, "CANCEL": true}
)

// indexPhrases splits phrases into words, longest first, so that where several match at one
// place the longest is reported.
func indexPhrases(phrases ...string) [][]string {
	out := make([][]string, len(phrases))
	for i, p := range phrases {
		out[i] = strings.Fields(p)
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// readConsent reads what an inbound message says about consent, with the keyword lists given
// (see [WithWebhookContacts]), and says why: "keyword:BAJA", "phrase:DARME DE BAJA" or
// "button:STOP". The source names a configured keyword or a built-in phrase, never the
// customer's text. Its cost is linear in the message's length.
func readConsent(m *InboundMessage, optOut, optIn keywordSet) (ConsentChange, string) {
	if m == nil {
		return ConsentNone, ""
	}
	switch {
	case m.Type == InboundTypeText:
		change, match, phrase := readConsentText(m.Text, optOut, optIn)
		if phrase {
			return change, "phrase:" + match
		}
		if change != ConsentNone {
			return change, "keyword:" + match
		}
	case m.Button != nil:
		return readConsentButton(optOut, optIn, m.Button.Payload, m.Button.Text)
	case m.Reply != nil:
		return readConsentButton(optOut, optIn, m.Reply.ID, m.Reply.Title)
	}
	return ConsentNone, ""
}

// readConsentButton reads a tapped button by its payload (or ID), then its text (or title).
func readConsentButton(optOut, optIn keywordSet, values ...string) (ConsentChange, string) {
	for _, v := range values {
		if change, match, _ := readConsentText(v, optOut, optIn); change != ConsentNone && !ambiguousOnButtons[match] {
			return change, "button:" + match
		}
	}
	return ConsentNone, ""
}

// readConsentText reads a text: the whole of it as a keyword; then, in a short message, a
// keyword between courtesy words, and the opt-out phrases (when there are opt-out keywords)
// and opt-in phrases (when there are opt-in keywords), an opt-out first. It returns the
// keyword or phrase matched, and whether it was a phrase.
func readConsentText(text string, optOut, optIn keywordSet) (change ConsentChange, match string, phrase bool) {
	whole := normalizeKeyword(text)
	switch {
	case optOut[whole]:
		return ConsentOptedOut, whole, false
	case optIn[whole]:
		return ConsentOptedIn, whole, false
	}
	words, short := keywordWords(text, maxShortWords)
	if !short || len(words) == 0 {
		return ConsentNone, "", false
	}
	core := joinWords(stripCourtesy(words))
	switch {
	case optOut[core]:
		return ConsentOptedOut, core, false
	case optIn[core]:
		return ConsentOptedIn, core, false
	}
	if len(optOut) > 0 {
		if p := findPhrase(words, optOutPhrases); p != "" {
			return ConsentOptedOut, p, true
		}
	}
	if len(optIn) > 0 {
		if p := findPhrase(words, optInPhrases); p != "" {
			return ConsentOptedIn, p, true
		}
	}
	return ConsentNone, "", false
}

// keywordWord is a folded word of a message and the number of its clause.
type keywordWord struct {
	text   string
	clause int
}

// keywordWords splits s into words folded as normalizeKeyword folds them, each with the
// number of its clause: clauses are separated by , . ; : ! ? ¡ ¿ … and line breaks, so
// "No, quiero darme de baja" holds no negation of the phrase. Other punctuation and symbols
// join what they separate ("don't" is DONT), as in normalizeKeyword. It gives up (short false)
// once s has more than limit words, reading no further.
func keywordWords(s string, limit int) (words []keywordWord, short bool) {
	var b strings.Builder
	clause := 0
	flush := func() bool {
		if b.Len() > 0 {
			words = append(words, keywordWord{text: b.String(), clause: clause})
			b.Reset()
		}
		return len(words) <= limit
	}
	for _, r := range s {
		r = foldAccent(r)
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToUpper(r))
		case r == '\n' || strings.ContainsRune(",.;:!?¡¿…", r):
			if !flush() {
				return nil, false
			}
			clause++
		case unicode.IsSpace(r):
			if !flush() {
				return nil, false
			}
		}
	}
	if !flush() {
		return nil, false
	}
	return words, true
}

// stripCourtesy removes courtesy words from both ends of words, whatever the clauses.
func stripCourtesy(words []keywordWord) []keywordWord {
	for changed := true; changed; {
		changed = false
		for _, c := range courtesyWords {
			if wordsAt(words, 0, c, false) {
				words, changed = words[len(c):], true
			}
			if n := len(words) - len(c); n >= 0 && wordsAt(words, n, c, false) {
				words, changed = words[:n], true
			}
		}
	}
	return words
}

// findPhrase returns the longest of phrases found in words within one clause and not denied by
// a negation before it in that clause (a phrase that is itself a negation, "NO MAS MENSAJES",
// is not denied by another: "no, no quiero recibir más"), or "".
func findPhrase(words []keywordWord, phrases [][]string) string {
	for i := range words {
		for _, p := range phrases {
			if !wordsAt(words, i, p, true) || (!negationWords[p[0]] && negated(words, i)) {
				continue
			}
			return strings.Join(p, " ")
		}
	}
	return ""
}

// wordsAt reports whether words from i on are p, within one clause if sameClause.
func wordsAt(words []keywordWord, i int, p []string, sameClause bool) bool {
	if i+len(p) > len(words) {
		return false
	}
	for j, w := range p {
		if words[i+j].text != w || (sameClause && words[i+j].clause != words[i].clause) {
			return false
		}
	}
	return true
}

// negated reports whether a negation comes before words[i] in its clause.
func negated(words []keywordWord, i int) bool {
	for j := i - 1; j >= 0 && words[j].clause == words[i].clause; j-- {
		if negationWords[words[j].text] {
			return true
		}
	}
	return false
}

func joinWords(words []keywordWord) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w.text)
	}
	return b.String()
}
