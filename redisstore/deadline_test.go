package redisstore_test

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/dedupstoretest"
	"github.com/mensatek-go/mensatek/internal/testserver"
	"github.com/mensatek-go/mensatek/mensatektest"
	"github.com/mensatek-go/mensatek/redisstore"
)

// generous bounds how long a test waits for a call that must end at its own, much shorter,
// deadline: it proves the call returned, not how fast.
const generous = 20 * time.Second

// pausedRedis returns a client of a Redis of the test's own, paused once the stores made by
// setup have talked to it. The client has no read or write timeout and ignores context
// deadlines (ContextTimeoutEnabled false): left to go-redis, a command would wait until the
// server answered.
func pausedRedis(t *testing.T, setup func(rdb *redis.Client)) *redis.Client {
	t.Helper()
	srv := testserver.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, ReadTimeout: -1, WriteTimeout: -1, PoolSize: 4})
	t.Cleanup(func() { rdb.Close() })
	setup(rdb)
	if err := srv.Pause(); err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { _ = srv.Resume() })
	return rdb
}

// returns runs call in a goroutine and returns its error, failing the test if it has not
// returned within the generous bound.
func returns(t *testing.T, what string, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	bound := time.NewTimer(generous)
	defer bound.Stop()
	select {
	case err := <-done:
		return err
	case <-bound.C:
		t.Fatalf("%s did not return within %v of its context's deadline", what, generous)
		return nil
	}
}

func TestCallsEndWithTheirContextOnAPausedRedis(t *testing.T) {
	var (
		lim      *redisstore.RateLimiter
		contacts *redisstore.ContactStore
		dedup    *redisstore.DedupStore
	)
	pausedRedis(t, func(rdb *redis.Client) {
		ctx := context.Background()
		lim = redisstore.NewRateLimiter(rdb, "test:rate:"+dedupstoretest.Token(), 1000, 100)
		contacts = redisstore.NewContactStore(rdb, redisstore.WithPrefix(testPrefix()))
		dedup = redisstore.NewDedupStore(rdb, redisstore.WithPrefix(testPrefix()))
		// Each works while Redis answers (and holds a connection when it stops).
		if err := lim.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if err := contacts.SetOptOut(ctx, "34600000001", true, time.Now(), "web-form"); err != nil {
			t.Fatal(err)
		}
		if _, err := dedup.Claim(ctx, "k", "t", time.Minute); err != nil {
			t.Fatal(err)
		}
	})
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"RateLimiter.Wait", lim.Wait},
		{"ContactStore.Contacts", func(ctx context.Context) error {
			_, err := contacts.Contacts(ctx, []string{"34600000001"})
			return err
		}},
		{"ContactStore.SetOptOut", func(ctx context.Context) error {
			return contacts.SetOptOut(ctx, "34600000002", true, time.Now(), "web-form")
		}},
		{"ContactStore.RecordInbound", func(ctx context.Context) error {
			return contacts.RecordInbound(ctx, "34600000002", time.Now())
		}},
		{"ContactStore.OptedOut", func(ctx context.Context) error {
			_, err := contacts.OptedOut(ctx)
			return err
		}},
		{"DedupStore.Claim", func(ctx context.Context) error {
			_, err := dedup.Claim(ctx, "k2", "t", time.Minute)
			return err
		}},
		{"DedupStore.Complete", func(ctx context.Context) error { return dedup.Complete(ctx, "k") }},
		{"DedupStore.Release", func(ctx context.Context) error { return dedup.Release(ctx, "k", "t") }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			err := returns(t, c.name, func() error { return c.call(ctx) })
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s on a paused Redis: %v, want an error matching context.DeadlineExceeded", c.name, err)
			}
		})
	}
}

// startedHook tells when a command or pipeline is handed to go-redis.
type startedHook struct{ started chan struct{} }

