package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
	"github.com/mensatek-go/mensatek/outbox"
)

// The message goes out if and only if the transaction that inserted it commits, and the
// result is the job's output.
func TestSentIfAndOnlyIfCommitted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `CREATE TABLE `+e.schema+`.orders (id bigint PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	rc := e.worker(t, outbox.NewWorker(e.fake.Client()))
	placeOrder := func(id int, commit bool) *rivertype.JobInsertResult {
		tx, err := e.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `INSERT INTO `+e.schema+`.orders VALUES ($1)`, id); err != nil {
			t.Fatal(err)
		}
		res, err := rc.InsertTx(ctx, tx, text(fmt.Sprintf("order-%d", id), "Tu pedido ha salido"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if commit {
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return res
	}
	placeOrder(1, false)
	res := placeOrder(2, true)

	job := waitJob(t, rc, res.Job.ID, rivertype.JobStateCompleted)
	sent := e.fake.Sent()
	if len(sent) != 1 || sent[0].Reference != "order-2" {
		t.Fatalf("the fake received %+v, want the committed order's message only", sent)
	}
	out := output(t, job)
	if !reflect.DeepEqual(*out, outbox.Output{Outcome: outbox.OutcomeSent, Reference: "order-2", MessageID: sent[0].ID, Sent: 1, Credits: out.Credits}) || out.Credits == 0 {
		t.Errorf("output %+v, want the send's result (idMensaje %d)", out, sent[0].ID)
	}
	var jobs int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM `+e.schema+`.river_job`).Scan(&jobs); err != nil || jobs != 1 {
		t.Errorf("%d jobs (%v), want 1: the rolled-back one must not exist", jobs, err)
	}
}

func TestUniqueByReference(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ins := e.inserter(t)
	first := e.insert(t, ins, text("r1", "one"))
	dup := e.insert(t, ins, text("r1", "two: another message, the same reference"))
	if first.UniqueSkippedAsDuplicate || !dup.UniqueSkippedAsDuplicate || dup.Job.ID != first.Job.ID {
		t.Fatalf("second insert of r1: skipped %v, job %d (first %d); want skipped, the first job", dup.UniqueSkippedAsDuplicate, dup.Job.ID, first.Job.ID)
	}
	// Without a reference, nothing is deduplicated.
	a, b := e.insert(t, ins, text("", "same")), e.insert(t, ins, text("", "same"))
	if a.UniqueSkippedAsDuplicate || b.UniqueSkippedAsDuplicate || a.Job.ID == b.Job.ID {
		t.Fatal("jobs without a reference were deduplicated")
	}
	// A request River's key would tell apart only by a field other than the reference.
	other := text("r2", "x")
	other.Request.To[0].Vars = map[string]string{"1": "a"}
	r2 := e.insert(t, ins, other)
	other.Request.To[0].Vars = map[string]string{"1": "b"}
	if again := e.insert(t, ins, other); !again.UniqueSkippedAsDuplicate {
		t.Error("r2 with other variables inserted twice")
	}
	// A refused job (cancelled) does not block its reference; a completed one does.
	bad := text("r3", "x")
	bad.Request.To[0].Phone = "12"
	r3 := e.insert(t, ins, bad)

	rc := e.worker(t, outbox.NewWorker(e.fake.Client()))
	for _, id := range []int64{first.Job.ID, a.Job.ID, b.Job.ID, r2.Job.ID} {
		waitJob(t, rc, id, rivertype.JobStateCompleted)
	}
	waitJob(t, rc, r3.Job.ID, rivertype.JobStateCancelled)
	if again := e.insert(t, ins, text("r1", "three")); !again.UniqueSkippedAsDuplicate {
		t.Error("r1 inserted again after it was sent")
	}
	r3b := e.insert(t, ins, text("r3", "fixed"))
	if r3b.UniqueSkippedAsDuplicate {
		t.Error("r3 blocked by its cancelled job")
	}
	waitJob(t, rc, r3b.Job.ID, rivertype.JobStateCompleted)

	refs := map[string]int{}
	for _, m := range e.fake.Sent() {
		refs[m.Reference]++
		if m.Reference == "r1" && m.Data["Texto"] != "one" {
			t.Errorf("r1 sent as %v, want the first message", m.Data)
		}
	}
	if len(e.fake.Sent()) != 5 || refs["r1"] != 1 || refs[""] != 2 || refs["r2"] != 1 || refs["r3"] != 1 {
		t.Errorf("sent by reference: %v, want r1, r2, r3 once and two without", refs)
	}
}

