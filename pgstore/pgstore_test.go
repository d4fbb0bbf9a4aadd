package pgstore_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/dedupstoretest"
	"github.com/mensatek-go/mensatek/internal/testserver"
	"github.com/mensatek-go/mensatek/pgstore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopAll()
	os.Exit(code)
}

// pool returns a pool on the test's PostgreSQL, closed at the end of the test.
func pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testserver.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 32
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// table returns a table name of its own for one store.
func table() string { return "dedup_" + dedupstoretest.Token() }

func newStore(t testing.TB, p *pgxpool.Pool, opts ...pgstore.Option) *pgstore.DedupStore {
	t.Helper()
	s, err := pgstore.NewDedupStore(context.Background(), p, append([]pgstore.Option{pgstore.WithTable(table())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDedupStoreConformance(t *testing.T) {
	p := pool(t)
	dedupstoretest.Run(t, dedupstoretest.Harness{
		New: func(t *testing.T, retention time.Duration) dedupstoretest.Store {
			return dedupstoretest.Store{DedupStore: newStore(t, p, pgstore.WithRetention(retention))}
		},
		Broken: func(t *testing.T) mensatek.DedupStore {
			// A store whose pool has been closed: every statement fails.
			closed := pool(t)
			s := newStore(t, closed)
			closed.Close()
			return s
		},
	})
}

func TestDedupStoreReplicas(t *testing.T) {
	dedupstoretest.RunHandler(t, newStore(t, pool(t)))
}

func TestDedupStoreTableAndCleanup(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	if _, err := p.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS hooks`); err != nil {
		t.Fatal(err)
	}
	name := "hooks." + table()
	// Two replicas start at once on the same, missing table.
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			_, err := pgstore.NewDedupStore(ctx, p, pgstore.WithTable(name))
			errs <- err
		}()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent creation: %v", err)
		}
	}
	s, err := pgstore.NewDedupStore(ctx, p, pgstore.WithTable(name), pgstore.WithRetention(time.Hour),
		pgstore.WithCleanupInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// Rows whose lease or retention ended are deleted by Cleanup; live ones stay. (Rows made by
	// Complete: a Claim would start the store's own background cleanup, which could delete the
	// expired rows before this Cleanup does.)
	for _, k := range []string{"a", "b", "c"} {
		if err := s.Complete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Exec(ctx, `UPDATE `+name+` SET expires_at = now() - interval '1 second' WHERE key IN ('a'::bytea, 'b'::bytea)`); err != nil {
		t.Fatal(err)
	}
	n, err := s.Cleanup(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Cleanup deleted %d rows (%v), want 2", n, err)
	}
	var left int
	if err := p.QueryRow(ctx, `SELECT count(*) FROM `+name).Scan(&left); err != nil || left != 1 {
		t.Fatalf("%d rows left (%v), want 1", left, err)
	}
}

func TestDedupStoreCleansUpByItself(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	name := table()
	s, err := pgstore.NewDedupStore(ctx, p, pgstore.WithTable(name), pgstore.WithCleanupInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// A holder that died: its row outlives its lease until the store cleans up after a claim.
	if _, err := s.Claim(ctx, "dead", "t", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(dedupstoretest.Deadline)
	for {
		if _, err := s.Claim(ctx, "other-"+dedupstoretest.Token(), "t", time.Millisecond); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := p.QueryRow(ctx, `SELECT count(*) FROM `+name+` WHERE key = 'dead'::bytea`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expired row is still there after %v", dedupstoretest.Deadline)
		}
		time.Sleep(5 * time.Millisecond) // polling the table; proves nothing by itself
	}
}

func TestNewDedupStoreErrors(t *testing.T) {
	if _, err := pgstore.NewDedupStore(context.Background(), nil); err == nil {
		t.Fatal("nil pool: no error")
	}
	// An option given an invalid value is an error of the constructor, naming the option,
	// before the pool is touched.
	for _, tt := range []struct {
		opt  pgstore.Option
		want string
	}{
		{pgstore.WithTable(""), "pgstore: WithTable: empty table name"},
		{pgstore.WithRetention(0), "pgstore: WithRetention: 0s is not a positive duration"},
		{pgstore.WithCleanupInterval(-time.Second), "pgstore: WithCleanupInterval: -1s is not a positive duration"},
	} {
		if _, err := pgstore.NewDedupStore(context.Background(), nil, tt.opt); err == nil || err.Error() != tt.want {
			t.Errorf("NewDedupStore: got %v, want %q", err, tt.want)
		}
		if _, err := pgstore.NewContactStore(context.Background(), nil, tt.opt); err == nil || err.Error() != tt.want {
			t.Errorf("NewContactStore: got %v, want %q", err, tt.want)
		}
	}
	p := pool(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pgstore.NewDedupStore(ctx, p, pgstore.WithTable(table())); err == nil {
		t.Fatal("ended context: no error")
	}
}

func BenchmarkHandler(b *testing.B) {
	dedupstoretest.BenchmarkHandler(b, newStore(b, pool(b), pgstore.WithCleanupInterval(time.Hour)))
}

func BenchmarkDedupStore(b *testing.B) {
	dedupstoretest.BenchmarkStore(b, newStore(b, pool(b), pgstore.WithCleanupInterval(time.Hour)))
}
