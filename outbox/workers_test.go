package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/outbox"
)

// Two River clients (two processes' worth of workers) on one database: 300 jobs, inserted
// twice over, are 300 sends, each reference once.
func TestTwoClientsSendEachReferenceOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const n = 300
	insertAll := func(rc *river.Client[pgx.Tx]) (skipped int) {
		params := make([]river.InsertManyParams, n)
		for i := range params {
			params[i] = river.InsertManyParams{Args: text(fmt.Sprintf("ref-%03d", i), fmt.Sprintf("mensaje %d", i))}
		}
		tx, err := e.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		res, err := rc.InsertManyTx(ctx, tx, params)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.UniqueSkippedAsDuplicate {
				skipped++
			}
		}
		return skipped
	}
	// Both inserts come before the workers start: an insert of many unique jobs racing the
	// workers' state updates can deadlock in PostgreSQL (40P01, an error River returns for the
	// application to retry), which is not what this test is about.
	if skipped := insertAll(e.inserter(t)); skipped != 0 {
		t.Fatalf("%d of the first %d skipped", skipped, n)
	}
	if skipped := insertAll(e.inserter(t)); skipped != n {
		t.Fatalf("%d of the second %d skipped, want all", skipped, n)
	}
	a := e.worker(t, outbox.NewWorker(e.fake.Client()))
	b := e.worker(t, outbox.NewWorker(e.fake.Client()))
	waitFor(t, "all jobs completed", func() bool {
		var done int
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM `+e.schema+`.river_job WHERE state = 'completed'`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		return done == n
	})
	seen := map[string]int{}
	for _, m := range e.fake.Sent() {
		seen[m.Reference]++
	}
	if len(e.fake.Sent()) != n || len(seen) != n || e.fake.Calls(mensatek.OpSend) != n {
		t.Fatalf("%d sent, %d references, %d calls; want %d of each", len(e.fake.Sent()), len(seen), e.fake.Calls(mensatek.OpSend), n)
	}
	var jobs, clients int
	if err := e.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT attempted_by[1]) FROM `+e.schema+`.river_job`).Scan(&jobs, &clients); err != nil {
		t.Fatal(err)
	}
	if jobs != n {
		t.Errorf("%d jobs, want %d", jobs, n)
	}
	t.Logf("%d jobs worked by %d clients (%s, %s)", jobs, clients, a.ID(), b.ID())
}

// childEnv names, for a child process of this test binary, the database, schema and fake API
// it works against.
const childEnv = "MENSATEK_OUTBOX_CHILD"

// A worker killed with SIGKILL while its send is in flight leaves the job running. River's
// rescuer puts it back once it is stuck; the next attempt sees the rescue and cancels the job
// as unknown instead of sending again.
func TestKilledWorkerIsNotResent(t *testing.T) {
	if v := os.Getenv(childEnv); v != "" {
		runChild(t, v)
		return
	}
	e := newEnv(t)
	ctx := context.Background()
	ins := e.inserter(t)
	res := e.insert(t, ins, text("killed-1", "hola"))

	e.fake.DelayNext(mensatek.OpSend, time.Hour) // the send is in flight until the kill
	url := e.pool.Config().ConnString()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWorkerIsNotResent$")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join([]string{url, e.schema, e.fake.URL, e.fake.APIUser, e.fake.APIToken}, "\n"))
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child's send reaches the fake", func() bool { return e.fake.Calls(mensatek.OpSend) == 1 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	job, err := ins.JobGet(ctx, res.Job.ID)
	if err != nil || job.State != rivertype.JobStateRunning {
		t.Fatalf("after the kill the job is %v (%v), want running; child output:\n%s", job.State, err, out)
	}

	// Time passes: the job has been running longer than RescueStuckJobsAfter, and the dead
	// child's leadership has expired.
	if _, err := e.pool.Exec(ctx, `UPDATE `+e.schema+`.river_job SET attempted_at = now() - interval '2 hours' WHERE id = $1`, job.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `DELETE FROM `+e.schema+`.river_leader`); err != nil {
		t.Fatal(err)
	}
	cfg := e.config(outbox.NewWorker(e.fake.Client()))
	cfg.RescueStuckJobsAfter = time.Hour
	rc := e.start(t, cfg)
	job = waitJob(t, rc, job.ID, rivertype.JobStateCancelled)
	if job.Attempt != 2 || len(job.Errors) != 2 || job.Errors[0].Error != "Stuck job rescued by JobRescuer" ||
		!strings.Contains(job.Errors[1].Error, "outcome unknown, not retried: an earlier attempt may have sent it") {
		t.Fatalf("attempt %d, errors %+v", job.Attempt, job.Errors)
	}
	if o := output(t, job); o.Outcome != outbox.OutcomeUnknown || o.Reference != "killed-1" {
		t.Errorf("output %+v", o)
	}
	if n := e.fake.Calls(mensatek.OpSend); n != 1 {
		t.Errorf("%d sends reached the fake, want only the killed one", n)
	}
}

