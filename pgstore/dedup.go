// Package pgstore keeps what several replicas of a service that uses
// github.com/mensatek-go/mensatek must share on PostgreSQL (github.com/jackc/pgx/v5): the
// webhook's deduplication ([DedupStore]) and the customers' consent and last messages
// ([ContactStore]). Each store creates its table if it is missing and runs one statement per
// step; the dedup store deletes expired rows itself.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mensatek-go/mensatek"
)

// Defaults of the options.
const (
	DefaultDedupTable      = "mensatek_dedup"
	DefaultRetention       = 24 * time.Hour
	DefaultCleanupInterval = time.Minute
)

// Option configures a store of this package. An option given an invalid value makes the
// constructor it is given to return an error naming it, as the core's options do.
type Option func(*options) error

type options struct {
	table     string
	retention time.Duration
	cleanup   time.Duration
}

// WithTable sets the table the store uses (default "mensatek_dedup" for a [DedupStore],
// "mensatek_contacts" for a [ContactStore]), optionally qualified by its schema
// ("schema.table"). It is created if it does not exist. Give each kind of store its own table.
// An empty name is invalid.
func WithTable(name string) Option {
	return func(o *options) error {
		if name == "" {
			return errors.New("pgstore: WithTable: empty table name")
		}
		o.table = name
		return nil
	}
}

// WithRetention sets how long a handled report is remembered (default 24 hours): a redelivery
// within it is answered 200 without running your function. A duration <= 0 is invalid. A
// [ContactStore] keeps its contacts until you delete them, and ignores it.
func WithRetention(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("pgstore: WithRetention: %v is not a positive duration", d)
		}
		o.retention = d
		return nil
	}
}

// WithCleanupInterval sets how often, at most, the store deletes rows whose lease or retention
// has run out (default every minute). The deletion runs in the background after a claim, in
// batches of 1,000 rows, so no cron job is needed. A duration <= 0 is invalid. A
// [ContactStore] deletes nothing, and ignores it.
func WithCleanupInterval(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("pgstore: WithCleanupInterval: %v is not a positive duration", d)
		}
		o.cleanup = d
		return nil
	}
}

// apply applies opts to o, and returns the first invalid value's error.
func (o *options) apply(opts []Option) error {
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(o); err != nil {
			return err
		}
	}
	return nil
}

// DedupStore is a [mensatek.DedupStore] on PostgreSQL, for replicas that share one webhook URL.
// Each report is one row: its key (as bytes, since a key made from network input may hold
// anything), the holder's token, whether it is done, and when its lease or
// retention ends (by the database's clock, so replicas' clocks do not matter). A claim, a
// takeover of an expired lease, a completion and a release are each one statement.
type DedupStore struct {
	pool      *pgxpool.Pool
	retention time.Duration
	cleanup   time.Duration
	lastClean atomic.Int64 // unix nanoseconds of the last cleanup started
	cleaning  atomic.Bool

	claimSQL, completeSQL, releaseSQL, cleanSQL string
}

// NewDedupStore returns a store on pool, creating its table (and an index on the expiry) if
// they do not exist.
func NewDedupStore(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*DedupStore, error) {
	o := options{table: DefaultDedupTable, retention: DefaultRetention, cleanup: DefaultCleanupInterval}
	if err := o.apply(opts); err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, errors.New("pgstore: NewDedupStore: nil pool")
	}
	parts := strings.Split(o.table, ".")
	table := pgx.Identifier(parts).Sanitize()
	index := pgx.Identifier{parts[len(parts)-1] + "_expires_at_idx"}.Sanitize()
	s := &DedupStore{pool: pool, retention: o.retention, cleanup: o.cleanup}
	create := `CREATE TABLE IF NOT EXISTS ` + table + ` (
	key        bytea PRIMARY KEY,
	token      text NOT NULL,
	done       boolean NOT NULL,
	expires_at timestamptz NOT NULL
)`
	createIndex := `CREATE INDEX IF NOT EXISTS ` + index + ` ON ` + table + ` (expires_at)`
	for _, stmt := range []string{create, createIndex} {
		if err := execDDL(ctx, pool, stmt); err != nil {
			return nil, fmt.Errorf("pgstore: creating the table %s: %w", table, err)
		}
	}
	// The claim: insert the key, or take over a row whose lease or retention has ended. A row
	// still alive is updated to itself, which locks it and returns its current state in the
	// same statement (ON CONFLICT DO NOTHING, or DO UPDATE ... WHERE, would return no row, and
	// a second query could not see a row committed after this statement began).
	s.claimSQL = `INSERT INTO ` + table + ` AS d (key, token, done, expires_at)
VALUES ($1::bytea, $2, false, now() + $3 * interval '1 millisecond')
ON CONFLICT (key) DO UPDATE SET
	token      = CASE WHEN d.expires_at <= now() THEN excluded.token ELSE d.token END,
	done       = CASE WHEN d.expires_at <= now() THEN false ELSE d.done END,
	expires_at = CASE WHEN d.expires_at <= now() THEN excluded.expires_at ELSE d.expires_at END
RETURNING d.token = $2, d.done, ceil(extract(epoch FROM d.expires_at - now()) * 1000)::bigint`
	s.completeSQL = `INSERT INTO ` + table + ` AS d (key, token, done, expires_at)
VALUES ($1::bytea, '', true, now() + $2 * interval '1 millisecond')
ON CONFLICT (key) DO UPDATE SET token = '', done = true, expires_at = excluded.expires_at`
	s.releaseSQL = `DELETE FROM ` + table + ` WHERE key = $1::bytea AND token = $2 AND NOT done`
	// The outer condition is checked again on a row a concurrent claim just took over, so a
	// fresh claim is never deleted.
	s.cleanSQL = `DELETE FROM ` + table + ` WHERE expires_at <= now() AND key IN (
	SELECT key FROM ` + table + ` WHERE expires_at <= now() LIMIT 1000)`
	return s, nil
}

