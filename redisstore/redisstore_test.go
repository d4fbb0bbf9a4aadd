package redisstore_test

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/dedupstoretest"
	"github.com/mensatek-go/mensatek/internal/testserver"
	"github.com/mensatek-go/mensatek/redisstore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopAll()
	os.Exit(code)
}

// deadClient returns a client of a port nobody listens on: every command fails to connect.
func deadClient(t *testing.T) *redis.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dead := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { dead.Close() })
	return dead
}

// client returns a client of the test's Redis, closed at the end of the test.
func client(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(testserver.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	opt.PoolSize = 64
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func TestDedupStoreConformance(t *testing.T) {
	rdb := client(t)
	dedupstoretest.Run(t, dedupstoretest.Harness{
		New: func(t *testing.T, retention time.Duration) dedupstoretest.Store {
			return dedupstoretest.Store{DedupStore: redisstore.NewDedupStore(rdb,
				redisstore.WithPrefix(testPrefix()), redisstore.WithRetention(retention))}
		},
		Broken: func(t *testing.T) mensatek.DedupStore { return redisstore.NewDedupStore(deadClient(t)) },
	})
}

func TestDedupStoreReplicas(t *testing.T) {
	dedupstoretest.RunHandler(t, redisstore.NewDedupStore(client(t), redisstore.WithPrefix(testPrefix())))
}

// counter counts the commands a client sends (a pipeline counts once: one round trip).
type counter struct{ n atomic.Int64 }

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

func TestDedupStoreOneRoundTripPerStateChange(t *testing.T) {
	rdb := client(t)
	s := redisstore.NewDedupStore(rdb, redisstore.WithPrefix(testPrefix()), redisstore.WithoutServerCheck()) // counting round trips
	ctx := context.Background()
	// Load the scripts once, as the first use in a process does.
	_, _ = s.Claim(ctx, "warm-"+dedupstoretest.Token(), "t", time.Second)
	_ = s.Release(ctx, "warm-"+dedupstoretest.Token(), "t")

	var c counter
	rdb.AddHook(&c)
	key := dedupstoretest.Token()
	step := func(what string, f func() error) {
		t.Helper()
		before := c.n.Load()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n := c.n.Load() - before; n != 1 {
			t.Fatalf("%s took %d round trips, want 1", what, n)
		}
	}
	step("claim", func() error { _, err := s.Claim(ctx, key, "t1", time.Minute); return err })
	step("claim in progress", func() error { _, err := s.Claim(ctx, key, "t2", time.Minute); return err })
	step("release", func() error { return s.Release(ctx, key, "t1") })
	step("claim again", func() error { _, err := s.Claim(ctx, key, "t3", time.Minute); return err })
	step("complete", func() error { return s.Complete(ctx, key) })
	step("claim done", func() error { _, err := s.Claim(ctx, key, "t4", time.Minute); return err })
}

func TestDedupStoreKeysAndExpiry(t *testing.T) {
	rdb := client(t)
	prefix := "test:" + dedupstoretest.Token() + ":"
	s := redisstore.NewDedupStore(rdb, redisstore.WithPrefix(prefix), redisstore.WithRetention(time.Hour))
	ctx := context.Background()
	if _, err := s.Claim(ctx, "k", "tok", 90*time.Second); err != nil {
		t.Fatal(err)
	}
	if v := rdb.Get(ctx, prefix+"dedup:k").Val(); v != "p:tok" {
		t.Fatalf("claimed key holds %q", v)
	}
	if ttl := rdb.PTTL(ctx, prefix+"dedup:k").Val(); ttl <= 0 || ttl > 90*time.Second {
		t.Fatalf("claimed key's TTL %v, want the lease", ttl)
	}
	if err := s.Complete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, prefix+"dedup:k").Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("done key's TTL %v, want the retention", ttl)
	}
	// A value the store did not write, or a claim that lost its expiry, does not block the
	// report forever: the next claim takes it over.
	for _, v := range []string{"garbage", "p:someone"} {
		if err := rdb.Set(ctx, prefix+"dedup:odd", v, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if c, err := s.Claim(ctx, "odd", "tok", time.Minute); err != nil || c.Status != mensatek.ClaimAcquired {
			t.Fatalf("claim over %q: %v %v", v, c.Status, err)
		}
	}
	if _, err := s.Claim(ctx, "k2", "tok", 0); err == nil {
		t.Fatal("a lease of 0 was accepted")
	}
}

func TestRateLimiterSharedByReplicas(t *testing.T) {
	rdb := client(t)
	key := "test:rate:" + dedupstoretest.Token()
	// Two replicas, each with its own limiter on the same key: one burst of 5 between them,
	// then one call every 20 s.
	a := redisstore.NewRateLimiter(rdb, key, 0.05, 5)
	b := redisstore.NewRateLimiter(rdb, key, 0.05, 5)
	ctx := context.Background()
	var wg sync.WaitGroup
	var passed atomic.Int32
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func(l *redisstore.RateLimiter) {
			defer wg.Done()
			if err := l.Wait(ctx); err != nil {
				t.Error(err)
				return
			}
			passed.Add(1)
		}([]*redisstore.RateLimiter{a, b}[i%2])
	}
	wg.Wait()
	if passed.Load() != 5 {
		t.Fatalf("%d of the burst of 5 passed", passed.Load())
	}
	// The burst is spent for both: a wait bounded by a deadline before the next turn fails at
	// once with DeadlineExceeded, and a cancelled one with Canceled.
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	err := b.Wait(dctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait over the limit: %v, want DeadlineExceeded", err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("Wait took %v to see that the turn comes after the deadline", time.Since(start))
	}
	cctx, cancel2 := context.WithCancel(ctx)
	cancel2()
	if err := a.Wait(cctx); err == nil {
		t.Fatal("Wait with a cancelled context: no error")
	}

	// A fast limit lets calls through at its pace after the burst: 1000/s, burst 1.
	fast := redisstore.NewRateLimiter(rdb, key+":fast", 1000, 1)
	for i := 0; i < 20; i++ {
		if err := fast.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := redisstore.NewRateLimiter(rdb, key, 0, 1).Wait(ctx); err == nil {
		t.Fatal("a rate of 0 gave no error")
	}
}

func TestRateLimiterWithClient(t *testing.T) {
	rdb := client(t)
	lim := redisstore.NewRateLimiter(rdb, "test:rate:"+dedupstoretest.Token(), 1000, 10)
	if _, err := mensatek.NewClient("user", "token", mensatek.WithLimiter(lim)); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkHandler(b *testing.B) {
	dedupstoretest.BenchmarkHandler(b, redisstore.NewDedupStore(client(b), redisstore.WithPrefix("bench:"+dedupstoretest.Token()+":")))
}

func BenchmarkDedupStore(b *testing.B) {
	dedupstoretest.BenchmarkStore(b, redisstore.NewDedupStore(client(b), redisstore.WithPrefix("bench:"+dedupstoretest.Token()+":")))
}
