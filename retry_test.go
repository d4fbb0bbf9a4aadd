package mensatek

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	sendOK      = `[{"Res":"1","idMensaje":"77","Cred":"10","Enviados":"1","NoEnviados":"0"}]`
	templatesOK = `[{"Res":"1","Total":"0","Plantillas":"{}","Cred":"10"}]`
)

// fastRetries retries like the default, with waits short enough for tests.
func fastRetries() Option {
	return WithRetryPolicy(RetryPolicy{MaxRetries: 2, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
}

// script answers a function's requests in turn with the given statuses and bodies; the last
// answer repeats. It records the bodies it received.
type script struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter, r *http.Request)
	bodies  [][]byte
}

func (s *script) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, b)
	i := len(s.bodies) - 1
	if i >= len(s.answers) {
		i = len(s.answers) - 1
	}
	answer := s.answers[i]
	s.mu.Unlock()
	answer(w, r)
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

func status(code int, body string, header ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		writeReply(w, code, body)
	}
}

func TestRetryPolicyOptions(t *testing.T) {
	t.Parallel()
	assert.Equal(t, RetryPolicy{MaxRetries: 2, InitialBackoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second}, DefaultRetryPolicy())
	c, err := NewClient("u", "t")
	require.NoError(t, err)
	assert.Equal(t, DefaultRetryPolicy(), c.retry)
	assert.Equal(t, DefaultAuthCooldown, c.authCooldown)

	for _, bad := range []RetryPolicy{{MaxRetries: -1}, {MaxRetries: 11}, {InitialBackoff: -1}} {
		_, err := NewClient("u", "t", WithRetryPolicy(bad))
		assert.Error(t, err, "%+v", bad)
	}
	_, err = NewClient("u", "t", WithAuthCooldown(-time.Second))
	assert.Error(t, err)
	_, err = NewClient("u", "t", WithRateLimit(0, 1))
	assert.Error(t, err)
	_, err = NewClient("u", "t", WithRateLimit(1, 0))
	assert.Error(t, err)
}

func TestBackoffAndRetryAfter(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{MaxRetries: 5, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	for n, bound := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 9: time.Second} {
		for i := 0; i < 50; i++ {
			d := p.backoff(n, 0)
			assert.GreaterOrEqual(t, d, bound/2, "retry %d", n)
			assert.LessOrEqual(t, d, bound, "retry %d", n)
		}
	}
	assert.Equal(t, 3*time.Second, p.backoff(1, 3*time.Second), "Retry-After wins")

	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	assert.Equal(t, 7*time.Second, parseRetryAfter("7", now))
	assert.Equal(t, 90*time.Second, parseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now))
	assert.Zero(t, parseRetryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now))
	assert.Zero(t, parseRetryAfter("soon", now))
	assert.Zero(t, parseRetryAfter("-3", now))
	assert.Zero(t, parseRetryAfter("", now))
}

func TestReadsRetryOnServerErrors(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusRequestTimeout, http.StatusTooManyRequests, 500, 502, 503, 504} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			fx := setup(t, fastRetries())
			s := &script{answers: []func(http.ResponseWriter, *http.Request){status(code, "<html>busy</html>"), status(200, templatesOK)}}
			fx.handle("GetPlantillasWhatsapp", s.serve)
			_, err := fx.client.Templates(context.Background())
			require.NoError(t, err)
			assert.Equal(t, 2, s.count())
		})
	}
}

func TestReadsGiveUpAfterMaxRetries(t *testing.T) {
	t.Parallel()
	fx := setup(t, fastRetries())
	s := &script{answers: []func(http.ResponseWriter, *http.Request){status(503, "down")}}
	fx.handle("GetPlantillasWhatsapp", s.serve)
	_, err := fx.client.Templates(context.Background())
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 503, apiErr.HTTPStatus)
	assert.Equal(t, 3, s.count(), "the first attempt and 2 retries")
}

func TestTypingRetriesOnDroppedConnection(t *testing.T) {
	t.Parallel()
	fx := setup(t, fastRetries())
	s := &script{answers: []func(http.ResponseWriter, *http.Request){hangUp, status(200, `[{"Res":"1","Cred":"5"}]`)}}
	fx.handle("EscribiendoWhatsapp", s.serve)
	_, err := fx.client.SendTyping(context.Background(), 10, "34600000001")
	require.NoError(t, err)
	assert.Equal(t, 2, s.count())
}

