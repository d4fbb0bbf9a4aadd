package pgstore_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/contactstoretest"
	"github.com/mensatek-go/mensatek/dedupstoretest"
	"github.com/mensatek-go/mensatek/internal/testserver"
	"github.com/mensatek-go/mensatek/pgstore"
)

// contactTable returns a table name of its own for one store.
func contactTable() string { return "contacts_" + dedupstoretest.Token() }

func newContactStore(t testing.TB, p *pgxpool.Pool, name string) *pgstore.ContactStore {
	t.Helper()
	s, err := pgstore.NewContactStore(context.Background(), p, pgstore.WithTable(name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContactStoreConformance(t *testing.T) {
	p := pool(t)
	contactstoretest.Run(t, contactstoretest.Harness{
		New: func(t *testing.T) mensatek.ContactStore { return newContactStore(t, p, contactTable()) },
		Broken: func(t *testing.T) mensatek.ContactStore {
			// A store whose pool has been closed: every statement fails.
			closed := pool(t)
			s := newContactStore(t, closed, contactTable())
			closed.Close()
			return s
		},
	})
}

// Two replicas: two pools and two store values on one table.
func TestContactStoreReplicas(t *testing.T) {
	name := contactTable()
	contactstoretest.RunReplicas(t, newContactStore(t, pool(t), name), newContactStore(t, pool(t), name))
}

// queryCounter counts the statements a pool runs (each one round trip).
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A campaign's check of n recipients costs one query per 1,000 distinct phones; every write is
// one statement; OptedOut is one query.
func TestContactStoreQueries(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(testserver.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	var c queryCounter
	cfg.ConnConfig.Tracer = &c
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	s := newContactStore(t, p, contactTable())
	contactstoretest.RunRoundTrips(t, s, c.n.Load, pgstore.ContactBatchSize, 1)
}

func TestContactStoreTable(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	if _, err := p.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS crm`); err != nil {
		t.Fatal(err)
	}
	name := "crm." + contactTable()
	// Replicas start at once on the same, missing table: each time on a new table, so that
	// PostgreSQL's several ways of reporting the race (a duplicate key, relation or type) show.
	for round := 0; round < 10; round++ {
		fresh := "crm." + contactTable()
		if round == 0 {
			fresh = name
		}
		const replicas = 4
		errs := make(chan error, replicas)
		for i := 0; i < replicas; i++ {
			go func() {
				_, err := pgstore.NewContactStore(ctx, p, pgstore.WithTable(fresh))
				errs <- err
			}()
		}
		for i := 0; i < replicas; i++ {
			if err := <-errs; err != nil {
				t.Fatalf("concurrent creation: %v", err)
			}
		}
	}
	s := newContactStore(t, p, name)
	at := time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC)
	if err := s.RecordInbound(ctx, "34600000001", at); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOptOut(ctx, "34600000001", true, at, "keyword:BAJA"); err != nil {
		t.Fatal(err)
	}
	// The row, as a person reading the table sees it.
	var phone, source string
	var out bool
	var inbound time.Time
	if err := p.QueryRow(ctx, `SELECT phone, last_inbound, opted_out, consent_source FROM `+name).Scan(&phone, &inbound, &out, &source); err != nil {
		t.Fatal(err)
	}
	if phone != "34600000001" || !inbound.Equal(at.Truncate(time.Microsecond)) || !out || source != "keyword:BAJA" {
		t.Fatalf("the row: %s %v %v %q", phone, inbound, out, source)
	}
	// Back in UTC, truncated to the microsecond.
	got, err := s.Contacts(ctx, []string{"34600000001"})
	if err != nil {
		t.Fatal(err)
	}
	want := at.Truncate(time.Microsecond)
	if c := got["34600000001"]; c.LastInbound != want || c.ConsentAt != want {
		t.Fatalf("times came back as %v and %v, want %v", c.LastInbound, c.ConsentAt, want)
	}
	// OptedOut's query can read the partial index, in order (with other scans off: a
	// table this small would otherwise be read whole).
	conn, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET enable_seqscan = off; SET enable_bitmapscan = off`); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `EXPLAIN (COSTS OFF) SELECT phone, last_inbound, opted_out, consent_at, consent_source FROM `+name+
		` WHERE opted_out ORDER BY phone COLLATE "C"`)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `RESET enable_seqscan; RESET enable_bitmapscan`); err != nil {
		t.Fatal(err)
	}
	if joined := strings.Join(plan, "\n"); !strings.Contains(joined, "Index Scan") || !strings.Contains(joined, "_opted_out_idx") || strings.Contains(joined, "Sort") {
		t.Fatalf("OptedOut's plan does not read the index in order:\n%s", joined)
	}
	// Zero times are NULL, "never": with no time stored, any change wins, as
	// mensatek.ConsentChangeWins says.
	for _, step := range []func() error{
		func() error { return s.RecordInbound(ctx, "34600000002", time.Time{}) },
		func() error { return s.SetOptOut(ctx, "34600000002", true, time.Time{}, "zero") },
		func() error { return s.SetOptOut(ctx, "34600000002", false, time.Time{}, "zero again") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	got, err = s.Contacts(ctx, []string{"34600000002"})
	if err != nil {
		t.Fatal(err)
	}
	if c := got["34600000002"]; !c.LastInbound.IsZero() || !c.ConsentAt.IsZero() || c.OptedOut || c.ConsentSource != "zero again" {
		t.Fatalf("zero times: %+v", c)
	}
}

func TestNewContactStoreErrors(t *testing.T) {
	if _, err := pgstore.NewContactStore(context.Background(), nil); err == nil {
		t.Fatal("nil pool: no error")
	}
	p := pool(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pgstore.NewContactStore(ctx, p, pgstore.WithTable(contactTable())); err == nil {
		t.Fatal("ended context: no error")
	}
}

func BenchmarkContactStoreContacts10k(b *testing.B) {
	contactstoretest.BenchmarkContacts(b, newContactStore(b, pool(b), contactTable()), 10000)
}
