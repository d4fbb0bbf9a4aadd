package mensatek

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/mensatek-go/mensatek/internal/phone"
	"github.com/mensatek-go/mensatek/internal/wire"
)

// Version is this SDK's version, sent in the default User-Agent.
const Version = "0.1.0"

// DefaultBaseURL is the API's address; [WithBaseURL] points a client elsewhere.
const DefaultBaseURL = "https://api.mensatek.com/v7/"

// DefaultTimeout bounds each call, retries included, unless [WithTimeout] says otherwise.
const DefaultTimeout = 30 * time.Second

// MaxReplyBytes is the most the client reads of a JSON reply; a larger one is an error.
const MaxReplyBytes = 1 << 20

// drainLimit is how much of an unread body is read before closing, so the connection can be reused.
const drainLimit = 64 << 10

// Client calls the Mensatek API. Make one with [NewClient]; it is safe for concurrent use, and its
// configuration never changes after construction.
type Client struct {
	baseURL   string // always ends in "/"
	endpoints map[Operation]string
	// rc holds the credentials, as its Authorization header. It is behind a pointer: fmt prints
	// a nested pointer as an address, so even a struct that holds the client in an unexported
	// field, printed with a bad verb, never shows them.
	rc           *resty.Client
	callTimeout  *timeoutCause // the cause of a call that WithTimeout ended
	tryTimeout   *timeoutCause // the cause of an attempt that RetryPolicy.AttemptTimeout ended
	timeout      time.Duration
	logger       *slog.Logger // nil: no logging
	templates    *templateCache
	retry        RetryPolicy
	authCooldown time.Duration
	limiter      Limiter          // nil: no limit; shared by every goroutine
	now          func() time.Time // the clock of the auth cooldown; tests replace it
	contacts     ContactStore     // nil: no consent checks (WithContacts)
	contactCfg   *contactConfig
	region       *phone.RegionData // national numbers' region (WithDefaultRegion); nil: none
	observer     ClientObserver    // nil: nothing observes the client (WithObserver)

	mu           sync.Mutex
	credits      float64
	creditsAt    time.Time
	authFailedAt time.Time // when the API last refused the credentials
	authErr      error     // that refusal; nil once a call succeeded
}

