// Package redisstore keeps what several replicas of a service that uses
// github.com/mensatek-go/mensatek must share on Redis (github.com/redis/go-redis/v9): the
// webhook's deduplication ([DedupStore]), a rate limit for sends ([RateLimiter]) and the
// customers' consent and last messages ([ContactStore]). It works with a single Redis node,
// Sentinel and Redis Cluster: every operation touches one key, or keys that share a slot.
//
// Every operation honours its context: it returns when the context ends even if Redis has not
// answered, whatever the client's options (go-redis itself applies a context's deadline to its
// reads only with ContextTimeoutEnabled, and never notices a cancellation mid-read). A command
// abandoned so goes on in the background until go-redis gives up on it, and may still run if
// Redis answers later; set ContextTimeoutEnabled and ReadTimeout so that it does not linger.
// When the context ends while Redis cannot be reached, the error names the failed connection
// ("dial tcp ...: connect: connection refused") as well as the context's error: go-redis dials
// in the background and says only that the context ended, so a call that starts while the
// client has no connection (an empty pool; on Cluster, until a call has had an answer) also
// connects once as the client would, and closes the connection at once. The stores never
// change the client (no hooks).
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mensatek-go/mensatek"
	"github.com/redis/go-redis/v9"
)

// Defaults of the options.
const (
	DefaultPrefix    = "mensatek:"
	DefaultRetention = 24 * time.Hour
)

// Option configures a store of this package. An option given an invalid value makes the
// constructor it is given to panic with a message naming it, as the core's NewWebhookHandler
// does: the constructors have no error result, and the mistake is the program's.
type Option func(*options) error

type options struct {
	prefix    string
	retention time.Duration
	logger    *slog.Logger // nil: slog.Default()
	noCheck   bool
}

// WithPrefix sets the prefix of every key the store writes (default "mensatek:"), so that
// several services, or environments, can share one Redis. A dedup key is the prefix, "dedup:",
// and the report's [mensatek.Event.Key]; the keys of a [ContactStore] are listed in its doc.
func WithPrefix(p string) Option {
	return func(o *options) error {
		o.prefix = p
		return nil
	}
}

// WithRetention sets how long a handled report is remembered (default 24 hours): a redelivery
// within it is answered 200 without running your function. Make it longer than the provider
// keeps delivering a report; it costs about 220 bytes of Redis memory per report (measured with
// 100,000 reports). A duration
// <= 0 is invalid. A [ContactStore] keeps its contacts until you delete them, and ignores it.
func WithRetention(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("redisstore: WithRetention: %v is not a positive duration", d)
		}
		o.retention = d
		return nil
	}
}

func buildOptions(opts []Option) options {
	o := options{prefix: DefaultPrefix, retention: DefaultRetention}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			panic(err.Error())
		}
	}
	return o
}

// DedupStore is a [mensatek.DedupStore] on Redis, for replicas that share one webhook URL.
// A report's key holds "p:" and the holder's token while in progress (expiring with the lease,
// so a dead holder's claim vanishes by itself) and "d" once done (expiring after the
// retention); Redis forgets both on its own. Each state change is one round trip: a claim runs
// a short Lua script (EVALSHA), a completion is one SET, a release one compare-and-delete script.
type DedupStore struct {
	rdb       redis.UniversalClient
	probe     *prober
	prefix    string
	retention time.Duration
}

// NewDedupStore returns a store on rdb (a *redis.Client, *redis.ClusterClient or
// *redis.Ring, or any redis.UniversalClient).
//
// It starts a check of the server in the background (one round trip, [WithoutServerCheck]
// turns it off) and logs a warning ([WithLogger]) when the server would lose the store's keys:
// a maxmemory-policy other than noeviction (every dedup key has an expiry, so volatile-*
// policies evict them too), or no persistence at all. A lost key makes a report that was
// handled run your function again when the provider delivers it again. A server that refuses
// CONFIG, as managed services often do, is not checked (a debug record says so).
func NewDedupStore(rdb redis.UniversalClient, opts ...Option) *DedupStore {
	o := buildOptions(opts)
	startServerCheck(rdb, o, dedupKind)
	return &DedupStore{rdb: rdb, probe: newProber(rdb), prefix: o.prefix + "dedup:", retention: o.retention}
}

// claimScript: KEYS[1] the report's key; ARGV[1] the token, ARGV[2] the lease in ms.
// Returns {1} acquired, {2} done, {3, ms left} in progress. A value it did not write, or a
// claim without an expiry, would otherwise block the report forever: it is taken over.
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == 'd' then
	return {2}
end
if v and string.sub(v, 1, 2) == 'p:' then
	local left = redis.call('PTTL', KEYS[1])
	if left > 0 then
		return {3, left}
	end
end
redis.call('SET', KEYS[1], 'p:' .. ARGV[1], 'PX', ARGV[2])
return {1}
`)

// releaseScript: deletes KEYS[1] only while it holds ARGV[1]'s claim.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == 'p:' .. ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// Claim takes key for token for lease if it is absent (an expired lease is absent: Redis
// removed it).
func (s *DedupStore) Claim(ctx context.Context, key, token string, lease time.Duration) (mensatek.Claim, error) {
	ms := lease.Milliseconds()
	if ms < 1 {
		if lease <= 0 {
			return mensatek.Claim{}, fmt.Errorf("redisstore: claim: lease %v is not positive", lease)
		}
		ms = 1
	}
	res, err := bounded(ctx, s.probe, func(ctx context.Context) ([]int64, error) {
		return claimScript.Run(ctx, s.rdb, []string{s.prefix + key}, token, ms).Int64Slice()
	})
	if err != nil {
		return mensatek.Claim{}, fmt.Errorf("redisstore: claim: %w", err)
	}
	switch {
	case len(res) == 1 && res[0] == 1:
		return mensatek.Claim{Status: mensatek.ClaimAcquired}, nil
	case len(res) == 1 && res[0] == 2:
		return mensatek.Claim{Status: mensatek.ClaimDone}, nil
	case len(res) == 2 && res[0] == 3:
		return mensatek.Claim{Status: mensatek.ClaimInProgress, Remaining: time.Duration(res[1]) * time.Millisecond}, nil
	}
	return mensatek.Claim{}, fmt.Errorf("redisstore: claim: unexpected reply %v", res)
}

// Complete marks key as done for the retention.
func (s *DedupStore) Complete(ctx context.Context, key string) error {
	err := run(ctx, s.probe, func(ctx context.Context) error { return s.rdb.Set(ctx, s.prefix+key, "d", s.retention).Err() })
	if err != nil {
		return fmt.Errorf("redisstore: complete: %w", err)
	}
	return nil
}

// Release deletes key if token holds it.
func (s *DedupStore) Release(ctx context.Context, key, token string) error {
	err := run(ctx, s.probe, func(ctx context.Context) error {
		return releaseScript.Run(ctx, s.rdb, []string{s.prefix + key}, token).Err()
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redisstore: release: %w", err)
	}
	return nil
}

var _ mensatek.DedupStore = (*DedupStore)(nil)
