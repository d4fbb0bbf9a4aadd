package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/mensatek-go/mensatek"
)

// Worker sends the [SendArgs] jobs of a River queue with a [*mensatek.Client], at most once
// each: it is a river.Worker[SendArgs], registered with
//
//	workers := river.NewWorkers()
//	river.AddWorker(workers, outbox.NewWorker(client))
//
// How each failure ends the job:
//   - nothing reached the API ([mensatek.ErrNotSent]: a connection that failed first, a
//     limiter or contact store that failed): the job is retried with the River client's retry
//     policy; when the client's limiter (or anything else) ran out of time before the request
//     left, the job is snoozed instead ([WithSnooze]), which uses no attempt;
//   - refusals time can cure (not enough credits, an authentication failure or the client's
//     pause after one, 429): retried with a long backoff ([WithRefusalBackoff]), each retry an
//     attempt with its error recorded;
//   - the send may have reached the API ([mensatek.ErrOutcomeUnknown]): cancelled, never
//     retried, with the error recorded and [Output].Outcome [OutcomeUnknown];
//   - refusals no retry can cure (a *ValidationError, [mensatek.ErrOptedOut],
//     [mensatek.ErrOutsideServiceWindow], [mensatek.ErrInvalidRequest], a template not found
//     or not approved, any other answer of the API refusing it): cancelled, with
//     [OutcomeRefused].
//
// Before it sends, the worker reads the job's record: if an earlier attempt ended in any way
// that does not prove that nothing was sent (the worker was killed and River's rescuer put the
// job back, it panicked, a middleware failed, it left no record at all), the job is cancelled
// as [OutcomeUnknown] instead of sending again. If an earlier attempt sent the message and only
// [WithOnSent] failed, the message is not sent again; the callback is retried.
type Worker struct {
	river.WorkerDefaults[SendArgs]

	client     *mensatek.Client
	checked    bool
	onSent     OnSentFunc
	timeout    time.Duration
	refusalMin time.Duration
	refusalMax time.Duration
	snooze     time.Duration
	logger     *slog.Logger
}

// OnSentFunc stores a send's result in the application's own tables. It runs in the
// transaction that marks the job completed, so the result is stored if and only if the job is
// completed. If it fails, the job is retried without sending again (the result was recorded).
type OnSentFunc func(ctx context.Context, tx pgx.Tx, job *river.Job[SendArgs], out *Output) error

// Option configures a [Worker] in [NewWorker]. An option given an invalid value makes NewWorker
// panic with a message naming it, as the core's NewWebhookHandler does: NewWorker has no error
// result, and the mistake is the program's.
type Option func(*Worker) error

// Defaults of the options.
const (
	DefaultRefusalBackoffMin = time.Minute      // the first wait after a refusal time can cure
	DefaultRefusalBackoffMax = 30 * time.Minute // the longest
	DefaultSnooze            = 10 * time.Second // how long a job waits when the limiter's turn is past its deadline
)

// WithOnSent calls fn with each completed send's result, in the transaction that completes the
// job (see [OnSentFunc]). The worker then needs a River client on pgx v5 (riverpgxv5), whose
// pool the transaction is taken from.
func WithOnSent(fn OnSentFunc) Option { return func(w *Worker) error { w.onSent = fn; return nil } }

// WithTemplateCheck sends with [mensatek.Client.SendChecked] instead of Send: a template is
// checked against the account's templates (cached by the client) first, and a template not
// found or not approved ends the job as [OutcomeRefused] without reaching the send function.
func WithTemplateCheck() Option { return func(w *Worker) error { w.checked = true; return nil } }

// WithTimeout sets each job's timeout (River's Worker.Timeout); 0, the default, keeps the River
// client's JobTimeout (1 minute unless configured). The client's own [mensatek.WithTimeout]
// bounds each send inside it.
func WithTimeout(d time.Duration) Option { return func(w *Worker) error { w.timeout = d; return nil } }

// WithRefusalBackoff sets the waits between retries of refusals time can cure (not enough
// credits, an authentication failure, 429): from min, doubling with each attempt, up to max,
// with jitter (default 1 minute to 30 minutes). Both must be positive, and max at least min.
func WithRefusalBackoff(min, max time.Duration) Option {
	return func(w *Worker) error {
		if min <= 0 || max < min {
			return fmt.Errorf("outbox: WithRefusalBackoff: %v to %v is not a range of positive durations", min, max)
		}
		w.refusalMin, w.refusalMax = min, max
		return nil
	}
}

