// Package dedupstoretest checks a [mensatek.DedupStore] against the contract the webhook handler
// relies on. Every store of this repository passes it (the in-memory store, redisstore,
// pgstore); a third-party store should too:
//
//	func TestConformance(t *testing.T) {
//		dedupstoretest.Run(t, dedupstoretest.Harness{
//			New: func(t *testing.T, retention time.Duration) dedupstoretest.Store {
//				return dedupstoretest.Store{DedupStore: mystore.New(db, retention)}
//			},
//		})
//		dedupstoretest.RunHandler(t, mystore.New(db, time.Hour))
//	}
//
// Nothing here proves anything by sleeping: a store with an injectable clock gives Advance, and
// the suite moves time itself; a store on a server's clock gets short leases and a retention of
// about a second, and the suite polls, with a deadline, for what must happen once they run out.
package dedupstoretest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mensatek-go/mensatek"
)

// Store is one store under test.
type Store struct {
	mensatek.DedupStore
	// Advance moves this store's clock forward by d. Leave it nil for a store that keeps time
	// on a server: the suite then waits for real leases of a few hundred milliseconds to run
	// out, polling until a deadline.
	Advance func(d time.Duration)
}

// Harness tells [Run] how to make the stores it checks.
type Harness struct {
	// New returns a new, empty store that remembers a done key for retention. It is called
	// once per check; stores may share a backend if they do not share keys (use a fresh key
	// prefix or table for each).
	New func(t *testing.T, retention time.Duration) Store
	// Broken, if set, returns a store whose backend cannot be reached (a closed connection
	// pool, a port nobody listens on): every method must return an error.
	Broken func(t *testing.T) mensatek.DedupStore
}

// Deadline bounds every wait of the suite for a lease or a retention to run out.
const Deadline = 15 * time.Second

// Run checks the store h.New makes: atomic claims (50 goroutines claiming one key, exactly one
// wins), in-progress answers with the lease's remaining time, completion, release by the holder
// only (a stale token does nothing), takeover after a lease runs out (sub-second leases
// included), expiry after the retention, keys kept apart (hostile ones of
// [mensatek.MaxEventKeyBytes] included), and errors that surface.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("dedupstoretest: Harness.New is nil")
	}
	t.Run("ClaimThenInProgress", func(t *testing.T) { testClaim(t, h) })
	t.Run("ConcurrentClaimsOneWinner", func(t *testing.T) { testConcurrent(t, h) })
	t.Run("CompleteThenDone", func(t *testing.T) { testComplete(t, h) })
	t.Run("ReleaseByHolder", func(t *testing.T) { testRelease(t, h) })
	t.Run("ReleaseByStaleTokenDoesNothing", func(t *testing.T) { testStaleRelease(t, h) })
	t.Run("TakeoverAfterLease", func(t *testing.T) { testTakeover(t, h) })
	t.Run("RetentionExpiry", func(t *testing.T) { testRetention(t, h) })
	t.Run("KeysAreIndependent", func(t *testing.T) { testKeys(t, h) })
	t.Run("HostileKeysAtMaxLength", func(t *testing.T) { testHostileKeys(t, h) })
	t.Run("ContextEnded", func(t *testing.T) { testContext(t, h) })
	if h.Broken != nil {
		t.Run("BackendErrorsSurface", func(t *testing.T) { testBroken(t, h) })
	}
}

const longLease = time.Minute

// Token returns a new random claim token.
func Token() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func claim(t *testing.T, s mensatek.DedupStore, key, token string, lease time.Duration) mensatek.Claim {
	t.Helper()
	c, err := s.Claim(context.Background(), key, token, lease)
	if err != nil {
		t.Fatalf("Claim(%q): %v", key, err)
	}
	return c
}

func wantStatus(t *testing.T, c mensatek.Claim, want mensatek.ClaimStatus, what string) {
	t.Helper()
	if c.Status != want {
		t.Fatalf("%s: Claim status %v, want %v", what, c.Status, want)
	}
}