func TestSendIsNeverRepeatedWhenItMayHaveArrived(t *testing.T) {
	t.Parallel()
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}
	cases := []struct {
		name   string
		answer func(http.ResponseWriter, *http.Request)
		opts   []Option
		is     []error
	}{
		{"503", status(503, "Service Unavailable"), nil, nil},
		{"500 then 200", status(500, ""), nil, nil},
		{"connection dropped after the request", hangUp, nil, nil},
		{"truncated reply", status(200, `[{"Res":"1","idMens`), nil, nil},
		{"timeout after the request was written", slow, []Option{WithTimeout(time.Second)}, []error{context.DeadlineExceeded}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fx := setup(t, append([]Option{fastRetries()}, tc.opts...)...)
			s := &script{answers: []func(http.ResponseWriter, *http.Request){tc.answer, status(200, sendOK)}}
			fx.handle("EnviarWHATSAPP", s.serve)
			_, err := fx.client.SendText(context.Background(), "34600000001", "hola")
			require.ErrorIs(t, err, ErrOutcomeUnknown)
			for _, target := range tc.is {
				assert.ErrorIs(t, err, target)
			}
			assert.Contains(t, err.Error(), "check the delivery reports before sending again")
			assert.Equal(t, 1, s.count(), "a send that may have arrived is never repeated")

			// Same for an account-status change.
			s2 := &script{answers: []func(http.ResponseWriter, *http.Request){tc.answer, status(200, `[{"Res":"1"}]`)}}
			fx.handle("CambiarEstadoWhatsapp", s2.serve)
			_, err = fx.client.SetAccountStatus(context.Background(), "Abierto")
			require.ErrorIs(t, err, ErrOutcomeUnknown)
			assert.Equal(t, 1, s2.count())
		})
	}
}

func TestSendRetriesOn429WithTheSameBody(t *testing.T) {
	t.Parallel()
	fx := setup(t, fastRetries())
	s := &script{answers: []func(http.ResponseWriter, *http.Request){
		status(429, "slow down", "Retry-After", "0"), status(429, "slow down"), status(200, sendOK)}}
	fx.handle("EnviarWHATSAPP", s.serve)
	res, err := fx.client.Send(context.Background(), SendRequest{
		To:      []Recipient{{Phone: "34600000001", Vars: map[string]string{"b": "2", "a": "1"}}},
		Message: Text{Body: "hola 😃"}, Reference: "r",
	})
	require.NoError(t, err)
	assert.Equal(t, int64(77), res.MessageID)
	require.Equal(t, 3, s.count())
	assert.Equal(t, s.bodies[0], s.bodies[1], "a retry replays the body byte for byte")
	assert.Equal(t, s.bodies[0], s.bodies[2])
}

func TestRetryAfterLongerThanThePolicyStops(t *testing.T) {
	t.Parallel()
	fx := setup(t, fastRetries())
	s := &script{answers: []func(http.ResponseWriter, *http.Request){status(429, "", "Retry-After", "3600"), status(200, sendOK)}}
	fx.handle("EnviarWHATSAPP", s.serve)
	_, err := fx.client.SendText(context.Background(), "34600000001", "hola")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 429, apiErr.HTTPStatus)
	assert.Equal(t, time.Hour, apiErr.RetryAfter, "the wait the API asked for, for a caller that retries later")
	assert.NotErrorIs(t, err, ErrOutcomeUnknown, "a 429 is a refusal: nothing was sent")
	assert.Equal(t, 1, s.count())
}

func TestAPIRefusalsAreNeverRetried(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		body   string
		is     error
	}{
		{"auth", 200, `[{"Res":"-1","Error":"Usuario incorrecto"}]`, ErrAuthentication},
		{"auth 401 page", 401, `Unauthorized`, ErrAuthentication},
		{"credits", 200, `[{"Res":"-2","Error":"Sin créditos"}]`, ErrInsufficientCredits},
		{"data", 200, `[{"Res":"-3","Error":"Falta parámetro"}]`, ErrInvalidRequest},
		{"data with a 500 status", 500, `[{"Res":"-3","Error":"Falta parámetro"}]`, ErrInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := setup(t, fastRetries())
			s := &script{answers: []func(http.ResponseWriter, *http.Request){status(tc.status, tc.body), status(200, templatesOK)}}
			fx.handle("GetPlantillasWhatsapp", s.serve)
			_, err := fx.client.Templates(context.Background())
			require.ErrorIs(t, err, tc.is)
			assert.Equal(t, 1, s.count())
		})
	}
}