// execDDL runs a CREATE ... IF NOT EXISTS, tolerating a replica that creates the same object at
// the same moment: PostgreSQL can then report a duplicate even with IF NOT EXISTS, as a unique
// violation in its catalog (23505), a duplicate relation (42P07) or a duplicate object, the
// table's row type (42710). The statement runs again once the other replica's object exists.
func execDDL(ctx context.Context, pool *pgxpool.Pool, stmt string) error {
	_, err := pool.Exec(ctx, stmt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "42P07" || pgErr.Code == "42710") {
		_, err = pool.Exec(ctx, stmt)
	}
	return err
}

// Claim takes key for token for lease if it is absent or its lease ran out.
func (s *DedupStore) Claim(ctx context.Context, key, token string, lease time.Duration) (mensatek.Claim, error) {
	if lease <= 0 {
		return mensatek.Claim{}, fmt.Errorf("pgstore: claim: lease %v is not positive", lease)
	}
	ms := lease.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	var won, done bool
	var left int64
	if err := s.pool.QueryRow(ctx, s.claimSQL, []byte(key), token, ms).Scan(&won, &done, &left); err != nil {
		return mensatek.Claim{}, fmt.Errorf("pgstore: claim: %w", err)
	}
	s.maybeClean()
	switch {
	case won:
		return mensatek.Claim{Status: mensatek.ClaimAcquired}, nil
	case done:
		return mensatek.Claim{Status: mensatek.ClaimDone}, nil
	}
	if left < 1 {
		left = 1
	}
	return mensatek.Claim{Status: mensatek.ClaimInProgress, Remaining: time.Duration(left) * time.Millisecond}, nil
}

// Complete marks key as done for the retention.
func (s *DedupStore) Complete(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, s.completeSQL, []byte(key), s.retention.Milliseconds()); err != nil {
		return fmt.Errorf("pgstore: complete: %w", err)
	}
	return nil
}

// Release deletes key if token holds it.
func (s *DedupStore) Release(ctx context.Context, key, token string) error {
	if _, err := s.pool.Exec(ctx, s.releaseSQL, []byte(key), token); err != nil {
		return fmt.Errorf("pgstore: release: %w", err)
	}
	return nil
}

// Cleanup deletes up to 1,000 rows whose lease or retention has run out and returns how many
// it deleted. The store calls it by itself (see [WithCleanupInterval]); call it to clean up
// at a time of your choosing.
func (s *DedupStore) Cleanup(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, s.cleanSQL)
	if err != nil {
		return 0, fmt.Errorf("pgstore: cleanup: %w", err)
	}
	return tag.RowsAffected(), nil
}

// maybeClean starts a background cleanup when the interval has passed since the last one.
func (s *DedupStore) maybeClean() {
	now := time.Now().UnixNano()
	last := s.lastClean.Load()
	if now-last < int64(s.cleanup) || !s.lastClean.CompareAndSwap(last, now) {
		return
	}
	if !s.cleaning.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.cleaning.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = s.Cleanup(ctx) // a failure is retried at the next interval
	}()
}

var _ mensatek.DedupStore = (*DedupStore)(nil)
