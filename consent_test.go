package mensatek_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// welcome is a recipient of the fake's customer_welcome template, with every variable.
func welcome(phone string) mensatek.Recipient {
	return mensatek.Recipient{Phone: phone, Name: "Ana", Vars: map[string]string{
		"Variable_Cabecera_image": "https://cdn.example.com/banner.jpg",
		"Valor-URL-Boton-0":       "https://shop.example.com/offer/1",
	}}
}

// clock is a controllable clock for the service window.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestContactsOptOutRefusesEveryType(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := mensatektest.Start(t)
	store := mensatek.NewMemoryContactStore()
	c := srv.Client(mensatek.WithContacts(store))
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	require.NoError(t, store.RecordInbound(ctx, "34600000001", time.Now()))
	require.NoError(t, store.SetOptOut(ctx, "34600000001", true, at, "keyword:BAJA"))

	_, err := c.SendTemplate(ctx, "customer_welcome", welcome("+34 600 000 001"))
	require.ErrorIs(t, err, mensatek.ErrOptedOut)
	var ce *mensatek.ContactError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "34600000001", ce.Phone)
	assert.Equal(t, "keyword:BAJA", ce.Contact.ConsentSource)
	assert.Contains(t, err.Error(), "opted out on 2026-11-26T10:00:00Z (keyword:BAJA)")
	_, err = c.SendText(ctx, "34600000001", "hola")
	require.ErrorIs(t, err, mensatek.ErrOptedOut, "a text too, by default")
	assert.Zero(t, srv.Calls(mensatek.OpSend), "nothing left the process")

	// Opting back in (ALTA, or the application) allows it again; an older change does not undo it.
	require.NoError(t, store.SetOptOut(ctx, "34600000001", false, at.Add(time.Hour), "web-form"))
	require.ErrorIs(t, store.SetOptOut(ctx, "34600000001", true, at.Add(30*time.Minute), "keyword:STOP"), mensatek.ErrConsentSuperseded,
		"an opt-out older by more than ConsentOrderMargin says it was not recorded")
	_, err = c.SendTemplate(ctx, "customer_welcome", welcome("34600000001"))
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Calls(mensatek.OpSend))
}

func TestContactsServiceWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := mensatektest.Start(t)
	store := mensatek.NewMemoryContactStore()
	now := &clock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	c := srv.Client(mensatek.WithContacts(store, mensatek.WithContactClock(now.Now)))
	require.NoError(t, store.RecordInbound(ctx, "34600000001", now.now.Add(-25*time.Hour)))
	require.NoError(t, store.RecordInbound(ctx, "34600000002", now.now.Add(-23*time.Hour)))

	_, err := c.SendText(ctx, "34600000001", "¿sigue interesado?")
	require.ErrorIs(t, err, mensatek.ErrOutsideServiceWindow)
	assert.Contains(t, err.Error(), "last wrote on 2026-11-25T11:00:00Z; send a template")
	_, err = c.SendText(ctx, "34600000003", "hola")
	require.ErrorIs(t, err, mensatek.ErrOutsideServiceWindow, "a phone that never wrote")
	assert.Contains(t, err.Error(), "never wrote")
	assert.Zero(t, srv.Calls(mensatek.OpSend))

	_, err = c.SendText(ctx, "34600000002", "inside the window")
	require.NoError(t, err)
	_, err = c.SendTemplate(ctx, "customer_welcome", welcome("34600000001"))
	require.NoError(t, err, "templates are always allowed by the window rule")
	assert.Equal(t, 2, srv.Calls(mensatek.OpSend))

	// An hour later the second customer is outside the window too.
	now.now = now.now.Add(time.Hour)
	_, err = c.SendText(ctx, "34600000002", "late")
	require.ErrorIs(t, err, mensatek.ErrOutsideServiceWindow)

	// The window can be switched off, or set.
	off := srv.Client(mensatek.WithContacts(store, mensatek.WithServiceWindow(0)))
	_, err = off.SendText(ctx, "34600000001", "no window check")
	require.NoError(t, err)
	wide := srv.Client(mensatek.WithContacts(store, mensatek.WithServiceWindow(48*time.Hour), mensatek.WithContactClock(now.Now)))
	_, err = wide.SendText(ctx, "34600000001", "48 h window")
	require.NoError(t, err)
}

func TestContactsRepliesToOptedOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := mensatektest.Start(t)
	store := mensatek.NewMemoryContactStore()
	c := srv.Client(mensatek.WithContacts(store, mensatek.AllowRepliesToOptedOut()))
	require.NoError(t, store.RecordInbound(ctx, "34600000001", time.Now()))
	require.NoError(t, store.SetOptOut(ctx, "34600000001", true, time.Now(), "keyword:BAJA"))

	_, err := c.SendText(ctx, "34600000001", "Te hemos dado de baja. Escribe ALTA para volver.")
	require.NoError(t, err, "the confirmation of a BAJA, inside the window")
	_, err = c.SendTemplate(ctx, "customer_welcome", welcome("34600000001"))
	require.ErrorIs(t, err, mensatek.ErrOptedOut, "marketing is still refused")

	noCheck := srv.Client(mensatek.WithContacts(store, mensatek.WithoutOptOutCheck()))
	_, err = noCheck.SendTemplate(ctx, "customer_welcome", welcome("34600000001"))
	require.NoError(t, err)
}

func TestContactsSeveralRecipients(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := mensatektest.Start(t)
	store := mensatek.NewMemoryContactStore()
	require.NoError(t, store.SetOptOut(ctx, "34600000002", true, time.Now(), "call-center"))
	to := []mensatek.Recipient{welcome("34600000001"), welcome("34600000002"), welcome("34600000003")}

	// Default: the whole send fails, nothing leaves.
	c := srv.Client(mensatek.WithContacts(store))
	_, err := c.SendTemplate(ctx, "customer_welcome", to...)
	require.ErrorIs(t, err, mensatek.ErrOptedOut)
	assert.Zero(t, srv.Calls(mensatek.OpSend))

	// Skipping: the others get it, the refused one is reported.
	skip := srv.Client(mensatek.WithContacts(store, mensatek.SkipRefusedRecipients()))
	res, err := skip.SendTemplate(ctx, "customer_welcome", to...)
	require.NoError(t, err)
	assert.Equal(t, 2, res.Sent)
	require.Len(t, res.Skipped, 1)
	assert.Equal(t, "34600000002", res.Skipped[0].Phone)
	assert.ErrorIs(t, res.Skipped[0].Err, mensatek.ErrOptedOut)
	sent := srv.Sent()
	require.Len(t, sent, 1)
	assert.Equal(t, []string{"34600000001", "34600000003"}, sent[0].Phones())

	// Every recipient refused: still an error.
	_, err = skip.SendTemplate(ctx, "customer_welcome", welcome("34600000002"))
	require.ErrorIs(t, err, mensatek.ErrOptedOut)
	assert.Equal(t, 1, srv.Calls(mensatek.OpSend))
}

// failingStore is a contact store whose every call fails.
type failingStore struct{ mensatek.ContactStore }

func (failingStore) Contacts(context.Context, []string) (map[string]mensatek.Contact, error) {
	return nil, errors.New("connection refused")
}

