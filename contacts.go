package mensatek

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// ConsentOrderMargin is how much newer than a stored change of the other kind a consent change
// must be for the two to be ordered for certain. Times come from different clocks (the
// provider's, each replica's, your application's), Fecha has whole seconds, and the webhook
// allows [WebhookClockSkew] into the future; within this margin the opt-out wins: an opt-out
// replaces a stored opt-in unless the opt-in is newer by more than the margin, and an opt-in
// replaces a stored opt-out only if it is newer by more than the margin. Two minutes cover the
// skew allowance (one minute), Fecha's resolution (one second) and almost a minute between your
// replicas' clocks. The price: an opt-in within two minutes after an opt-out is not recorded
// (the customer writes ALTA again later).
const ConsentOrderMargin = 2 * time.Minute

// MaxContactTimeAhead is how far past the store's clock a [ContactStore] accepts a time: a
// change dated later is refused (see [CheckContactTime]), so no time can hold consent or the
// window for years. The webhook never records a time past its clock plus [WebhookClockSkew].
const MaxContactTimeAhead = 24 * time.Hour

// minContactTime is the earliest time a ContactStore accepts (the zero time aside).
var minContactTime = time.Unix(0, 0)

// CheckContactTime returns a [*ValidationError] for a time no [ContactStore] accepts: before
// 1970, or more than [MaxContactTimeAhead] after now (the store's clock). The zero time, which
// stores keep as "never", is accepted. Every store calls it before it writes, so they refuse the
// same times, at once, with the same error; a third-party store should too.
func CheckContactTime(t, now time.Time) error {
	switch {
	case t.IsZero():
		return nil
	case t.Before(minContactTime):
		return &ValidationError{Field: "time", Reason: fmt.Sprintf("%s is before 1970: a contact store keeps no earlier time",
			t.UTC().Format(time.RFC3339))}
	case t.Sub(now) > MaxContactTimeAhead:
		return &ValidationError{Field: "time", Reason: fmt.Sprintf("%s is more than %v after now (%s): a change cannot be dated in the future",
			t.UTC().Format(time.RFC3339), MaxContactTimeAhead, now.UTC().Format(time.RFC3339))}
	}
	return nil
}

// ConsentSupersededError is the error of a [ContactStore.SetOptOut] that did not record its
// change: the store holds a change that wins over it. It matches [ErrConsentSuperseded].
type ConsentSupersededError struct {
	// Phone is the phone, as given to SetOptOut.
	Phone string
	// OptedOut and At are the change that was not recorded.
	OptedOut bool
	At       time.Time
	// Stored is what the store holds for the phone: its consent fields (OptedOut, ConsentAt,
	// ConsentSource) are the change that won; LastInbound may be zero when the store did not
	// read it with the change.
	Stored Contact
}

// Error says which change was not recorded and what the store holds instead.
func (e *ConsentSupersededError) Error() string {
	kind, stored := "opt-in", "opt-in"
	if e.OptedOut {
		kind = "opt-out"
	}
	if e.Stored.OptedOut {
		stored = "opt-out"
	}
	s := fmt.Sprintf("mensatek: %s of %s at %s not recorded: the store holds an %s at %s",
		kind, e.Phone, e.At.UTC().Format(time.RFC3339Nano), stored, e.Stored.ConsentAt.UTC().Format(time.RFC3339Nano))
	if e.Stored.ConsentSource != "" {
		s += " (" + e.Stored.ConsentSource + ")"
	}
	switch {
	case e.At.IsZero():
		s += "; a change without a time never replaces a stored one"
	case !e.OptedOut && e.Stored.OptedOut:
		s += fmt.Sprintf("; an opt-in must be more than %v newer than an opt-out", ConsentOrderMargin)
	case e.OptedOut && !e.Stored.OptedOut:
		s += fmt.Sprintf("; it is newer by more than %v", ConsentOrderMargin)
	default:
		s += "; it is newer"
	}
	return s
}

