package mensatek

import (
	"context"
	"net/http"
	"time"
)

// ClientObserver is told what a [Client] does, as it happens: each call, each HTTP attempt of
// it, the rate limiter's waits, the pauses between retries, the consent refusals and the
// credits replies carry. It is the hook on which tracing and metrics are built (the
// mensatekotel module implements it for OpenTelemetry); set it with [WithObserver]. A client
// without one pays nothing for it: no call, no allocation, no clock reading.
//
// The methods are called on the caller's goroutine, synchronously, so they must be quick and
// safe for concurrent use. The Start methods return the context the rest of the call (or
// attempt) runs with, so a span an observer puts there is the parent of what happens inside:
// the attempts of a call, the HTTP client's own spans of an attempt (an otelhttp transport in
// [WithHTTPClient]). The End methods get the context their Start returned.
//
// Errors given to an observer are the SDK's errors: their texts may name phones and quote the
// server, so an observer that records them should classify them with [errors.Is] and
// [errors.As] (the sentinels, [ErrOutcomeUnknown], [*APIError]'s Code) rather than record
// their text. Nothing else an observer is given holds personal data or credentials.
//
// Methods may be added to this interface in a minor release, with a default: embed
// [NopClientObserver] in an implementation to keep it compiling.
type ClientObserver interface {
	// CallStart is called when a call of the API begins, before it checks its input: one per
	// call of Send (and the methods built on it), SendTyping, DownloadMedia(To),
	// SetAccountStatus, Templates and TemplateVariables.
	CallStart(ctx context.Context, call CallInfo) context.Context
	// CallEnd is called when that call returns.
	CallEnd(ctx context.Context, call CallInfo, result CallResult)
	// AttemptStart is called before each HTTP request of a call (after the limiter's wait).
	AttemptStart(ctx context.Context, attempt AttemptInfo) context.Context
	// AttemptEnd is called when the attempt's reply has been read (or the request failed).
	AttemptEnd(ctx context.Context, attempt AttemptInfo, result AttemptResult)
	// LimiterWait is called after each wait for the rate limiter ([WithLimiter]), with how
	// long it took; its context is the call's.
	LimiterWait(ctx context.Context, wait Wait)
	// Backoff is called before the client pauses between two attempts, with the pause; its
	// context is the call's.
	Backoff(ctx context.Context, wait Wait)
	// ConsentRefused is called for each recipient a send refuses for consent ([WithContacts]),
	// with [ErrOptedOut] or [ErrOutsideServiceWindow]; its context is the call's.
	ConsentRefused(ctx context.Context, op Operation, reason error)
	// CreditsSeen is called with the credits a successful reply carried (what
	// [Client.Credits] then returns); its context is the call's.
	CreditsSeen(ctx context.Context, op Operation, credits float64)
}

// CallInfo describes a call of the API, for a [ClientObserver].
type CallInfo struct {
	Operation Operation
	// Recipients is how many recipients a send was asked to reach; 0 for other operations.
	Recipients int
	// Start is when the call began.
	Start time.Time
}

// CallResult is how a call ended, for a [ClientObserver].
type CallResult struct {
	// MessageID is the id the API gave a send (idMensaje); 0 otherwise.
	MessageID int64
	// Err is the error the call returned; nil for a success. Its text may name phones.
	Err error
}

// AttemptInfo describes one HTTP attempt of a call, for a [ClientObserver].
type AttemptInfo struct {
	Operation Operation
	// Retry is the attempt's number among the call's retries: 0 for the first attempt, 1 for
	// the first retry (OpenTelemetry's http.request.resend_count).
	Retry int
	// URL is the address the request is posted to: the base URL and the API function's name,
	// without credentials (they travel in a header) or query.
	URL string
	// Start is when the attempt began.
	Start time.Time
}

// AttemptResult is how an HTTP attempt ended, for a [ClientObserver].
type AttemptResult struct {
	// HTTPStatus is the reply's HTTP status; 0 when no reply came.
	HTTPStatus int
	// NeverSent reports that the request provably did not reach the server.
	NeverSent bool
	// Err is the attempt's error; nil when the attempt succeeded. Its text may name phones.
	Err error
}

