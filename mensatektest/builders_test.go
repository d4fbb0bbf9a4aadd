package mensatektest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// deliver sends w to a mensatek.NewWebhookHandler over HTTP and returns the event it decoded.
func deliver(t *testing.T, w mensatektest.Webhook, opts ...mensatektest.DeliverOption) *mensatek.Event {
	t.Helper()
	got := make(chan *mensatek.Event, 1)
	h := mensatek.NewWebhookHandler(func(_ context.Context, ev *mensatek.Event) error {
		got <- ev
		return nil
	}, mensatek.WithoutWebhookAuth())
	hooks := httptest.NewServer(h)
	defer hooks.Close()
	status, err := mensatektest.DeliverWebhook(context.Background(), hooks.URL, w, opts...)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	select {
	case ev := <-got:
		return ev
	default:
		t.Fatal("the handler answered 200 without calling the function")
		return nil
	}
}

func TestEveryBuilderDecodesIntoItsTypedPart(t *testing.T) {
	t.Parallel()
	flowAnswers := map[string]any{"date": "2026-07-01", "people": 2, "flow_token": "tok-1"}
	cases := []struct {
		name string
		hook mensatektest.Webhook
		want mensatek.InboundMessage // Raw is checked apart
	}{
		{"text", mensatektest.InboundText(1, "34600000001", "hola 😁 \"quoted\" & <b>"),
			mensatek.InboundMessage{Type: "text", Text: "hola 😁 \"quoted\" & <b>"}},
		{"image", mensatektest.InboundImage(2, "34600000001", "M-img", "image/jpeg", "look"),
			mensatek.InboundMessage{Type: "image", Text: "look", Media: &mensatek.InboundMedia{ID: "M-img", MimeType: "image/jpeg", Caption: "look"}}},
		{"document", mensatektest.InboundDocument(3, "34600000001", "M-doc", "application/pdf", "factura.pdf", "la factura"),
			mensatek.InboundMessage{Type: "document", Text: "la factura", Media: &mensatek.InboundMedia{ID: "M-doc", MimeType: "application/pdf",
				Caption: "la factura", Filename: "factura.pdf"}}},
		{"audio", mensatektest.InboundAudio(4, "34600000001", "M-aud", "audio/mpeg"),
			mensatek.InboundMessage{Type: "audio", Media: &mensatek.InboundMedia{ID: "M-aud", MimeType: "audio/mpeg"}}},
		{"voice note", mensatektest.InboundVoice(5, "34600000001", "M-voice", "audio/ogg; codecs=opus"),
			mensatek.InboundMessage{Type: "audio", Media: &mensatek.InboundMedia{ID: "M-voice", MimeType: "audio/ogg; codecs=opus", Voice: true}}},
		{"video", mensatektest.InboundVideo(6, "34600000001", "M-vid", "video/mp4", "mira"),
			mensatek.InboundMessage{Type: "video", Text: "mira", Media: &mensatek.InboundMedia{ID: "M-vid", MimeType: "video/mp4", Caption: "mira"}}},
		{"sticker", mensatektest.InboundSticker(7, "34600000001", "M-st", "image/webp", true),
			mensatek.InboundMessage{Type: "sticker", Media: &mensatek.InboundMedia{ID: "M-st", MimeType: "image/webp", Animated: true}}},
		{"location", mensatektest.InboundLocation(8, "34600000001", 40.4168, -3.7038, "Sol", "Puerta del Sol, Madrid"),
			mensatek.InboundMessage{Type: "location", Text: "Sol", Location: &mensatek.InboundLocation{Latitude: 40.4168, Longitude: -3.7038,
				Name: "Sol", Address: "Puerta del Sol, Madrid"}}},
		{"dropped pin", mensatektest.InboundLocation(9, "34600000001", -33.8688, 151.2093, "", ""),
			mensatek.InboundMessage{Type: "location", Location: &mensatek.InboundLocation{Latitude: -33.8688, Longitude: 151.2093}}},
		{"button reply", mensatektest.InboundButtonReply(10, "34600000001", "yes", "Sí"),
			mensatek.InboundMessage{Type: "interactive", Text: "Sí", Reply: &mensatek.InteractiveReply{Kind: "button_reply", ID: "yes", Title: "Sí"}}},
		{"list reply", mensatektest.InboundListReply(11, "34600000001", "p1", "Paella", "Valenciana"),
			mensatek.InboundMessage{Type: "interactive", Text: "Paella", Reply: &mensatek.InteractiveReply{Kind: "list_reply", ID: "p1",
				Title: "Paella", Description: "Valenciana"}}},
		{"template quick reply", mensatektest.InboundTemplateButton(12, "34600000001", "STOP_PROMOS", "Stop promotions"),
			mensatek.InboundMessage{Type: "button", Text: "Stop promotions", Button: &mensatek.TemplateButtonReply{Payload: "STOP_PROMOS", Text: "Stop promotions"}}},
		{"reaction", mensatektest.InboundReaction(13, "34600000001", "wamid.HBgL", "❤️"),
			mensatek.InboundMessage{Type: "reaction", Text: "❤️", Reaction: &mensatek.InboundReaction{Emoji: "❤️", MessageID: "wamid.HBgL"}}},
		{"reaction removed", mensatektest.InboundReaction(14, "34600000001", "wamid.HBgL", ""),
			mensatek.InboundMessage{Type: "reaction", Reaction: &mensatek.InboundReaction{MessageID: "wamid.HBgL"}}},
		{"unknown", mensatektest.InboundUnknown(15, "34600000001", "order", map[string]any{"order": map[string]any{"catalog_id": "C1"}, "text": "my order"}),
			mensatek.InboundMessage{Type: "order", Text: "my order"}},
		{"reply to a message", mensatektest.InboundText(16, "34600000001", "this one").ReplyingTo("wamid.ABC"),
			mensatek.InboundMessage{Type: "text", Text: "this one", Context: "wamid.ABC"}},
	}
	for _, tc := range cases {
		for _, form := range []bool{false, true} {
			name := tc.name + map[bool]string{false: " as JSON", true: " as a form"}[form]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				var opts []mensatektest.DeliverOption
				if form {
					opts = append(opts, mensatektest.AsForm())
				}
				ev := deliver(t, tc.hook, opts...)
				assert.Equal(t, mensatek.Inbound, ev.Direction)
				assert.Equal(t, tc.hook.MessageID, ev.MessageID)
				assert.Equal(t, "34600000001", ev.Phone)
				assert.Equal(t, tc.hook.Type, ev.Type)
				require.NotNil(t, ev.Message)
				got := *ev.Message
				assert.True(t, json.Valid(got.Raw), "Raw is JSON: %s", got.Raw)
				var raw map[string]any
				require.NoError(t, json.Unmarshal(got.Raw, &raw))
				assert.Equal(t, string(tc.want.Type), raw["type"], "Raw is Mensaje as sent")
				got.Raw = nil
				assert.Equal(t, tc.want, got)
			})
		}
	}

	t.Run("flow reply", func(t *testing.T) {
		t.Parallel()
		for _, form := range []bool{false, true} {
			var opts []mensatektest.DeliverOption
			if form {
				opts = append(opts, mensatektest.AsForm())
			}
			hook := mensatektest.InboundFlowReply(20, "34600000001", flowAnswers)
			ev := deliver(t, hook, opts...)
			require.NotNil(t, ev.Message)
			require.NotNil(t, ev.Message.Flow)
			assert.Equal(t, mensatek.InboundTypeInteractive, ev.Message.Type)
			assert.Equal(t, "Sent", ev.Message.Text)
			assert.Nil(t, ev.Message.Reply, "a completed flow is no button or list reply")
			assert.Equal(t, "flow", ev.Message.Flow.Name)
			assert.Equal(t, "Sent", ev.Message.Flow.Body)
			assert.JSONEq(t, `{"date":"2026-07-01","people":2,"flow_token":"tok-1"}`, string(ev.Message.Flow.ResponseJSON))

			// response_json is a string holding JSON, as WhatsApp sends it.
			var msg struct {
				Interactive struct {
					NfmReply struct {
						ResponseJSON any `json:"response_json"`
					} `json:"nfm_reply"`
				} `json:"interactive"`
			}
			require.NoError(t, json.Unmarshal(ev.Message.Raw, &msg))
			assert.IsType(t, "", msg.Interactive.NfmReply.ResponseJSON)
		}
		raw := mensatektest.InboundFlowReply(21, "34600000001", json.RawMessage(`{"a":[1,2]}`))
		ev := deliver(t, raw)
		assert.JSONEq(t, `{"a":[1,2]}`, string(ev.Message.Flow.ResponseJSON))
		assert.Panics(t, func() { mensatektest.InboundFlowReply(22, "34600000001", make(chan int)) })
	})

	t.Run("contacts", func(t *testing.T) {
		t.Parallel()
		hook := mensatektest.InboundContacts(30, "34600000001",
			mensatek.InboundContact{Name: "Ana García", Phones: []string{"+34 600 000 002", "+34 910 000 000"}, Emails: []string{"ana@example.com"}},
			mensatek.InboundContact{Name: "Luis"})
		for _, form := range []bool{false, true} {
			var opts []mensatektest.DeliverOption
			if form {
				opts = append(opts, mensatektest.AsForm())
			}
			ev := deliver(t, hook, opts...)
			require.NotNil(t, ev.Message)
			assert.Equal(t, mensatek.InboundTypeContacts, ev.Message.Type)
			require.Len(t, ev.Message.Contacts, 2)
			c := ev.Message.Contacts[0]
			assert.Equal(t, "Ana García", c.Name)
			assert.Equal(t, []string{"+34 600 000 002", "+34 910 000 000"}, c.Phones)
			assert.Equal(t, []string{"ana@example.com"}, c.Emails)
			assert.True(t, json.Valid(c.Raw))
			assert.Equal(t, "Luis", ev.Message.Contacts[1].Name)
			assert.Empty(t, ev.Message.Contacts[1].Phones)
		}
	})

	t.Run("status change", func(t *testing.T) {
		t.Parallel()
		at := time.Date(2026, 7, 1, 12, 30, 5, 0, mensatek.MadridTime())
		hook := mensatektest.StatusChange(40, "34600000001", 3, "camp-7")
		hook.Time = at
		for _, form := range []bool{false, true} {
			var opts []mensatektest.DeliverOption
			if form {
				opts = append(opts, mensatektest.AsForm())
			}
			ev := deliver(t, hook, opts...)
			assert.Equal(t, mensatek.Outbound, ev.Direction)
			assert.Equal(t, int64(40), ev.MessageID)
			assert.Equal(t, 3, ev.Status)
			assert.Equal(t, "camp-7", ev.Reference)
			assert.True(t, ev.Time.Equal(at), "time %v", ev.Time)
			assert.Nil(t, ev.Message)
		}
	})
}

