package outbox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
	"github.com/mensatek-go/mensatek/outbox"
)

// readmeBlocks returns the README's code blocks of lang.
func readmeBlocks(t *testing.T, lang string) []string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```"+lang+"\n(.*?)```").FindAllStringSubmatch(string(readme), -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) == 0 {
		t.Fatalf("the README has no %s block", lang)
	}
	return blocks
}

// Every line of the README's Go blocks is code that this module compiles: the example or this
// file.
func TestREADMEGoIsCompiled(t *testing.T) {
	var code strings.Builder
	for _, f := range []string{"example/main.go", "readme_test.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		code.Write(b)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(code.String(), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, block := range readmeBlocks(t, "go") {
		for _, l := range strings.Split(block, "\n") {
			if l = strings.TrimSpace(l); l != "" && !lines[l] {
				t.Errorf("README line not in the example or this file: %s", l)
			}
		}
	}
}

// The README's operator queries run, and find what they say; a delivery report settles a job
// whose outcome was unknown, through the webhook handler the README shows.
func TestREADMEOperatorQueriesAndSettle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	// A worker died mid-send on the job's last attempt: River's rescuer discards it.
	ins := e.inserter(t)
	killed, err := ins.Insert(ctx, text("q-killed", "hola"), &river.InsertOpts{MaxAttempts: 1, ScheduledAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE `+e.schema+`.river_job SET state = 'running', attempt = 1,
		attempted_at = now() - interval '2 hours', attempted_by = '{dead}' WHERE id = $1`, killed.Job.ID); err != nil {
		t.Fatal(err)
	}
	e.fake.DropNext(mensatek.OpSend)
	cfg := e.config(outbox.NewWorker(e.fake.Client()))
	cfg.RescueStuckJobsAfter = time.Hour
	riverClient := e.start(t, cfg)
	if job := waitJob(t, riverClient, killed.Job.ID, rivertype.JobStateDiscarded); !outbox.IsOutcomeUnknown(job) {
		t.Errorf("a job the rescuer discarded: IsOutcomeUnknown false (errors %+v)", job.Errors)
	}
	unknown := e.insert(t, riverClient, text("q-unknown", "hola"))
	waitJob(t, riverClient, unknown.Job.ID, rivertype.JobStateCancelled)
	e.fake.FailNext(mensatek.OpSend, mensatek.CodeInsufficientCredits, "Sin créditos")
	waiting := e.insert(t, riverClient, text("q-credits", "hola"))
	waitJob(t, riverClient, waiting.Job.ID, rivertype.JobStateRetryable)

	if job, _ := riverClient.JobGet(ctx, waiting.Job.ID); outbox.IsOutcomeUnknown(job) {
		t.Error("a job waiting for credits: IsOutcomeUnknown true")
	}
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET search_path TO `+e.schema); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, `RESET search_path`)
	queries := readmeBlocks(t, "sql")
	if len(queries) != 3 {
		t.Fatalf("%d SQL blocks, want 3 (unknown, retryable, by state)", len(queries))
	}
	firstColumn := func(q string) []string {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			v, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprint(v[0]))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return got
	}
	id := func(j *rivertype.JobRow) string { return fmt.Sprint(j.ID) }
	if got := firstColumn(queries[0]); strings.Join(got, ",") != id(killed.Job)+","+id(unknown.Job) {
		t.Errorf("unknown jobs: %v, want [%s %s]", got, id(killed.Job), id(unknown.Job))
	}
	if got := firstColumn(queries[1]); len(got) != 1 || got[0] != id(waiting.Job) {
		t.Errorf("retryable jobs: %v, want [%s]", got, id(waiting.Job))
	}
	if got := firstColumn(queries[2]); strings.Join(got, ",") != "cancelled,discarded,retryable" {
		t.Errorf("states: %v", got)
	}

	// The webhook receives the report of the dropped send, with its reference.
	handle := func(ctx context.Context, ev *mensatek.Event) error {
		if _, err := outbox.SettleFromReport(ctx, riverClient, ev); err != nil {
			return err // the webhook answers 500 and the provider delivers the report again
		}
		return nil
	}
	hook := httptest.NewServer(mensatek.NewWebhookHandler(handle, mensatek.WithoutWebhookAuth()))
	defer hook.Close()
	status, err := mensatektest.DeliverWebhook(ctx, hook.URL, mensatektest.StatusChange(4242, "34600000001", 3, "q-unknown"))
	if err != nil || status != http.StatusOK {
		t.Fatalf("webhook answered %d, %v", status, err)
	}
	job, err := riverClient.JobGet(ctx, unknown.Job.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := output(t, job)
	if job.State != rivertype.JobStateCancelled || out.Outcome != outbox.OutcomeSent || out.MessageID != 4242 || out.SettledBy == "" || out.Error == "" {
		t.Errorf("after the report: %s, output %+v", job.State, out)
	}
	if got := firstColumn(queries[0]); strings.Join(got, ",") != id(killed.Job) {
		t.Errorf("unknown jobs after the report: %v, want [%s]", got, id(killed.Job))
	}
	// The killed job's report settles it too.
	status, err = mensatektest.DeliverWebhook(ctx, hook.URL, mensatektest.StatusChange(4343, "34600000001", 3, "q-killed"))
	if err != nil || status != http.StatusOK {
		t.Fatalf("webhook answered %d, %v", status, err)
	}
	if got := firstColumn(queries[0]); len(got) != 0 {
		t.Errorf("unknown jobs after both reports: %v, want none", got)
	}
	if job, _ := riverClient.JobGet(ctx, killed.Job.ID); output(t, job).MessageID != 4343 || output(t, job).Error != "Stuck job rescued by JobRescuer" {
		t.Errorf("killed job after its report: output %+v", output(t, job))
	}
	// Inbound messages and reports of other references settle nothing.
	for _, ev := range []*mensatek.Event{nil, {Direction: mensatek.Inbound, Reference: "q-credits"}, {Direction: mensatek.Outbound, Reference: "q-credits", MessageID: 1}} {
		if settled, err := outbox.SettleFromReport(ctx, riverClient, ev); err != nil || len(settled) != 0 {
			t.Errorf("%+v settled %d jobs (%v)", ev, len(settled), err)
		}
	}
}