// dialFailOnce fails the first request with a connect error, then passes requests on.
type dialFailOnce struct {
	failed atomic.Bool
	next   http.RoundTripper
}

func (d *dialFailOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	if d.failed.CompareAndSwap(false, true) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	return d.next.RoundTrip(r)
}

func TestSendRetriesWhenItProvablyNeverLeft(t *testing.T) {
	t.Parallel()
	hc := &http.Client{Transport: &dialFailOnce{next: http.DefaultTransport}}
	fx := setup(t, fastRetries(), WithHTTPClient(hc))
	s := &script{answers: []func(http.ResponseWriter, *http.Request){status(200, sendOK)}}
	fx.handle("EnviarWHATSAPP", s.serve)
	_, err := fx.client.SendText(context.Background(), "34600000001", "hola")
	require.NoError(t, err)
	assert.Equal(t, 1, s.count(), "the failed dial never reached the server; the retry did, once")

	// Without retries the dial error comes back, not as an unknown outcome.
	hc2 := &http.Client{Transport: &dialFailOnce{next: http.DefaultTransport}}
	c := newTestClient(t, fx.server.URL+"/v7/", WithHTTPClient(hc2))
	_, err = c.SendText(context.Background(), "34600000001", "hola")
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)
	assert.Contains(t, err.Error(), "not sent")
}

func TestHTTPMockConnectionFailures(t *testing.T) {
	t.Parallel()
	hc := &http.Client{}
	mt := httpmock.NewMockTransport()
	hc.Transport = mt
	mt.RegisterResponder("POST", "https://api.mensatek.com/v7/GetPlantillasWhatsapp",
		httpmock.ResponderFromMultipleResponses([]*http.Response{}, nil).Then(httpmock.ConnectionFailure).
			Then(httpmock.NewStringResponder(200, templatesOK)))
	mt.RegisterResponder("POST", "https://api.mensatek.com/v7/EnviarWHATSAPP", httpmock.ConnectionFailure)
	c, err := NewClient("u", "t", WithHTTPClient(hc), fastRetries())
	require.NoError(t, err)

	_, err = c.Templates(context.Background())
	require.NoError(t, err)
	info := mt.GetCallCountInfo()
	assert.Equal(t, 3, info["POST https://api.mensatek.com/v7/GetPlantillasWhatsapp"], "two connection failures, then success")

	_, err = c.SendText(context.Background(), "34600000001", "hola")
	require.ErrorIs(t, err, ErrOutcomeUnknown, "httpmock cannot say the request never left: assume it may have")
	assert.Equal(t, 1, mt.GetCallCountInfo()["POST https://api.mensatek.com/v7/EnviarWHATSAPP"])
}

func TestSlowAttemptIsRetriedWithAttemptTimeout(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	fx := setup(t, WithRetryPolicy(RetryPolicy{MaxRetries: 2, InitialBackoff: time.Millisecond, AttemptTimeout: 500 * time.Millisecond}),
		WithTimeout(time.Minute))
	fx.handle("GetPlantillasWhatsapp", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so the server notices when the client hangs up
		if n.Add(1) == 1 {
			<-r.Context().Done() // the first attempt times out
			return
		}
		writeReply(w, 200, templatesOK)
	})
	_, err := fx.client.Templates(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int32(2), n.Load(), "AttemptTimeout bounds each attempt; the retry had the call's time left")
}

