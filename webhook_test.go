package mensatek

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type handlerRecorder struct {
	mu     sync.Mutex
	events []*Event
	err    error
	panic  bool
}

func (h *handlerRecorder) fn(_ context.Context, ev *Event) error {
	if h.panic {
		panic("boom: secret detail")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
	return h.err
}

func (h *handlerRecorder) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

func serve(h http.Handler, method, ct, body string, auth ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/webhook", strings.NewReader(body))
	r.Header.Set("Content-Type", ct)
	if len(auth) == 2 {
		r.SetBasicAuth(auth[0], auth[1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func quietLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, nil))
}

func TestWebhookHandlerStatuses(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	rec := &handlerRecorder{}
	h := NewWebhookHandler(rec.fn, WithWebhookBasicAuth("hook", "s3cret-pass"), WithWebhookMaxBodyBytes(2048), WithWebhookLogger(quietLogger(&logs)))

	w := serve(h, http.MethodGet, "application/json", "")
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	assert.Equal(t, "POST", w.Header().Get("Allow"))

	w = serve(h, http.MethodPost, "application/json", referenceWebhook)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), "Basic")
	w = serve(h, http.MethodPost, "application/json", referenceWebhook, "hook", "wrong")
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	w = serve(h, http.MethodPost, "application/json", referenceWebhook, "other", "s3cret-pass")
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, 0, rec.count())

	w = serve(h, http.MethodPost, "application/json", `{"Estado":"`+strings.Repeat("1", 4096)+`"}`, "hook", "s3cret-pass")
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)

	w = serve(h, http.MethodPost, "application/json", `{"Estado":"x"}`, "hook", "s3cret-pass")
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, w.Body.String(), "Estado")

	w = serve(h, http.MethodPost, "application/json", referenceWebhook, "hook", "s3cret-pass")
	assert.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, 1, rec.count())
	assert.Equal(t, "This is the message you have received", rec.events[0].Message.Text)
	assert.NotContains(t, logs.String(), "s3cret-pass")
}

func TestWebhookHandlerFailuresAreRetried(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	rec := &handlerRecorder{err: errors.New("db down: detail for logs only")}
	h := NewWebhookHandler(rec.fn, WithoutWebhookAuth(), WithWebhookLogger(quietLogger(&logs)))

	w := serve(h, http.MethodPost, "application/json", referenceWebhook)
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.NotContains(t, w.Body.String(), "db down", "the detail goes to the log, not the caller")
	assert.Contains(t, logs.String(), "db down")

	// The failed report was forgotten by the dedup store: its next delivery is handled.
	rec.err = nil
	w = serve(h, http.MethodPost, "application/json", referenceWebhook)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, 2, rec.count())

	// Now it was handled: a third delivery is a duplicate and fn is not called.
	w = serve(h, http.MethodPost, "application/json", referenceWebhook)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, 2, rec.count())

	rec.panic = true
	w = serve(h, http.MethodPost, "application/json", strings.Replace(referenceWebhook, "10573758", "1", 1))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.NotContains(t, w.Body.String(), "secret detail")
	assert.Contains(t, logs.String(), "panic")
}

// scriptedStore answers Claim with claim and err, and records the other calls.
type scriptedStore struct {
	mu                  sync.Mutex
	claim               Claim
	claimErr, otherErr  error
	completed, released []string
	leases              []time.Duration
}

func (s *scriptedStore) Claim(_ context.Context, key, token string, lease time.Duration) (Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leases = append(s.leases, lease)
	return s.claim, s.claimErr
}

func (s *scriptedStore) Complete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.completed = append(s.completed, key)
	return s.otherErr
}

func (s *scriptedStore) Release(_ context.Context, key, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.released = append(s.released, token)
	return s.otherErr
}

