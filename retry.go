package mensatek

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// RetryPolicy says how often and how long the client waits and tries again after a failure that
// is safe to repeat. Which failures those are depends on the operation, never on the policy:
//   - reads (Templates, TemplateVariables, media downloads) and the typing indicator are retried
//     on connection errors, 408, 429 and 5xx;
//   - a send and an account-status change are retried only when the request provably never
//     reached the server (the transport never began to write it: DNS, connect and TLS
//     failures, a timeout while connecting) or was refused with 429; anything else that may
//     have reached it is returned as ErrOutcomeUnknown, never repeated;
//   - authentication, credit and data errors (Res -1, -2, -3) are never retried.
//
// Waits grow exponentially from InitialBackoff, with full jitter, up to MaxBackoff; a
// Retry-After header (seconds or a date) is honoured when it is not longer than MaxBackoff, and
// ends the retries when it is. Every wait ends early when the context is done.
//
// The whole call, every attempt and wait, is bounded by [WithTimeout]; AttemptTimeout bounds each
// attempt within it, so a server that hangs once leaves time for a retry (of a read: a send
// whose attempt timed out after its request left is never repeated).
type RetryPolicy struct {
	MaxRetries     int           // retries after the first attempt; 0 turns retries off
	InitialBackoff time.Duration // the first wait's upper bound (default 200 ms)
	MaxBackoff     time.Duration // the longest wait, Retry-After included (default 5 s)
	// AttemptTimeout bounds each attempt, from its request to the end of its reply; 0 (the
	// default) sets no bound but the call's (WithTimeout). It does not apply to media
	// downloads, whose waits for data WithTimeout bounds.
	AttemptTimeout time.Duration
}

// DefaultRetryPolicy is the policy a client has unless [WithRetryPolicy] says otherwise: up to 2
// retries, waits from 200 ms up to 5 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 2, InitialBackoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second}
}

// WithRetryPolicy sets how the client retries failures that are safe to repeat; see
// [RetryPolicy]. RetryPolicy{} turns retries off.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *config) error {
		if p.MaxRetries < 0 || p.InitialBackoff < 0 || p.MaxBackoff < 0 || p.AttemptTimeout < 0 {
			return fmt.Errorf("mensatek: WithRetryPolicy: negative value in %+v", p)
		}
		if p.MaxRetries > 10 {
			return fmt.Errorf("mensatek: WithRetryPolicy: %d retries; the provider blocks clients that hammer it, use at most 10", p.MaxRetries)
		}
		if p.InitialBackoff == 0 {
			p.InitialBackoff = DefaultRetryPolicy().InitialBackoff
		}
		if p.MaxBackoff == 0 {
			p.MaxBackoff = DefaultRetryPolicy().MaxBackoff
		}
		if p.MaxBackoff < p.InitialBackoff {
			p.MaxBackoff = p.InitialBackoff
		}
		c.retry = p
		return nil
	}
}

// DefaultAuthCooldown is how long a client fails fast after an authentication failure unless
// [WithAuthCooldown] says otherwise.
const DefaultAuthCooldown = time.Minute

// WithAuthCooldown sets how long, after the API refused the credentials, every call fails at
// once with an error matching ErrAuthentication and ErrNotSent (it wraps the earlier refusal, an
// [*APIError]) instead of reaching the API (default 1 minute;
// 0 turns it off). The provider treats repeated failed connections as spam and blocks them: a
// misconfigured deployment must not keep knocking.
func WithAuthCooldown(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("mensatek: WithAuthCooldown: negative duration %v", d)
		}
		c.authCooldown = d
		return nil
	}
}

// Limiter makes a call wait for its turn. [*rate.Limiter] from golang.org/x/time/rate satisfies
// it; a limiter shared by several processes (such as redisstore.RateLimiter) keeps replicas that
// send with the same credentials under one limit together. Wait blocks until a call may go, or
// returns an error (then the call is not sent), honouring ctx. It must be safe for concurrent use.
type Limiter interface {
	Wait(ctx context.Context) error
}

// WithLimiter makes every attempt of every call wait for l first. An error from l.Wait fails the
// call before anything is sent, wrapping l's error (and matching [ErrNotSent], unless an earlier
// attempt of the call reached the API). nil removes any limiter set before.
// [WithRateLimit] is the in-process shortcut.
func WithLimiter(l Limiter) Option {
	return func(c *config) error {
		c.limiter = l
		return nil
	}
}

// WithRateLimit limits the client to perSecond calls a second with bursts of burst, shared by
// every goroutine that uses it. A call over the limit waits for its turn (honouring its
// context) instead of failing. It is [WithLimiter] with a [*rate.Limiter]; replicas that must
// share one limit use a shared [Limiter] instead.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *config) error {
		if perSecond <= 0 || burst < 1 {
			return fmt.Errorf("mensatek: WithRateLimit: want perSecond > 0 and burst >= 1, got %v and %d", perSecond, burst)
		}
		c.limiter = rate.NewLimiter(rate.Limit(perSecond), burst)
		return nil
	}
}