// WithSnooze sets how long a job waits when its send could not start before its deadline
// (the client's limiter refused a turn that late, or time ran out before the request left):
// River snoozes it, which does not use one of its attempts (default 10 seconds, with jitter).
// A duration <= 0 is invalid.
func WithSnooze(d time.Duration) Option {
	return func(w *Worker) error {
		if d <= 0 {
			return fmt.Errorf("outbox: WithSnooze: %v is not a positive duration", d)
		}
		w.snooze = d
		return nil
	}
}

// WithLogger logs each job that ends other than sent, and each retry and snooze, to l; nil (the
// default) logs nothing. River logs its own job events to its client's logger.
func WithLogger(l *slog.Logger) Option { return func(w *Worker) error { w.logger = l; return nil } }

// NewWorker returns a worker that sends with client (its limiter, retry policy, consent
// checks and timeouts apply to every send). It panics if client is nil, or an option was given
// an invalid value: programming errors found at start-up.
func NewWorker(client *mensatek.Client, opts ...Option) *Worker {
	if client == nil {
		panic("outbox: NewWorker: nil *mensatek.Client")
	}
	w := &Worker{client: client, refusalMin: DefaultRefusalBackoffMin, refusalMax: DefaultRefusalBackoffMax, snooze: DefaultSnooze}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(w); err != nil {
			panic(err.Error())
		}
	}
	return w
}

// Timeout returns the job timeout set by [WithTimeout], or 0 for the River client's.
func (w *Worker) Timeout(*river.Job[SendArgs]) time.Duration { return w.timeout }

// NextRetry returns when a job refused for a reason time can cure is retried; zero (River's
// retry policy) for every other failure.
func (w *Worker) NextRetry(job *river.Job[SendArgs]) time.Time { return job.Args.retryAt }

// Error texts the worker records. An earlier attempt is proved to have sent nothing only by an
// error that starts with notSentPrefix: the worker writes it for nothing else.
const (
	notSentPrefix = "mensatek outbox: not sent"
	retryText     = notSentPrefix + " (will retry): "
	refusedText   = notSentPrefix + " (refused, not retried): "
	unknownText   = "mensatek outbox: outcome unknown, not retried: "
	sentText      = "mensatek outbox: sent, "
)

// Work sends the job's request once; see [Worker] for how each outcome ends the job.
func (w *Worker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	ref := job.Args.Request.Reference
	if err := job.Args.readErr; err != nil {
		return w.retry(ctx, job, fmt.Errorf("cannot read the stored request (written by a newer release?): %w", err))
	}
	if out, ok := OutputOf(job.JobRow); ok && out.Outcome == OutcomeSent {
		// An earlier attempt sent it; what failed was only the bookkeeping after the send.
		if err := river.RecordOutput(ctx, out); err != nil {
			return fmt.Errorf(sentText+"recording the result failed: %w", err)
		}
		return w.finish(ctx, job, out)
	}
	if why := earlierAttemptMayHaveSent(job.JobRow); why != "" {
		return w.unknown(ctx, job, errors.New("an earlier attempt may have sent it: "+why), nil)
	}

	send := w.client.Send
	if w.checked {
		if err := w.checkTemplate(ctx, job.Args.Request.Message); err != nil {
			var te *mensatek.TemplateError
			if errors.As(err, &te) {
				return w.refused(ctx, job, err)
			}
			err = fmt.Errorf("reading the template to check it: %w", err)
			if classify(err) == verdictWait {
				return w.wait(ctx, job, err)
			}
			return w.retry(ctx, job, err) // a read sends nothing
		}
		send = w.client.SendChecked
	}
	res, err := send(ctx, job.Args.Request)
	if err == nil {
		out := outputOf(ref, res)
		if err := river.RecordOutput(ctx, out); err != nil {
			// Without the record a retry could not tell that it was sent: never retry.
			return river.JobCancel(&jobError{text: fmt.Sprintf(sentText+"idMensaje %d, but recording the result failed: %v", res.MessageID, err)})
		}
		return w.finish(ctx, job, out)
	}

	switch classify(err) {
	case verdictUnknown:
		if res != nil {
			// The API accepted the send (Res > 0) but part of its reply could not be read:
			// keep what was read with the unknown outcome.
			return w.unknown(ctx, job, err, outputOf(ref, res))
		}
		return w.unknown(ctx, job, err, nil)
	case verdictRefused:
		return w.refused(ctx, job, err)
	case verdictWait:
		return w.wait(ctx, job, err)
	case verdictSnooze:
		d := w.snooze/2 + rand.N(w.snooze+1)
		w.log(ctx, slog.LevelInfo, "mensatek outbox: snoozed", job, err, slog.Duration("snooze", d))
		return river.JobSnooze(d)
	default:
		return w.retry(ctx, job, err)
	}
}