// Wait is a pause of a call, for a [ClientObserver]: the rate limiter's, or a backoff
// between attempts.
type Wait struct {
	Operation Operation
	// Retry is the number of the attempt that follows the wait: 0 before the first attempt.
	Retry int
	// Duration is how long the client waited (the limiter) or is about to wait (a backoff).
	Duration time.Duration
	// Err is the limiter's refusal, which ends the call; nil otherwise. For a backoff, it is
	// the error of the attempt that is being retried.
	Err error
}

// NopClientObserver is a [ClientObserver] that does nothing; embed it in an observer that
// implements only some of the methods.
type NopClientObserver struct{}

// CallStart returns ctx.
func (NopClientObserver) CallStart(ctx context.Context, _ CallInfo) context.Context { return ctx }

// CallEnd does nothing.
func (NopClientObserver) CallEnd(context.Context, CallInfo, CallResult) {}

// AttemptStart returns ctx.
func (NopClientObserver) AttemptStart(ctx context.Context, _ AttemptInfo) context.Context {
	return ctx
}

// AttemptEnd does nothing.
func (NopClientObserver) AttemptEnd(context.Context, AttemptInfo, AttemptResult) {}

// LimiterWait does nothing.
func (NopClientObserver) LimiterWait(context.Context, Wait) {}

// Backoff does nothing.
func (NopClientObserver) Backoff(context.Context, Wait) {}

// ConsentRefused does nothing.
func (NopClientObserver) ConsentRefused(context.Context, Operation, error) {}

// CreditsSeen does nothing.
func (NopClientObserver) CreditsSeen(context.Context, Operation, float64) {}

// WithObserver makes the client tell o what it does (see [ClientObserver]). Given several
// times, the last wins; nil removes an observer set before.
func WithObserver(o ClientObserver) Option {
	return func(c *config) error {
		c.observer = o
		return nil
	}
}

// observeLimiter waits for the limiter, and tells the observer how long that took.
func (c *Client) observeLimiter(ctx context.Context, op Operation, retry int) error {
	if c.observer == nil {
		return waitLimiter(ctx, c.limiter)
	}
	start := time.Now()
	err := waitLimiter(ctx, c.limiter)
	c.observer.LimiterWait(ctx, Wait{Operation: op, Retry: retry, Duration: time.Since(start), Err: err})
	return err
}

// observeAttempt makes one attempt of a call through try, between the observer's
// AttemptStart and AttemptEnd.
func (c *Client) observeAttempt(ctx context.Context, op Operation, retry int, body []byte, stream bool, read func(ex *exchange) outcome) (attempt, error) {
	if c.observer == nil {
		return c.try(ctx, op, body, stream, read)
	}
	info := AttemptInfo{Operation: op, Retry: retry, URL: c.baseURL + c.endpoints[op], Start: time.Now()}
	actx := c.observer.AttemptStart(ctx, info)
	a, err := c.try(actx, op, body, stream, read)
	c.observer.AttemptEnd(actx, info, AttemptResult{HTTPStatus: a.status, NeverSent: a.neverSent, Err: err})
	return a, err
}

// observeBackoff tells the observer about the pause before retry number retry.
func (c *Client) observeBackoff(ctx context.Context, op Operation, retry int, wait time.Duration, err error) {
	if c.observer != nil {
		c.observer.Backoff(ctx, Wait{Operation: op, Retry: retry, Duration: wait, Err: err})
	}
}

// startCall tells the observer that a call begins; the returned function tells it how the call
// ended. Only called when there is an observer.
func (c *Client) startCall(ctx context.Context, op Operation, recipients int) (context.Context, func(messageID int64, err error)) {
	info := CallInfo{Operation: op, Recipients: recipients, Start: time.Now()}
	ctx = c.observer.CallStart(ctx, info)
	return ctx, func(messageID int64, err error) {
		c.observer.CallEnd(ctx, info, CallResult{MessageID: messageID, Err: err})
	}
}

// observeCredits tells the observer the credits of a successful reply.
func (c *Client) observeCredits(ctx context.Context, op Operation, h *replyHead) {
	if c.observer == nil {
		return
	}
	if v, ok, err := h.Cred.Float(); ok && err == nil {
		c.observer.CreditsSeen(ctx, op, v)
	}
}