// attempt describes how one try of a call ended, for the retry decision.
type attempt struct {
	status     int           // HTTP status; 0 when no reply came
	retryAfter time.Duration // the reply's Retry-After, 0 if none
	neverSent  bool          // the request provably did not reach the server (never written)
	transport  bool          // no complete reply: a connection error, a timeout, a body cut short
}

// retryable decides whether a failed attempt of op may be repeated. An answer of the API itself
// (a Res code: authentication, credits, data) is never repeated; a send is repeated only when
// it provably did not arrive or was refused with 429.
func retryable(op Operation, a attempt, err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Code != 0 {
		return false
	}
	if errors.Is(err, ErrAuthentication) {
		return false
	}
	switch {
	case a.neverSent:
		return true
	case a.status == http.StatusTooManyRequests:
		return true // refused before it was processed
	case mayHaveSent(op):
		return false
	case a.transport:
		return true
	case a.status == http.StatusRequestTimeout || a.status >= 500:
		return true
	}
	return false
}

// backoff returns the wait before retry number n (from 1): full jitter over an exponential
// bound, or the server's Retry-After when it gave one.
func (p RetryPolicy) backoff(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter
	}
	bound := p.InitialBackoff
	for i := 1; i < n && bound < p.MaxBackoff; i++ {
		bound *= 2
	}
	if bound > p.MaxBackoff {
		bound = p.MaxBackoff
	}
	if bound <= 0 {
		return 0
	}
	// Half fixed, half random: spreads clients out without waits that are almost zero.
	return bound/2 + rand.N(bound/2+1)
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.Atoi(h); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitLimiter waits for l's permission to make one call. An error matches ctx's error when ctx
// ended the wait. A *rate.Limiter refuses at once a wait that cannot end before ctx's deadline,
// with an error that matches neither context error: it is made to match
// context.DeadlineExceeded, as the deadline is what refused it.
func waitLimiter(ctx context.Context, l interface{ Wait(context.Context) error }) error {
	err := l.Wait(ctx)
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		if !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", err, ctxError(ctx, cerr))
		}
		return err
	}
	// With a burst of at least 1, a deadline is all that makes Wait(1) fail before ctx ends.
	if rl, ok := l.(*rate.Limiter); ok && rl.Burst() >= 1 {
		if _, ok := ctx.Deadline(); ok {
			err = fmt.Errorf("%w: %w", err, context.DeadlineExceeded)
		}
	}
	return err
}

// authCooldownError is returned while calls fail fast after an authentication failure.
type authCooldownError struct {
	op    Operation
	at    time.Time // when the API refused the credentials
	now   time.Time // when this call was refused
	until time.Time
	cause error
}

func (e *authCooldownError) Error() string {
	return fmt.Sprintf("mensatek: %s: not sent: the API refused the credentials %s ago, so calls fail fast until %s "+
		"to avoid the provider's spam block (WithAuthCooldown); fix the credentials: %s",
		e.op, e.now.Sub(e.at).Round(time.Second), e.until.Format(time.TimeOnly), strings.TrimPrefix(e.cause.Error(), "mensatek: "))
}

// Unwrap gives ErrNotSent (this call reached nothing), ErrAuthentication and the earlier call's
// refusal, an *APIError kept for what it says.
func (e *authCooldownError) Unwrap() []error { return []error{ErrAuthentication, ErrNotSent, e.cause} }

// checkCooldown fails fast while an authentication failure is recent.
func (c *Client) checkCooldown(op Operation) error {
	if c.authCooldown <= 0 {
		return nil
	}
	c.mu.Lock()
	at, cause := c.authFailedAt, c.authErr
	c.mu.Unlock()
	if cause == nil || c.now().Sub(at) >= c.authCooldown {
		return nil
	}
	return &authCooldownError{op: op, at: at, now: c.now(), until: at.Add(c.authCooldown), cause: cause}
}

// noteOutcome starts the cooldown after the API refused the credentials, and ends it after any
// call the API accepted.
func (c *Client) noteOutcome(err error) {
	if c.authCooldown <= 0 {
		return
	}
	if err == nil { // the common case, without the allocations of errors.As below
		c.mu.Lock()
		c.authErr = nil
		c.mu.Unlock()
		return
	}
	var apiErr *APIError
	if !errors.Is(err, ErrAuthentication) || !errors.As(err, &apiErr) {
		return
	}
	var cooling *authCooldownError
	if errors.As(err, &cooling) {
		return
	}
	c.mu.Lock()
	c.authFailedAt, c.authErr = c.now(), apiErr
	c.mu.Unlock()
}
