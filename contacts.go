package mensatek

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Consent errors, matched with [errors.Is]. A send refused for either never left the process.
var (
	// ErrOptedOut: the recipient asked not to be messaged (an opt-out keyword such as BAJA, or
	// your application recording it), and has not opted back in.
	ErrOptedOut = errors.New("mensatek: recipient opted out")
	// ErrOutsideServiceWindow: the message is not a template, and the recipient has not written
	// in the service window (24 hours): WhatsApp would refuse it after the API took it.
	ErrOutsideServiceWindow = errors.New("mensatek: outside the customer-service window")
)

// DefaultServiceWindow is WhatsApp's customer-service window: after a customer's last message,
// for this long, any message type may be sent to them; outside it, only templates.
const DefaultServiceWindow = 24 * time.Hour

// Contact is what a [ContactStore] knows of one phone.
type Contact struct {
	// Phone is the phone, normalised as [NormalizePhone] does.
	Phone string
	// LastInbound is when the customer last wrote; zero if never (as far as the store knows).
	LastInbound time.Time
	// OptedOut reports whether the customer's latest consent change was an opt-out.
	OptedOut bool
	// ConsentAt is when the latest opt-out or opt-in happened; zero if none.
	ConsentAt time.Time
	// ConsentSource says what made the latest change: "keyword:BAJA" for a message the webhook
	// read, or what your application gave to SetOptOut ("web-form", "call-center", ...).
	ConsentSource string
}

// ContactStore remembers, per phone, when the customer last wrote and whether they opted out.
// It is the contract for third-party stores; the SDK ships [NewMemoryContactStore] and the
// redisstore and pgstore modules implement it for several replicas. Implementations must be
// safe for concurrent use, key contacts by the normalised phone they are given, and apply
// changes by their time, not by their arrival: a webhook delivered late must not undo a newer
// change.
type ContactStore interface {
	// Contacts returns what the store knows of each phone, keyed by phone; a phone it knows
	// nothing of is absent. A campaign asks about all its recipients in one call, so an
	// implementation on a network store answers in a few round trips (the SDK's: one per
	// 1,000 phones at most), not one per phone.
	Contacts(ctx context.Context, phones []string) (map[string]Contact, error)
	// RecordInbound records that the customer wrote at t; an earlier t than the one stored
	// changes nothing.
	RecordInbound(ctx context.Context, phone string, t time.Time) error
	// SetOptOut records an opt-out (optedOut true) or an opt-in (false) made at t by source.
	// A change older than the stored one changes nothing; at an equal time, an opt-out wins.
	SetOptOut(ctx context.Context, phone string, optedOut bool, t time.Time, source string) error
	// OptedOut lists every phone whose latest change is an opt-out, sorted by phone.
	OptedOut(ctx context.Context) ([]Contact, error)
}

// MemoryContactStore is the in-process [ContactStore]: for one process, and for tests. Its
// contents are lost when the process ends; use a shared store for several replicas. Make one with
// [NewMemoryContactStore]; the zero value is not usable.
type MemoryContactStore struct {
	mu       sync.Mutex
	contacts map[string]Contact
}

// NewMemoryContactStore returns an empty in-memory contact store.
func NewMemoryContactStore() *MemoryContactStore {
	return &MemoryContactStore{contacts: make(map[string]Contact)}
}

// Contacts implements [ContactStore].
func (s *MemoryContactStore) Contacts(ctx context.Context, phones []string) (map[string]Contact, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make(map[string]Contact)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range phones {
		if c, ok := s.contacts[p]; ok {
			out[p] = c
		}
	}
	return out, nil
}

// RecordInbound implements [ContactStore].
func (s *MemoryContactStore) RecordInbound(ctx context.Context, phone string, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contacts[phone]
	c.Phone = phone
	if t.After(c.LastInbound) {
		c.LastInbound = t
	}
	s.contacts[phone] = c
	return nil
}

// SetOptOut implements [ContactStore].
func (s *MemoryContactStore) SetOptOut(ctx context.Context, phone string, optedOut bool, t time.Time, source string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contacts[phone]
	c.Phone = phone
	if ConsentChangeWins(c.ConsentAt, c.OptedOut, t, optedOut) {
		c.OptedOut, c.ConsentAt, c.ConsentSource = optedOut, t, source
	}
	s.contacts[phone] = c
	return nil
}

// OptedOut implements [ContactStore].
func (s *MemoryContactStore) OptedOut(ctx context.Context) ([]Contact, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var out []Contact
	for _, c := range s.contacts {
		if c.OptedOut {
			out = append(out, c)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Phone < out[j].Phone })
	return out, nil
}