// NewClient returns a client that authenticates as apiUser with apiToken (from the panel, under
// Your Data → Configure Account). It fails on empty credentials and on invalid options.
func NewClient(apiUser, apiToken string, opts ...Option) (*Client, error) {
	if strings.TrimSpace(apiUser) == "" {
		return nil, errors.New("mensatek: NewClient: empty API user")
	}
	if strings.TrimSpace(apiToken) == "" {
		return nil, errors.New("mensatek: NewClient: empty API token")
	}
	cfg := config{
		baseURL:      DefaultBaseURL,
		timeout:      DefaultTimeout,
		endpoints:    make(map[Operation]string, 6),
		userAgent:    "mensatek-go/" + Version,
		templateTTL:  10 * time.Minute,
		retry:        DefaultRetryPolicy(),
		authCooldown: DefaultAuthCooldown,
	}
	for _, op := range operations() {
		cfg.endpoints[op], _ = defaultEndpoint(op)
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}

	hc := cfg.httpClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32 // one client is shared by many goroutines
		hc = &http.Client{
			Transport: tr,
			// A redirected POST turns into a GET and loses its body: never follow one.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	rc := resty.NewWithClient(hc)
	// resty warns on every request that uses Basic auth over plain http (the loopback fake), and
	// its debug mode prints the Authorization header: route its logger into ours, never debug.
	rc.SetLogger(restyLogger{cfg.logger})
	rc.SetDisableWarn(true)
	rc.SetDebug(false)
	rc.SetRetryCount(0)
	rc.SetHeader("Content-Type", "application/json; charset=utf-8")
	rc.SetHeader("Accept", "application/json")
	if cfg.userAgent != "" {
		rc.SetHeader("User-Agent", cfg.userAgent)
	}
	// Set once here rather than on every request: resty merges the client's headers into each
	// request anyway. Its debug output, the one place that would print them, is never enabled.
	rc.SetHeader("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(apiUser+":"+apiToken)))

	c := &Client{
		baseURL:      cfg.baseURL,
		endpoints:    cfg.endpoints,
		rc:           rc,
		timeout:      cfg.timeout,
		logger:       cfg.logger,
		templates:    newTemplateCache(cfg.templateTTL),
		retry:        cfg.retry,
		callTimeout:  &timeoutCause{what: "call", d: cfg.timeout, setting: "WithTimeout"},
		tryTimeout:   &timeoutCause{what: "attempt", d: cfg.retry.AttemptTimeout, setting: "RetryPolicy.AttemptTimeout"},
		authCooldown: cfg.authCooldown,
		limiter:      cfg.limiter,
		now:          time.Now,
		contacts:     cfg.contacts,
		contactCfg:   cfg.contactCfg,
		region:       cfg.region,
		observer:     cfg.observer,
	}
	return c, nil
}

// BaseURL returns the address the client calls, ending in "/".
func (c *Client) BaseURL() string { return c.baseURL }

// Endpoint returns the API function name the client calls for op.
func (c *Client) Endpoint(op Operation) string { return c.endpoints[op] }

// Credits returns the account's credits as the last successful reply that carried them (Cred)
// said, and when it arrived, without a network call: the provider asks clients not to poll for
// credits. A refused call (Res <= 0 or a non-2xx status) never changes them. ok is false until a
// successful reply has carried them.
func (c *Client) Credits() (credits float64, seen time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.credits, c.creditsAt, !c.creditsAt.IsZero()
}

func (c *Client) noteCredits(cred wire.Number) {
	v, ok, err := cred.Float()
	if !ok || err != nil {
		return
	}
	c.mu.Lock()
	c.credits, c.creditsAt = v, time.Now().Round(0) // wall clock only: it is shown to people
	c.mu.Unlock()
}

// Format prints the client without its credentials, in every verb.
func (c *Client) Format(f fmt.State, verb rune) {
	if c == nil {
		io.WriteString(f, "<nil>")
		return
	}
	fmt.Fprintf(f, "mensatek.Client{BaseURL: %q, credentials: [REDACTED]}", c.baseURL)
}

// String describes the client without its credentials.
func (c *Client) String() string { return fmt.Sprint(c) }

// GoString describes the client without its credentials.
func (c *Client) GoString() string { return fmt.Sprint(c) }

// mayHaveSent reports whether op changes something at the provider that must not happen twice.
func mayHaveSent(op Operation) bool { return op == OpSend || op == OpAccountStatus }

// marshal encodes v as JSON without escaping <, > and &, and without the trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil
}

// exchange is one request's reply, open: read its body, then call done.
type exchange struct {
	resp *http.Response
	ctx  context.Context // the attempt's context; context.Cause tells a timeout
	done func()
}

// post sends one request and returns the raw reply with its body open. When stream is true (a
// download), the client's timeout bounds each wait for data, an idle timeout; otherwise
// the policy's AttemptTimeout, if any, bounds the attempt. On failure, the attempt says whether
// the request provably never left.
func (c *Client) post(ctx context.Context, op Operation, body []byte, stream bool) (*exchange, attempt, error) {
	if err := ctx.Err(); err != nil {
		return nil, attempt{neverSent: true}, fmt.Errorf("mensatek: %s: not sent: %w", op, ctxError(ctx, err))
	}
	cleanup := func() {}
	var touch func()
	switch {
	case stream && c.timeout > 0:
		cctx, cancel := context.WithCancelCause(ctx)
		timeoutErr := fmt.Errorf("no data for %v (WithTimeout): %w", c.timeout, context.DeadlineExceeded)
		timer := time.AfterFunc(c.timeout, func() { cancel(timeoutErr) })
		ctx = cctx
		touch = func() { timer.Reset(c.timeout) }
		cleanup = func() { timer.Stop(); cancel(nil) }
	case !stream && c.retry.AttemptTimeout > 0:
		cctx, cancel := context.WithTimeoutCause(ctx, c.retry.AttemptTimeout, c.tryTimeout)
		ctx = cctx
		cleanup = cancel
	}
	tr := newWriteTrace()
	// The body is a fresh reader over the same bytes on every attempt: a retry replays it
	// byte for byte. resty hands a reader to net/http as it is (a []byte it copies twice), and
	// net/http knows a *bytes.Reader's length: it sends a Content-Length, with the headers in
	// one write.
	r, err := c.rc.R().
		SetContext(httptrace.WithClientTrace(ctx, &tr.hooks)).
		SetBody(bytes.NewReader(body)).
		SetDoNotParseResponse(true).
		Post(c.baseURL + c.endpoints[op])
	if err != nil {
		if r != nil && r.RawResponse != nil && r.RawResponse.Body != nil {
			r.RawResponse.Body.Close()
		}
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) && cause != ctx.Err() {
			err = fmt.Errorf("%w: %w", err, cause)
		}
		cleanup()
		a := attempt{neverSent: tr.neverSent(err), transport: true}
		return nil, a, c.transportError(op, err, a.neverSent)
	}
	resp := r.RawResponse
	if touch != nil {
		resp.Body = &touchReader{ReadCloser: resp.Body, touch: touch}
	}
	a := attempt{status: resp.StatusCode, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	return &exchange{resp: resp, ctx: ctx, done: cleanup}, a, nil
}

// ctxError is err (ctx's own error) with the context's cause, when that says more: a timeout
// of WithTimeout names the option.
func ctxError(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return cause
	}
	return err
}