func TestWebhookDeduplication(t *testing.T) {
	t.Parallel()
	rec := &handlerRecorder{}
	var logs bytes.Buffer
	failing := &scriptedStore{claimErr: errors.New("redis unreachable")}
	h := NewWebhookHandler(rec.fn, WithoutWebhookAuth(), WithWebhookDeduplication(failing), WithWebhookLogger(quietLogger(&logs)))
	w := serve(h, http.MethodPost, "application/json", referenceWebhook)
	assert.Equal(t, http.StatusInternalServerError, w.Code, "a failing store loses no event")
	assert.Equal(t, 0, rec.count())
	assert.Empty(t, failing.completed, "nothing marked")
	assert.Empty(t, failing.released)
	assert.Contains(t, logs.String(), "redis unreachable")

	off := NewWebhookHandler(rec.fn, WithoutWebhookAuth(), WithoutWebhookDeduplication())
	for i := 0; i < 2; i++ {
		assert.Equal(t, http.StatusOK, serve(off, http.MethodPost, "application/json", referenceWebhook).Code)
	}
	assert.Equal(t, 2, rec.count(), "nil turns deduplication off")

	// In progress elsewhere: 503 with the lease's remaining whole seconds, rounded up, at least 1.
	for remaining, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", 1500 * time.Millisecond: "2", 30 * time.Second: "30"} {
		busy := &scriptedStore{claim: Claim{Status: ClaimInProgress, Remaining: remaining}}
		w = serve(NewWebhookHandler(rec.fn, WithoutWebhookAuth(), WithWebhookDeduplication(busy)), http.MethodPost, "application/json", referenceWebhook)
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.Equal(t, want, w.Header().Get("Retry-After"), "remaining %v", remaining)
	}
	assert.Equal(t, 2, rec.count(), "fn is not called while another delivery holds the report")

	done := &scriptedStore{claim: Claim{Status: ClaimDone}}
	w = serve(NewWebhookHandler(rec.fn, WithoutWebhookAuth(), WithWebhookDeduplication(done)), http.MethodPost, "application/json", referenceWebhook)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, 2, rec.count(), "fn is not called for a report already handled")

	weird := &scriptedStore{claim: Claim{Status: ClaimStatus(42)}}
	w = serve(NewWebhookHandler(rec.fn, WithoutWebhookAuth(), WithWebhookDeduplication(weird), WithWebhookLogger(quietLogger(&logs))), http.MethodPost, "application/json", referenceWebhook)
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Equal(t, 2, rec.count())
	assert.Contains(t, logs.String(), "ClaimStatus(42)")
}

func TestWebhookLeaseAndStoreCalls(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	st := &scriptedStore{claim: Claim{Status: ClaimAcquired}, otherErr: errors.New("store down after the claim")}
	var deadline time.Time
	fn := func(ctx context.Context, _ *Event) error {
		deadline, _ = ctx.Deadline()
		return nil
	}
	h := NewWebhookHandler(fn, WithoutWebhookAuth(), WithWebhookDeduplication(st), WithWebhookLease(750*time.Millisecond),
		WithWebhookLogger(quietLogger(&logs)))
	before := time.Now()
	w := serve(h, http.MethodPost, "application/json", referenceWebhook)
	assert.Equal(t, http.StatusOK, w.Code, "fn succeeded: the report was handled even if Complete failed")
	assert.Equal(t, []time.Duration{750 * time.Millisecond}, st.leases, "a sub-second lease is kept")
	assert.WithinDuration(t, before.Add(750*time.Millisecond), deadline, 500*time.Millisecond, "fn's context ends with the lease, less its margin")
	require.Len(t, st.completed, 1)
	assert.Contains(t, logs.String(), "complete failed")

	// fn fails: its own claim is released, with the token it claimed under.
	rec := &handlerRecorder{err: errors.New("db down")}
	st2 := &scriptedStore{claim: Claim{Status: ClaimAcquired}}
	h = NewWebhookHandler(rec.fn, WithoutWebhookAuth(), WithWebhookDeduplication(st2), WithWebhookLogger(quietLogger(&logs)))
	assert.Equal(t, http.StatusInternalServerError, serve(h, http.MethodPost, "application/json", referenceWebhook).Code)
	assert.Equal(t, http.StatusInternalServerError, serve(h, http.MethodPost, "application/json", referenceWebhook).Code)
	require.Len(t, st2.released, 2)
	assert.Len(t, st2.released[0], 32)
	assert.NotEqual(t, st2.released[0], st2.released[1], "each delivery claims under its own token")
	assert.Empty(t, st2.completed)
	assert.Equal(t, []time.Duration{DefaultWebhookLease, DefaultWebhookLease}, st2.leases)

	// fn aborts the response with http.ErrAbortHandler: the panic goes on to net/http, and the
	// claim is released first, so the next delivery need not wait for the lease.
	st3 := &scriptedStore{claim: Claim{Status: ClaimAcquired}}
	h = NewWebhookHandler(func(context.Context, *Event) error { panic(http.ErrAbortHandler) }, WithoutWebhookAuth(), WithWebhookDeduplication(st3))
	func() {
		defer func() { assert.Equal(t, http.ErrAbortHandler, recover()) }()
		serve(h, http.MethodPost, "application/json", referenceWebhook)
	}()
	assert.Len(t, st3.released, 1)
	assert.Empty(t, st3.completed)
}