// WithTimeout bounds the whole call: an attempt that uses it up leaves no time for a retry,
// and neither does a Retry-After longer than what is left.
func TestWithTimeoutBoundsTheWholeCall(t *testing.T) {
	t.Parallel()
	policy := WithRetryPolicy(RetryPolicy{MaxRetries: 10, InitialBackoff: time.Millisecond, MaxBackoff: time.Minute})
	t.Run("hanging attempts", func(t *testing.T) {
		fx := setup(t, policy, WithTimeout(100*time.Millisecond))
		var n atomic.Int32
		fx.handle("GetPlantillasWhatsapp", func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		})
		_, err := fx.client.Templates(context.Background())
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "WithTimeout")
		assert.Equal(t, int32(1), n.Load(), "per attempt, a read would have been tried 11 times")
	})
	t.Run("waits between attempts", func(t *testing.T) {
		fx := setup(t, policy, WithTimeout(2*time.Second))
		s := &script{answers: []func(http.ResponseWriter, *http.Request){status(503, "busy", "Retry-After", "30"), status(200, templatesOK)}}
		fx.handle("GetPlantillasWhatsapp", s.serve)
		_, err := fx.client.Templates(context.Background())
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "503")
		assert.Equal(t, 1, s.count(), "the 30 s wait does not fit in the call's 2 s")
	})
}

// hangingDialer is a transport whose connections never complete: a connect still pending when a
// timeout fires. It counts the dials.
func hangingDialer(dials *atomic.Int32) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &http.Client{Transport: tr}
}

func TestConnectPendingAtTimeoutIsNeverSent(t *testing.T) {
	t.Parallel()
	t.Run("WithTimeout", func(t *testing.T) {
		var dials atomic.Int32
		fx := setup(t, fastRetries(), WithTimeout(50*time.Millisecond), WithHTTPClient(hangingDialer(&dials)))
		_, err := fx.client.SendText(context.Background(), "34600000001", "hola")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NotErrorIs(t, err, ErrOutcomeUnknown, "nothing was written: the send provably never left")
		assert.Contains(t, err.Error(), "not sent")
		assert.Zero(t, fx.hits.Load())
	})
	t.Run("AttemptTimeout is retried", func(t *testing.T) {
		var dials atomic.Int32
		fx := setup(t, WithRetryPolicy(RetryPolicy{MaxRetries: 2, InitialBackoff: time.Millisecond, AttemptTimeout: 20 * time.Millisecond}),
			WithTimeout(time.Minute), WithHTTPClient(hangingDialer(&dials)))
		_, err := fx.client.SendText(context.Background(), "34600000001", "hola")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NotErrorIs(t, err, ErrOutcomeUnknown)
		assert.Contains(t, err.Error(), "AttemptTimeout")
		assert.Equal(t, int32(3), dials.Load(), "a send that never left is retried per the policy")
		assert.Zero(t, fx.hits.Load())
	})
}

func TestTLSFailureIsNeverSent(t *testing.T) {
	t.Parallel()
	var conns, requests atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		writeReply(w, 200, sendOK)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake errors are expected
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	// The client does not trust the test server's certificate: the handshake fails before any
	// byte of the request is written.
	c, err := NewClient(testUser, testToken, WithBaseURL(srv.URL+"/v7/"), fastRetries(), WithAuthCooldown(0))
	require.NoError(t, err)
	_, err = c.SendText(context.Background(), "34600000001", "hola")
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)
	assert.Contains(t, err.Error(), "not sent")
	assert.Contains(t, err.Error(), "certificate")
	assert.Zero(t, requests.Load(), "the server saw no request")
	assert.Equal(t, int32(3), conns.Load(), "never sent, so retried per the policy (2 retries)")

	// The same client over a transport that trusts the certificate sends once.
	c, err = NewClient(testUser, testToken, WithBaseURL(srv.URL+"/v7/"), fastRetries(), WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	_, err = c.SendText(context.Background(), "34600000001", "hola")
	require.NoError(t, err)
	assert.Equal(t, int32(1), requests.Load())
}

func TestContextEndsTheRetries(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel when the client logs the retry it is about to wait for: the first attempt has
	// failed, and the hour-long wait has begun (or is about to).
	onRetry := slog.New(handlerFunc(func(r slog.Record) {
		if r.Message == "mensatek retry" {
			cancel()
		}
	}))
	fx := setup(t, WithRetryPolicy(RetryPolicy{MaxRetries: 5, InitialBackoff: time.Hour, MaxBackoff: time.Hour}), WithLogger(onRetry))
	s := &script{answers: []func(http.ResponseWriter, *http.Request){status(503, "down")}}
	fx.handle("GetPlantillasWhatsapp", s.serve)
	_, err := fx.client.Templates(ctx)
	require.ErrorIs(t, err, context.Canceled, "the wait before the retry ended with the context")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr, "the last failure is kept")
	assert.Equal(t, 1, s.count())
}

