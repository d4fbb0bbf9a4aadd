package mensatektest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

func TestWebhookBuildersRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 7, 1, 12, 30, 5, 0, mensatek.MadridTime())
	cases := []struct {
		name  string
		hook  mensatektest.Webhook
		check func(t *testing.T, ev *mensatek.Event)
	}{
		{"text", mensatektest.InboundText(10, "34600000001", "hola 😁 \"quoted\""), func(t *testing.T, ev *mensatek.Event) {
			assert.Equal(t, mensatek.Inbound, ev.Direction)
			assert.Equal(t, "hola 😁 \"quoted\"", ev.Message.Text)
		}},
		{"image", mensatektest.InboundImage(11, "34600000001", "MEDIA1", "image/jpeg", "look"), func(t *testing.T, ev *mensatek.Event) {
			require.NotNil(t, ev.Message.Media)
			assert.Equal(t, "MEDIA1", ev.Message.Media.ID)
			assert.Equal(t, "image/jpeg", ev.Message.Media.MimeType)
			assert.Equal(t, "look", ev.Message.Text)
		}},
		{"button reply", mensatektest.InboundButtonReply(12, "34600000001", "yes", "Sí"), func(t *testing.T, ev *mensatek.Event) {
			require.NotNil(t, ev.Message.Reply)
			assert.Equal(t, mensatek.InteractiveReply{Kind: "button_reply", ID: "yes", Title: "Sí"}, *ev.Message.Reply)
		}},
		{"status", mensatektest.StatusChange(13, "34600000001", 3, "camp-7"), func(t *testing.T, ev *mensatek.Event) {
			assert.Equal(t, mensatek.Outbound, ev.Direction)
			assert.Equal(t, 3, ev.Status)
			assert.Equal(t, "camp-7", ev.Reference)
			assert.Nil(t, ev.Message)
		}},
	}
	for _, tc := range cases {
		tc.hook.Time = at
		for _, form := range []bool{false, true} {
			name := tc.name + map[bool]string{false: " json", true: " form"}[form]
			t.Run(name, func(t *testing.T) {
				var body, ct string
				if form {
					v, err := tc.hook.Form()
					require.NoError(t, err)
					body, ct = v.Encode(), "application/x-www-form-urlencoded"
				} else {
					b, err := tc.hook.JSON()
					require.NoError(t, err)
					body, ct = string(b), "application/json"
					assert.Contains(t, body, `"Estado":"`, "numbers are sent as strings, like the reference")
				}
				ev, err := mensatek.ParseWebhookBody(ct, []byte(body))
				require.NoError(t, err)
				assert.Equal(t, tc.hook.MessageID, ev.MessageID)
				assert.Equal(t, "34600000001", ev.Phone)
				assert.True(t, ev.Time.Equal(at), "time %v", ev.Time)
				tc.check(t, ev)
			})
		}
	}
}

func TestDeliverWebhook(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []*mensatek.Event
	h := mensatek.NewWebhookHandler(func(_ context.Context, ev *mensatek.Event) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, ev)
		return nil
	}, mensatek.WithWebhookBasicAuth("hook", "pw"))
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()

	status, err := mensatektest.DeliverWebhook(ctx, srv.URL, mensatektest.InboundText(1, "34600000001", "hi"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, status)

	status, err = mensatektest.DeliverWebhook(ctx, srv.URL, mensatektest.InboundText(1, "34600000001", "hi"), mensatektest.WithBasicAuth("hook", "pw"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)

	status, err = mensatektest.DeliverWebhook(ctx, srv.URL, mensatektest.InboundButtonReply(2, "34600000001", "b1", "One"),
		mensatektest.WithBasicAuth("hook", "pw"), mensatektest.AsForm())
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 2)
	assert.Equal(t, "hi", got[0].Message.Text)
	assert.Equal(t, "b1", got[1].Message.Reply.ID)

	_, err = mensatektest.DeliverWebhook(ctx, "http://127.0.0.1:1/", mensatektest.InboundText(1, "1", "x"))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "mensatektest: DeliverWebhook"))
}