// runChild works the queue of the parent's schema until it is killed.
func runChild(t *testing.T, v string) {
	parts := strings.Split(v, "\n")
	if len(parts) != 5 {
		t.Fatalf("%s: %q", childEnv, v)
	}
	e := newEnvAt(t, parts[0], parts[1])
	client, err := mensatek.NewClient(parts[3], parts[4], mensatek.WithBaseURL(parts[2]), mensatek.WithTimeout(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.config(outbox.NewWorker(client, outbox.WithTimeout(2*time.Hour)))
	rc, err := river.NewClient(riverpgxv5.New(e.pool), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {} // until SIGKILL
}

// After an operator retries a job whose outcome was unknown, it is still not sent; after one
// retries a refused job whose cause was fixed, it is.
func TestOperatorRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	store := mensatek.NewMemoryContactStore()
	for _, phone := range []string{"34600000001", "34600000002"} {
		if err := store.RecordInbound(ctx, phone, time.Now().Add(-time.Hour)); err != nil { // in the service window
			t.Fatal(err)
		}
	}
	if err := store.SetOptOut(ctx, "34600000002", true, time.Now().Add(-time.Hour), "test"); err != nil {
		t.Fatal(err)
	}
	e.fake.DropNext(mensatek.OpSend)
	rc := e.worker(t, outbox.NewWorker(e.fake.Client(mensatek.WithContacts(store))))
	unknown := e.insert(t, rc, text("op-1", "hola"))
	waitJob(t, rc, unknown.Job.ID, rivertype.JobStateCancelled)
	refusedArgs := text("op-2", "hola")
	refusedArgs.Request.To[0].Phone = "34600000002"
	refused := e.insert(t, rc, refusedArgs)
	waitJob(t, rc, refused.Job.ID, rivertype.JobStateCancelled)
	if n := e.fake.Calls(mensatek.OpSend); n != 1 {
		t.Fatalf("%d sends, want the dropped one", n)
	}

	if err := store.SetOptOut(ctx, "34600000002", false, time.Now(), "test"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{unknown.Job.ID, refused.Job.ID} {
		if _, err := rc.JobRetry(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	job := waitJob(t, rc, refused.Job.ID, rivertype.JobStateCompleted)
	if o := output(t, job); o.Outcome != outbox.OutcomeSent {
		t.Errorf("refused job after its fix: output %+v", o)
	}
	job = waitJob(t, rc, unknown.Job.ID, rivertype.JobStateCancelled)
	if len(job.Errors) != 2 || !strings.Contains(job.Errors[1].Error, "an earlier attempt may have sent it") {
		t.Errorf("unknown job after a retry: errors %+v", job.Errors)
	}
	if n := e.fake.Calls(mensatek.OpSend); n != 2 {
		t.Errorf("%d sends, want 2: the dropped one and the fixed one", n)
	}
}

// What the README says of inserting many at once ("Exactly once per reference"): an InsertManyTx of unique jobs whose rows a
// worker is updating can be PostgreSQL's deadlock victim (40P01); the transaction then holds
// nothing (a new job of the batch included), and running it again inserts the batch. The
// deadlock is made, not waited for: a "worker" transaction holds one existing job's row while
// the insert, holding the other's (ON CONFLICT DO UPDATE locks the rows it conflicts with),
// waits for it, and then asks for the row the insert holds.
func TestInsertManyDeadlockIsSafeToRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ins := e.inserter(t)
	first := e.insert(t, ins, text("dl-a", "a")).Job.ID
	second := e.insert(t, ins, text("dl-b", "b")).Job.ID
	batch := []river.InsertManyParams{{Args: text("dl-new", "new")}, {Args: text("dl-a", "a")}, {Args: text("dl-b", "b")}}

	worker, err := e.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer worker.Release()
	// PostgreSQL looks for a deadlock once, deadlock_timeout after a wait begins: the insert,
	// which waits first, finds this one (2 s leaves the worker ample time to start waiting too),
	// and the worker, which would find it only after 60 s, never does. (Superusers only, as the
	// test server's user is; otherwise the defaults, 1 s for both, usually give the same.)
	_, _ = worker.Exec(ctx, `SET deadlock_timeout = '60s'`)
	wtx, err := worker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer wtx.Rollback(ctx)
	touch := `UPDATE ` + e.schema + `.river_job SET metadata = metadata WHERE id = $1`
	if _, err := wtx.Exec(ctx, touch, second); err != nil {
		t.Fatal(err)
	}

	inserting, err := e.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer inserting.Release()
	_, _ = inserting.Exec(ctx, `SET deadlock_timeout = '2s'`)
	pid := inserting.Conn().PgConn().PID()
	itx, err := inserting.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	insertErr := make(chan error, 1)
	go func() {
		_, err := ins.InsertManyTx(ctx, itx, batch)
		insertErr <- err
	}()
	waitFor(t, "the insert waits for the worker's row", func() bool {
		var waiting bool
		err := e.pool.QueryRow(ctx, `SELECT coalesce(wait_event_type = 'Lock', false) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&waiting)
		return err == nil && waiting
	})
	if _, err := wtx.Exec(ctx, touch, first); err != nil { // waits until the insert is chosen as the victim
		t.Fatalf("the worker's update: %v", err)
	}
	if err := wtx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	err = <-insertErr
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "40P01" {
		t.Fatalf("InsertManyTx: %v, want a PostgreSQL deadlock (40P01)", err)
	}
	if err := itx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM `+e.schema+`.river_job WHERE args->'request'->>'reference' = 'dl-new'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d jobs of the failed batch's new reference, want none", n)
	}

	// Run again, the transaction inserts the new job and skips the two already queued.
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	res, err := ins.InsertManyTx(ctx, tx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].UniqueSkippedAsDuplicate || !res[1].UniqueSkippedAsDuplicate || !res[2].UniqueSkippedAsDuplicate {
		t.Fatalf("the retry: %+v", res)
	}
}
