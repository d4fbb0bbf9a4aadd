// Package contactstoretest checks a [mensatek.ContactStore] against the contract the client's
// consent checks ([mensatek.WithContacts]) and the webhook ([mensatek.WithWebhookContacts]) rely
// on. Every store of this repository passes it (the in-memory store, redisstore, pgstore); a
// third-party store should too:
//
//	func TestContactStoreConformance(t *testing.T) {
//		contactstoretest.Run(t, contactstoretest.Harness{
//			New: func(t *testing.T) mensatek.ContactStore { return mystore.New(db, freshTable(t)) },
//		})
//		contactstoretest.RunReplicas(t, mystore.New(db, "shared"), mystore.New(db, "shared"))
//	}
//
// Times. A store must keep times to at least the millisecond, and may return them in another
// location and at a coarser precision than given (the stores of this repository return UTC,
// truncated to the microsecond; the in-memory store returns them as given). The suite compares
// times with [time.Time.Equal], never with ==, and so should your code.
package contactstoretest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mensatek-go/mensatek"
)

// Harness tells [Run] how to make the stores it checks.
type Harness struct {
	// New returns a new, empty store: its OptedOut lists nothing. It is called once per check;
	// stores may share a backend if they do not share contacts (use a fresh key prefix or table
	// for each).
	New func(t *testing.T) mensatek.ContactStore
	// Broken, if set, returns a store whose backend cannot be reached (a closed connection
	// pool, a port nobody listens on): every method must return an error.
	Broken func(t *testing.T) mensatek.ContactStore
}

// Deadline bounds every backend call of the suite.
const Deadline = 15 * time.Second

// Precision is the coarsest precision a store may keep times at: a time comes back within this
// of the one given, and a time that is a whole number of Precision comes back equal to it.
const Precision = time.Millisecond

// Run checks the store h.New makes: batch lookups (many phones, unknown ones, duplicates, an
// empty list), RecordInbound keeping the newest time, SetOptOut applied by
// [mensatek.ConsentChangeWins] (a newer change of the same kind wins; within
// [mensatek.ConsentOrderMargin] the opt-out wins) and saying so when it records nothing
// ([mensatek.ErrConsentSuperseded]), times refused by [mensatek.CheckContactTime], opting back
// in, the sorted OptedOut list, concurrent writers losing no update, the precision of times,
// the webhook bounding report dates by their arrival, an ended context and a broken backend.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("contactstoretest: Harness.New is nil")
	}
	t.Run("EmptyStore", func(t *testing.T) { testEmpty(t, h) })
	t.Run("BatchLookup", func(t *testing.T) { testBatch(t, h) })
	t.Run("RecordInboundKeepsNewest", func(t *testing.T) { testInbound(t, h) })
	t.Run("SetOptOutByTime", func(t *testing.T) { testOptOutOrder(t, h) })
	t.Run("UnorderedChangesOptOutWins", func(t *testing.T) { testUnordered(t, h) })
	t.Run("TimesBounded", func(t *testing.T) { testTimes(t, h) })
	t.Run("OptInAfterOptOut", func(t *testing.T) { testOptIn(t, h) })
	t.Run("OptedOutSorted", func(t *testing.T) { testOptedOutList(t, h) })
	t.Run("ConcurrentWriters", func(t *testing.T) { testConcurrent(t, h) })
	t.Run("TimePrecision", func(t *testing.T) { testPrecision(t, h) })
	t.Run("WebhookBoundsReportDates", func(t *testing.T) { testWebhookDates(t, h) })
	t.Run("ContextEnded", func(t *testing.T) { testContext(t, h) })
	if h.Broken != nil {
		t.Run("BackendErrorsSurface", func(t *testing.T) { testBroken(t, h) })
	}
}

// Phone returns a random Spanish mobile phone, normalised ("346" and 8 more digits), for a
// test of its own.
func Phone() string {
	return fmt.Sprintf("346%08d", rand.IntN(1e8))
}

