package mensatek_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// gateLimiter holds every Wait until the test lets it go: entered says that a call is waiting,
// release lets one through.
type gateLimiter struct {
	entered chan struct{}
	release chan struct{}
}

func newGateLimiter() *gateLimiter {
	return &gateLimiter{entered: make(chan struct{}, 1), release: make(chan struct{}, 1)}
}

func (l *gateLimiter) Wait(ctx context.Context) error {
	l.entered <- struct{}{}
	select {
	case <-l.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readCountingStore counts the store's reads.
type readCountingStore struct {
	*mensatek.MemoryContactStore
	reads atomic.Int32
}

func (s *readCountingStore) Contacts(ctx context.Context, phones []string) (map[string]mensatek.Contact, error) {
	s.reads.Add(1)
	return s.MemoryContactStore.Contacts(ctx, phones)
}

// sendWhileWaiting starts send, waits until it waits for the limiter, runs meanwhile, then lets
// the send go and returns how it ended.
func sendWhileWaiting(t *testing.T, lim *gateLimiter, send func() (*mensatek.SendResult, error), meanwhile func()) (*mensatek.SendResult, error) {
	t.Helper()
	type ended struct {
		res *mensatek.SendResult
		err error
	}
	done := make(chan ended, 1)
	go func() {
		res, err := send()
		done <- ended{res, err}
	}()
	select {
	case <-lim.entered:
	case e := <-done:
		t.Fatalf("the send ended before it waited for the limiter: %v", e.err)
	}
	meanwhile()
	lim.release <- struct{}{}
	e := <-done
	return e.res, e.err
}

func TestNoSendAfterAnOptOutDuringTheLimiterWait(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := mensatektest.Start(t)
	store := mensatek.NewMemoryContactStore()
	lim := newGateLimiter()
	c := srv.Client(mensatek.WithContacts(store), mensatek.WithLimiter(lim))

	_, err := sendWhileWaiting(t, lim, func() (*mensatek.SendResult, error) {
		return c.SendTemplate(ctx, "customer_welcome", welcome("34600000001"))
	}, func() {
		// The BAJA is recorded (and the webhook answered 2xx) while the send waits its turn.
		require.NoError(t, store.SetOptOut(ctx, "34600000001", true, time.Now(), "keyword:BAJA"))
	})
	require.ErrorIs(t, err, mensatek.ErrOptedOut)
	var ce *mensatek.ContactError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "keyword:BAJA", ce.Contact.ConsentSource)
	assert.NotErrorIs(t, err, mensatek.ErrOutcomeUnknown)
	assert.Zero(t, srv.Calls(mensatek.OpSend), "nothing reached the API")
}

func TestOptOutDuringTheLimiterWaitWithSeveralRecipients(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := mensatektest.Start(t)
	store := mensatek.NewMemoryContactStore()
	// Each consent change comes more than ConsentOrderMargin after the one before, so that an
	// opt-in after an opt-out is recorded.
	at := time.Now().Add(-time.Hour)
	next := func() time.Time { at = at.Add(mensatek.ConsentOrderMargin + time.Second); return at }
	require.NoError(t, store.SetOptOut(ctx, "34600000003", true, next(), "call-center"))
	to := []mensatek.Recipient{welcome("34600000001"), welcome("+34 600 000 002"), welcome("34600000003")}

	// Default: the whole send fails, nothing leaves.
	lim := newGateLimiter()
	c := srv.Client(mensatek.WithContacts(store), mensatek.WithLimiter(lim))
	_, err := c.SendTemplate(ctx, "customer_welcome", to...)
	require.ErrorIs(t, err, mensatek.ErrOptedOut, "refused by the first check, before the limiter")
	_, err = sendWhileWaiting(t, lim, func() (*mensatek.SendResult, error) {
		return c.SendTemplate(ctx, "customer_welcome", to[:2]...)
	}, func() {
		require.NoError(t, store.SetOptOut(ctx, "34600000002", true, next(), "keyword:BAJA"))
	})
	require.ErrorIs(t, err, mensatek.ErrOptedOut)
	var ce *mensatek.ContactError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "34600000002", ce.Phone)
	assert.Zero(t, srv.Calls(mensatek.OpSend))

	// Skipping: the recipient refused at the re-check is left out and reported with the one
	// refused before the wait; the request carries only the others.
	require.NoError(t, store.SetOptOut(ctx, "34600000002", false, next(), "web-form"))
	skip := srv.Client(mensatek.WithContacts(store, mensatek.SkipRefusedRecipients()), mensatek.WithLimiter(lim))
	res, err := sendWhileWaiting(t, lim, func() (*mensatek.SendResult, error) {
		return skip.SendTemplate(ctx, "customer_welcome", to...)
	}, func() {
		require.NoError(t, store.SetOptOut(ctx, "34600000002", true, next(), "keyword:BAJA"))
	})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Sent)
	require.Len(t, res.Skipped, 2)
	assert.Equal(t, "34600000003", res.Skipped[0].Phone)
	assert.Equal(t, "+34 600 000 002", res.Skipped[1].Phone, "as given in the request")
	assert.ErrorIs(t, res.Skipped[1].Err, mensatek.ErrOptedOut)
	sent := srv.Sent()
	require.Len(t, sent, 1)
	assert.Equal(t, []string{"34600000001"}, sent[0].Phones())

	// Every recipient left refused at the re-check: the send fails, naming them all.
	require.NoError(t, store.SetOptOut(ctx, "34600000002", false, next(), "web-form"))
	_, err = sendWhileWaiting(t, lim, func() (*mensatek.SendResult, error) {
		return skip.SendTemplate(ctx, "customer_welcome", to[1:]...)
	}, func() {
		require.NoError(t, store.SetOptOut(ctx, "34600000002", true, next(), "keyword:BAJA"))
	})
	require.ErrorIs(t, err, mensatek.ErrOptedOut)
	assert.Contains(t, err.Error(), "34600000002")
	assert.Contains(t, err.Error(), "34600000003")
	assert.Equal(t, 1, srv.Calls(mensatek.OpSend))
}

