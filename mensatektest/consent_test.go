package mensatektest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

func TestEnforceConsent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := mensatektest.Start(t)
	store := mensatek.NewMemoryContactStore()
	require.NoError(t, store.SetOptOut(ctx, "34600000001", true, time.Now(), "keyword:BAJA"))
	require.NoError(t, store.RecordInbound(ctx, "34600000002", time.Now().Add(-25*time.Hour)))
	require.NoError(t, store.RecordInbound(ctx, "34600000003", time.Now().Add(-time.Hour)))
	c := srv.Client() // no client-side checks: the fake's refusal is what is tested

	// Off by default: existing tests see no change.
	_, err := c.SendText(ctx, "34600000001", "hola")
	require.NoError(t, err)

	srv.EnforceConsent(store, 24*time.Hour)
	_, err = c.SendText(ctx, "34600000001", "hola")
	require.ErrorIs(t, err, mensatek.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "recipient 34600000001 opted out")
	_, err = c.SendText(ctx, "34600000002", "hola")
	require.ErrorIs(t, err, mensatek.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "outside the 24h0m0s customer-service window")
	_, err = c.SendText(ctx, "+34 600 000 003", "hola")
	require.NoError(t, err, "wrote an hour ago")
	_, err = c.Send(ctx, mensatek.SendRequest{To: []mensatek.Recipient{{Phone: "34600000002", Name: "Ana", Vars: map[string]string{
		"Variable_Cabecera_image": "https://cdn.example.com/b.jpg", "Valor-URL-Boton-0": "https://shop.example.com/1"}}},
		Message: mensatek.Template{Name: "customer_welcome"}})
	require.NoError(t, err, "a template is allowed outside the window")
	assert.Len(t, srv.Sent(), 3, "refused sends are not recorded")

	srv.EnforceConsent(nil, 0)
	_, err = c.SendText(ctx, "34600000001", "off again")
	require.NoError(t, err)
}