func TestAuthCooldown(t *testing.T) {
	t.Parallel()
	fx := setup(t, WithAuthCooldown(time.Hour))
	s := &script{answers: []func(http.ResponseWriter, *http.Request){status(200, `[{"Res":"-1","Error":"Usuario o token incorrecto"}]`)}}
	fx.handle("GetPlantillasWhatsapp", s.serve)
	fx.handle("EnviarWHATSAPP", s.serve)

	_, err := fx.client.Templates(context.Background())
	require.ErrorIs(t, err, ErrAuthentication)
	for i := 0; i < 5; i++ {
		_, err = fx.client.SendText(context.Background(), "34600000001", "hola")
		require.ErrorIs(t, err, ErrAuthentication)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr, "the original refusal is wrapped")
		assert.Equal(t, -1, apiErr.Code)
		assert.NotErrorIs(t, err, ErrOutcomeUnknown)
		assert.Contains(t, err.Error(), "fail fast")
	}
	assert.Equal(t, 1, s.count(), "no call reached the API during the cooldown")

	off := setup(t, WithAuthCooldown(0))
	s2 := &script{answers: []func(http.ResponseWriter, *http.Request){status(200, `[{"Res":"-1"}]`)}}
	off.handle("GetPlantillasWhatsapp", s2.serve)
	for i := 0; i < 3; i++ {
		_, _ = off.client.Templates(context.Background())
	}
	assert.Equal(t, 3, s2.count(), "0 turns the cooldown off")
}

func TestAuthCooldownEnds(t *testing.T) {
	t.Parallel()
	fx := setup(t, WithAuthCooldown(time.Minute))
	clock := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	fx.client.now = func() time.Time { return clock }
	s := &script{answers: []func(http.ResponseWriter, *http.Request){status(401, "no"), status(200, templatesOK)}}
	fx.handle("GetPlantillasWhatsapp", s.serve)
	_, err := fx.client.Templates(context.Background())
	require.ErrorIs(t, err, ErrAuthentication)
	clock = clock.Add(59 * time.Second)
	_, err = fx.client.Templates(context.Background())
	require.ErrorIs(t, err, ErrAuthentication)
	assert.Contains(t, err.Error(), "refused the credentials 59s ago")
	assert.Equal(t, 1, s.count())
	clock = clock.Add(time.Second)
	_, err = fx.client.Templates(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, s.count())
}

func TestRateLimitWaitsAndHonoursContext(t *testing.T) {
	t.Parallel()
	fx := setup(t, WithRateLimit(0.001, 1)) // one call, then one every 1000 s
	s := &script{answers: []func(http.ResponseWriter, *http.Request){status(200, sendOK)}}
	fx.handle("EnviarWHATSAPP", s.serve)
	_, err := fx.client.SendText(context.Background(), "34600000001", "1")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = fx.client.SendText(ctx, "34600000001", "2")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rate limiter")
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)
	assert.Equal(t, 1, s.count(), "the second send waited and never left")
}

func TestRateLimitWaitPastTheDeadline(t *testing.T) {
	t.Parallel()
	fx := setup(t, WithRateLimit(0.001, 1), WithTimeout(time.Hour)) // one call, then one every 1000 s
	s := &script{answers: []func(http.ResponseWriter, *http.Request){status(200, sendOK)}}
	fx.handle("EnviarWHATSAPP", s.serve)
	_, err := fx.client.SendText(context.Background(), "34600000001", "1")
	require.NoError(t, err)

	// The context's deadline comes long before the limiter's turn: fail at once, as a deadline.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = fx.client.SendText(ctx, "34600000001", "2")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)
	assert.Contains(t, err.Error(), "not sent")
	assert.NoError(t, ctx.Err(), "it failed at once instead of waiting for the deadline")

	// WithTimeout's bound is a deadline too.
	fx2 := setup(t, WithRateLimit(0.001, 1), WithTimeout(time.Minute))
	fx2.handle("EnviarWHATSAPP", s.serve)
	_, err = fx2.client.SendText(context.Background(), "34600000001", "3")
	require.NoError(t, err)
	_, err = fx2.client.SendText(context.Background(), "34600000001", "4")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 2, s.count())

	// A cancelled wait matches context.Canceled.
	ctx3, cancel3 := context.WithCancel(context.Background())
	go cancel3()
	_, err = fx.client.SendText(ctx3, "34600000001", "5")
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 2, s.count())
}