// WebhookObserver is told what a [NewWebhookHandler] handler does with each delivery: when it
// starts and ends, the report it read, what the deduplication store's claim found, and the run
// of your function. It is the hook on which tracing and metrics are built (the mensatekotel
// module implements it for OpenTelemetry); set it with [WithWebhookObserver]. A handler
// without one pays nothing for it.
//
// As for [ClientObserver]: the methods are called synchronously and must be safe for
// concurrent use; DeliveryStart and FuncStart return the context that what follows runs with
// (your function gets FuncStart's); errors may name phones, so record their kind, not their
// text. Methods may be added in a minor release: embed [NopWebhookObserver] to keep an
// implementation compiling.
type WebhookObserver interface {
	// DeliveryStart is called when a request reaches the handler, before anything is checked,
	// credentials included: r's headers (a propagated trace context, say) are anyone's to write
	// until the handler has authenticated the request. Its body is not the observer's to read.
	DeliveryStart(ctx context.Context, r *http.Request) context.Context
	// ReportRead is called once the body was read as a report.
	ReportRead(ctx context.Context, report ReportInfo)
	// Claimed is called with what the deduplication store's claim found (not called without
	// deduplication, nor when the store failed).
	Claimed(ctx context.Context, status ClaimStatus)
	// FuncStart is called before your function runs; it gets the returned context.
	FuncStart(ctx context.Context) context.Context
	// FuncEnd is called when your function returned (err holds a recovered panic too, and is
	// http.ErrAbortHandler when your function panicked with it to abort the response).
	FuncEnd(ctx context.Context, err error)
	// DeliveryEnd is called when the handler has answered, with the HTTP status it answered;
	// 0 when the response was aborted (a panic with http.ErrAbortHandler) before a status.
	DeliveryEnd(ctx context.Context, httpStatus int)
}

// ReportInfo is what a [WebhookObserver] learns of a report: no phone, name, text or id. The
// values come from the network as they were sent: anyone who can post to the webhook chooses
// them, so bound them before using them as metric labels.
type ReportInfo struct {
	Direction Direction
	Status    int
	Type      string
}

// NopWebhookObserver is a [WebhookObserver] that does nothing; embed it in an observer that
// implements only some of the methods.
type NopWebhookObserver struct{}

// DeliveryStart returns ctx.
func (NopWebhookObserver) DeliveryStart(ctx context.Context, _ *http.Request) context.Context {
	return ctx
}

// ReportRead does nothing.
func (NopWebhookObserver) ReportRead(context.Context, ReportInfo) {}

// Claimed does nothing.
func (NopWebhookObserver) Claimed(context.Context, ClaimStatus) {}

// FuncStart returns ctx.
func (NopWebhookObserver) FuncStart(ctx context.Context) context.Context { return ctx }

// FuncEnd does nothing.
func (NopWebhookObserver) FuncEnd(context.Context, error) {}

// DeliveryEnd does nothing.
func (NopWebhookObserver) DeliveryEnd(context.Context, int) {}

// WithWebhookObserver makes the handler tell o what it does with each delivery (see
// [WebhookObserver]). Given several times, the last wins; nil removes one set before.
func WithWebhookObserver(o WebhookObserver) WebhookOption {
	return func(c *webhookConfig) error {
		c.observer = o
		return nil
	}
}

// observeDelivery starts observing a delivery: it returns the writer and request the handler
// goes on with, which record the status answered and carry the observer's context, and the
// function that ends the observation. Only called when there is an observer.
func (h *webhookHandler) observeDelivery(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, func()) {
	obs := h.cfg.observer
	ctx := obs.DeliveryStart(r.Context(), r)
	sw := &statusWriter{ResponseWriter: w}
	return sw, r.WithContext(ctx), func() { // deferred by ServeHTTP: recover sees its panic
		p := recover()
		status := sw.status
		if status == 0 && p == nil {
			status = http.StatusOK // net/http answers 200 for a handler that wrote nothing
		}
		obs.DeliveryEnd(ctx, status)
		if p != nil {
			panic(p) // http.ErrAbortHandler, passed on
		}
	}
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the writer underneath.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// unwrapStatusWriter returns the server's own writer: http.MaxBytesReader tells it through an
// unexported method that a body was too large, so that it closes the connection.
func unwrapStatusWriter(w http.ResponseWriter) http.ResponseWriter {
	if sw, ok := w.(*statusWriter); ok {
		return sw.ResponseWriter
	}
	return w
}