func TestContactsStoreFailureSendsNothing(t *testing.T) {
	t.Parallel()
	srv := mensatektest.Start(t)
	c := srv.Client(mensatek.WithContacts(failingStore{}))
	_, err := c.SendTemplate(context.Background(), "customer_welcome", welcome("34600000001"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not sent: reading the contact store: connection refused")
	assert.NotErrorIs(t, err, mensatek.ErrOutcomeUnknown)
	assert.Zero(t, srv.Calls(mensatek.OpSend))

	// A local mistake is still found first.
	_, err = c.SendText(context.Background(), "12", "x")
	var ve *mensatek.ValidationError
	require.ErrorAs(t, err, &ve)
}

func TestWithContactsNilStore(t *testing.T) {
	t.Parallel()
	_, err := mensatek.NewClient("u", "t", mensatek.WithContacts(nil))
	require.ErrorContains(t, err, "nil ContactStore")
}

// consentReceiver is a webhook receiver with a contact store, over httptest.
type consentReceiver struct {
	url    string
	events chan *mensatek.Event
}

func newConsentReceiver(t *testing.T, store mensatek.ContactStore, opts ...mensatek.WebhookOption) *consentReceiver {
	t.Helper()
	rc := &consentReceiver{events: make(chan *mensatek.Event, 16)}
	h := mensatek.NewWebhookHandler(func(_ context.Context, ev *mensatek.Event) error {
		rc.events <- ev
		return nil
	}, append([]mensatek.WebhookOption{mensatek.WithoutWebhookAuth(), mensatek.WithWebhookContacts(store),
		mensatek.WithWebhookLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)...)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	rc.url = srv.URL
	return rc
}

func (rc *consentReceiver) deliver(t *testing.T, w mensatektest.Webhook) (int, *mensatek.Event) {
	t.Helper()
	status, err := mensatektest.DeliverWebhook(context.Background(), rc.url, w)
	require.NoError(t, err)
	select {
	case ev := <-rc.events:
		return status, ev
	default:
		return status, nil
	}
}

// The whole loop: a customer writes "Baja." to the webhook; a campaign send to them is refused
// before anything leaves; "ALTA" allows it again.
func TestWebhookOptOutIsHonouredBySends(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := mensatektest.Start(t)
	store := mensatek.NewMemoryContactStore()
	rc := newConsentReceiver(t, store)
	client := api.Client(mensatek.WithContacts(store))

	baja := mensatektest.InboundText(1, "34600000001", "Baja.")
	baja.Time = baja.Time.Add(-10 * time.Minute) // delivered late
	status, ev := rc.deliver(t, baja)
	require.Equal(t, http.StatusOK, status)
	require.NotNil(t, ev)
	assert.Equal(t, mensatek.ConsentOptedOut, ev.Consent, "the event says so, for the confirmation")

	_, err := client.SendTemplate(ctx, "customer_welcome", welcome("34600000001"))
	require.ErrorIs(t, err, mensatek.ErrOptedOut)
	assert.Contains(t, err.Error(), "(keyword:BAJA)")
	assert.Zero(t, api.Calls(mensatek.OpSend), "the fake saw no request")

	// An ordinary message changes nothing about consent.
	_, ev = rc.deliver(t, mensatektest.InboundText(2, "34600000001", "¿y mi pedido?"))
	assert.Equal(t, mensatek.ConsentNone, ev.Consent)
	_, err = client.SendTemplate(ctx, "customer_welcome", welcome("34600000001"))
	require.ErrorIs(t, err, mensatek.ErrOptedOut)

	// An opt-in wins over an opt-out only if newer by more than ConsentOrderMargin.
	_, ev = rc.deliver(t, mensatektest.InboundText(3, "34600000001", "ALTA"))
	assert.Equal(t, mensatek.ConsentOptedIn, ev.Consent)
	_, err = client.SendTemplate(ctx, "customer_welcome", welcome("34600000001"))
	require.NoError(t, err)
	assert.Equal(t, 1, api.Calls(mensatek.OpSend))
}

func TestWebhookRecordsTheServiceWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := mensatektest.Start(t)
	store := mensatek.NewMemoryContactStore()
	rc := newConsentReceiver(t, store)
	now := &clock{now: time.Now().Truncate(time.Second)}
	client := api.Client(mensatek.WithContacts(store, mensatek.WithContactClock(now.Now)))

	old := mensatektest.InboundText(1, "34600000001", "hola")
	old.Time = now.now.Add(-25 * time.Hour)
	recent := mensatektest.InboundText(2, "34600000002", "hola")
	recent.Time = now.now.Add(-time.Hour)
	for _, w := range []mensatektest.Webhook{old, recent} {
		status, _ := rc.deliver(t, w)
		require.Equal(t, http.StatusOK, status)
	}
	_, err := client.SendText(ctx, "34600000001", "¿seguimos?")
	require.ErrorIs(t, err, mensatek.ErrOutsideServiceWindow, "wrote 25 hours ago")
	_, err = client.SendTemplate(ctx, "customer_welcome", welcome("34600000001"))
	require.NoError(t, err, "a template goes")
	_, err = client.SendText(ctx, "34600000002", "claro")
	require.NoError(t, err, "wrote an hour ago")

	// A report delivered late (an older time) does not move the window back.
	late := mensatektest.InboundText(3, "34600000002", "antes")
	late.Time = now.now.Add(-30 * time.Hour)
	rc.deliver(t, late)
	_, err = client.SendText(ctx, "34600000002", "sigue")
	require.NoError(t, err)
}

// countingContacts counts the store's writes, and fails them when told to.
type countingContacts struct {
	*mensatek.MemoryContactStore
	mu      sync.Mutex
	inbound int
	fail    error
}

func (c *countingContacts) RecordInbound(ctx context.Context, phone string, t time.Time) error {
	c.mu.Lock()
	c.inbound++
	fail := c.fail
	c.mu.Unlock()
	if fail != nil {
		return fail
	}
	return c.MemoryContactStore.RecordInbound(ctx, phone, t)
}

func TestWebhookContactsWithinTheClaim(t *testing.T) {
	t.Parallel()
	store := &countingContacts{MemoryContactStore: mensatek.NewMemoryContactStore()}
	rc := newConsentReceiver(t, store)
	w := mensatektest.InboundText(1, "34600000001", "STOP")

	// The store fails: 500, the function is not called, the provider will deliver it again.
	store.mu.Lock()
	store.fail = errors.New("redis down")
	store.mu.Unlock()
	status, ev := rc.deliver(t, w)
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Nil(t, ev)

	// The redelivery is recorded and handled; a third delivery of the handled report is not
	// recorded again.
	store.mu.Lock()
	store.fail = nil
	store.mu.Unlock()
	status, ev = rc.deliver(t, w)
	assert.Equal(t, http.StatusOK, status)
	require.NotNil(t, ev)
	assert.Equal(t, mensatek.ConsentOptedOut, ev.Consent)
	status, ev = rc.deliver(t, w)
	assert.Equal(t, http.StatusOK, status)
	assert.Nil(t, ev, "a handled report does not reach the function again")
	store.mu.Lock()
	assert.Equal(t, 2, store.inbound, "the failed try and the handled one; not the duplicate")
	store.mu.Unlock()
	out, err := store.OptedOut(context.Background())
	require.NoError(t, err)
	require.Len(t, out, 1)
	assert.Equal(t, "keyword:STOP", out[0].ConsentSource)
}

func TestWebhookConsentKeywords(t *testing.T) {
	t.Parallel()
	store := mensatek.NewMemoryContactStore()
	rc := newConsentReceiver(t, store, mensatek.WithWebhookConsentKeywords(
		[]string{"no quiero recibir más mensajes"}, []string{"quiero volver"}))
	_, ev := rc.deliver(t, mensatektest.InboundText(1, "34600000001", "No quiero recibir mas mensajes!"))
	assert.Equal(t, mensatek.ConsentOptedOut, ev.Consent)
	_, ev = rc.deliver(t, mensatektest.InboundText(2, "34600000002", "BAJA"))
	assert.Equal(t, mensatek.ConsentNone, ev.Consent, "the defaults were replaced")

	// Status reports of sent messages are not recorded as the customer writing.
	_, ev = rc.deliver(t, mensatektest.StatusChange(9, "34600000003", 3, "r"))
	assert.Equal(t, mensatek.ConsentNone, ev.Consent)
	got, err := store.Contacts(context.Background(), []string{"34600000003"})
	require.NoError(t, err)
	assert.Empty(t, got)
}

// A contact option given an invalid value makes NewClient fail, as every Option does; making it
// does not panic.
func TestContactOptionsFailNewClient(t *testing.T) {
	t.Parallel()
	store := mensatek.NewMemoryContactStore()
	var bad mensatek.ContactOption
	require.NotPanics(t, func() { bad = mensatek.WithServiceWindow(-time.Second) })
	_, err := mensatek.NewClient("u", "t", mensatek.WithContacts(store, bad))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mensatek: WithServiceWindow: negative duration -1s")
	_, err = mensatek.NewClient("u", "t", mensatek.WithContacts(store, mensatek.WithServiceWindow(0)))
	assert.NoError(t, err)
}

// A message dated 2099 opens the service window only until a day after its arrival (plus the
// skew allowance), not for decades.
func TestWebhookReportDateBoundsTheWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := mensatektest.Start(t)
	store := mensatek.NewMemoryContactStore()
	arrival := time.Now().Truncate(time.Second)
	rc := newConsentReceiver(t, store, mensatek.WithoutWebhookAuth(), mensatek.WithWebhookClock(func() time.Time { return arrival }))
	now := &clock{now: arrival}
	client := api.Client(mensatek.WithContacts(store, mensatek.WithContactClock(now.Now)))

	w := mensatektest.InboundText(1, "34600000001", "hola")
	w.Time = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	status, ev := rc.deliver(t, w)
	require.Equal(t, http.StatusOK, status)
	assert.True(t, ev.Time.Equal(w.Time), "Event.Time keeps Fecha as sent")
	got, err := store.Contacts(ctx, []string{"34600000001"})
	require.NoError(t, err)
	assert.True(t, got["34600000001"].LastInbound.Equal(arrival.Add(mensatek.WebhookClockSkew)))

	now.now = arrival.Add(mensatek.WebhookClockSkew + mensatek.DefaultServiceWindow - time.Second)
	_, err = client.SendText(ctx, "34600000001", "dentro")
	require.NoError(t, err)
	now.now = arrival.Add(mensatek.WebhookClockSkew + mensatek.DefaultServiceWindow)
	_, err = client.SendText(ctx, "34600000001", "fuera")
	require.ErrorIs(t, err, mensatek.ErrOutsideServiceWindow)
}

// A store that refuses what a report says (here a handler clock days ahead of the store's, so
// every time it records is refused) is answered 422 with the reason, not 500 on every delivery.
func TestWebhookContactStoreRefusalIs4xx(t *testing.T) {
	t.Parallel()
	store := mensatek.NewMemoryContactStore()
	ahead := time.Now().Add(3 * 24 * time.Hour)
	rc := newConsentReceiver(t, store, mensatek.WithoutWebhookAuth(), mensatek.WithWebhookClock(func() time.Time { return ahead }))
	w := mensatektest.InboundText(1, "34600000001", "BAJA")
	w.Time = ahead
	body, err := w.JSON()
	require.NoError(t, err)
	resp, err := http.Post(rc.url, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	reason, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, string(reason), "contact store refused the report: ")
	assert.Contains(t, string(reason), "after now", "the reason says why")
	assert.Empty(t, rc.events, "the function is not called")
	got, err := store.Contacts(context.Background(), []string{"34600000001"})
	require.NoError(t, err)
	assert.Empty(t, got)

	// A store that fails otherwise is still 500: a later delivery can get past it.
	failing := &countingContacts{MemoryContactStore: mensatek.NewMemoryContactStore(), fail: errors.New("redis down")}
	rc = newConsentReceiver(t, failing, mensatek.WithoutWebhookAuth())
	status, _ := rc.deliver(t, mensatektest.InboundText(2, "34600000001", "BAJA"))
	assert.Equal(t, http.StatusInternalServerError, status)
}

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