func TestRateLimitIsSharedAcrossGoroutines(t *testing.T) {
	t.Parallel()
	fx := setup(t, WithRateLimit(2000, 4))
	s := &script{answers: []func(http.ResponseWriter, *http.Request){status(200, sendOK)}}
	fx.handle("EnviarWHATSAPP", s.serve)
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := fx.client.SendText(context.Background(), "34600000001", "x")
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 40, s.count(), "over the burst, calls waited for their turn instead of failing")
}

func TestConnectionsAreReused(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch n.Add(1) % 3 {
		case 0: // an error page the client does not need whole
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write(bytes.Repeat([]byte("<p>bad</p>"), 2000))
		case 1: // trailing bytes after the JSON
			writeReply(w, 200, sendOK+"\n\n   ")
		default:
			writeReply(w, 200, sendOK)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newTestClient(t, srv.URL+"/v7/")
	for i := 0; i < 300; i++ {
		_, _ = c.SendText(context.Background(), "34600000001", "hola")
	}
	assert.Equal(t, int32(300), n.Load())
	assert.LessOrEqual(t, conns.Load(), int32(2), "bodies are drained and closed, so one connection serves all")
}

func TestHugeReplyIsCutWithoutReadingItAll(t *testing.T) {
	t.Parallel()
	var written atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `[{"Res":"1","Error":"`)
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for i := 0; i < 1600; i++ { // 100 MiB if the client kept reading
			if _, err := w.Write(chunk); err != nil {
				return
			}
			written.Add(int64(len(chunk)))
		}
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL+"/v7/")
	_, err := c.Templates(context.Background())
	var respErr *ResponseError
	require.ErrorAs(t, err, &respErr)
	assert.Contains(t, respErr.Reason, "larger than")
	assert.Less(t, written.Load(), int64(50<<20), "the client stopped reading near the cap")
}

func TestRetriesAreLogged(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fx := setup(t, fastRetries(), WithLogger(logger))
	s := &script{answers: []func(http.ResponseWriter, *http.Request){status(503, ""), status(200, templatesOK)}}
	fx.handle("GetPlantillasWhatsapp", s.serve)
	_, err := fx.client.Templates(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(buf.String(), "mensatek retry"))
	assert.Equal(t, 2, strings.Count(buf.String(), "mensatek call"))
	assert.NotContains(t, buf.String(), testToken)
}

// handlerFunc is a slog.Handler at debug level that hands each record to a function.
type handlerFunc func(slog.Record)

func (h handlerFunc) Enabled(context.Context, slog.Level) bool { return true }
func (h handlerFunc) Handle(_ context.Context, r slog.Record) error {
	h(r)
	return nil
}
func (h handlerFunc) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h handlerFunc) WithGroup(string) slog.Handler      { return h }

// countingLimiter admits the first allow calls and then refuses with errFull.
type countingLimiter struct {
	mu    sync.Mutex
	allow int
	waits int
}

var errFull = errors.New("shared limit reached")

func (l *countingLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits++
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.waits > l.allow {
		return errFull
	}
	return nil
}

func TestWithLimiterWaitsBeforeEachAttempt(t *testing.T) {
	lim := &countingLimiter{allow: 2}
	fx := setup(t, WithLimiter(lim), fastRetries())
	s := &script{answers: []func(http.ResponseWriter, *http.Request){status(503, ""), status(200, templatesOK)}}
	fx.handle("GetPlantillasWhatsapp", s.serve)
	_, err := fx.client.Templates(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, lim.waits, "one wait per attempt, the retry included")

	// The limiter refuses: the call fails before anything is sent, wrapping its error.
	_, err = fx.client.SendText(context.Background(), "34600000001", "x")
	require.ErrorIs(t, err, errFull)
	assert.Contains(t, err.Error(), "not sent")
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)
	assert.Equal(t, int64(2), fx.hits.Load())

	// nil removes a limiter set before.
	c, err := NewClient("u", "t", WithRateLimit(1, 1), WithLimiter(nil))
	require.NoError(t, err)
	assert.Nil(t, c.limiter)
}