func TestWebhookHandlerOverHTTP(t *testing.T) {
	t.Parallel()
	got := make(chan *Event, 1)
	srv := httptest.NewServer(NewWebhookHandler(func(_ context.Context, ev *Event) error { got <- ev; return nil }, WithoutWebhookAuth()))
	defer srv.Close()
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(referenceWebhook))
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	ev := <-got
	assert.Equal(t, int64(10573758), ev.MessageID)
}

// An option given an invalid value fails in NewWebhookHandler, which has no error result, never
// when it is made (the package's one rule for options).
func TestWebhookOptionsPanicOnProgrammerErrors(t *testing.T) {
	t.Parallel()
	fn := func(context.Context, *Event) error { return nil }
	with := func(o WebhookOption) func() {
		return func() { NewWebhookHandler(fn, WithoutWebhookAuth(), o) }
	}
	tests := []struct {
		name string
		make func()
		want string
	}{
		{"nil function", func() { NewWebhookHandler(nil, WithoutWebhookAuth()) }, "NewWebhookHandler: nil function"},
		{"no auth choice", func() { NewWebhookHandler(fn) }, "NewWebhookHandler: no authentication chosen"},
		{"no auth choice among options", func() { NewWebhookHandler(fn, WithWebhookLease(time.Second), nil) }, "NewWebhookHandler: no authentication chosen"},
		{"user with a colon", with(WithWebhookBasicAuth("hook:1", "s3cret")), "WithWebhookBasicAuth: the user contains ':'"},
		{"empty credentials", with(WithWebhookBasicAuth("", "")), "WithWebhookBasicAuth: empty user or password"},
		{"empty password", with(WithWebhookBasicAuth("hook", "")), "WithWebhookBasicAuth: empty user or password"},
		{"empty user", with(WithWebhookBasicAuth("", "s3cret")), "WithWebhookBasicAuth: empty user or password"},
		{"zero body limit", with(WithWebhookMaxBodyBytes(0)), "WithWebhookMaxBodyBytes: 0 is not a positive size"},
		{"negative body limit", with(WithWebhookMaxBodyBytes(-1)), "WithWebhookMaxBodyBytes: -1 is not a positive size"},
		{"nil logger", with(WithWebhookLogger(nil)), "WithWebhookLogger: nil *slog.Logger"},
		{"nil dedup store", with(WithWebhookDeduplication(nil)), "WithWebhookDeduplication: nil DedupStore"},
		{"zero lease", with(WithWebhookLease(0)), "WithWebhookLease: 0s is not a positive duration"},
		{"negative lease", with(WithWebhookLease(-time.Second)), "WithWebhookLease: -1s is not a positive duration"},
		{"nil contact store", with(WithWebhookContacts(nil)), "WithWebhookContacts: nil ContactStore"},
		{"nil clock", with(WithWebhookClock(nil)), "WithWebhookClock: nil clock"},
		{"keyword both ways", with(WithWebhookConsentKeywords([]string{"BAJA"}, []string{"baja."})), "WithWebhookConsentKeywords: \"BAJA\" both opts out and in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				assert.True(t, strings.HasPrefix(msg, "mensatek: "+tt.want), "panic %q, want it to start with %q", msg, tt.want)
			}()
			tt.make()
		})
	}
	// Making an invalid option does not panic: only the constructor reports it.
	assert.NotPanics(t, func() {
		WithWebhookBasicAuth("", "")
		WithWebhookMaxBodyBytes(0)
		WithWebhookLease(-time.Second)
		WithWebhookConsentKeywords([]string{"BAJA"}, []string{"baja"})
	})
	// The valid forms do not panic.
	assert.NotPanics(t, func() {
		NewWebhookHandler(fn, WithWebhookBasicAuth("hook", "s3cret"), WithWebhookMaxBodyBytes(1), WithWebhookLogger(slog.Default()))
		NewWebhookHandler(fn, WithoutWebhookAuth())
	})
}

