package mensatek_test

import (
	"context"
	"errors"
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
	require.NoError(t, store.SetOptOut(ctx, "34600000001", true, at.Add(30*time.Minute), "keyword:STOP"))
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