func (h startedHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h startedHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		select {
		case h.started <- struct{}{}:
		default:
		}
		return next(ctx, cmd)
	}
}
func (h startedHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func TestWaitEndsWhenItsContextIsCancelledOnAPausedRedis(t *testing.T) {
	var lim *redisstore.RateLimiter
	rdb := pausedRedis(t, func(rdb *redis.Client) {
		lim = redisstore.NewRateLimiter(rdb, "test:rate:"+dedupstoretest.Token(), 1000, 100)
		if err := lim.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	hook := startedHook{started: make(chan struct{}, 1)}
	rdb.AddHook(hook)
	ctx, cancel := context.WithCancel(context.Background()) // no deadline at all
	go func() {
		<-hook.started // the command is on its way to the paused server
		cancel()
	}()
	err := returns(t, "Wait", func() error { return lim.Wait(ctx) })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait cancelled on a paused Redis: %v, want context.Canceled", err)
	}
}

// A send through a client whose WithTimeout is short, with a shared limiter on a paused Redis:
// the call ends at WithTimeout, not when go-redis gives up, and nothing is sent.
func TestWithTimeoutHoldsWithAPausedRedisLimiter(t *testing.T) {
	var lim *redisstore.RateLimiter
	pausedRedis(t, func(rdb *redis.Client) {
		lim = redisstore.NewRateLimiter(rdb, "test:rate:"+dedupstoretest.Token(), 1000, 100)
		if err := lim.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	srv := mensatektest.Start(t)
	c := srv.Client(mensatek.WithLimiter(lim), mensatek.WithTimeout(100*time.Millisecond))
	err := returns(t, "Send", func() error {
		_, err := c.SendText(context.Background(), "34600000001", "hola")
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send: %v, want an error matching context.DeadlineExceeded", err)
	}
	if errors.Is(err, mensatek.ErrOutcomeUnknown) {
		t.Fatalf("Send: %v: nothing was sent, the error must not say it may have been", err)
	}
	if n := srv.Calls(mensatek.OpSend); n != 0 {
		t.Fatalf("%d sends reached the API", n)
	}
}

// closedPort returns a loopback address nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// An unreachable Redis, with go-redis's default options (it retries dials and commands until the
// context ends): the error names the refused connection, not only the deadline.
func TestUnreachableRedisNamesTheRefusedConnection(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: closedPort(t)})
	t.Cleanup(func() { rdb.Close() })
	lim := redisstore.NewRateLimiter(rdb, "k", 1000, 10)
	contacts := redisstore.NewContactStore(rdb)
	dedup := redisstore.NewDedupStore(rdb)
	calls := map[string]func(ctx context.Context) error{
		"RateLimiter.Wait": lim.Wait,
		"ContactStore.Contacts": func(ctx context.Context) error {
			_, err := contacts.Contacts(ctx, []string{"34600000001"})
			return err
		},
		"DedupStore.Claim": func(ctx context.Context) error {
			_, err := dedup.Claim(ctx, "k", "t", time.Minute)
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			err := returns(t, name, func() error { return call(ctx) })
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("%s on a closed port: %v, want the refused connection", name, err)
			}
			var opErr *net.OpError
			if !errors.As(err, &opErr) || opErr.Op != "dial" {
				t.Fatalf("%s: %v, want a *net.OpError of the dial", name, err)
			}
		})
	}
}

// The same through a Cluster and a Ring client, whose nodes dial on their own.
func TestUnreachableRedisNamesTheRefusedConnectionOnClusterAndRing(t *testing.T) {
	clients := map[string]redis.UniversalClient{
		"cluster": redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{closedPort(t)}}),
		"ring":    redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": closedPort(t)}}),
	}
	for name, rdb := range clients {
		t.Cleanup(func() { rdb.Close() })
		t.Run(name, func(t *testing.T) {
			lim := redisstore.NewRateLimiter(rdb, "k", 1000, 10)
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			err := returns(t, "Wait", func() error { return lim.Wait(ctx) })
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("Wait on a closed port: %v, want the refused connection", err)
			}
		})
	}
}

// Making a store while the client is in use is safe: the stores never change the client (go-redis's
// AddHook, for one, races with commands in flight). Meaningful under -race, as CI runs it.
func TestMakingStoresWhileTheClientIsInUse(t *testing.T) {
	rdb := client(t)
	stop := make(chan struct{})
	busy := make(chan struct{})
	go func() {
		defer close(busy)
		for {
			select {
			case <-stop:
				return
			default:
				_ = rdb.Ping(context.Background()).Err()
			}
		}
	}()
	for i := 0; i < 20; i++ {
		redisstore.NewRateLimiter(rdb, "test:rate:"+dedupstoretest.Token(), 1000, 10)
		redisstore.NewContactStore(rdb)
		redisstore.NewDedupStore(rdb)
	}
	close(stop)
	<-busy
}
