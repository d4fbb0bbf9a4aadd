package outbox_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/internal/testserver"
	"github.com/mensatek-go/mensatek/mensatektest"
	"github.com/mensatek-go/mensatek/outbox"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopAll()
	os.Exit(code)
}

// deadline bounds every wait for a job's state: far more than any of them needs.
const deadline = 20 * time.Second

// env is one test's database schema, with River's tables migrated into it, and a fake API.
type env struct {
	pool   *pgxpool.Pool
	schema string
	fake   *mensatektest.Server
}

func token() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvAt(t, testserver.PostgresURL(t), "outbox_"+token())
}

func newEnvAt(t *testing.T, url, schema string) *env {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 20
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
		t.Fatal(err)
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	fake := mensatektest.NewServer()
	t.Cleanup(fake.Close)
	return &env{pool: pool, schema: schema, fake: fake}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// soonRetry retries a failed job at once: the tests prove what is retried, not River's waits.
type soonRetry struct{}

func (soonRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(5 * time.Millisecond) }

// config is a River client configuration for the test's schema that fetches jobs quickly.
func (e *env) config(w *outbox.Worker) *river.Config {
	cfg := &river.Config{
		Schema:            e.schema,
		Logger:            quietLogger(),
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		RetryPolicy:       soonRetry{},
		TestOnly:          true,
	}
	if w != nil {
		workers := river.NewWorkers()
		river.AddWorker(workers, w)
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}}
	}
	return cfg
}

// start starts a River client with cfg, stopped at the end of the test.
func (e *env) start(t *testing.T, cfg *river.Config) *river.Client[pgx.Tx] {
	t.Helper()
	rc, err := river.NewClient(riverpgxv5.New(e.pool), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Workers == nil {
		return rc // insert-only
	}
	if err := rc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rc.StopAndCancel(ctx)
	})
	return rc
}

// worker starts a River client working the schema's queue with w.
func (e *env) worker(t *testing.T, w *outbox.Worker) *river.Client[pgx.Tx] {
	t.Helper()
	return e.start(t, e.config(w))
}

// inserter returns a River client that only inserts.
func (e *env) inserter(t *testing.T) *river.Client[pgx.Tx] {
	t.Helper()
	return e.start(t, e.config(nil))
}

// insert inserts args in a committed transaction.
func (e *env) insert(t *testing.T, rc *river.Client[pgx.Tx], args outbox.SendArgs) *rivertype.JobInsertResult {
	t.Helper()
	ctx := context.Background()
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	res, err := rc.InsertTx(ctx, tx, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return res
}

// text is a valid request: a text to one phone, with a reference.
func text(ref, body string) outbox.SendArgs {
	return outbox.SendArgs{Request: mensatek.SendRequest{
		To: []mensatek.Recipient{{Phone: "34600000001"}}, Message: mensatek.Text{Body: body}, Reference: ref}}
}

// waitJob polls the job until it is in one of states.
func waitJob(t *testing.T, rc *river.Client[pgx.Tx], id int64, states ...rivertype.JobState) *rivertype.JobRow {
	t.Helper()
	ctx := context.Background()
	end := time.Now().Add(deadline)
	for {
		job, err := rc.JobGet(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(states, job.State) {
			return job
		}
		if time.Now().After(end) {
			t.Fatalf("job %d is %s after %v (errors %+v), want %v", id, job.State, deadline, job.Errors, states)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not a proof
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not after %v", what, deadline)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not a proof
	}
}

func output(t *testing.T, job *rivertype.JobRow) *outbox.Output {
	t.Helper()
	out, ok := outbox.OutputOf(job)
	if !ok {
		t.Fatalf("job %d (%s) has no output; metadata %s", job.ID, job.State, job.Metadata)
	}
	return out
}