// optOutOnFirstDial fails the first request with a connect error (so it provably never reached
// the server and is retried), recording an opt-out first: the BAJA arrives between the check
// and the retry.
type optOutOnFirstDial struct {
	once   sync.Once
	optOut func()
	next   http.RoundTripper
}

func (d *optOutOnFirstDial) RoundTrip(r *http.Request) (*http.Response, error) {
	first := false
	d.once.Do(func() { first = true })
	if first {
		d.optOut()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	return d.next.RoundTrip(r)
}

func TestNoSendAfterAnOptOutDuringTheRetryBackoff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := mensatektest.Start(t)
	store := mensatek.NewMemoryContactStore()
	tr := &optOutOnFirstDial{next: http.DefaultTransport, optOut: func() {
		require.NoError(t, store.SetOptOut(ctx, "34600000001", true, time.Now(), "keyword:BAJA"))
	}}
	c := srv.Client(mensatek.WithContacts(store), mensatek.WithHTTPClient(&http.Client{Transport: tr}),
		mensatek.WithRetryPolicy(mensatek.RetryPolicy{MaxRetries: 2, InitialBackoff: time.Nanosecond}))

	_, err := c.SendTemplate(ctx, "customer_welcome", welcome("34600000001"))
	require.ErrorIs(t, err, mensatek.ErrOptedOut)
	assert.NotErrorIs(t, err, mensatek.ErrOutcomeUnknown)
	assert.Zero(t, srv.Calls(mensatek.OpSend), "the retry was not made")

	// Without the opt-out the same failure is retried and the send goes once.
	other := mensatek.NewMemoryContactStore()
	tr2 := &optOutOnFirstDial{next: http.DefaultTransport, optOut: func() {}}
	c2 := srv.Client(mensatek.WithContacts(other), mensatek.WithHTTPClient(&http.Client{Transport: tr2}),
		mensatek.WithRetryPolicy(mensatek.RetryPolicy{MaxRetries: 2, InitialBackoff: time.Nanosecond}))
	_, err = c2.SendTemplate(ctx, "customer_welcome", welcome("34600000001"))
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Calls(mensatek.OpSend))
}

func TestConsentIsReadOnceWhenNothingWaits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := mensatektest.Start(t)
	store := &readCountingStore{MemoryContactStore: mensatek.NewMemoryContactStore()}

	// No limiter: the first check is the last before the request.
	c := srv.Client(mensatek.WithContacts(store))
	_, err := c.SendTemplate(ctx, "customer_welcome", welcome("34600000001"))
	require.NoError(t, err)
	assert.EqualValues(t, 1, store.reads.Load())

	// A limiter: checked before the wait (a refused send takes no turn) and after it.
	store.reads.Store(0)
	lim := newGateLimiter()
	limited := srv.Client(mensatek.WithContacts(store), mensatek.WithLimiter(lim))
	_, err = sendWhileWaiting(t, lim, func() (*mensatek.SendResult, error) {
		return limited.SendTemplate(ctx, "customer_welcome", welcome("34600000001"))
	}, func() {})
	require.NoError(t, err)
	assert.EqualValues(t, 2, store.reads.Load())
	assert.Equal(t, 2, srv.Calls(mensatek.OpSend))
}

// stuckStore never answers a read before its context ends, like a paused server.
type stuckStore struct{ mensatek.ContactStore }

func (stuckStore) Contacts(ctx context.Context, _ []string) (map[string]mensatek.Contact, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestWithTimeoutBoundsTheConsentRead(t *testing.T) {
	t.Parallel()
	srv := mensatektest.Start(t)
	c := srv.Client(mensatek.WithContacts(stuckStore{}), mensatek.WithTimeout(20*time.Millisecond))
	// A generous bound of the test's own, told apart by its cause: WithTimeout must end it first.
	ctx, cancel := context.WithTimeoutCause(context.Background(), time.Minute, errors.New("the test's bound"))
	defer cancel()
	_, err := c.SendTemplate(ctx, "customer_welcome", welcome("34600000001"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "not sent: reading the contact store")
	assert.ErrorContains(t, err, "(WithTimeout)")
	assert.NoError(t, ctx.Err(), "the caller's own bound did not end it")
	assert.Zero(t, srv.Calls(mensatek.OpSend))
}