// checkTemplate reads the template a template message names (the client caches it for
// SendChecked), so that a failure to read it, which sends nothing, is told apart from the
// send's own failures.
func (w *Worker) checkTemplate(ctx context.Context, m mensatek.Message) error {
	var name string
	switch t := m.(type) {
	case mensatek.Template:
		name = t.Name
	case *mensatek.Template:
		if t == nil {
			return nil
		}
		name = t.Name
	default:
		return nil
	}
	_, err := w.client.TemplateByName(ctx, name)
	var ve *mensatek.ValidationError
	if errors.As(err, &ve) {
		return nil // SendChecked reports the request's mistakes, with the others
	}
	return err
}

type verdict int

const (
	verdictRetry   verdict = iota // not sent: River's retry policy
	verdictWait                   // refused for now: a long backoff
	verdictSnooze                 // not sent, out of time before it could start
	verdictRefused                // not sent, and no retry can cure it
	verdictUnknown                // may have been sent
)

// classify says how a failed send ends its job. What is not proved unsent is unknown.
func classify(err error) verdict {
	var apiErr *mensatek.APIError
	var valErr *mensatek.ValidationError
	switch {
	case errors.Is(err, mensatek.ErrOutcomeUnknown):
		return verdictUnknown
	case errors.Is(err, mensatek.ErrInsufficientCredits), errors.Is(err, mensatek.ErrAuthentication):
		return verdictWait
	case errors.As(err, &apiErr) && apiErr.HTTPStatus == http.StatusTooManyRequests:
		return verdictWait // refused before it was processed; the client retried what it could
	case errors.Is(err, mensatek.ErrOptedOut), errors.Is(err, mensatek.ErrOutsideServiceWindow),
		errors.As(err, &valErr), errors.Is(err, mensatek.ErrInvalidRequest),
		errors.Is(err, mensatek.ErrTemplateNotFound), errors.Is(err, mensatek.ErrTemplateNotApproved):
		return verdictRefused
	case errors.Is(err, mensatek.ErrNotSent):
		if errors.Is(err, context.DeadlineExceeded) {
			return verdictSnooze
		}
		return verdictRetry
	case apiErr != nil && apiErr.Operation != mensatek.OpSend:
		return verdictRetry // a read before the send (SendChecked's template) failed
	case apiErr != nil:
		return verdictRefused // any other answer of the API refusing the send
	}
	return verdictUnknown
}

// earlierAttemptMayHaveSent returns why an earlier attempt of job may have sent its message, or
// "" when each one provably sent nothing. The worker records an error starting with
// notSentPrefix for each attempt that sent nothing and is retried; River decrements the attempt
// of a snoozed job and of one stopped with its client (the worker lets that happen only before
// a send could leave). Any other error (the rescuer's after a worker was killed, a panic), or
// an attempt without a record, may have come after the request left.
func earlierAttemptMayHaveSent(job *rivertype.JobRow) string {
	for _, e := range job.Errors {
		// River records a cancelled job's error with this prefix.
		if !strings.HasPrefix(strings.TrimPrefix(e.Error, "JobCancelError: "), notSentPrefix) {
			return fmt.Sprintf("attempt %d ended with %q", e.Attempt, e.Error)
		}
	}
	if n := len(job.Errors); n < job.Attempt-1 {
		return fmt.Sprintf("this is attempt %d, but only %d earlier ones left a record", job.Attempt, n)
	}
	return ""
}

// jobError is an error the worker records. It matches mensatek.ErrOutcomeUnknown for an
// unknown outcome and nothing else: in particular never context.Canceled, which River takes
// for a job stopped with its client and retries without recording anything.
type jobError struct {
	text    string
	unknown bool
}

