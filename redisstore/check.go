package redisstore

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// WithLogger sets where a store logs what its server check finds (default slog.Default()):
// see [NewDedupStore] and [NewContactStore]. A nil logger is invalid.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("redisstore: WithLogger: nil *slog.Logger")
		}
		o.logger = l
		return nil
	}
}

// WithoutServerCheck turns off the check of the server's configuration that a store starts
// when it is made (one round trip, in the background).
func WithoutServerCheck() Option {
	return func(o *options) error {
		o.noCheck = true
		return nil
	}
}

// serverCheckTimeout bounds the background check of the server's configuration.
const serverCheckTimeout = 10 * time.Second

// storeKind says which store checks the server: what it loses differs.
type storeKind int

const (
	dedupKind storeKind = iota
	contactsKind
)

// startServerCheck checks in the background, once, that the server keeps what a store of kind
// writes (see checkServer), unless the options turned it off.
func startServerCheck(rdb redis.UniversalClient, o options, kind storeKind) {
	if o.noCheck || rdb == nil {
		return
	}
	logger := o.logger
	if logger == nil {
		logger = slog.Default()
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), serverCheckTimeout)
		defer cancel()
		checkServer(ctx, rdb, logger, kind)
	}()
}

// checkServer reads the server's maxmemory-policy and persistence settings (CONFIG GET; on a
// Cluster, of every master) and logs a warning for each that loses what a store of kind keeps.
// A server that refuses CONFIG (managed Redis often does) is noted at debug level only.
func checkServer(ctx context.Context, rdb redis.UniversalClient, logger *slog.Logger, kind storeKind) {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			return checkNode(ctx, c, c.Options().Addr, logger, kind)
		})
		if err != nil {
			logger.DebugContext(ctx, "redisstore: cannot read the server's configuration (CONFIG GET); not checked", "error", err)
			return
		}
	} else if err := checkNode(ctx, rdb, "", logger, kind); err != nil {
		logger.DebugContext(ctx, "redisstore: cannot read the server's configuration (CONFIG GET); not checked", "error", err)
		return
	}
	logger.DebugContext(ctx, "redisstore: server configuration checked")
}

// checkNode checks one server in one round trip.
func checkNode(ctx context.Context, c redis.Cmdable, node string, logger *slog.Logger, kind storeKind) error {
	pipe := c.Pipeline()
	policy := pipe.ConfigGet(ctx, "maxmemory-policy")
	aof := pipe.ConfigGet(ctx, "appendonly")
	save := pipe.ConfigGet(ctx, "save")
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	var attrs []any
	if node != "" {
		attrs = append(attrs, "node", node)
	}
	lost := "every handled report: a report delivered again is handled again"
	if kind == contactsKind {
		lost = "the contacts: their opt-outs (customers who wrote BAJA get messages again) and service windows"
	}
	p := policy.Val()["maxmemory-policy"]
	// volatile-* evicts only keys with an expiry: every dedup key has one, no contact key does.
	if p != "" && p != "noeviction" && (kind == dedupKind || !strings.HasPrefix(p, "volatile-")) {
		logger.WarnContext(ctx, "redisstore: the server has maxmemory-policy "+p+", so when its memory is full it evicts "+lost+
			"; set maxmemory-policy noeviction", append(attrs, "maxmemory_policy", p)...)
	}
	if a, s := aof.Val()["appendonly"], save.Val()["save"]; a == "no" && strings.TrimSpace(s) == "" {
		logger.WarnContext(ctx, "redisstore: the server has no persistence (appendonly no, save \"\"), so a restart loses "+lost+
			"; turn on AOF (appendonly yes) or RDB snapshots", attrs...)
	}
	return nil
}