// failingLimiter refuses its first n turns with an error (not a deadline).
type failingLimiter struct{ n atomic.Int32 }

func (l *failingLimiter) Wait(ctx context.Context) error {
	if l.n.Add(-1) >= 0 {
		return errors.New("limiter store unavailable")
	}
	return nil
}

// A failure for which nothing reached the API is retried with River's policy, and sent once.
func TestRetriedWhenNotSent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lim := &failingLimiter{}
	lim.n.Store(2)
	rc := e.worker(t, outbox.NewWorker(e.fake.Client(mensatek.WithLimiter(lim))))
	res := e.insert(t, rc, text("retry-1", "hola"))
	job := waitJob(t, rc, res.Job.ID, rivertype.JobStateCompleted)
	if job.Attempt != 3 || len(job.Errors) != 2 {
		t.Fatalf("attempt %d with errors %+v, want the third after two not sent", job.Attempt, job.Errors)
	}
	for _, err := range job.Errors {
		if !strings.HasPrefix(err.Error, "mensatek outbox: not sent (will retry): ") || !strings.Contains(err.Error, "limiter store unavailable") {
			t.Errorf("recorded error %q", err.Error)
		}
	}
	if n := e.fake.Calls(mensatek.OpSend); n != 1 || len(e.fake.Sent()) != 1 {
		t.Errorf("%d calls, %d sent; want 1", n, len(e.fake.Sent()))
	}
}

// A send that may have reached the API ends cancelled, recorded as unknown, never retried.
func TestOutcomeUnknownIsCancelled(t *testing.T) {
	t.Parallel()
	for name, fault := range map[string]func(e *env){
		"dropped": func(e *env) { e.fake.DropNext(mensatek.OpSend) },
		"502":     func(e *env) { e.fake.FailNextHTTP(mensatek.OpSend, http.StatusBadGateway, "") },
		// Accepted (Res 1), but the idMensaje cannot be read: what was read is kept.
		"accepted, unreadable": func(e *env) {
			e.fake.FailNextHTTP(mensatek.OpSend, http.StatusOK, `{"Res":"1","idMensaje":"x","Enviados":"1","Cred":"10"}`)
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			fault(e)
			rc := e.worker(t, outbox.NewWorker(e.fake.Client()))
			res := e.insert(t, rc, text("unknown-1", "hola"))
			job := waitJob(t, rc, res.Job.ID, rivertype.JobStateCancelled)
			if job.Attempt != 1 || len(job.Errors) != 1 || !strings.HasPrefix(job.Errors[0].Error, "JobCancelError: mensatek outbox: outcome unknown, not retried: ") {
				t.Fatalf("attempt %d, errors %+v", job.Attempt, job.Errors)
			}
			out := output(t, job)
			if out.Outcome != outbox.OutcomeUnknown || out.Reference != "unknown-1" || "JobCancelError: "+out.Error != job.Errors[0].Error ||
				(out.Sent == 1) != (name == "accepted, unreadable") {
				t.Errorf("output %+v", out)
			}
			if n := e.fake.Calls(mensatek.OpSend); n != 1 {
				t.Errorf("%d calls, want 1", n)
			}
		})
	}
}

