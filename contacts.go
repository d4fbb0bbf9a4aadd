package mensatek

import (
	"context"
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