// base is the time the checks write around.
var base = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Deadline)
	t.Cleanup(cancel)
	return ctx
}

func lookup(t testing.TB, s mensatek.ContactStore, phones ...string) map[string]mensatek.Contact {
	t.Helper()
	got, err := s.Contacts(ctxT(t), phones)
	if err != nil {
		t.Fatalf("Contacts(%d phones): %v", len(phones), err)
	}
	if got == nil {
		t.Fatalf("Contacts(%d phones): a nil map", len(phones))
	}
	return got
}

func one(t testing.TB, s mensatek.ContactStore, phone string) mensatek.Contact {
	t.Helper()
	got := lookup(t, s, phone)
	c, ok := got[phone]
	if !ok {
		t.Fatalf("Contacts: %s is unknown, want it known", phone)
	}
	if len(got) != 1 {
		t.Fatalf("Contacts of one phone returned %d", len(got))
	}
	if c.Phone != phone {
		t.Fatalf("Contacts: the contact of %s says Phone %q", phone, c.Phone)
	}
	return c
}

func record(t testing.TB, s mensatek.ContactStore, phone string, at time.Time) {
	t.Helper()
	if err := s.RecordInbound(ctxT(t), phone, at); err != nil {
		t.Fatalf("RecordInbound(%s, %v): %v", phone, at, err)
	}
}

func setOptOut(t testing.TB, s mensatek.ContactStore, phone string, out bool, at time.Time, source string) {
	t.Helper()
	if err := s.SetOptOut(ctxT(t), phone, out, at, source); err != nil {
		t.Fatalf("SetOptOut(%s, %v, %v): %v", phone, out, at, err)
	}
}

// superseded makes a change that must lose to the stored one (want, by source) and checks
// that it says so and records nothing.
func superseded(t testing.TB, s mensatek.ContactStore, phone string, out bool, at time.Time, source string, want mensatek.Contact) {
	t.Helper()
	err := s.SetOptOut(ctxT(t), phone, out, at, source)
	if !errors.Is(err, mensatek.ErrConsentSuperseded) {
		t.Fatalf("SetOptOut(%s, %v, %v, %q): %v, want an error matching ErrConsentSuperseded", phone, out, at, source, err)
	}
	var se *mensatek.ConsentSupersededError
	if !errors.As(err, &se) {
		t.Fatalf("SetOptOut(%s, %v, %v, %q): %T is no *ConsentSupersededError", phone, out, at, source, err)
	}
	if se.Phone != phone || se.OptedOut != out || !se.At.Equal(at) {
		t.Fatalf("the error names the change %s %v at %v, want %s %v at %v", se.Phone, se.OptedOut, se.At, phone, out, at)
	}
	wantConsent(t, "the error's stored change", se.Stored, want.OptedOut, want.ConsentAt, want.ConsentSource)
	wantConsent(t, "after a change that lost", one(t, s, phone), want.OptedOut, want.ConsentAt, want.ConsentSource)
}

// consent is a stored consent change, for superseded.
func consent(out bool, at time.Time, source string) mensatek.Contact {
	return mensatek.Contact{OptedOut: out, ConsentAt: at, ConsentSource: source}
}

func optedOut(t testing.TB, s mensatek.ContactStore) []mensatek.Contact {
	t.Helper()
	got, err := s.OptedOut(ctxT(t))
	if err != nil {
		t.Fatalf("OptedOut: %v", err)
	}
	return got
}

func wantTime(t testing.TB, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
}

func wantConsent(t testing.TB, what string, c mensatek.Contact, out bool, at time.Time, source string) {
	t.Helper()
	if c.OptedOut != out || !c.ConsentAt.Equal(at) || c.ConsentSource != source {
		t.Fatalf("%s: opted out %v at %v by %q, want %v at %v by %q", what,
			c.OptedOut, c.ConsentAt, c.ConsentSource, out, at, source)
	}
}