// Refusals no retry can cure end the job cancelled at once.
func TestRefusalsAreCancelled(t *testing.T) {
	t.Parallel()
	optedOut := mensatek.NewMemoryContactStore()
	if err := optedOut.SetOptOut(context.Background(), "34600000001", true, time.Now(), "test"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		setup  func(e *env)
		opts   []mensatek.Option
		wopts  []outbox.Option
		args   func() outbox.SendArgs
		calls  int
		reason string
	}{
		{name: "validation", args: func() outbox.SendArgs {
			a := text("v", "x")
			a.Request.To[0].Phone = "abc"
			return a
		}, reason: "To[0].Phone"},
		{name: "opted out", opts: []mensatek.Option{mensatek.WithContacts(optedOut)}, reason: "opted out"},
		{name: "outside the service window", opts: []mensatek.Option{mensatek.WithContacts(mensatek.NewMemoryContactStore(), mensatek.WithServiceWindow(24*time.Hour))},
			reason: "service window"},
		{name: "invalid data", setup: func(e *env) { e.fake.FailNext(mensatek.OpSend, mensatek.CodeInvalidRequest, "Falta parámetro") },
			calls: 1, reason: "Falta parámetro"},
		{name: "another API code", setup: func(e *env) { e.fake.FailNext(mensatek.OpSend, -7, "bloqueado") }, calls: 1, reason: "bloqueado"},
		{name: "template not found", wopts: []outbox.Option{outbox.WithTemplateCheck()}, args: func() outbox.SendArgs {
			return outbox.SendArgs{Request: mensatek.SendRequest{To: []mensatek.Recipient{{Phone: "34600000001"}}, Message: mensatek.Template{Name: "nope"}}}
		}, reason: "no template named"},
		{name: "template not approved", wopts: []outbox.Option{outbox.WithTemplateCheck()}, args: func() outbox.SendArgs {
			return outbox.SendArgs{Request: mensatek.SendRequest{To: []mensatek.Recipient{{Phone: "34600000001"}}, Message: mensatek.Template{Name: "appointment_reminder"}}}
		}, reason: "not approved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			rc := e.worker(t, outbox.NewWorker(e.fake.Client(tc.opts...), tc.wopts...))
			args := text("refused", "hola")
			if tc.args != nil {
				args = tc.args()
			}
			res := e.insert(t, rc, args)
			job := waitJob(t, rc, res.Job.ID, rivertype.JobStateCancelled)
			if job.Attempt != 1 || len(job.Errors) != 1 || !strings.HasPrefix(job.Errors[0].Error, "JobCancelError: mensatek outbox: not sent (refused, not retried): ") ||
				!strings.Contains(job.Errors[0].Error, tc.reason) {
				t.Fatalf("attempt %d, errors %+v; want one refusal naming %q", job.Attempt, job.Errors, tc.reason)
			}
			if out := output(t, job); out.Outcome != outbox.OutcomeRefused {
				t.Errorf("output %+v", out)
			}
			if n := e.fake.Calls(mensatek.OpSend); n != tc.calls {
				t.Errorf("%d sends reached the fake, want %d", n, tc.calls)
			}
		})
	}
}