func (e *jobError) Error() string { return e.text }

func (e *jobError) Unwrap() error {
	if e.unknown {
		return mensatek.ErrOutcomeUnknown
	}
	return nil
}

// retry ends the attempt with an error River retries. It wraps err, so River sees a context
// error of a client that is stopping and puts the job back as it was: nothing was sent.
func (w *Worker) retry(ctx context.Context, job *river.Job[SendArgs], err error) error {
	w.log(ctx, slog.LevelInfo, "mensatek outbox: not sent, will retry", job, err)
	return fmt.Errorf(retryText+"%w", err)
}

// wait ends the attempt with an error River retries after a long backoff: from the minimum,
// doubling with each attempt, up to the maximum, with jitter; or, when the API's reply asked for a
// longer wait (Retry-After, in [mensatek.APIError.RetryAfter]), after that.
func (w *Worker) wait(ctx context.Context, job *river.Job[SendArgs], err error) error {
	backoff := w.refusalMin
	for i := 1; i < job.Attempt && backoff < w.refusalMax; i++ {
		backoff *= 2
	}
	backoff = min(backoff, w.refusalMax)
	wait := backoff/2 + rand.N(backoff/2+1)
	var apiErr *mensatek.APIError
	if errors.As(err, &apiErr) && apiErr.RetryAfter > wait {
		wait = apiErr.RetryAfter
	}
	// The executor asks NextRetry with this same job value right after Work returns.
	job.Args.retryAt = time.Now().Add(wait)
	return w.retry(ctx, job, err)
}

func (w *Worker) refused(ctx context.Context, job *river.Job[SendArgs], err error) error {
	w.log(ctx, slog.LevelWarn, "mensatek outbox: refused, not sent", job, err)
	e := &jobError{text: refusedText + err.Error()}
	_ = river.RecordOutput(ctx, &Output{Outcome: OutcomeRefused, Reference: job.Args.Request.Reference, Error: e.text})
	return river.JobCancel(e)
}

// unknown cancels the job as outcome unknown, recording out (what was read of an accepted
// send's reply), or an output of its own when out is nil.
func (w *Worker) unknown(ctx context.Context, job *river.Job[SendArgs], err error, out *Output) error {
	w.log(ctx, slog.LevelError, "mensatek outbox: outcome unknown, cancelled", job, err)
	e := &jobError{text: unknownText + err.Error(), unknown: true}
	if out == nil {
		out = &Output{Reference: job.Args.Request.Reference}
	}
	out.Outcome, out.Error = OutcomeUnknown, e.text
	_ = river.RecordOutput(ctx, out)
	return river.JobCancel(e)
}

// finish completes a sent job: River does, or WithOnSent's callback and the completion in one
// transaction.
func (w *Worker) finish(ctx context.Context, job *river.Job[SendArgs], out *Output) error {
	if w.onSent == nil {
		return nil
	}
	rc, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf(sentText+"idMensaje %d, but WithOnSent needs a River client on pgx v5: %w", out.MessageID, err)
	}
	execTx, err := rc.Driver().GetExecutor().Begin(ctx)
	if err != nil {
		return fmt.Errorf(sentText+"idMensaje %d; storing the result will be retried: %w", out.MessageID, err)
	}
	tx := rc.Driver().UnwrapTx(execTx)
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := w.onSent(ctx, tx, job, out); err != nil {
		return fmt.Errorf(sentText+"idMensaje %d; OnSent failed and will be retried: %w", out.MessageID, err)
	}
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
		return fmt.Errorf(sentText+"idMensaje %d; completing the job will be retried: %w", out.MessageID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf(sentText+"idMensaje %d; committing OnSent will be retried: %w", out.MessageID, err)
	}
	return nil
}

func (w *Worker) log(ctx context.Context, level slog.Level, msg string, job *river.Job[SendArgs], err error, attrs ...slog.Attr) {
	if w.logger == nil {
		return
	}
	attrs = append(attrs, slog.Int64("job_id", job.ID), slog.Int("attempt", job.Attempt),
		slog.String("reference", job.Args.Request.Reference), slog.String("error", err.Error()))
	w.logger.LogAttrs(ctx, level, msg, attrs...)
}

var _ river.Worker[SendArgs] = (*Worker)(nil)