func TestWebhookWithoutDeduplication(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	rec := &handlerRecorder{}
	h := NewWebhookHandler(rec.fn, WithoutWebhookAuth(), WithoutWebhookDeduplication(), WithWebhookLogger(quietLogger(&logs)))
	for i := 0; i < 2; i++ {
		assert.Equal(t, http.StatusOK, serve(h, http.MethodPost, "application/json", referenceWebhook).Code)
	}
	assert.Equal(t, 2, rec.count(), "every delivery reaches the function")

	failing := &handlerRecorder{err: errors.New("db down")}
	h = NewWebhookHandler(failing.fn, WithoutWebhookAuth(), WithoutWebhookDeduplication(), WithWebhookLogger(quietLogger(&logs)))
	assert.Equal(t, http.StatusInternalServerError, serve(h, http.MethodPost, "application/json", referenceWebhook).Code)
	assert.Contains(t, logs.String(), "db down")
}

// Every handler the README, the guides and the stores' READMEs build makes the authentication choice
// NewWebhookHandler requires, so a reader who copies one (the consent example above all) does
// not get a panic, nor learn to leave consent open to anyone.
func TestREADMEWebhookHandlersChooseAuth(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("redisstore/go.mod"); err != nil {
		t.Skip("not in the repository: the stores' READMEs are not here")
	}
	text := ""
	guides, err := filepath.Glob("docs/*.md")
	require.NoError(t, err)
	for _, file := range append(guides, "README.md", "redisstore/README.md", "pgstore/README.md") {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		text += string(b)
	}
	calls := 0
	for rest := text; ; {
		i := strings.Index(rest, "mensatek.NewWebhookHandler(")
		if i < 0 {
			break
		}
		rest = rest[i+len("mensatek.NewWebhookHandler("):]
		depth, end := 1, 0
		for end < len(rest) && depth > 0 {
			switch rest[end] {
			case '(':
				depth++
			case ')':
				depth--
			}
			end++
		}
		call := rest[:end]
		calls++
		assert.True(t, strings.Contains(call, "WithWebhookBasicAuth(") || strings.Contains(call, "WithoutWebhookAuth()"),
			"a README handler without an authentication choice: NewWebhookHandler(%s", call)
	}
	assert.GreaterOrEqual(t, calls, 5, "the README's handlers were not found")
	b, err := os.ReadFile("docs/consent.md")
	require.NoError(t, err)
	consent := string(b)
	require.Contains(t, consent, "mensatek.NewWebhookHandler(", "the consent section builds a handler")
	assert.Contains(t, consent, "mensatek.WithWebhookBasicAuth(", "the consent example authenticates the provider")
}

// The default in-memory store holds bounded keys: 40 reports with a 1 MB Servicio each cost a
// few hundred bytes of keys each, not 40 MB.
func TestMemoryDedupStoreKeepsKeysSmall(t *testing.T) {
	t.Parallel()
	store := NewMemoryDedupStore(0, 0)
	var calls int
	h := NewWebhookHandler(func(context.Context, *Event) error { calls++; return nil },
		WithoutWebhookAuth(), WithWebhookDeduplication(store))
	service := strings.Repeat("S", 1_000_000)
	for i := 0; i < 40; i++ {
		body := fmt.Sprintf(`{"Servicio":%q,"Direccion":"OUTPUT","Estado":1,"idMensaje":%d,"Tipo":"text"}`, service, i+1)
		require.Equal(t, http.StatusOK, serve(h, http.MethodPost, "application/json", body).Code)
		require.Equal(t, http.StatusOK, serve(h, http.MethodPost, "application/json", body).Code, "redelivery")
	}
	assert.Equal(t, 40, calls, "each report ran once")
	store.mu.Lock()
	defer store.mu.Unlock()
	total := 0
	for k := range store.keys {
		total += len(k)
	}
	assert.Len(t, store.keys, 40)
	assert.LessOrEqual(t, total, 40*MaxEventKeyBytes)
}