// Refusals time can cure wait with a long backoff, recorded; once fixed, the job is sent.
func TestRefusalsWaitAndRetry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault func(e *env)
	}{
		{"credits", func(e *env) { e.fake.FailNext(mensatek.OpSend, mensatek.CodeInsufficientCredits, "Sin créditos") }},
		{"authentication", func(e *env) { e.fake.FailNext(mensatek.OpSend, mensatek.CodeAuthentication, "Usuario incorrecto") }},
		{"429", func(e *env) {
			e.fake.FailNextHTTP(mensatek.OpSend, http.StatusTooManyRequests, `{"Error":"slow down"}`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tc.fault(e)
			client := e.fake.Client(mensatek.WithAuthCooldown(0), mensatek.WithRetryPolicy(mensatek.RetryPolicy{}))
			rc := e.worker(t, outbox.NewWorker(client, outbox.WithRefusalBackoff(time.Hour, 2*time.Hour)))
			start := time.Now()
			res := e.insert(t, rc, text("wait-1", "hola"))
			job := waitJob(t, rc, res.Job.ID, rivertype.JobStateRetryable)
			if job.ScheduledAt.Before(start.Add(30*time.Minute)) || len(job.Errors) != 1 ||
				!strings.HasPrefix(job.Errors[0].Error, "mensatek outbox: not sent (will retry): ") {
				t.Fatalf("retry at %v (in %v), errors %+v; want one, in about an hour", job.ScheduledAt, job.ScheduledAt.Sub(start), job.Errors)
			}
			if _, ok := outbox.OutputOf(job); ok {
				t.Error("a job that will be retried has an output")
			}
			// The operator fixed it (topped up the credits, corrected the credentials): retry now.
			if _, err := rc.JobRetry(context.Background(), job.ID); err != nil {
				t.Fatal(err)
			}
			job = waitJob(t, rc, job.ID, rivertype.JobStateCompleted)
			if n := len(e.fake.Sent()); n != 1 || e.fake.Calls(mensatek.OpSend) != 2 || output(t, job).MessageID != e.fake.Sent()[0].ID {
				t.Errorf("%d sent in %d calls, output %+v; want 1 in 2", n, e.fake.Calls(mensatek.OpSend), output(t, job))
			}
		})
	}
}

// retryAfter adds a Retry-After header to the fake's 429 replies, as a rate-limited API would.
type retryAfter struct {
	next  http.RoundTripper
	value string
}

func (r retryAfter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		resp.Header.Set("Retry-After", r.value)
	}
	return resp, err
}

// A 429 whose Retry-After asks for longer than the refusal backoff is retried no sooner than it
// asks: the API's word wins over the worker's own schedule.
func TestRefusalHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.FailNextHTTP(mensatek.OpSend, http.StatusTooManyRequests, `{"Error":"slow down"}`)
	hc := &http.Client{Transport: retryAfter{next: http.DefaultTransport, value: "10800"}} // 3 hours
	client := e.fake.Client(mensatek.WithHTTPClient(hc), mensatek.WithRetryPolicy(mensatek.RetryPolicy{}))
	rc := e.worker(t, outbox.NewWorker(client, outbox.WithRefusalBackoff(time.Hour, 2*time.Hour)))
	start := time.Now()
	res := e.insert(t, rc, text("retry-after-1", "hola"))
	job := waitJob(t, rc, res.Job.ID, rivertype.JobStateRetryable)
	if job.ScheduledAt.Before(start.Add(3 * time.Hour)) {
		t.Fatalf("retry at %v after the insert; the API asked for 3h", job.ScheduledAt.Sub(start))
	}
	if n := e.fake.Calls(mensatek.OpSend); n != 1 {
		t.Errorf("%d sends reached the fake, want 1", n)
	}
}

// The callback stores the result in the completing transaction; when it fails, the job is
// retried without sending again.
func TestOnSentInCompletingTransaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `CREATE TABLE `+e.schema+`.sent_log (reference text PRIMARY KEY, message_id bigint)`); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	onSent := func(ctx context.Context, tx pgx.Tx, job *river.Job[outbox.SendArgs], out *outbox.Output) error {
		if _, err := tx.Exec(ctx, `INSERT INTO `+e.schema+`.sent_log VALUES ($1, $2)`, out.Reference, out.MessageID); err != nil {
			return err
		}
		if calls.Add(1) == 1 {
			return errors.New("disk full") // after its insert: the transaction must roll back
		}
		return nil
	}
	rc := e.worker(t, outbox.NewWorker(e.fake.Client(), outbox.WithOnSent(onSent)))
	res := e.insert(t, rc, text("cb-1", "hola"))
	job := waitJob(t, rc, res.Job.ID, rivertype.JobStateCompleted)
	if calls.Load() != 2 || job.Attempt != 2 || len(job.Errors) != 1 || !strings.Contains(job.Errors[0].Error, "disk full") {
		t.Fatalf("%d callbacks, attempt %d, errors %+v; want the second to succeed", calls.Load(), job.Attempt, job.Errors)
	}
	if n := e.fake.Calls(mensatek.OpSend); n != 1 {
		t.Errorf("%d sends, want 1: the retry must not send again", n)
	}
	var id int64
	if err := e.pool.QueryRow(ctx, `SELECT message_id FROM `+e.schema+`.sent_log WHERE reference = 'cb-1'`).Scan(&id); err != nil || id != e.fake.Sent()[0].ID {
		t.Errorf("stored idMensaje %d (%v), want %d", id, err, e.fake.Sent()[0].ID)
	}
	if out := output(t, job); out.MessageID != id {
		t.Errorf("output %+v", out)
	}
}