// timeoutCause is the cause of a context that a timeout ended: what took longer than d, and
// the setting that says d. It is formatted only when read (fmt.Errorf cost about 1 µs a call),
// and made once per client: it never changes.
type timeoutCause struct {
	what, setting string
	d             time.Duration
}

func (e *timeoutCause) Error() string {
	return e.what + " took longer than " + e.d.String() + " (" + e.setting + "): " + context.DeadlineExceeded.Error()
}

func (e *timeoutCause) Unwrap() error { return context.DeadlineExceeded }

// writeTrace records, through net/http/httptrace, whether the transport began to write the
// request: the only sure way to know that a failed request never reached the server. Two hooks
// say it, and each hook is an allocation on every call, so it has no others: GetConn comes
// before any dial, and WroteHeaders once the request line and headers are in the connection's
// write buffer, before the first byte of the body is read (HTTP/1.1 flushes headers and a body
// in memory together; HTTP/2 reports it once the HEADERS frame went out, error or not). A
// request that fails before WroteHeaders has sent no body, and the body holds the whole message.
//
// Watching the body instead (did the transport begin to read it?) would be as sound and need no
// trace, but net/http flushes the headers in a packet of their own for any body that is not a
// *bytes.Reader, *bytes.Buffer or *strings.Reader it can see: a wrapped body cost every send a
// second write to the connection, far more than the two hooks.
type writeTrace struct {
	traced atomic.Bool // the transport asked for a connection: it reports through httptrace
	wrote  atomic.Bool // it wrote the request's headers, and may have sent more
	hooks  httptrace.ClientTrace
}

// newWriteTrace returns a trace whose hooks record into it.
func newWriteTrace() *writeTrace {
	t := &writeTrace{}
	t.hooks.GetConn = func(string) { t.traced.Store(true) }
	t.hooks.WroteHeaders = func() { t.wrote.Store(true) }
	return t
}