// Unwrap returns [ErrConsentSuperseded].
func (e *ConsentSupersededError) Unwrap() error { return ErrConsentSuperseded }

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
	// ConsentSource says what made the latest change: for a message the webhook read, what
	// matched ("keyword:BAJA", "phrase:DARME DE BAJA", "button:STOP"); or what your application
	// gave to SetOptOut ("web-form", "call-center", ...).
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
	// changes nothing. A time [CheckContactTime] refuses records nothing and returns its
	// [*ValidationError].
	RecordInbound(ctx context.Context, phone string, t time.Time) error
	// SetOptOut records an opt-out (optedOut true) or an opt-in (false) made at t by source,
	// if it wins over the stored change by [ConsentChangeWins]: a newer change of the same kind
	// wins; of different kinds, the opt-out wins unless the opt-in is newer by more than
	// [ConsentOrderMargin]. nil means the change was recorded. A change that loses records
	// nothing and returns a [*ConsentSupersededError] (matching [ErrConsentSuperseded]) with
	// what the store holds. A time [CheckContactTime] refuses records nothing and returns its
	// [*ValidationError].
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
	if err := CheckContactTime(t, time.Now()); err != nil {
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
	if err := CheckContactTime(t, time.Now()); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, known := s.contacts[phone]
	if known && !ConsentChangeWins(c.ConsentAt, c.OptedOut, t, optedOut) {
		return &ConsentSupersededError{Phone: phone, OptedOut: optedOut, At: t, Stored: c}
	}
	c.Phone, c.OptedOut, c.ConsentAt, c.ConsentSource = phone, optedOut, t, source
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
// (storedOptedOut at storedAt), by the contract of [ContactStore.SetOptOut]. When two changes
// cannot be ordered for certain, the opt-out wins:
//   - with nothing stored (a zero storedAt) any change wins, and a change without a time (a
//     zero t) never replaces a stored one;
//   - a change of the same kind wins if it is not older (at an equal time it replaces the
//     stored one, so a redelivered report is recorded again, unchanged);
//   - an opt-out replaces an opt-in unless the opt-in is newer by more than
//     [ConsentOrderMargin];
//   - an opt-in replaces an opt-out only if it is newer by more than ConsentOrderMargin.
//
// Third-party stores use it to agree with the SDK's.
func ConsentChangeWins(storedAt time.Time, storedOptedOut bool, t time.Time, optedOut bool) bool {
	switch {
	case storedAt.IsZero():
		return true
	case t.IsZero():
		return false
	case optedOut == storedOptedOut:
		return !t.Before(storedAt)
	case optedOut:
		return storedAt.Sub(t) <= ConsentOrderMargin
	default:
		return t.Sub(storedAt) > ConsentOrderMargin
	}
}

// ContactOption configures [WithContacts].
type ContactOption func(*contactConfig) error

type contactConfig struct {
	window         time.Duration // 0: no window check
	optOut         bool          // check opt-outs
	repliesAllowed bool          // non-template messages to opted-out customers inside the window
	skip           bool          // send to the others instead of failing the whole send
	now            func() time.Time
}

// WithServiceWindow sets the customer-service window that non-template messages must fall in
// (default [DefaultServiceWindow]); 0 turns the window check off. Templates are always allowed by
// this rule. A negative d makes [NewClient] fail.
func WithServiceWindow(d time.Duration) ContactOption {
	return func(c *contactConfig) error {
		if d < 0 {
			return fmt.Errorf("mensatek: WithServiceWindow: negative duration %v", d)
		}
		c.window = d
		return nil
	}
}

// WithoutOptOutCheck turns the opt-out check off, leaving only the window check.
func WithoutOptOutCheck() ContactOption {
	return func(c *contactConfig) error {
		c.optOut = false
		return nil
	}
}

// AllowRepliesToOptedOut lets non-template messages reach an opted-out customer who wrote inside
// the service window: a reply in a conversation they started, such as the confirmation WhatsApp
// expects after "BAJA". Templates (marketing) to them are still refused.
func AllowRepliesToOptedOut() ContactOption {
	return func(c *contactConfig) error {
		c.repliesAllowed = true
		return nil
	}
}

// SkipRefusedRecipients makes a send with several recipients go to those allowed, listing the
// others in [SendResult.Skipped], instead of failing whole (the default, where nothing is sent).
// A send whose every recipient is refused still fails.
func SkipRefusedRecipients() ContactOption {
	return func(c *contactConfig) error {
		c.skip = true
		return nil
	}
}

// WithContacts makes every send check its recipients against store before anything leaves the
// process: a recipient who opted out fails with an error matching [ErrOptedOut]; a message other
// than a template, to a recipient who has not written within the service window, fails with one
// matching [ErrOutsideServiceWindow]. Both checks, the window and what happens to a send with
// several recipients are set by opts. Feed the store from your webhook with
// [WithWebhookContacts], and from your application with [ContactStore.SetOptOut].
//
// A store that fails makes the send fail with an error matching [ErrNotSent]: consent is never
// assumed.
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
			if o == nil {
				continue
			}
			if err := o(cc); err != nil {
				return err
			}
		}
		c.contacts, c.contactCfg = store, cc
		return nil
	}
}

// ContactError is a recipient a send refused for consent: it matches [ErrOptedOut] or
// [ErrOutsideServiceWindow], and [ErrNotSent], since nothing was sent to the recipient.
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

// Unwrap returns the consent sentinel the error matches, and [ErrNotSent]: a consent refusal is
// found before anything leaves.
func (e *ContactError) Unwrap() []error { return []error{e.err, ErrNotSent} }

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
		return nil, nil, nil, markNotSent(fmt.Errorf("mensatek: send: not sent: reading the contact store: %w", err))
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
		if c.observer != nil {
			c.observer.ConsentRefused(ctx, OpSend, reason)
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
