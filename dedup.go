package mensatek

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// ClaimStatus is what [DedupStore.Claim] found for a key.
type ClaimStatus int

// The states a report's key can be in, as [DedupStore.Claim] reports them.
const (
	// ClaimAcquired: the key was absent, or held under a lease that ran out; the caller holds it
	// now, under its token, for the lease it asked for.
	ClaimAcquired ClaimStatus = iota + 1
	// ClaimDone: the report was handled, and the store still remembers it (its retention).
	ClaimDone
	// ClaimInProgress: another delivery holds the key and its lease has not run out.
	ClaimInProgress
)

// String returns the status's name, for logs.
func (s ClaimStatus) String() string {
	switch s {
	case ClaimAcquired:
		return "acquired"
	case ClaimDone:
		return "done"
	case ClaimInProgress:
		return "in progress"
	}
	return fmt.Sprintf("ClaimStatus(%d)", int(s))
}

// Claim is the answer of [DedupStore.Claim].
type Claim struct {
	Status ClaimStatus
	// Remaining is how long the current holder's lease still runs, for ClaimInProgress
	// (the handler turns it into Retry-After). Zero otherwise.
	Remaining time.Duration
}

// DedupStore remembers which reports are being handled and which were handled, by
// [Event.Key], so that [NewWebhookHandler] runs your function once per report even when the
// report is delivered many times, at once, to several replicas.
//
// A key moves from absent to in progress (held by one delivery, identified by a token, for a
// lease) and on to done (remembered for the store's retention); a failed delivery moves it back
// to absent. This is the contract for anyone writing a store; the package dedupstoretest checks
// an implementation against it:
//
//   - Claim, in one atomic step: if the key is absent, or in progress under a lease that has run
//     out (its holder died or hung), it records the key as in progress under token for lease and
//     returns ClaimAcquired. If the key is done and within retention it returns ClaimDone. If
//     another lease still runs it returns ClaimInProgress with the time that lease has left.
//     Of any number of concurrent Claims of one absent key, across processes, exactly one
//     acquires it. Leases may be shorter than a second; keep at least millisecond precision.
//   - Complete records the key as done for the retention, whatever its state: the report was
//     handled, even if this holder's lease ran out and another delivery took over meanwhile.
//   - Release removes the key only if it is in progress under token, so a holder whose lease
//     ran out never removes the claim of the delivery that took over, nor a done mark.
//   - A key is forgotten once its lease or retention has run out; the store bounds its own size
//     and cleans up after itself, without a job the user must run.
//   - A failure (the backend unreachable, ctx ended) is returned as an error, never reported as a
//     state: the handler then answers 500 and the provider delivers the report again.
//
// Implementations must be safe for concurrent use. Keys are made from network input: any bytes
// (NUL and invalid UTF-8 included), at most [MaxEventKeyBytes] (256) of them, however long the
// report's fields are ([Event.Key] hashes what would not fit), so a store can index them and
// size its memory by its number of entries; tokens are opaque, unique ASCII strings chosen by
// the caller.
type DedupStore interface {
	// Claim takes key for the caller under token for lease, or says why it cannot.
	Claim(ctx context.Context, key, token string, lease time.Duration) (Claim, error)
	// Complete marks key as done.
	Complete(ctx context.Context, key string) error
	// Release gives key up if token still holds it, so the next delivery handles the report.
	Release(ctx context.Context, key, token string) error
}

// Defaults of [NewMemoryDedupStore].
const (
	DefaultDedupEntries   = 100_000
	DefaultDedupRetention = 24 * time.Hour
)

// MemoryDedupStore is the in-memory [DedupStore], the handler's default. It suits one instance;
// replicas need a store they share (see the redisstore and pgstore modules). It is bounded in
// time (a done key is forgotten after the retention, a claim after its lease) and in size: when
// full, it forgets the key whose state changed longest ago, usually a done key near the end of
// its retention (size it so that a full turnover takes much longer than a lease).
//
// Its zero value is ready to use, with the defaults of [NewMemoryDedupStore].
type MemoryDedupStore struct {
	max       int
	retention time.Duration
	now       func() time.Time // nil: time.Now

	mu    sync.Mutex
	keys  map[string]*memEntry
	order []memRef // state changes, oldest first; refs to replaced states are skipped
	head  int
	seq   uint64
}