// eventually advances the store's clock by d, or else polls until cond holds or Deadline passes.
func eventually(t *testing.T, s Store, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if s.Advance != nil {
		s.Advance(d)
		if !cond() {
			t.Fatalf("%s: not so after advancing the clock by %v", what, d)
		}
		return
	}
	deadline := time.Now().Add(Deadline)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after %v", what, Deadline)
		}
		<-tick.C
	}
}

func testClaim(t *testing.T, h Harness) {
	s := h.New(t, time.Hour)
	key := "report-" + Token()
	wantStatus(t, claim(t, s, key, Token(), longLease), mensatek.ClaimAcquired, "first claim")
	c := claim(t, s, key, Token(), longLease)
	wantStatus(t, c, mensatek.ClaimInProgress, "claim while held")
	if c.Remaining <= 0 || c.Remaining > longLease {
		t.Fatalf("Remaining %v, want in (0, %v]", c.Remaining, longLease)
	}
	if c.Remaining < longLease-Deadline {
		t.Fatalf("Remaining %v: the lease of %v was taken moments ago", c.Remaining, longLease)
	}
	// A sub-second lease keeps its precision.
	short := "short-" + Token()
	wantStatus(t, claim(t, s, short, Token(), 900*time.Millisecond), mensatek.ClaimAcquired, "sub-second claim")
	c = claim(t, s, short, Token(), longLease)
	if c.Status == mensatek.ClaimInProgress && (c.Remaining <= 0 || c.Remaining > 900*time.Millisecond) {
		t.Fatalf("sub-second lease: Remaining %v, want in (0, 900ms]", c.Remaining)
	}
}

func testConcurrent(t *testing.T, h Harness) {
	s := h.New(t, time.Hour)
	for round := 0; round < 3; round++ {
		key := "concurrent-" + Token()
		const n = 50
		var wg sync.WaitGroup
		results := make([]mensatek.Claim, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				results[i], errs[i] = s.Claim(context.Background(), key, Token(), longLease)
			}(i)
		}
		close(start)
		wg.Wait()
		won := 0
		for i := range results {
			if errs[i] != nil {
				t.Fatalf("claim %d: %v", i, errs[i])
			}
			switch results[i].Status {
			case mensatek.ClaimAcquired:
				won++
			case mensatek.ClaimInProgress:
			default:
				t.Fatalf("claim %d: status %v, want acquired or in progress", i, results[i].Status)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of %d concurrent claims acquired the key, want exactly 1", round, won, n)
		}
	}
}

func testComplete(t *testing.T, h Harness) {
	s := h.New(t, time.Hour)
	ctx := context.Background()
	key, tok := "complete-"+Token(), Token()
	wantStatus(t, claim(t, s, key, tok, longLease), mensatek.ClaimAcquired, "claim")
	if err := s.Complete(ctx, key); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	wantStatus(t, claim(t, s, key, Token(), longLease), mensatek.ClaimDone, "claim after Complete")
	// The holder's Release after Complete leaves the done mark alone.
	if err := s.Release(ctx, key, tok); err != nil {
		t.Fatalf("Release: %v", err)
	}
	wantStatus(t, claim(t, s, key, Token(), longLease), mensatek.ClaimDone, "claim after Complete and Release")
	// Complete of a key nobody claimed records it too.
	other := "complete-unclaimed-" + Token()
	if err := s.Complete(ctx, other); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	wantStatus(t, claim(t, s, other, Token(), longLease), mensatek.ClaimDone, "claim after Complete of an unclaimed key")
	// Release of an absent key is no error.
	if err := s.Release(ctx, "absent-"+Token(), Token()); err != nil {
		t.Fatalf("Release of an absent key: %v", err)
	}
}

func testRelease(t *testing.T, h Harness) {
	s := h.New(t, time.Hour)
	key, tok := "release-"+Token(), Token()
	wantStatus(t, claim(t, s, key, tok, longLease), mensatek.ClaimAcquired, "claim")
	if err := s.Release(context.Background(), key, tok); err != nil {
		t.Fatalf("Release: %v", err)
	}
	wantStatus(t, claim(t, s, key, Token(), longLease), mensatek.ClaimAcquired, "claim after the holder released")
}

