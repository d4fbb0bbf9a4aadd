package redisstore_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mensatek-go/mensatek/redisstore"
)

// records is a slog handler that hands every record to a channel.
type records chan slog.Record

func (h records) Enabled(context.Context, slog.Level) bool { return true }
func (h records) Handle(_ context.Context, r slog.Record) error {
	h <- r.Clone()
	return nil
}
func (h records) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h records) WithGroup(string) slog.Handler      { return h }

// checkLogs makes a store with its server check logging to a channel and returns the messages
// of the warnings logged before the check said it was done.
func checkLogs(t *testing.T, newStore func(...redisstore.Option)) []string {
	t.Helper()
	ch := make(records, 16)
	newStore(redisstore.WithLogger(slog.New(ch)), redisstore.WithPrefix(testPrefix()))
	var warnings []string
	deadline := time.After(10 * time.Second)
	for {
		select {
		case r := <-ch:
			if r.Level >= slog.LevelWarn {
				warnings = append(warnings, r.Message)
			}
			if r.Message == "redisstore: server configuration checked" || strings.Contains(r.Message, "not checked") {
				return warnings
			}
		case <-deadline:
			t.Fatal("the server check logged nothing within 10 s")
		}
	}
}

func configSet(t *testing.T, rdb *redis.Client, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		if err := rdb.ConfigSet(context.Background(), kv[i], kv[i+1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// The stores check, when made, that the server keeps what they write: a policy that evicts
// their keys, or no persistence at all, is logged as a warning saying what would be lost.
func TestServerCheck(t *testing.T) {
	rdb := client(t)
	// Put back what the server had (MENSATEK_TEST_REDIS_URL may name a server of yours).
	was, err := rdb.ConfigGet(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if was["appendonly"] != "no" {
		t.Skip("the test's Redis has appendonly on; the check is tested on a server without it")
	}
	t.Cleanup(func() { configSet(t, rdb, "maxmemory-policy", was["maxmemory-policy"], "save", was["save"]) })
	dedup := func(opts ...redisstore.Option) { redisstore.NewDedupStore(rdb, opts...) }
	contacts := func(opts ...redisstore.Option) { redisstore.NewContactStore(rdb, opts...) }
	has := func(warnings []string, what string) bool {
		for _, w := range warnings {
			if strings.Contains(w, what) {
				return true
			}
		}
		return false
	}

	// The test server: noeviction, and no persistence (save "", appendonly no).
	configSet(t, rdb, "maxmemory-policy", "noeviction", "save", "")
	w := checkLogs(t, dedup)
	if len(w) != 1 || !has(w, "no persistence") || !has(w, "handled again") {
		t.Errorf("dedup store without persistence: warnings %q", w)
	}
	w = checkLogs(t, contacts)
	if len(w) != 1 || !has(w, "no persistence") || !has(w, "opt-outs") {
		t.Errorf("contact store without persistence: warnings %q", w)
	}

	// RDB snapshots: persisted; every key evicted under memory pressure.
	configSet(t, rdb, "save", "3600 1", "maxmemory-policy", "allkeys-lru")
	w = checkLogs(t, dedup)
	if len(w) != 1 || !has(w, "maxmemory-policy allkeys-lru") || !has(w, "handled again") {
		t.Errorf("dedup store, allkeys-lru: warnings %q", w)
	}
	w = checkLogs(t, contacts)
	if len(w) != 1 || !has(w, "maxmemory-policy allkeys-lru") || !has(w, "opt-outs") {
		t.Errorf("contact store, allkeys-lru: warnings %q", w)
	}

	// volatile-*: only keys with an expiry go, which every dedup key has and no contact key.
	configSet(t, rdb, "maxmemory-policy", "volatile-ttl")
	if w = checkLogs(t, dedup); len(w) != 1 || !has(w, "maxmemory-policy volatile-ttl") {
		t.Errorf("dedup store, volatile-ttl: warnings %q", w)
	}
	if w = checkLogs(t, contacts); len(w) != 0 {
		t.Errorf("contact store, volatile-ttl: warnings %q", w)
	}

	// What the stores need: no warning.
	configSet(t, rdb, "maxmemory-policy", "noeviction")
	if w = checkLogs(t, dedup); len(w) != 0 {
		t.Errorf("dedup store, noeviction and RDB: warnings %q", w)
	}
	if w = checkLogs(t, contacts); len(w) != 0 {
		t.Errorf("contact store, noeviction and RDB: warnings %q", w)
	}
}

// Managed Redis often refuses CONFIG: the check says at debug level that it could not run, and
// the store works.
func TestServerCheckWithoutCONFIG(t *testing.T) {
	ctx := context.Background()
	admin := client(t)
	user := "nocfg-" + strings.ReplaceAll(testPrefix(), ":", "")
	if err := admin.Do(ctx, "ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all", "-config").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Do(context.Background(), "ACL", "DELUSER", user) })
	opt := *admin.Options()
	opt.Username, opt.Password = user, "pw"
	rdb := redis.NewClient(&opt)
	t.Cleanup(func() { rdb.Close() })

	ch := make(records, 16)
	s := redisstore.NewContactStore(rdb, redisstore.WithLogger(slog.New(ch)), redisstore.WithPrefix(testPrefix()))
	select {
	case r := <-ch:
		if r.Level != slog.LevelDebug || !strings.Contains(r.Message, "not checked") {
			t.Errorf("logged %v %q, want a debug record saying the server was not checked", r.Level, r.Message)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server check logged nothing within 10 s")
	}
	if err := s.RecordInbound(ctx, "34600000001", time.Now()); err != nil {
		t.Fatal(err)
	}
}

// WithoutServerCheck sends nothing when the store is made.
func TestWithoutServerCheck(t *testing.T) {
	rdb := client(t)
	if err := rdb.Ping(context.Background()).Err(); err != nil { // a connection, so its handshake is not counted
		t.Fatal(err)
	}
	var c counter
	rdb.AddHook(&c)
	ch := make(records, 16)
	redisstore.NewDedupStore(rdb, redisstore.WithoutServerCheck(), redisstore.WithLogger(slog.New(ch)))
	redisstore.NewContactStore(rdb, redisstore.WithoutServerCheck(), redisstore.WithLogger(slog.New(ch)))
	// The check, had it started, would have logged; a store made after with the check on shows
	// how long that takes, so waiting for it proves the others sent nothing.
	redisstore.NewDedupStore(rdb, redisstore.WithLogger(slog.New(ch)))
	for done := false; !done; {
		select {
		case r := <-ch:
			done = r.Message == "redisstore: server configuration checked"
		case <-time.After(10 * time.Second):
			t.Fatal("the server check logged nothing within 10 s")
		}
	}
	if n := c.n.Load(); n != 1 {
		t.Errorf("%d round trips, want 1 (the one store checking)", n)
	}
}

// On Cluster every master is checked (the test's one-node cluster has no persistence).
func TestServerCheckCluster(t *testing.T) {
	rdb := clusterClient(t)
	w := checkLogs(t, func(opts ...redisstore.Option) { redisstore.NewContactStore(rdb, opts...) })
	if len(w) != 1 || !strings.Contains(w[0], "no persistence") {
		t.Errorf("warnings %q", w)
	}
}

// An option given an invalid value makes the constructor panic with a message naming it (the
// constructors have no error result); making the option does not.
func TestInvalidOptionsPanicInTheConstructor(t *testing.T) {
	for _, tt := range []struct {
		opt  func() redisstore.Option
		want string
	}{
		{func() redisstore.Option { return redisstore.WithRetention(0) }, "redisstore: WithRetention: 0s is not a positive duration"},
		{func() redisstore.Option { return redisstore.WithRetention(-time.Hour) }, "redisstore: WithRetention: -1h0m0s is not a positive duration"},
		{func() redisstore.Option { return redisstore.WithLogger(nil) }, "redisstore: WithLogger: nil *slog.Logger"},
	} {
		opt := tt.opt() // does not panic
		for name, make := range map[string]func(){
			"NewDedupStore":   func() { redisstore.NewDedupStore(nil, opt) },
			"NewContactStore": func() { redisstore.NewContactStore(nil, opt) },
		} {
			func() {
				defer func() {
					if got, _ := recover().(string); got != tt.want {
						t.Errorf("%s: panic %q, want %q", name, got, tt.want)
					}
				}()
				make()
			}()
		}
	}
}