func testEmpty(t *testing.T, h Harness) {
	s := h.New(t)
	if got := lookup(t, s); len(got) != 0 {
		t.Fatalf("Contacts of no phones: %v", got)
	}
	if got := lookup(t, s, Phone(), Phone()); len(got) != 0 {
		t.Fatalf("Contacts of unknown phones: %v", got)
	}
	if got := optedOut(t, s); len(got) != 0 {
		t.Fatalf("OptedOut of an empty store: %v", got)
	}
}

// testBatch asks about more phones than one batch of a network store (1,000), known and
// unknown, some more than once.
func testBatch(t *testing.T, h Harness) {
	s := h.New(t)
	const known, unknown = 1500, 1200
	phones := make([]string, known)
	for i := range phones {
		phones[i] = "3461" + fmt.Sprintf("%07d", i)
	}
	// Write them with a few goroutines: a network store takes one round trip per write.
	var wg sync.WaitGroup
	errs := make(chan error, known)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < known; i += 8 {
				at := base.Add(time.Duration(i) * time.Second)
				if err := s.RecordInbound(ctxT(t), phones[i], at); err != nil {
					errs <- err
					return
				}
				if i%3 == 0 {
					if err := s.SetOptOut(ctxT(t), phones[i], true, at, "batch"); err != nil {
						errs <- err
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writing %d contacts: %v", known, err)
	}
	ask := append([]string(nil), phones...)
	for i := 0; i < unknown; i++ {
		ask = append(ask, "3462"+fmt.Sprintf("%07d", i))
	}
	ask = append(ask, phones[:300]...) // duplicates, in another batch than their first mention
	ask = append(ask, phones[7], phones[7])
	got := lookup(t, s, ask...)
	if len(got) != known {
		t.Fatalf("Contacts of %d phones (%d known) returned %d", len(ask), known, len(got))
	}
	for i, p := range phones {
		c, ok := got[p]
		if !ok {
			t.Fatalf("Contacts: %s is missing", p)
		}
		at := base.Add(time.Duration(i) * time.Second)
		if c.Phone != p || !c.LastInbound.Equal(at) {
			t.Fatalf("Contacts: %s is %+v, want Phone %s, LastInbound %v", p, c, p, at)
		}
		if i%3 == 0 {
			wantConsent(t, "contact "+p, c, true, at, "batch")
		} else {
			wantConsent(t, "contact "+p, c, false, time.Time{}, "")
		}
	}
	if n := len(optedOut(t, s)); n != known/3 {
		t.Fatalf("OptedOut lists %d, want %d", n, known/3)
	}
}

func testInbound(t *testing.T, h Harness) {
	s := h.New(t)
	p, other := Phone(), Phone()
	record(t, s, p, base)
	c := one(t, s, p)
	wantTime(t, "LastInbound", c.LastInbound, base)
	wantConsent(t, "a contact that only wrote", c, false, time.Time{}, "")
	record(t, s, p, base.Add(time.Hour))
	wantTime(t, "LastInbound after a newer message", one(t, s, p).LastInbound, base.Add(time.Hour))
	record(t, s, p, base.Add(30*time.Minute)) // a report delivered late
	wantTime(t, "LastInbound after an older message", one(t, s, p).LastInbound, base.Add(time.Hour))
	record(t, s, p, base.Add(time.Hour)) // the same again
	wantTime(t, "LastInbound after the same time again", one(t, s, p).LastInbound, base.Add(time.Hour))
	// A message changes nothing about consent, and one phone nothing about another.
	setOptOut(t, s, p, true, base, "keyword:BAJA")
	record(t, s, p, base.Add(2*time.Hour))
	c = one(t, s, p)
	wantTime(t, "LastInbound", c.LastInbound, base.Add(2*time.Hour))
	wantConsent(t, "after a message", c, true, base, "keyword:BAJA")
	if got := lookup(t, s, other); len(got) != 0 {
		t.Fatalf("another phone is known: %v", got)
	}
	// A time in another location is the same instant.
	madrid := time.FixedZone("CET", 3600)
	record(t, s, p, base.Add(3*time.Hour).In(madrid))
	wantTime(t, "LastInbound given in CET", one(t, s, p).LastInbound, base.Add(3*time.Hour))
}

func testOptOutOrder(t *testing.T, h Harness) {
	s := h.New(t)
	p := Phone()
	const margin = mensatek.ConsentOrderMargin
	// An opt-out with no message before it is a contact too.
	setOptOut(t, s, p, true, base, "web-form")
	c := one(t, s, p)
	wantConsent(t, "first opt-out", c, true, base, "web-form")
	if !c.LastInbound.IsZero() {
		t.Fatalf("LastInbound %v of a contact that never wrote", c.LastInbound)
	}
	stored := consent(true, base, "web-form")
	// An older opt-out is refused, and says so; so is any opt-in not newer by more than the
	// margin, the same time included.
	superseded(t, s, p, true, base.Add(-time.Minute), "late-opt-out", stored)
	superseded(t, s, p, false, base.Add(-time.Minute), "late-opt-in", stored)
	superseded(t, s, p, false, base, "same-time-opt-in", stored)
	superseded(t, s, p, false, base.Add(margin), "opt-in at the margin", stored)
	// An opt-out of the same time is recorded again (a redelivered report).
	setOptOut(t, s, p, true, base, "again")
	wantConsent(t, "the same opt-out again", one(t, s, p), true, base, "again")
	// An opt-in newer by more than the margin wins.
	in := base.Add(margin + time.Millisecond)
	setOptOut(t, s, p, false, in, "keyword:ALTA")
	wantConsent(t, "an opt-in newer by more than the margin", one(t, s, p), false, in, "keyword:ALTA")
	// A newer opt-in replaces an opt-in; an older one is refused.
	superseded(t, s, p, false, in.Add(-time.Millisecond), "older opt-in", consent(false, in, "keyword:ALTA"))
	setOptOut(t, s, p, false, in.Add(time.Second), "web-form")
	in = in.Add(time.Second)
	// An opt-out replaces an opt-in unless the opt-in is newer by more than the margin: up to
	// the margin older than the opt-in, it wins.
	superseded(t, s, p, true, in.Add(-margin-time.Millisecond), "old opt-out", consent(false, in, "web-form"))
	setOptOut(t, s, p, true, in.Add(-margin), "keyword:STOP")
	wantConsent(t, "an opt-out as old as the margin", one(t, s, p), true, in.Add(-margin), "keyword:STOP")
	// A change without a time replaces nothing.
	superseded(t, s, p, true, time.Time{}, "no time", consent(true, in.Add(-margin), "keyword:STOP"))
	// Every outcome agrees with mensatek.ConsentChangeWins.
	for _, tc := range []struct {
		storedOut, out bool
		d              time.Duration // the change's time minus the stored one's
		want           bool
	}{
		{false, true, 0, true}, {true, false, 0, false}, {true, true, 0, true}, {false, false, 0, true},
		{false, true, -margin, true}, {false, true, -margin - 1, false},
		{true, false, margin, false}, {true, false, margin + 1, true},
		{true, true, -1, false}, {false, false, -1, false},
	} {
		if got := mensatek.ConsentChangeWins(base, tc.storedOut, base.Add(tc.d), tc.out); got != tc.want {
			t.Fatalf("ConsentChangeWins(stored out %v, out %v, %v later) = %v", tc.storedOut, tc.out, tc.d, got)
		}
	}
}

// testUnordered: the cases. The application records an opt-in with its clock to the
// microsecond; a BAJA half a second later has Fecha's whole seconds, so its time is before the
// opt-in's: it is recorded. With the application's clock 90 s ahead, a BAJA up to 90 s after
// the opt-in is recorded too.
func testUnordered(t *testing.T, h Harness) {
	s := h.New(t)
	optIn := base.Add(123456 * time.Microsecond)
	for _, tc := range []struct {
		what string
		baja time.Time
	}{
		{"a BAJA half a second after an opt-in, in whole seconds", optIn.Add(500 * time.Millisecond).Truncate(time.Second)},
		{"a BAJA 30 s after an opt-in made on a clock 90 s ahead", optIn.Add(-90 * time.Second).Add(30 * time.Second)},
		{"a BAJA just after an opt-in made on a clock 90 s ahead", optIn.Add(-90 * time.Second)},
	} {
		p := Phone()
		setOptOut(t, s, p, false, optIn, "web-form")
		setOptOut(t, s, p, true, tc.baja, "keyword:BAJA")
		wantConsent(t, tc.what, one(t, s, p), true, tc.baja, "keyword:BAJA")
		if !listed(t, s, p) {
			t.Fatalf("%s: not in OptedOut", tc.what)
		}
		// The opt-in, delivered again after it, does not undo it.
		superseded(t, s, p, false, optIn, "web-form", consent(true, tc.baja, "keyword:BAJA"))
	}
}

// testTimes: times no store keeps are refused at once, with a *mensatek.ValidationError, and
// record nothing; times up to MaxContactTimeAhead past now are kept.
func testTimes(t *testing.T, h Harness) {
	s := h.New(t)
	now := time.Now()
	for _, at := range []time.Time{
		now.Add(mensatek.MaxContactTimeAhead + time.Hour),
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
	} {
		p := Phone()
		var ve *mensatek.ValidationError
		if err := s.RecordInbound(ctxT(t), p, at); !errors.As(err, &ve) {
			t.Fatalf("RecordInbound at %v: %v, want a *ValidationError", at, err)
		}
		if err := s.SetOptOut(ctxT(t), p, true, at, "absurd"); !errors.As(err, &ve) {
			t.Fatalf("SetOptOut at %v: %v, want a *ValidationError", at, err)
		}
		if got := lookup(t, s, p); len(got) != 0 {
			t.Fatalf("after refused times: %v", got)
		}
	}
	p := Phone()
	soon := now.Add(mensatek.MaxContactTimeAhead - time.Hour).Truncate(time.Millisecond)
	record(t, s, p, soon)
	setOptOut(t, s, p, true, soon, "clock ahead")
	c := one(t, s, p)
	wantTime(t, "LastInbound within MaxContactTimeAhead", c.LastInbound, soon)
	wantConsent(t, "within MaxContactTimeAhead", c, true, soon, "clock ahead")
	epoch := time.Unix(0, 0)
	record(t, s, p, epoch) // the earliest time kept; older than the stored one, so no change
	setOptOut(t, s, Phone(), true, epoch, "epoch")
}

func testOptIn(t *testing.T, h Harness) {
	s := h.New(t)
	p := Phone()
	// Changes far enough apart to be ordered for certain.
	step := mensatek.ConsentOrderMargin + time.Minute
	record(t, s, p, base)
	setOptOut(t, s, p, true, base.Add(step), "keyword:BAJA")
	if got := optedOut(t, s); len(got) != 1 || got[0].Phone != p {
		t.Fatalf("OptedOut after an opt-out: %v", got)
	}
	setOptOut(t, s, p, false, base.Add(2*step), "keyword:ALTA")
	c := one(t, s, p)
	wantConsent(t, "after opting back in", c, false, base.Add(2*step), "keyword:ALTA")
	wantTime(t, "LastInbound after opting back in", c.LastInbound, base)
	if got := optedOut(t, s); len(got) != 0 {
		t.Fatalf("OptedOut after opting back in: %v", got)
	}
	// And out again, with a source that needs no escaping anywhere.
	src := "form: ñandú | \"quoted\" 🎉"
	setOptOut(t, s, p, true, base.Add(3*step), src)
	wantConsent(t, "out again", one(t, s, p), true, base.Add(3*step), src)
	// An empty source is kept as empty.
	setOptOut(t, s, p, false, base.Add(4*step), "")
	wantConsent(t, "empty source", one(t, s, p), false, base.Add(4*step), "")
}

func testOptedOutList(t *testing.T, h Harness) {
	s := h.New(t)
	// More than one page (1,000) of a network store's listing, written in no particular order.
	const n = 2100
	var want []string
	perm := make([]int, n)
	for i := range perm {
		perm[i] = (i * 7919) % n
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := w; k < n; k += 8 {
				i := perm[k]
				p := "3463" + strconv.Itoa(1000000+i)
				if err := s.SetOptOut(ctxT(t), p, i%2 == 0, base.Add(time.Duration(i)*time.Millisecond), "list"); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("SetOptOut: %v", err)
	}
	for i := 0; i < n; i += 2 {
		want = append(want, "3463"+strconv.Itoa(1000000+i))
	}
	// Phones of different lengths sort as strings.
	for _, p := range []string{"34", "3463", "346310000009", "1"} {
		setOptOut(t, s, p, true, base, "list")
		want = append(want, p)
	}
	record(t, s, "34", base.Add(time.Hour))
	sort.Strings(want)
	got := optedOut(t, s)
	if len(got) != len(want) {
		t.Fatalf("OptedOut lists %d phones, want %d", len(got), len(want))
	}
	for i, c := range got {
		if c.Phone != want[i] {
			t.Fatalf("OptedOut[%d] is %s, want %s (sorted by phone)", i, c.Phone, want[i])
		}
		if !c.OptedOut || c.ConsentSource != "list" {
			t.Fatalf("OptedOut[%d]: %+v", i, c)
		}
		if c.Phone == "34" {
			wantTime(t, "OptedOut's LastInbound", c.LastInbound, base.Add(time.Hour))
			wantTime(t, "OptedOut's ConsentAt", c.ConsentAt, base)
		}
	}
}

// testConcurrent: many goroutines write one phone at once, each with its own time, messages and
// consent changes mixed; the newest of each wins, and neither kind of write loses the other.
func testConcurrent(t *testing.T, h Harness) {
	s := h.New(t)
	for round := 0; round < 3; round++ {
		p := Phone()
		const n = 50
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				// Times spread both ways around the middle, so arrival order is not time order.
				at := base.Add(time.Duration((i*37)%n) * time.Millisecond)
				if err := s.RecordInbound(ctxT(t), p, at); err != nil {
					errs <- err
				}
				// Opt-outs and opt-ins, several writers at each time, both kinds at some.
				ms := (i * 13) % n / 2
				out := i%2 == 0
				src := "writer-" + strconv.Itoa(i)
				err := s.SetOptOut(ctxT(t), p, out, base.Add(time.Duration(ms)*time.Millisecond), src)
				if err != nil && !errors.Is(err, mensatek.ErrConsentSuperseded) {
					errs <- err
				}
			}(i)
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent writes: %v", err)
		}
		c := one(t, s, p)
		wantTime(t, fmt.Sprintf("round %d: LastInbound", round), c.LastInbound, base.Add((n-1)*time.Millisecond))
		// The newest consent change: the highest time written, and it must be one of its writers'.
		var newest time.Time
		var newestOut bool
		for i := 0; i < n; i++ {
			ms := (i * 13) % n / 2
			out := i%2 == 0
			at := base.Add(time.Duration(ms) * time.Millisecond)
			if mensatek.ConsentChangeWins(newest, newestOut, at, out) {
				newest, newestOut = at, out
			}
		}
		if c.OptedOut != newestOut || !c.ConsentAt.Equal(newest) {
			t.Fatalf("round %d: consent %v at %v, want %v at %v", round, c.OptedOut, c.ConsentAt, newestOut, newest)
		}
	}
}

func testPrecision(t *testing.T, h Harness) {
	s := h.New(t)
	p, q := Phone(), Phone()
	// Whole milliseconds come back equal.
	ms := base.Add(123 * time.Millisecond)
	record(t, s, p, ms)
	setOptOut(t, s, p, true, ms.Add(time.Millisecond), "ms")
	c := one(t, s, p)
	wantTime(t, "LastInbound at a whole millisecond", c.LastInbound, ms)
	wantTime(t, "ConsentAt at a whole millisecond", c.ConsentAt, ms.Add(time.Millisecond))
	// Finer times come back within a millisecond, and keep their order with a millisecond
	// between them.
	fine := base.Add(456*time.Millisecond + 789*time.Microsecond + 321*time.Nanosecond)
	record(t, s, q, fine)
	setOptOut(t, s, q, true, fine, "fine")
	c = one(t, s, q)
	for what, got := range map[string]time.Time{"LastInbound": c.LastInbound, "ConsentAt": c.ConsentAt} {
		if d := got.Sub(fine); d <= -Precision || d >= Precision {
			t.Fatalf("%s %v of %v: off by %v", what, got, fine, d)
		}
	}
	if err := s.SetOptOut(ctxT(t), q, true, fine.Add(-Precision), "older by a millisecond"); !errors.Is(err, mensatek.ErrConsentSuperseded) {
		t.Fatalf("an opt-out older by a millisecond: %v, want ErrConsentSuperseded", err)
	}
	setOptOut(t, s, q, true, fine.Add(Precision), "newer by a millisecond")
	if c = one(t, s, q); !c.OptedOut || c.ConsentSource != "newer by a millisecond" {
		t.Fatalf("a millisecond apart: %+v", c)
	}
	// Far from now: the earliest time kept, and the latest.
	for _, at := range []time.Time{time.Date(1970, 1, 2, 3, 4, 5, 6e6, time.UTC), time.Now().Add(mensatek.MaxContactTimeAhead - time.Minute).Truncate(time.Millisecond)} {
		r := Phone()
		record(t, s, r, at)
		wantTime(t, "LastInbound", one(t, s, r).LastInbound, at)
	}
}

func testContext(t *testing.T, h Harness) {
	s := h.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := Phone()
	if err := s.RecordInbound(ctx, p, base); err == nil {
		t.Fatal("RecordInbound with an ended context: no error")
	}
	if err := s.SetOptOut(ctx, p, true, base, "ctx"); err == nil {
		t.Fatal("SetOptOut with an ended context: no error")
	}
	if _, err := s.Contacts(ctx, []string{p}); err == nil {
		t.Fatal("Contacts with an ended context: no error")
	}
	if _, err := s.Contacts(ctx, nil); err == nil {
		t.Fatal("Contacts of no phones with an ended context: no error")
	}
	if _, err := s.OptedOut(ctx); err == nil {
		t.Fatal("OptedOut with an ended context: no error")
	}
	// Nothing was recorded.
	if got := lookup(t, s, p); len(got) != 0 {
		t.Fatalf("after the failed calls: %v", got)
	}
}

func testBroken(t *testing.T, h Harness) {
	s := h.Broken(t)
	ctx := ctxT(t)
	p := Phone()
	if err := s.RecordInbound(ctx, p, base); err == nil {
		t.Fatal("RecordInbound on an unreachable backend: no error")
	}
	if err := s.SetOptOut(ctx, p, true, base, "broken"); err == nil {
		t.Fatal("SetOptOut on an unreachable backend: no error")
	}
	if _, err := s.Contacts(ctx, []string{p, Phone()}); err == nil {
		t.Fatal("Contacts on an unreachable backend: no error")
	}
	if _, err := s.OptedOut(ctx); err == nil {
		t.Fatal("OptedOut on an unreachable backend: no error")
	}
}
