package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/pgstore"
	"github.com/mensatek-go/mensatek/redisstore"
)

// openRedisContacts opens the Redis contact store at a redis://, rediss:// or unix:// URL (the
// redisstore module's, under its default key prefix), checking that the server answers.
func openRedisContacts(ctx context.Context, spec string) (mensatek.ContactStore, func(), error) {
	opt, err := redis.ParseURL(spec)
	if err != nil {
		return nil, nil, usagef("--contacts: %v", err)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, nil, &localError{fmt.Errorf("--contacts: Redis at %s: %w", opt.Addr, err)}
	}
	return redisstore.NewContactStore(rdb), func() { rdb.Close() }, nil
}

// openPostgresContacts opens the PostgreSQL contact store at a postgres:// URL (the pgstore
// module's table, created if missing).
func openPostgresContacts(ctx context.Context, spec string) (mensatek.ContactStore, func(), error) {
	cfg, err := pgxpool.ParseConfig(spec)
	if err != nil {
		return nil, nil, usagef("--contacts: %v", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, &localError{fmt.Errorf("--contacts: %w", err)}
	}
	store, err := pgstore.NewContactStore(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, nil, &localError{fmt.Errorf("--contacts: PostgreSQL at %s: %w", cfg.ConnConfig.Host, err)}
	}
	return store, pool.Close, nil
}