// leaseProbe wraps a DedupStore: it records when Claim was called, runs the claim, and holds
// the reply until the test lets it go, as a store far away does.
type leaseProbe struct {
	DedupStore
	called chan time.Time
	reply  chan struct{}
}

func (p *leaseProbe) Claim(ctx context.Context, key, token string, lease time.Duration) (Claim, error) {
	start := time.Now()
	c, err := p.DedupStore.Claim(ctx, key, token, lease)
	p.called <- start // once the claim ran
	<-p.reply
	return c, err
}

// The function's context ends a margin before the lease counted from before the claim was sent,
// not from when its reply arrived: a store that started the lease when the claim ran never lets
// another delivery take over while a holder that honours its context still runs.
func TestWebhookLeaseCountsFromBeforeTheClaim(t *testing.T) {
	t.Parallel()
	for _, lease := range []time.Duration{300 * time.Millisecond, 5 * time.Second, DefaultWebhookLease} {
		probe := &leaseProbe{DedupStore: NewMemoryDedupStore(0, 0), called: make(chan time.Time, 1), reply: make(chan struct{})}
		deadline := make(chan time.Time, 1)
		h := NewWebhookHandler(func(ctx context.Context, _ *Event) error {
			d, _ := ctx.Deadline()
			deadline <- d
			return nil
		}, WithoutWebhookAuth(), WithWebhookDeduplication(probe), WithWebhookLease(lease))
		before := time.Now()
		code := make(chan int, 1)
		go func() { code <- serve(h, http.MethodPost, "application/json", referenceWebhook).Code }()
		claimStart := <-probe.called
		close(probe.reply) // the reply arrives some time after the claim ran
		require.Equal(t, http.StatusOK, <-code)
		got := <-deadline
		margin := webhookLeaseMargin(lease)
		assert.Positive(t, margin)
		assert.LessOrEqual(t, margin, lease/10)
		assert.False(t, got.After(claimStart.Add(lease-margin)), "lease %v: fn's deadline %v is past claim start + lease - margin (%v)",
			lease, got.Sub(claimStart), lease-margin)
		assert.False(t, got.Before(before.Add(lease-margin)), "lease %v: fn's deadline is too early", lease)
	}
}

// A claim whose reply arrives after the request ended (or after the lease) does not start fn:
// its context would already be over. The claim is given back and the delivery answered 500.
func TestWebhookClaimReplyAfterTheEnd(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	store := NewMemoryDedupStore(0, 0)
	probe := &leaseProbe{DedupStore: store, called: make(chan time.Time, 1), reply: make(chan struct{})}
	var calls int
	h := NewWebhookHandler(func(context.Context, *Event) error { calls++; return nil },
		WithoutWebhookAuth(), WithWebhookDeduplication(probe), WithWebhookLogger(quietLogger(&logs)))
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(referenceWebhook)).WithContext(ctx)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { h.ServeHTTP(w, r); close(done) }()
	<-probe.called
	cancel() // the request ends while the claim's reply is on its way
	close(probe.reply)
	<-done
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Zero(t, calls, "fn is not started with a context already over")
	assert.Contains(t, logs.String(), "before the function could start")
	c, err := store.Claim(context.Background(), mustKey(t, referenceWebhook), "next", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, ClaimAcquired, c.Status, "the claim was given back")
}

func mustKey(t *testing.T, body string) string {
	t.Helper()
	ev, err := ParseWebhookBody("application/json", []byte(body))
	require.NoError(t, err)
	return ev.Key()
}