func testStaleRelease(t *testing.T, h Harness) {
	s := h.New(t, time.Hour)
	key := "stale-" + Token()
	wantStatus(t, claim(t, s, key, Token(), longLease), mensatek.ClaimAcquired, "claim")
	if err := s.Release(context.Background(), key, Token()); err != nil {
		t.Fatalf("Release with another token: %v", err)
	}
	wantStatus(t, claim(t, s, key, Token(), longLease), mensatek.ClaimInProgress, "claim after a release by another token")
}

func testTakeover(t *testing.T, h Harness) {
	s := h.New(t, time.Hour)
	ctx := context.Background()
	key, old := "takeover-"+Token(), Token()
	const lease = 200 * time.Millisecond
	wantStatus(t, claim(t, s, key, old, lease), mensatek.ClaimAcquired, "claim with a short lease")
	var last mensatek.Claim
	eventually(t, s, lease+time.Millisecond, "a claim after the lease ran out acquires the key", func() bool {
		last = claim(t, s, key, Token(), longLease)
		if last.Status == mensatek.ClaimInProgress && (last.Remaining <= 0 || last.Remaining > lease) {
			t.Fatalf("Remaining %v of a %v lease", last.Remaining, lease)
		}
		return last.Status == mensatek.ClaimAcquired
	})
	// The old holder comes back and fails: its Release must not free the new holder's claim.
	if err := s.Release(ctx, key, old); err != nil {
		t.Fatalf("Release by the old holder: %v", err)
	}
	wantStatus(t, claim(t, s, key, Token(), longLease), mensatek.ClaimInProgress, "claim after the old holder's release")
	// Had it succeeded instead, Complete records the report as done whoever holds it.
	if err := s.Complete(ctx, key); err != nil {
		t.Fatalf("Complete by the old holder: %v", err)
	}
	wantStatus(t, claim(t, s, key, Token(), longLease), mensatek.ClaimDone, "claim after the old holder's Complete")
}

func testRetention(t *testing.T, h Harness) {
	const retention = time.Second
	s := h.New(t, retention)
	key := "retention-" + Token()
	wantStatus(t, claim(t, s, key, Token(), longLease), mensatek.ClaimAcquired, "claim")
	if err := s.Complete(context.Background(), key); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if s.Advance != nil {
		s.Advance(retention / 2)
		wantStatus(t, claim(t, s, key, Token(), longLease), mensatek.ClaimDone, "claim within the retention")
	} else {
		c := claim(t, s, key, Token(), longLease)
		if c.Status != mensatek.ClaimDone && c.Status != mensatek.ClaimAcquired {
			t.Fatalf("claim after Complete: %v", c.Status)
		}
		if c.Status == mensatek.ClaimAcquired {
			return // over a second passed already: the retention ran out, as checked below
		}
	}
	eventually(t, s, retention, "a done key is forgotten after the retention", func() bool {
		return claim(t, s, key, Token(), longLease).Status == mensatek.ClaimAcquired
	})
}

func testKeys(t *testing.T, h Harness) {
	s := h.New(t, time.Hour)
	base := Token()
	keys := []string{
		"WHATSAPP|OUTPUT|10573758|34600000000|1|text|2020-12-03T10:14:24Z" + base,
		"WHATSAPP|OUTPUT|10573758|34600000000|1|text|2020-12-03T10:14:24Z" + base + "|",
		"ñandú 🎉 " + base,
		"with spaces and 'quotes\" " + base,
		strings.Repeat("k", mensatek.MaxEventKeyBytes-len(base)) + base,
		"{hash}" + base,
		"nul\x00byte " + base,
		"invalid \xff\xfe utf-8 " + base,
	}
	for _, k := range keys {
		wantStatus(t, claim(t, s, k, Token(), longLease), mensatek.ClaimAcquired, "claim of "+k)
	}
	if err := s.Complete(context.Background(), keys[0]); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	wantStatus(t, claim(t, s, keys[0], Token(), longLease), mensatek.ClaimDone, "claim of the completed key")
	wantStatus(t, claim(t, s, keys[1], Token(), longLease), mensatek.ClaimInProgress, "claim of a key that extends it")
}