// neverSent reports whether the failed request provably did not reach the server. A transport
// that reports through httptrace (net/http's, and those that wrap it) tells it exactly: it asked
// for a connection and never wrote the headers, let alone the body, as after a TLS handshake or
// certificate failure, or a timeout while connecting. For one that does not (httpmock, a custom RoundTripper), only a
// DNS or dial error proves it.
func (t *writeTrace) neverSent(err error) bool {
	if t.wrote.Load() {
		return false
	}
	if t.traced.Load() {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

type touchReader struct {
	io.ReadCloser
	touch func()
}

func (t *touchReader) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if n > 0 {
		t.touch()
	}
	return n, err
}

// transportError classifies a failure to get a reply. A request that provably never left is
// safe to repeat; any other failure of a send may have delivered it.
func (c *Client) transportError(op Operation, err error, neverSent bool) error {
	if neverSent {
		return fmt.Errorf("mensatek: %s: not sent, the request never left: %w", op, err)
	}
	if mayHaveSent(op) {
		return &outcomeError{op: op, cause: err}
	}
	return fmt.Errorf("mensatek: %s: %w", op, err)
}

// replyHead holds the members every reply of the API has. Each operation's reply type embeds it.
type replyHead struct {
	Res   wire.Number // > 0: success (for a send, the count sent); <= 0: an error code
	Error wire.String // the reason of an error
	Cred  wire.Number // the account's credits
}

func (h *replyHead) head() *replyHead { return h }

// member is the field of h that the member named name decodes into, or nil: the part of
// wire.Flat's Member that every flat reply shares. It is not Member itself, so that no reply
// type becomes flat (and skips its own members) just by embedding replyHead.
func (h *replyHead) member(name *wire.Name) json.Unmarshaler {
	switch string(name.Bytes()) {
	case "res":
		return &h.Res
	case "error":
		return &h.Error
	case "cred":
		return &h.Cred
	}
	return nil
}

// reply is a pointer to a struct that embeds replyHead, for DecodeReply.
type reply interface{ head() *replyHead }

// call sends body to op's function and decodes the JSON reply into out, retrying as the policy
// and the operation allow. It returns an error unless Res > 0.
func (c *Client) call(ctx context.Context, op Operation, body []byte, out reply) error {
	return c.callWith(ctx, op, fixedBody(body), out)
}

// callWith is call with a body made before each attempt (see bodyFunc).
func (c *Client) callWith(ctx context.Context, op Operation, body bodyFunc, out reply) error {
	err := c.do(ctx, op, body, false, func(ex *exchange) outcome {
		data, readErr := readLimited(ex.resp.Body, MaxReplyBytes)
		res, err := c.decodeReply(op, ex.resp, data, readErr, out)
		return outcome{res: res, cut: readErr != nil && !errors.Is(readErr, errTooLarge), err: err}
	})
	if err == nil {
		c.observeCredits(ctx, op, out.head())
	}
	return err
}

// outcome is how the reading of one attempt's reply ended.
type outcome struct {
	res       int   // the reply's Res, for the log; 0 when there was none
	cut       bool  // the body broke off: no complete reply came
	delivered bool  // part of the result reached the caller (a download's writer): never retry
	err       error // nil: the call succeeded
}

// bodyFunc returns the body of a call's next attempt, or an error that ends the call before the
// attempt leaves. do calls it once before any wait, and again after every wait (the rate
// limiter's, a retry's backoff) right before the attempt it precedes: a send re-checks its
// recipients' consent there, so no wait lies between the last check and the request.
type bodyFunc func(ctx context.Context) ([]byte, error)

// fixedBody is the bodyFunc of a call whose body never changes.
func fixedBody(b []byte) bodyFunc { return func(context.Context) ([]byte, error) { return b, nil } }

// do is the one request path: every call of every operation, JSON or download, is attempted,
// logged, classified and retried here. Each attempt posts the body that body returns and hands
// the reply, its body open, to read. It fails fast during an authentication cooldown and waits
// for the rate limiter before each attempt. When stream is true (a download), the client's
// timeout bounds each wait for data instead of the whole call, so a large file is not cut off
// while it flows. It marks with ErrNotSent the failures that left nothing at the API: a refusal
// of the limiter, or an attempt that provably never left, when no earlier attempt of the call
// reached it.
func (c *Client) do(ctx context.Context, op Operation, body bodyFunc, stream bool, read func(ex *exchange) outcome) error {
	if err := c.checkCooldown(op); err != nil {
		return err
	}
	if !stream && c.timeout > 0 {
		// A caller's deadline that comes first ends the call anyway: no timer of our own then.
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > c.timeout {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeoutCause(ctx, c.timeout, c.callTimeout)
			defer cancel()
		}
	}
	// Made before any wait, so a send refused for consent takes no turn of the limiter.
	b, err := body(ctx)
	if err != nil {
		return err
	}
	reached := false // an attempt may have reached the API: no error of this call is ErrNotSent
	for n := 0; ; n++ {
		waited := n > 0 // a retry's backoff
		if c.limiter != nil {
			if err := c.observeLimiter(ctx, op, n); err != nil {
				return notSentUnless(reached, fmt.Errorf("mensatek: %s: not sent: waiting for the rate limiter: %w", op, err))
			}
			waited = true
		}
		if waited {
			if b, err = body(ctx); err != nil {
				return err
			}
		}
		a, err := c.observeAttempt(ctx, op, n, b, stream, read)
		c.noteOutcome(err)
		if err == nil {
			return nil
		}
		err = notSentUnless(reached || !a.neverSent, err)
		reached = reached || !a.neverSent
		if n >= c.retry.MaxRetries || ctx.Err() != nil || !retryable(op, a, err) {
			return err
		}
		if a.retryAfter > c.retry.MaxBackoff {
			return err // the server asks for a longer pause than the policy allows in one call
		}
		wait := c.retry.backoff(n+1, a.retryAfter)
		if c.logger != nil {
			c.logger.LogAttrs(ctx, slog.LevelDebug, "mensatek retry", slog.String("operation", string(op)),
				slog.Int("retry", n+1), slog.Duration("wait", wait), slog.String("error", err.Error()))
		}
		c.observeBackoff(ctx, op, n+1, wait, err)
		if serr := sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%w (retry abandoned: %w)", err, serr)
		}
	}
}

// try makes one attempt of a call for do, logs it, and says how it ended for the retry decision.
func (c *Client) try(ctx context.Context, op Operation, body []byte, stream bool, read func(ex *exchange) outcome) (attempt, error) {
	start := time.Now()
	ex, a, err := c.post(ctx, op, body, stream)
	if err != nil {
		c.log(ctx, op, 0, 0, start, err)
		return a, err
	}
	defer ex.done()
	o := read(ex)
	a.transport = o.cut
	var apiErr *APIError
	if a.retryAfter > 0 && errors.As(o.err, &apiErr) {
		apiErr.RetryAfter = a.retryAfter // post read the header already
	}
	if o.delivered {
		a = attempt{} // a retry would deliver it twice
	}
	c.log(ctx, op, ex.resp.StatusCode, o.res, start, o.err)
	return a, o.err
}

