package mensatek_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/dedupstoretest"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newClockedStore(maxEntries int, retention time.Duration) (*mensatek.MemoryDedupStore, *fakeClock) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := mensatek.NewMemoryDedupStore(maxEntries, retention)
	mensatek.SetMemoryDedupClock(s, clock.Now)
	return s, clock
}

func TestMemoryDedupStoreConformance(t *testing.T) {
	dedupstoretest.Run(t, dedupstoretest.Harness{
		New: func(t *testing.T, retention time.Duration) dedupstoretest.Store {
			s, clock := newClockedStore(0, retention)
			return dedupstoretest.Store{DedupStore: s, Advance: clock.Advance}
		},
	})
}

func TestMemoryDedupStoreOnRealClockConformance(t *testing.T) {
	dedupstoretest.Run(t, dedupstoretest.Harness{
		New: func(t *testing.T, retention time.Duration) dedupstoretest.Store {
			return dedupstoretest.Store{DedupStore: mensatek.NewMemoryDedupStore(0, retention)}
		},
	})
}

func TestMemoryDedupStoreHandler(t *testing.T) {
	dedupstoretest.RunHandler(t, mensatek.NewMemoryDedupStore(0, 0))
}

func TestMemoryDedupStoreZeroValue(t *testing.T) {
	var s mensatek.MemoryDedupStore
	ctx := context.Background()
	c, err := s.Claim(ctx, "k", "t1", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, mensatek.ClaimAcquired, c.Status)
	require.NoError(t, s.Complete(ctx, "k"))
	c, err = s.Claim(ctx, "k", "t2", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, mensatek.ClaimDone, c.Status)
	_, err = s.Claim(ctx, "k2", "t", 0)
	assert.Error(t, err, "a lease must be positive")
}

func TestMemoryDedupStoreBounds(t *testing.T) {
	ctx := context.Background()
	s, clock := newClockedStore(3, time.Minute)
	for _, k := range []string{"a", "b", "c", "d"} {
		c, err := s.Claim(ctx, k, "t-"+k, time.Second)
		require.NoError(t, err)
		assert.Equal(t, mensatek.ClaimAcquired, c.Status, k)
		require.NoError(t, s.Complete(ctx, k))
		clock.Advance(time.Second)
	}
	assert.Equal(t, 3, s.Len(), "size bound: the key changed longest ago was evicted")
	c, _ := s.Claim(ctx, "a", "t", time.Second)
	assert.Equal(t, mensatek.ClaimAcquired, c.Status, "a was evicted")
	c, _ = s.Claim(ctx, "d", "t", time.Second)
	assert.Equal(t, mensatek.ClaimDone, c.Status)

	clock.Advance(2 * time.Minute)
	c, _ = s.Claim(ctx, "d", "t", time.Second)
	assert.Equal(t, mensatek.ClaimAcquired, c.Status, "time bound: d expired")
	assert.Equal(t, 1, s.Len(), "expired keys were swept")

	// Claim, release and complete one key many times: the store stays bounded.
	for i := 0; i < 100; i++ {
		require.NoError(t, s.Release(ctx, "d", "t"))
		_, _ = s.Claim(ctx, "d", "t", time.Second)
		require.NoError(t, s.Complete(ctx, "d"))
	}
	assert.LessOrEqual(t, mensatek.MemoryDedupOrderLen(s), 2*3+1)

	// A holder that died: its claim is swept after the lease, without another claim of its key.
	s2, clock2 := newClockedStore(10, time.Hour)
	_, _ = s2.Claim(ctx, "dead", "t", time.Second)
	clock2.Advance(2 * time.Second)
	_, _ = s2.Claim(ctx, "other", "t", time.Second)
	assert.Equal(t, 1, s2.Len())
}

// BenchmarkHandlerStores is the baseline of the store benchmarks in redisstore and pgstore:
// the handler behind a real http.Server on loopback without deduplication, and with the
// in-memory store.
func BenchmarkHandlerStores(b *testing.B) {
	b.Run("none", func(b *testing.B) { dedupstoretest.BenchmarkHandler(b, nil) })
	b.Run("memory", func(b *testing.B) { dedupstoretest.BenchmarkHandler(b, mensatek.NewMemoryDedupStore(0, 0)) })
}

func BenchmarkMemoryDedupStore(b *testing.B) {
	dedupstoretest.BenchmarkStore(b, mensatek.NewMemoryDedupStore(0, 0))
}

// Many distinct keys through a small store: the order queue is compacted and, when stale
// references pile up, rebuilt; the store keeps its newest keys and stays bounded.
func TestMemoryDedupStoreCompaction(t *testing.T) {
	ctx := context.Background()
	s, clock := newClockedStore(50, time.Hour)
	for i := 0; i < 5000; i++ {
		k := fmt.Sprintf("k%d", i)
		_, err := s.Claim(ctx, k, "t", time.Minute)
		require.NoError(t, err)
		require.NoError(t, s.Complete(ctx, k))
		clock.Advance(time.Millisecond)
	}
	assert.Equal(t, 50, s.Len())
	assert.LessOrEqual(t, mensatek.MemoryDedupOrderLen(s), 2*50+1024)
	c, err := s.Claim(ctx, "k4999", "t", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, mensatek.ClaimDone, c.Status, "the newest key is kept")
	c, err = s.Claim(ctx, "k0", "t", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, mensatek.ClaimAcquired, c.Status, "the oldest was evicted")

	// One key changed many times leaves many stale references: they are rebuilt away.
	for i := 0; i < 3000; i++ {
		require.NoError(t, s.Release(ctx, "k0", "t"))
		_, _ = s.Claim(ctx, "k0", "t", time.Minute)
	}
	assert.LessOrEqual(t, mensatek.MemoryDedupOrderLen(s), 2*50+1024)
}

func TestClaimStatusString(t *testing.T) {
	for st, want := range map[mensatek.ClaimStatus]string{
		mensatek.ClaimAcquired: "acquired", mensatek.ClaimDone: "done", mensatek.ClaimInProgress: "in progress", 0: "ClaimStatus(0)",
	} {
		assert.Equal(t, want, st.String())
	}
}