// ConsentChangeWins reports whether a consent change (optedOut at t) replaces the stored one
// (storedOptedOut at storedAt), by the contract of [ContactStore.SetOptOut]: a newer change
// wins, and at an equal time an opt-out wins. Third-party stores use it to agree with the
// SDK's.
func ConsentChangeWins(storedAt time.Time, storedOptedOut bool, t time.Time, optedOut bool) bool {
	switch {
	case storedAt.IsZero(), t.After(storedAt):
		return true
	case t.Equal(storedAt):
		return optedOut && !storedOptedOut
	}
	return false
}

// ContactOption configures [WithContacts].
type ContactOption func(*contactConfig)

type contactConfig struct {
	window         time.Duration // 0: no window check
	optOut         bool          // check opt-outs
	repliesAllowed bool          // non-template messages to opted-out customers inside the window
	skip           bool          // send to the others instead of failing the whole send
	now            func() time.Time
}

// WithServiceWindow sets the customer-service window that non-template messages must fall in
// (default [DefaultServiceWindow]); 0 turns the window check off. Templates are always allowed by
// this rule.
func WithServiceWindow(d time.Duration) ContactOption {
	if d < 0 {
		panic(fmt.Sprintf("mensatek: WithServiceWindow: negative duration %v", d))
	}
	return func(c *contactConfig) { c.window = d }
}

// WithoutOptOutCheck turns the opt-out check off, leaving only the window check.
func WithoutOptOutCheck() ContactOption {
	return func(c *contactConfig) { c.optOut = false }
}

// AllowRepliesToOptedOut lets non-template messages reach an opted-out customer who wrote inside
// the service window: a reply in a conversation they started, such as the confirmation WhatsApp
// expects after "BAJA". Templates (marketing) to them are still refused.
func AllowRepliesToOptedOut() ContactOption {
	return func(c *contactConfig) { c.repliesAllowed = true }
}

// SkipRefusedRecipients makes a send with several recipients go to those allowed, listing the
// others in [SendResult.Skipped], instead of failing whole (the default, where nothing is sent).
// A send whose every recipient is refused still fails.
func SkipRefusedRecipients() ContactOption {
	return func(c *contactConfig) { c.skip = true }
}

// WithContactClock sets the clock the window is measured with (default time.Now), for tests.
func WithContactClock(now func() time.Time) ContactOption {
	if now == nil {
		panic("mensatek: WithContactClock: nil clock")
	}
	return func(c *contactConfig) { c.now = now }
}

// WithContacts makes every send check its recipients against store before anything leaves the
// process: a recipient who opted out fails with an error matching [ErrOptedOut]; a message other
// than a template, to a recipient who has not written within the service window, fails with one
// matching [ErrOutsideServiceWindow]. Both checks, the window and what happens to a send with
// several recipients are set by opts. Feed the store from your webhook with
// [WithWebhookContacts], and from your application with [ContactStore.SetOptOut].
//
// A store that fails makes the send fail ("not sent"): consent is never assumed.
//
// The store is read before the first attempt and again after every wait that precedes an attempt
// (the rate limiter's, a retry's backoff), so nothing waits between the last read and the
// request: an opt-out the store holds when that read runs stops the send. A recipient refused
// by a later read is treated as one refused by the first: left out and listed in
// [SendResult.Skipped] with SkipRefusedRecipients (the body is encoded again without them),
// otherwise the whole send fails and nothing is sent. Without a limiter the first read is the
// last. What remains is the read's own round trip and the request's way to the API: an opt-out
// recorded during that time, or later, does not stop a request already on its way; a send
// scheduled with [SendRequest.ScheduleAt] is checked when it is made, not when the provider
// delivers it; and a store that reads from a replica sees a change only once the replica has it.
func WithContacts(store ContactStore, opts ...ContactOption) Option {
	return func(c *config) error {
		if store == nil {
			return errors.New("mensatek: WithContacts: nil ContactStore")
		}
		cc := &contactConfig{window: DefaultServiceWindow, optOut: true, now: time.Now}
		for _, o := range opts {
			if o != nil {
				o(cc)
			}
		}
		c.contacts, c.contactCfg = store, cc
		return nil
	}
}

// ContactError is a recipient a send refused for consent: it matches [ErrOptedOut] or
// [ErrOutsideServiceWindow].
type ContactError struct {
	// Phone is the recipient's phone, normalised.
	Phone string
	// Contact is what the store knew of the recipient.
	Contact Contact

	err error
}