// notSentUnless marks err with ErrNotSent, unless a request of the call reached the API.
func notSentUnless(reached bool, err error) error {
	if reached {
		return err
	}
	return markNotSent(err)
}

// readLimited reads at most limit bytes of body, drains a bounded rest and closes it.
func readLimited(body io.ReadCloser, limit int64) ([]byte, error) {
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return data, err
	}
	if int64(len(data)) > limit {
		io.CopyN(io.Discard, body, drainLimit)
		return data[:limit], fmt.Errorf("reply larger than %d bytes: %w", limit, errTooLarge)
	}
	return data, nil
}

var errTooLarge = errors.New("reply too large")

// decodeReply decodes a reply into out, or returns the right error: *APIError for Res <= 0 or a
// non-2xx status, *ResponseError for a reply that cannot be read; either wrapped with
// ErrOutcomeUnknown when a send may have happened. out is reset first, so a retry never sees
// the members of an earlier attempt's reply.
func (c *Client) decodeReply(op Operation, resp *http.Response, data []byte, readErr error, out reply) (int, error) {
	status := resp.StatusCode
	reflect.ValueOf(out).Elem().SetZero()
	var decErr error
	if readErr == nil {
		decErr = wire.DecodeReply(data, out)
	}
	h := out.head()
	res, hasRes, resErr := h.Res.Int()
	ok2xx := status >= 200 && status < 300

	if !ok2xx {
		apiErr := &APIError{Operation: op, HTTPStatus: status}
		if hasRes && resErr == nil && res <= 0 {
			apiErr.Code = int(res)
		}
		if h.Error != "" {
			apiErr.Message = string(h.Error)
		} else {
			apiErr.Message = strings.TrimSpace(http.StatusText(status) + ": " + wire.Excerpt(bytes.TrimSpace(data), 200))
			apiErr.Message = strings.TrimSuffix(apiErr.Message, ":")
		}
		// A 5xx without a Res code may come after the message went out; a 4xx is a refusal.
		if mayHaveSent(op) && apiErr.Code == 0 && status >= 500 {
			return apiErr.Code, &outcomeError{op: op, cause: apiErr}
		}
		return apiErr.Code, apiErr
	}

	var reason string
	switch {
	case readErr != nil && errors.Is(readErr, errTooLarge):
		reason = readErr.Error()
	case readErr != nil:
		reason = "reading the reply failed: " + readErr.Error()
	case decErr != nil:
		reason = decErr.Error()
	case !hasRes && resErr == nil:
		reason = "reply has no Res code"
	case resErr != nil:
		reason = "Res is not a number: " + resErr.Error()
	}
	if reason != "" {
		respErr := &ResponseError{Operation: op, HTTPStatus: status, Reason: reason, Excerpt: wire.Excerpt(bytes.TrimSpace(data), 200), err: readErr}
		if mayHaveSent(op) {
			return 0, &outcomeError{op: op, cause: respErr}
		}
		return 0, respErr
	}
	if res <= 0 {
		return int(res), &APIError{Operation: op, Code: int(res), Message: string(h.Error), HTTPStatus: status}
	}
	// Only an accepted call's Cred is the balance: a refusal may carry 0 or nothing meaningful.
	c.noteCredits(h.Cred)
	return int(res), nil
}

func (c *Client) log(ctx context.Context, op Operation, status, res int, start time.Time, err error) {
	if c.logger == nil || !c.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("operation", string(op)),
		slog.String("function", c.endpoints[op]),
		slog.Int("http_status", status),
		slog.Int("res", res),
		slog.Duration("duration", time.Since(start)),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "mensatek call", attrs...)
}

// restyLogger sends resty's own messages to the client's logger at debug level.
type restyLogger struct{ l *slog.Logger }

func (r restyLogger) Errorf(format string, v ...any) { r.emit(format, v...) }
func (r restyLogger) Warnf(format string, v ...any)  { r.emit(format, v...) }
func (r restyLogger) Debugf(format string, v ...any) { r.emit(format, v...) }

func (r restyLogger) emit(format string, v ...any) {
	if r.l != nil {
		r.l.Debug("resty: " + strings.TrimSpace(fmt.Sprintf(format, v...)))
	}
}