// A limiter whose next turn comes after the job's deadline snoozes the job instead of holding
// a worker, without using an attempt.
func TestLimiterWaitSnoozes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// One send now, the next in 1000 s: past the client's 30 s timeout.
	client := e.fake.Client(mensatek.WithRateLimit(0.001, 1))
	rc := e.worker(t, outbox.NewWorker(client, outbox.WithSnooze(time.Hour)))
	first := e.insert(t, rc, text("lim-1", "uno"))
	waitJob(t, rc, first.Job.ID, rivertype.JobStateCompleted)
	second := e.insert(t, rc, text("lim-2", "dos"))
	job := waitJob(t, rc, second.Job.ID, rivertype.JobStateScheduled)
	if job.Attempt != 0 || len(job.Errors) != 0 || !strings.Contains(string(job.Metadata), `"snoozes": 1`) ||
		job.ScheduledAt.Before(time.Now().Add(20*time.Minute)) {
		t.Errorf("attempt %d, errors %v, metadata %s, scheduled at %v; want snoozed once, for about an hour",
			job.Attempt, job.Errors, job.Metadata, job.ScheduledAt)
	}
	if n := e.fake.Calls(mensatek.OpSend); n != 1 {
		t.Errorf("%d sends, want 1", n)
	}
}

// A client stopped while a send is in flight (a deploy) leaves the job cancelled as unknown:
// River would otherwise put it back as if it had never run.
func TestStopMidSendIsNotResent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.DelayNext(mensatek.OpSend, time.Minute)
	rc := e.worker(t, outbox.NewWorker(e.fake.Client()))
	res := e.insert(t, rc, text("stop-1", "hola"))
	waitFor(t, "the send reaches the fake", func() bool { return e.fake.Calls(mensatek.OpSend) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := rc.StopAndCancel(ctx); err != nil {
		t.Fatal(err)
	}
	job, err := rc.JobGet(ctx, res.Job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if job.State != rivertype.JobStateCancelled || output(t, job).Outcome != outbox.OutcomeUnknown {
		t.Fatalf("job %s, errors %+v; want cancelled as unknown", job.State, job.Errors)
	}
}

// A stored request this release cannot read (written by a newer one) is retried, marked as not
// sent, so that a newer worker can take it.
func TestUnreadableRequestIsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ins := e.inserter(t)
	ctx := context.Background()
	res, err := ins.Insert(ctx, futureArgs{}, &river.InsertOpts{MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	rc := e.worker(t, outbox.NewWorker(e.fake.Client()))
	job := waitJob(t, rc, res.Job.ID, rivertype.JobStateDiscarded)
	for _, err := range job.Errors {
		if !strings.HasPrefix(err.Error, "mensatek outbox: not sent (will retry): cannot read the stored request") {
			t.Errorf("recorded error %q", err.Error)
		}
	}
	if len(job.Errors) != 2 || e.fake.Calls(mensatek.OpSend) != 0 {
		t.Errorf("%d errors, %d sends; want 2 and none", len(job.Errors), e.fake.Calls(mensatek.OpSend))
	}
}

// futureArgs is a job of Kind whose request a later release wrote, in format version 2.
type futureArgs struct{}

func (futureArgs) Kind() string { return outbox.Kind }

func (futureArgs) MarshalJSON() ([]byte, error) {
	return []byte(`{"request":{"v":2,"to":[{"phone":"34600000001"}],"message":{"kind":"Video","data":{}}}}`), nil
}

// With WithTemplateCheck, a failure to read the template sends nothing: the job is retried and
// sent once.
func TestTemplateReadFailureIsRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.FailNextHTTP(mensatek.OpTemplates, http.StatusInternalServerError, "")
	client := e.fake.Client(mensatek.WithRetryPolicy(mensatek.RetryPolicy{}))
	rc := e.worker(t, outbox.NewWorker(client, outbox.WithTemplateCheck()))
	res := e.insert(t, rc, outbox.SendArgs{Request: mensatek.SendRequest{
		To: []mensatek.Recipient{{Phone: "34600000001", Name: "Ana", Vars: map[string]string{
			"Variable_Cabecera_image": "https://example.com/a.png", "Valor-URL-Boton-0": "https://example.com/o"}}},
		Message: mensatek.Template{Name: "customer_welcome"}, Reference: "tpl-1"}})
	job := waitJob(t, rc, res.Job.ID, rivertype.JobStateCompleted)
	if job.Attempt != 2 || len(job.Errors) != 1 || !strings.HasPrefix(job.Errors[0].Error, "mensatek outbox: not sent (will retry): reading the template") {
		t.Fatalf("attempt %d, errors %+v", job.Attempt, job.Errors)
	}
	if n := e.fake.Calls(mensatek.OpSend); n != 1 || e.fake.Sent()[0].Template() != "customer_welcome" {
		t.Errorf("%d sends, want the template once", n)
	}
}

// Every message type, RawMessage and ExtraData, ScheduleAt and recipients' variables survive the
// queue: what the fake receives from the worker is what it receives from a direct Send.
func TestRequestSurvivesTheQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	direct := mensatektest.NewServer()
	defer direct.Close()
	to := []mensatek.Recipient{{Phone: "+34 600 00 00 01", Name: "Ana", Email: "ana@example.com", Vars: map[string]string{"1": "Ana 😀", "x": "<&>"}}}
	at := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	requests := []mensatek.SendRequest{
		{To: to, Message: mensatek.Text{Body: "hola \"ñ\" 😀", PreviewURL: true}, ScheduleAt: at, Report: true, FixUTF8: true, FallbackChannels: []string{"SMS"}},
		{To: []mensatek.Recipient{{Phone: "34600000001", Name: "Ana", Vars: map[string]string{"Variable_Cabecera_image": "https://example.com/a.png", "Valor-URL-Boton-0": "https://example.com/o"}}}, Message: mensatek.Template{Name: "customer_welcome"}},
		{To: to, Message: mensatek.Image{URL: "https://example.com/i.jpg", Caption: "foto"}},
		{To: to, Message: mensatek.Document{URL: "https://example.com/f.pdf", Filename: "f.pdf", Caption: "c"}},
		{To: to, Message: mensatek.Location{Latitude: 40.4168, Longitude: -3.7038, Name: "Sol", Address: "Madrid"}},
		{To: to, Message: mensatek.LocationRequest{Body: "¿Dónde?"}},
		{To: to, Message: mensatek.List{Body: "Elige", Button: "Ver", Sections: []mensatek.ListSection{{Rows: []mensatek.ListRow{{ID: "1", Title: "Uno", Description: "d"}}}}}},
		{To: to, Message: mensatek.ReplyButtons{Body: "¿Sí?", Buttons: []mensatek.ReplyButton{{ID: "si", Title: "Sí"}, {ID: "no", Title: "No"}}}},
		{To: []mensatek.Recipient{{Phone: "34600000002", ReplyTo: 987654321012}}, Message: mensatek.Reaction{Emoji: "👍"}},
		{To: to, Message: mensatek.CTAButton{Body: "Mira", Text: "Abrir", URL: "https://example.com/x"}},
		{To: to, Message: mensatek.RawMessage{Type: mensatek.TypeText, Data: map[string]any{"Texto": "raw", "Big": int64(9007199254740993),
			"Nested": map[string]any{"l": []any{1, "dos", 2.5}}}}, ExtraData: map[string]any{"Extra": true, "N": 12}},
	}
	client := direct.Client()
	rc := e.worker(t, outbox.NewWorker(e.fake.Client()))
	var ids []int64
	for i, req := range requests {
		req.Reference = fmt.Sprintf("survive-%d", i)
		if _, err := client.Send(context.Background(), req); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		ids = append(ids, e.insert(t, rc, outbox.SendArgs{Request: req}).Job.ID)
	}
	for _, id := range ids {
		waitJob(t, rc, id, rivertype.JobStateCompleted)
	}
	want, got := direct.Sent(), e.fake.Sent()
	if len(got) != len(want) {
		t.Fatalf("%d sent through the queue, %d directly", len(got), len(want))
	}
	byRef := map[string]mensatektest.SentMessage{}
	for _, m := range got {
		m.ID = 0
		byRef[m.Reference] = m
	}
	for _, m := range want {
		m.ID = 0
		if !reflect.DeepEqual(byRef[m.Reference], m) {
			t.Errorf("%s through the queue:\n%+v\nwant\n%+v", m.Reference, byRef[m.Reference], m)
		}
	}
}

// After an authentication failure, the client's pause keeps the other queued jobs from reaching
// the API: each fails fast and waits its long backoff, and the provider sees one failed call.
func TestAuthPauseHoldsTheQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.FailNext(mensatek.OpSend, mensatek.CodeAuthentication, "Usuario incorrecto")
	cfg := e.config(outbox.NewWorker(e.fake.Client(), outbox.WithRefusalBackoff(time.Hour, time.Hour)))
	cfg.Queues[river.QueueDefault] = river.QueueConfig{MaxWorkers: 1} // one send at a time, as one process's turn
	rc := e.start(t, cfg)
	var ids []int64
	for i := 0; i < 10; i++ {
		ids = append(ids, e.insert(t, rc, text(fmt.Sprintf("auth-%d", i), "hola")).Job.ID)
	}
	for _, id := range ids {
		job := waitJob(t, rc, id, rivertype.JobStateRetryable)
		if len(job.Errors) != 1 || !strings.Contains(job.Errors[0].Error, "authentication") {
			t.Errorf("job %d: errors %+v", id, job.Errors)
		}
	}
	if n := e.fake.Calls(mensatek.OpSend); n != 1 {
		t.Errorf("%d calls reached the API, want the one refused", n)
	}
}

// An option given an invalid value makes NewWorker panic with a message naming it (NewWorker
// has no error result); making the option does not.
func TestNewWorkerPanicsOnInvalidOptions(t *testing.T) {
	client, err := mensatek.NewClient("u", "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		opt  func() outbox.Option
		want string
	}{
		{func() outbox.Option { return outbox.WithSnooze(0) }, "outbox: WithSnooze: 0s is not a positive duration"},
		{func() outbox.Option { return outbox.WithRefusalBackoff(0, time.Minute) }, "outbox: WithRefusalBackoff: 0s to 1m0s is not a range of positive durations"},
		{func() outbox.Option { return outbox.WithRefusalBackoff(time.Hour, time.Minute) }, "outbox: WithRefusalBackoff: 1h0m0s to 1m0s is not a range of positive durations"},
	} {
		opt := tt.opt() // does not panic
		func() {
			defer func() {
				if got, _ := recover().(string); got != tt.want {
					t.Errorf("panic %q, want %q", got, tt.want)
				}
			}()
			outbox.NewWorker(client, opt)
		}()
	}
}