type memEntry struct {
	token string // the holder's; "" when done
	done  bool
	until time.Time // end of the lease, or of the retention
	seq   uint64    // which state change this is, to match order refs
}

type memRef struct {
	key string
	seq uint64
}

// NewMemoryDedupStore returns a store that remembers at most maxEntries keys (default 100,000)
// and a done key for retention (default 24 hours); 0 takes the default.
func NewMemoryDedupStore(maxEntries int, retention time.Duration) *MemoryDedupStore {
	return &MemoryDedupStore{max: maxEntries, retention: retention}
}

func (s *MemoryDedupStore) init() time.Time {
	if s.keys == nil {
		s.keys = make(map[string]*memEntry)
	}
	if s.max <= 0 {
		s.max = DefaultDedupEntries
	}
	if s.retention <= 0 {
		s.retention = DefaultDedupRetention
	}
	if s.now == nil {
		return time.Now()
	}
	return s.now()
}

// Claim takes key for token for lease if it is absent or its lease ran out.
func (s *MemoryDedupStore) Claim(ctx context.Context, key, token string, lease time.Duration) (Claim, error) {
	if err := ctx.Err(); err != nil {
		return Claim{}, err
	}
	if lease <= 0 {
		return Claim{}, fmt.Errorf("mensatek: MemoryDedupStore.Claim: lease %v is not positive", lease)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.init()
	s.expire(now)
	if e, ok := s.keys[key]; ok && now.Before(e.until) {
		if e.done {
			return Claim{Status: ClaimDone}, nil
		}
		return Claim{Status: ClaimInProgress, Remaining: e.until.Sub(now)}, nil
	}
	s.set(key, memEntry{token: token, until: now.Add(lease)})
	return Claim{Status: ClaimAcquired}, nil
}

// Complete marks key as done for the retention.
func (s *MemoryDedupStore) Complete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.init()
	s.expire(now)
	s.set(key, memEntry{done: true, until: now.Add(s.retention)})
	return nil
}

// Release removes key if token holds it.
func (s *MemoryDedupStore) Release(ctx context.Context, key, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if e, ok := s.keys[key]; ok && !e.done && e.token == token {
		delete(s.keys, key)
	}
	return nil
}

// Len returns how many keys the store holds, expired ones not yet swept included.
func (s *MemoryDedupStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

// set records a new state of key, making room first.
func (s *MemoryDedupStore) set(key string, e memEntry) {
	if _, ok := s.keys[key]; !ok {
		for len(s.keys) >= s.max {
			if !s.evictOldest() {
				break
			}
		}
	}
	s.seq++
	e.seq = s.seq
	s.keys[key] = &e
	s.order = append(s.order, memRef{key, e.seq})
	if len(s.order)-s.head > 2*s.max {
		s.rebuild() // keys changed many times left many stale refs
	}
}

// expire forgets keys from the oldest state change on, while they have run out. A key that
// ran out behind one that has not is treated as absent by Claim and swept later.
func (s *MemoryDedupStore) expire(now time.Time) {
	for s.head < len(s.order) {
		r := s.order[s.head]
		if e, ok := s.keys[r.key]; ok && e.seq == r.seq {
			if now.Before(e.until) {
				break
			}
			delete(s.keys, r.key)
		}
		s.head++
	}
	s.compact()
}

// evictOldest forgets the key whose state changed longest ago; false if there is none.
func (s *MemoryDedupStore) evictOldest() bool {
	defer s.compact()
	for s.head < len(s.order) {
		r := s.order[s.head]
		s.head++
		if e, ok := s.keys[r.key]; ok && e.seq == r.seq {
			delete(s.keys, r.key)
			return true
		}
	}
	return false
}

func (s *MemoryDedupStore) rebuild() {
	s.order = s.order[:0:0]
	for k, e := range s.keys {
		s.order = append(s.order, memRef{k, e.seq})
	}
	sort.Slice(s.order, func(i, j int) bool { return s.order[i].seq < s.order[j].seq })
	s.head = 0
}

func (s *MemoryDedupStore) compact() {
	if s.head > 1024 && s.head*2 > len(s.order) {
		s.order = append(s.order[:0:0], s.order[s.head:]...)
		s.head = 0
	}
}