func TestReplyingToCopies(t *testing.T) {
	t.Parallel()
	orig := mensatektest.InboundText(1, "34600000001", "hola")
	reply := orig.ReplyingTo("wamid.X")
	assert.NotContains(t, orig.Message, "context", "the original is not changed")
	assert.Equal(t, map[string]any{"id": "wamid.X"}, reply.Message["context"])
	status := mensatektest.StatusChange(1, "34600000001", 2, "")
	assert.Nil(t, status.ReplyingTo("wamid.X").Message, "a status change has no message to answer")
}

// countingTransport counts the requests that go through it.
type countingTransport struct {
	n    int
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n++
	return c.next.RoundTrip(r)
}

func TestDeliverWebhookThroughYourClient(t *testing.T) {
	t.Parallel()
	rt := &countingTransport{next: ownConnections(t).Transport}
	ev := deliver(t, mensatektest.InboundText(1, "34600000001", "hola"), mensatektest.WithDeliveryClient(&http.Client{Transport: rt}))
	assert.Equal(t, "hola", ev.Message.Text)
	assert.Equal(t, 1, rt.n, "the report went through the given client")

	// A nil client is an error of DeliverWebhook, not a nil-pointer panic; a nil option is skipped.
	_, err := mensatektest.DeliverWebhook(context.Background(), "http://127.0.0.1:1", mensatektest.InboundText(1, "34600000001", "hola"),
		nil, mensatektest.WithDeliveryClient(nil))
	assert.EqualError(t, err, "mensatektest: WithDeliveryClient: nil *http.Client")
}