// Error says which recipient was refused and why.
func (e *ContactError) Error() string {
	switch {
	case errors.Is(e.err, ErrOptedOut):
		s := fmt.Sprintf("mensatek: send: not sent to %s: the recipient opted out", e.Phone)
		if !e.Contact.ConsentAt.IsZero() {
			s += " on " + e.Contact.ConsentAt.UTC().Format(time.RFC3339)
		}
		if e.Contact.ConsentSource != "" {
			s += " (" + e.Contact.ConsentSource + ")"
		}
		return s
	default:
		if e.Contact.LastInbound.IsZero() {
			return fmt.Sprintf("mensatek: send: not sent to %s: outside the customer-service window, the recipient never wrote; send a template", e.Phone)
		}
		return fmt.Sprintf("mensatek: send: not sent to %s: outside the customer-service window, the recipient last wrote on %s; send a template",
			e.Phone, e.Contact.LastInbound.UTC().Format(time.RFC3339))
	}
}

// Unwrap returns the sentinel the error matches.
func (e *ContactError) Unwrap() error { return e.err }

// SkippedRecipient is a recipient a send left out, with [SkipRefusedRecipients].
type SkippedRecipient struct {
	Phone string // as given in the request
	Err   error  // a *ContactError
}

// consentedBody is the body of a send with [WithContacts]: each call checks the recipients left
// in req against the store and encodes those allowed. The request path calls it before the first
// attempt and again after every wait (the rate limiter's, a retry's backoff), so a recipient
// whose opt-out was recorded while the send waited is not sent to. A recipient refused by a
// later check is removed from req and added to *skipped, as one refused by the first; without
// SkipRefusedRecipients the send fails. A check that finds nothing new reuses the body.
func (c *Client) consentedBody(req *SendRequest, phones []string, skipped *[]SkippedRecipient) bodyFunc {
	var body []byte
	return func(ctx context.Context) ([]byte, error) {
		to, kept, skip, err := c.checkContacts(ctx, req, phones)
		if err != nil {
			var ce *ContactError
			if errors.As(err, &ce) && len(*skipped) > 0 {
				// Every recipient is refused now: name those left out before too.
				errs := make([]error, 0, len(*skipped)+1)
				for _, s := range *skipped {
					errs = append(errs, s.Err)
				}
				err = errors.Join(append(errs, err)...)
			}
			return nil, err
		}
		if body != nil && len(kept) == len(phones) {
			return body, nil
		}
		req.To, phones = to, kept
		*skipped = append(*skipped, skip...)
		body, err = encodeValidated(req, phones)
		return body, err
	}
}

// checkContacts applies the consent rules to req's recipients, whose normalised phones are
// phones. It returns the recipients to send to (all of them, or the allowed ones when skipping)
// with their phones, and the skipped ones.
func (c *Client) checkContacts(ctx context.Context, req *SendRequest, phones []string) ([]Recipient, []string, []SkippedRecipient, error) {
	cc := c.contactCfg
	template := req.Message.MessageType() == TypeTemplate
	if !cc.optOut && (cc.window == 0 || template) {
		return req.To, phones, nil, nil
	}
	known, err := c.contacts.Contacts(ctx, phones)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) && cause != ctx.Err() {
			err = fmt.Errorf("%w: %w", err, cause) // names WithTimeout when it ended the read
		}
		return nil, nil, nil, fmt.Errorf("mensatek: send: not sent: reading the contact store: %w", err)
	}
	now := cc.now()
	var refused []error
	var skipped []SkippedRecipient
	to, kept := req.To[:0:0], phones[:0:0]
	for i, r := range req.To {
		ct := known[phones[i]]
		inWindow := !ct.LastInbound.IsZero() && now.Sub(ct.LastInbound) < cc.window
		var reason error
		switch {
		case cc.optOut && ct.OptedOut && !(cc.repliesAllowed && !template && inWindow):
			reason = ErrOptedOut
		case cc.window > 0 && !template && !inWindow:
			reason = ErrOutsideServiceWindow
		}
		if reason == nil {
			to, kept = append(to, r), append(kept, phones[i])
			continue
		}
		ce := &ContactError{Phone: phones[i], Contact: ct, err: reason}
		refused = append(refused, ce)
		skipped = append(skipped, SkippedRecipient{Phone: r.Phone, Err: ce})
	}
	if len(refused) == 0 {
		return req.To, phones, nil, nil
	}
	if !cc.skip || len(to) == 0 {
		return nil, nil, nil, errors.Join(refused...)
	}
	return to, kept, skipped, nil
}

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