// testHostileKeys claims keys of the longest length Event.Key makes, filled with the bytes a
// hostile report can put in them, and keys Event.Key makes of reports with fields far longer
// (a 1 MB Servicio, a 6,000-byte Tipo): every one must work like any other key. A PostgreSQL
// index refuses a row over about 2.7 KB, for example; keys within MaxEventKeyBytes never
// come near.
func testHostileKeys(t *testing.T, h Harness) {
	s := h.New(t, time.Hour)
	ctx := context.Background()
	base := Token()
	pad := func(fill string) string {
		k := base + strings.Repeat(fill, mensatek.MaxEventKeyBytes)
		return k[:mensatek.MaxEventKeyBytes]
	}
	keys := []string{
		pad("\xff"), pad("\x00"), pad("ñ"), pad("🎉"), pad("|"), pad("{"), pad("}"), pad("%"), pad("'"), pad("\\"), pad("*"),
		pad("\xff")[:mensatek.MaxEventKeyBytes-1] + "\xfe", // differs from the first in its last byte only
	}
	for _, f := range []func(*mensatek.Event){
		func(e *mensatek.Event) { e.Service = strings.Repeat("S", 1_000_000) },
		func(e *mensatek.Event) { e.Type = strings.Repeat("T", 6_000) },
		func(e *mensatek.Event) { e.Type = strings.Repeat("T", 5_999) + "U" },
		func(e *mensatek.Event) { e.Phone = strings.Repeat("\xff", 6_000) },
	} {
		ev := mensatek.Event{Service: "WHATSAPP", Direction: mensatek.Outbound, MessageID: 1, Reference: base}
		ev.Phone, ev.Type = base, base
		f(&ev)
		keys = append(keys, ev.Key())
	}
	for i, k := range keys {
		if len(k) > mensatek.MaxEventKeyBytes {
			t.Fatalf("key %d is %d bytes, over MaxEventKeyBytes", i, len(k))
		}
		wantStatus(t, claim(t, s, k, Token(), longLease), mensatek.ClaimAcquired, fmt.Sprintf("claim of hostile key %d", i))
	}
	for i, k := range keys {
		wantStatus(t, claim(t, s, k, Token(), longLease), mensatek.ClaimInProgress, fmt.Sprintf("second claim of hostile key %d", i))
		if err := s.Complete(ctx, k); err != nil {
			t.Fatalf("Complete of hostile key %d: %v", i, err)
		}
		wantStatus(t, claim(t, s, k, Token(), longLease), mensatek.ClaimDone, fmt.Sprintf("claim of completed hostile key %d", i))
	}
	held := pad("~")
	token := Token()
	wantStatus(t, claim(t, s, held, token, longLease), mensatek.ClaimAcquired, "claim of a key at the maximum length")
	if err := s.Release(ctx, held, token); err != nil {
		t.Fatalf("Release of a key at the maximum length: %v", err)
	}
	wantStatus(t, claim(t, s, held, Token(), longLease), mensatek.ClaimAcquired, "claim after its release")
}

func testContext(t *testing.T, h Harness) {
	s := h.New(t, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	key := "ctx-" + Token()
	if _, err := s.Claim(ctx, key, Token(), longLease); err == nil {
		t.Fatal("Claim with an ended context: no error")
	}
	if err := s.Complete(ctx, key); err == nil {
		t.Fatal("Complete with an ended context: no error")
	}
	if err := s.Release(ctx, key, Token()); err == nil {
		t.Fatal("Release with an ended context: no error")
	}
	// Nothing was recorded.
	wantStatus(t, claim(t, s, key, Token(), longLease), mensatek.ClaimAcquired, "claim after the failed calls")
}

func testBroken(t *testing.T, h Harness) {
	s := h.Broken(t)
	ctx, cancel := context.WithTimeout(context.Background(), Deadline)
	defer cancel()
	if _, err := s.Claim(ctx, "k", Token(), longLease); err == nil {
		t.Fatal("Claim on an unreachable backend: no error")
	}
	if err := s.Complete(ctx, "k"); err == nil {
		t.Fatal("Complete on an unreachable backend: no error")
	}
	if err := s.Release(ctx, "k", Token()); err == nil {
		t.Fatal("Release on an unreachable backend: no error")
	}
}
