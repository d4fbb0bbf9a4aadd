package mensatek

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func webhookRequest(t testing.TB, contentType, body string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestParseWebhookReferenceExample(t *testing.T) {
	t.Parallel()
	ev, err := ParseWebhook(webhookRequest(t, "application/json", referenceWebhook))
	require.NoError(t, err)
	assert.Equal(t, "WHATSAPP", ev.Service)
	assert.Equal(t, Inbound, ev.Direction)
	assert.Equal(t, 8, ev.Status)
	assert.Equal(t, "34600000001", ev.Phone)
	assert.Equal(t, "Pedro Pérez", ev.ProfileName)
	assert.Equal(t, int64(10573758), ev.MessageID)
	assert.Equal(t, "Your reference if you provided it", ev.Reference)
	assert.Equal(t, "text", ev.Type)
	want := time.Date(2020, 12, 3, 11, 14, 24, 0, MadridTime())
	assert.True(t, ev.Time.Equal(want), "time %v, want %v", ev.Time, want)
	assert.Equal(t, "2020-12-03T10:14:24Z", ev.Time.UTC().Format(time.RFC3339), "Madrid is UTC+1 in winter")
	require.NotNil(t, ev.Message)
	assert.Equal(t, InboundTypeText, ev.Message.Type)
	assert.Equal(t, "This is the message you have received", ev.Message.Text)
	assert.JSONEq(t, `{"type":"text","text":"This is the message you have received"}`, string(ev.Message.Raw))
	assert.Empty(t, ev.Extra)
}

func TestParseWebhookEncodings(t *testing.T) {
	t.Parallel()
	form := url.Values{
		"servicio": {"WHATSAPP"}, "DIRECCION": {"output"}, "Estado": {"3"}, "Telefono": {"34600000001"},
		"NombreDestinatario": {"Ana"}, "Fecha": {"2026-07-01 12:30"}, "IdMensaje": {"42"},
		"Referencia": {"camp-1"}, "Tipo": {"PLANTILLA"}, "Coste": {"0,05"},
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for k, v := range form {
		require.NoError(t, mw.WriteField(k, v[0]))
	}
	require.NoError(t, mw.Close())
	jsonNumbers := `[{"SERVICIO":"WHATSAPP","direccion":"OUTPUT","estado":3,"telefono":"34600000001","nombredestinatario":"Ana",
		"fecha":"2026-07-01 12:30","idmensaje":42,"referencia":"camp-1","tipo":"PLANTILLA","Coste":0.05}]`

	cases := []struct {
		name, contentType, body string
		coste                   string
	}{
		{"form", "application/x-www-form-urlencoded", form.Encode(), "0,05"},
		{"form without content type", "", form.Encode(), "0,05"},
		{"multipart", mw.FormDataContentType(), mp.String(), "0,05"},
		{"json array, numbers, lower case", "application/json; charset=utf-8", jsonNumbers, "0.05"},
		{"json without content type", "text/plain", jsonNumbers, "0.05"},
		{"json labelled as a form (curl -d)", "application/x-www-form-urlencoded", jsonNumbers, "0.05"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := ParseWebhook(webhookRequest(t, tc.contentType, tc.body))
			require.NoError(t, err)
			assert.Equal(t, Outbound, ev.Direction)
			assert.Equal(t, 3, ev.Status)
			assert.Equal(t, int64(42), ev.MessageID)
			assert.Equal(t, "camp-1", ev.Reference)
			assert.Equal(t, "2026-07-01 12:30:00 +0200 CEST", ev.Time.Format("2006-01-02 15:04:05 -0700 MST"), "summer time")
			assert.Nil(t, ev.Message)
			require.Len(t, ev.Extra, 1, "unknown fields are kept")
			assert.Equal(t, tc.coste, ev.Extra["Coste"])
		})
	}
}

func inbound(t *testing.T, mensaje string) *InboundMessage {
	t.Helper()
	body := url.Values{"Direccion": {"INPUT"}, "idMensaje": {"7"}, "Telefono": {"34600000001"}, "Mensaje": {mensaje}}
	ev, err := ParseWebhook(webhookRequest(t, "application/x-www-form-urlencoded", body.Encode()))
	require.NoError(t, err)
	require.NotNil(t, ev.Message)
	assert.Equal(t, mensaje, string(ev.Message.Raw), "Raw keeps Mensaje as sent")
	return ev.Message
}

func TestInboundMessageShapes(t *testing.T) {
	t.Parallel()
	t.Run("text flat and nested", func(t *testing.T) {
		assert.Equal(t, "hola 😁", inbound(t, `{"type":"text","text":"hola \uD83D\uDE01"}`).Text)
		m := inbound(t, `{"type":"text","text":{"body":"hi"},"context":{"id":"wamid.1"}}`)
		assert.Equal(t, "hi", m.Text)
		assert.Equal(t, "wamid.1", m.Context)
	})
	t.Run("media", func(t *testing.T) {
		for _, typ := range []string{"image", "document", "audio", "video", "sticker"} {
			m := inbound(t, `{"type":"`+typ+`","`+typ+`":{"id":"M1","mime_type":"x/y","caption":"look","filename":"../../etc/a.pdf","sha256":"abc","animated":true}}`)
			require.NotNil(t, m.Media, typ)
			assert.Equal(t, InboundMedia{ID: "M1", MimeType: "x/y", Caption: "look", Filename: "a.pdf", SHA256: "abc", Animated: true}, *m.Media, typ)
			assert.Equal(t, "look", m.Text)
		}
		flat := inbound(t, `{"type":"image","id":"M2","mime_type":"image/jpeg"}`)
		assert.Equal(t, "M2", flat.Media.ID)
		assert.Equal(t, "image/jpeg", flat.Media.MimeType)
	})
	t.Run("location", func(t *testing.T) {
		m := inbound(t, `{"type":"location","location":{"latitude":"40,4168","longitude":-3.7038,"name":"Sol","address":"Madrid"}}`)
		assert.Equal(t, InboundLocation{Latitude: 40.4168, Longitude: -3.7038, Name: "Sol", Address: "Madrid"}, *m.Location)
		flat := inbound(t, `{"type":"location","latitude":1.5,"longitude":2.5}`)
		assert.Equal(t, 1.5, flat.Location.Latitude)
	})
	t.Run("contacts", func(t *testing.T) {
		m := inbound(t, `{"type":"contacts","contacts":[{"name":{"formatted_name":"Ana Ruiz"},"phones":[{"phone":"+34 600 1","wa_id":"346001"}],"emails":[{"email":"a@b.c"}]}]}`)
		require.Len(t, m.Contacts, 1)
		assert.Equal(t, "Ana Ruiz", m.Contacts[0].Name)
		assert.Equal(t, []string{"+34 600 1"}, m.Contacts[0].Phones)
		assert.Equal(t, []string{"a@b.c"}, m.Contacts[0].Emails)
	})
	t.Run("button and list replies", func(t *testing.T) {
		m := inbound(t, `{"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Sí"}}}`)
		assert.Equal(t, InteractiveReply{Kind: "button_reply", ID: "yes", Title: "Sí"}, *m.Reply)
		assert.Equal(t, "Sí", m.Text)
		m = inbound(t, `{"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"r2","title":"Two","description":"d"}}}`)
		assert.Equal(t, InteractiveReply{Kind: "list_reply", ID: "r2", Title: "Two", Description: "d"}, *m.Reply)
		m = inbound(t, `{"type":"button_reply","id":"no","title":"No"}`)
		assert.Equal(t, InteractiveReply{Kind: "button_reply", ID: "no", Title: "No"}, *m.Reply)
		m = inbound(t, `{"type":"interactive","interactive":{"button_reply":{"id":"y2","title":"Y"}}}`)
		assert.Equal(t, InteractiveReply{Kind: "button_reply", ID: "y2", Title: "Y"}, *m.Reply, "kind from the object present")
	})
	t.Run("interactive without a reply object is no reply", func(t *testing.T) {
		for _, raw := range []string{
			// What WhatsApp sends for an interactive message it cannot show.
			`{"type":"interactive","id":"wamid.ABC","errors":[{"code":131051,"title":"Message type unknown"}]}`,
			`{"type":"interactive","id":"wamid.ABC","interactive":null}`,
			`{"type":"interactive","id":"wamid.ABC","interactive":{"type":"button_reply"}}`,
			`{"type":"interactive","id":"wamid.ABC","interactive":{"type":"list_reply","list_reply":"r1"}}`,
			`{"type":"interactive","id":"wamid.ABC","interactive":{"type":"product_reply","id":"p"}}`,
		} {
			m := inbound(t, raw)
			assert.Equal(t, InboundTypeInteractive, m.Type, raw)
			assert.Nil(t, m.Reply, raw)
			assert.Nil(t, m.Flow, raw)
			assert.JSONEq(t, raw, string(m.Raw))
		}
	})
	t.Run("flow completion", func(t *testing.T) {
		m := inbound(t, `{"type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","body":"Sent",`+
			`"response_json":"{\"flow_token\":\"T1\",\"fecha\":\"2026-12-01\"}"}}}`)
		assert.Nil(t, m.Reply)
		require.NotNil(t, m.Flow)
		assert.Equal(t, "flow", m.Flow.Name)
		assert.Equal(t, "Sent", m.Flow.Body)
		assert.JSONEq(t, `{"flow_token":"T1","fecha":"2026-12-01"}`, string(m.Flow.ResponseJSON))
		assert.Equal(t, "Sent", m.Text)
		// response_json as an object is read too; broken JSON gives nil, never an error.
		m = inbound(t, `{"type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"body":"Sent","response_json":{"a":1}}}}`)
		assert.JSONEq(t, `{"a":1}`, string(m.Flow.ResponseJSON))
		m = inbound(t, `{"type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"body":"Sent","response_json":"{broken"}}}`)
		require.NotNil(t, m.Flow)
		assert.Nil(t, m.Flow.ResponseJSON)
	})
	t.Run("template button", func(t *testing.T) {
		m := inbound(t, `{"type":"button","button":{"payload":"STOP","text":"Stop promotions"}}`)
		assert.Equal(t, TemplateButtonReply{Payload: "STOP", Text: "Stop promotions"}, *m.Button)
	})
	t.Run("reaction", func(t *testing.T) {
		m := inbound(t, `{"type":"reaction","reaction":{"message_id":"wamid.9","emoji":"\uD83D\uDC4D"}}`)
		assert.Equal(t, InboundReaction{Emoji: "👍", MessageID: "wamid.9"}, *m.Reaction)
		m = inbound(t, `{"type":"reaction","emoji":"❤️","message_id":"wamid.8"}`)
		assert.Equal(t, "❤️", m.Reaction.Emoji)
	})
	t.Run("unknown type is delivered", func(t *testing.T) {
		m := inbound(t, `{"type":"order","order":{"catalog_id":"1"},"text":"see order"}`)
		assert.Equal(t, InboundType("order"), m.Type, "an unknown type is kept")
		assert.Equal(t, "see order", m.Text)
	})
	t.Run("plain text Mensaje", func(t *testing.T) {
		body := url.Values{"Direccion": {"INPUT"}, "Tipo": {"text"}, "Mensaje": {"just words {"}}
		ev, err := ParseWebhook(webhookRequest(t, "application/x-www-form-urlencoded", body.Encode()))
		require.NoError(t, err)
		assert.Equal(t, InboundTypeText, ev.Message.Type)
		assert.Equal(t, "just words {", ev.Message.Text)
	})
	t.Run("Mensaje as a JSON object", func(t *testing.T) {
		ev, err := ParseWebhook(webhookRequest(t, "application/json", `{"Direccion":"INPUT","Mensaje":{"type":"text","text":"obj"}}`))
		require.NoError(t, err)
		assert.Equal(t, "obj", ev.Message.Text)
	})
}

func TestParseWebhookErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, ct, body, want string }{
		{"empty", "application/json", "", "empty body"},
		{"not json", "application/json", "{nope", "not valid JSON"},
		{"array of two", "application/json", `[{"Estado":1},{"Estado":2}]`, "array of 2"},
		{"string", "application/json", `"x"`, "not a JSON object"},
		{"no known field", "application/json", `{"foo":1}`, "none of the webhook fields"},
		{"bad Estado", "application/json", `{"Estado":"eight"}`, "Estado"},
		{"fractional idMensaje", "application/json", `{"idMensaje":1.5}`, "idMensaje"},
		{"bad Fecha", "application/json", `{"Estado":1,"Fecha":"yesterday"}`, "Fecha"},
		{"bad form", "application/x-www-form-urlencoded", "Estado=%zz", "not a valid form"},
		{"multipart without boundary", "multipart/form-data", "x", "boundary"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseWebhook(webhookRequest(t, tc.ct, tc.body))
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidWebhook)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := ParseWebhook(webhookRequest(t, "application/json", `{"Estado":"`+strings.Repeat("1", DefaultWebhookMaxBodyBytes)+`"}`))
	assert.ErrorIs(t, err, ErrWebhookTooLarge)
}

func TestWebhookTimeWithoutSeconds(t *testing.T) {
	t.Parallel()
	ev, err := ParseWebhook(webhookRequest(t, "application/json", `{"Estado":1,"Fecha":"2026-03-29 03:30"}`))
	require.NoError(t, err)
	assert.Equal(t, "2026-03-29T01:30:00Z", ev.Time.UTC().Format(time.RFC3339), "after the spring switch Madrid is UTC+2")
}

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

// Of a field given twice (in any case), a JSON body keeps the last; a form, which has no order,
// the name that sorts first. Unknown fields in Extra keep the name that sorts first in both.
func TestParseWebhookRepeatedFields(t *testing.T) {
	t.Parallel()
	ev, err := ParseWebhook(webhookRequest(t, "application/json", `{"Estado":1,"ESTADO":2,"coste":"a","Coste":"b","COSTE":"c","otro":1}`))
	require.NoError(t, err)
	assert.Equal(t, 2, ev.Status)
	assert.Equal(t, map[string]string{"COSTE": "c", "otro": "1"}, ev.Extra)

	form := url.Values{"Estado": {"1"}, "ESTADO": {"2"}, "estado": {"3"}, "coste": {"a"}, "Coste": {"b"}}
	ev, err = ParseWebhook(webhookRequest(t, "application/x-www-form-urlencoded", form.Encode()))
	require.NoError(t, err)
	assert.Equal(t, 2, ev.Status, "ESTADO sorts first")
	assert.Equal(t, map[string]string{"Coste": "b"}, ev.Extra)
}

func TestParseWebhookEmptyObjects(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{}`, `{ }`, `[{}]`} {
		_, err := ParseWebhook(webhookRequest(t, "application/json", body))
		assert.ErrorIs(t, err, ErrInvalidWebhook)
		assert.ErrorContains(t, err, "no fields", body)
	}
	_, err := ParseWebhook(webhookRequest(t, "application/json", `{"Estado":1} {"Estado":2}`))
	assert.ErrorContains(t, err, "not valid JSON")
}

// Mensaje values that are not a message object still give an event, never an error or a panic.
func TestInboundOddMensaje(t *testing.T) {
	t.Parallel()
	parse := func(body string) *Event {
		t.Helper()
		ev, err := ParseWebhook(webhookRequest(t, "application/json", body))
		require.NoError(t, err, body)
		return ev
	}
	assert.Nil(t, parse(`{"Direccion":"INPUT","Mensaje":"  "}`).Message, "blank")
	assert.Nil(t, parse(`{"Direccion":"INPUT","Mensaje":null}`).Message, "null")

	m := parse(`{"Direccion":"INPUT","Tipo":"text","Mensaje":12}`).Message
	assert.Equal(t, &InboundMessage{Type: "text", Text: "12", Raw: json.RawMessage(`12`)}, m)

	m = parse(`{"Direccion":"INPUT","Mensaje":"{\"type\":\"text\",\"text\":"}`).Message
	assert.Equal(t, InboundTypeText, m.Type, "JSON that cannot be read is delivered as text")
	assert.Equal(t, `{"type":"text","text":`, m.Text)

	m = parse(`{"Direccion":"INPUT","Tipo":"image","Mensaje":{"id":"M3","mimetype":"image/png","file_name":"a/b.png","voice":"1"}}`).Message
	assert.Equal(t, InboundMedia{ID: "M3", MimeType: "image/png", Filename: "b.png", Voice: true}, *m.Media, "flat, other spellings; type from Tipo")

	m = parse(`{"Direccion":"INPUT","Mensaje":{"type":"voice","voice":{"media_id":"V1"}}}`).Message
	assert.Equal(t, "V1", m.Media.ID)

	m = parse(`{"Direccion":"INPUT","Mensaje":{"type":"location","lat":"1,5","lng":2}}`).Message
	assert.Equal(t, InboundLocation{Latitude: 1.5, Longitude: 2}, *m.Location)

	m = parse(`{"Direccion":"INPUT","Mensaje":{"type":"contacts","contacts":[{"name":"Ana","phones":["600",{"wa_id":"34600"},""],"emails":"none"},7]}}`).Message
	require.Len(t, m.Contacts, 2)
	assert.Equal(t, "Ana", m.Contacts[0].Name)
	assert.Equal(t, []string{"600", "34600"}, m.Contacts[0].Phones)
	assert.Nil(t, m.Contacts[0].Emails, "a list that is not a list is none")
	assert.Equal(t, InboundContact{Raw: json.RawMessage(`7`)}, m.Contacts[1], "a card that is not an object keeps Raw")

	m = parse(`{"Direccion":"INPUT","Mensaje":{"type":"list_reply","list_reply":{"id":"r","title":"T"}}}`).Message
	assert.Equal(t, InteractiveReply{Kind: ReplyKindList, ID: "r", Title: "T"}, *m.Reply)

	m = parse(`{"Direccion":"INPUT","Mensaje":{"type":"sticker","text":{"body":"x"},"context":{"message_id":"wamid.2"}}}`).Message
	assert.Equal(t, "wamid.2", m.Context)
	m = parse(`{"Direccion":"INPUT","Mensaje":{"type":"poll","text":{"body":"q?"}}}`).Message
	assert.Equal(t, "q?", m.Text, "an unknown type's nested text")
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

// Event.Extra keeps at most MaxExtraFields unknown members (those whose names sort first), none
// with a name over MaxExtraNameBytes or a value over MaxExtraValueBytes; the rest are counted
// in ExtraDropped. JSON and form bodies alike.
func TestParseWebhookExtraIsBounded(t *testing.T) {
	t.Parallel()
	longName, longValue := strings.Repeat("n", MaxExtraNameBytes+1), strings.Repeat("v", MaxExtraValueBytes+1)
	edgeName, edgeValue := strings.Repeat("m", MaxExtraNameBytes), strings.Repeat("w", MaxExtraValueBytes)
	members := map[string]string{"Estado": "1", longName: "x", "a-long-value": longValue, edgeName: edgeValue}
	const many = MaxExtraFields + 36
	for i := 0; i < many; i++ {
		members[fmt.Sprintf("x%03d", i)] = strconv.Itoa(i)
	}
	js, err := json.Marshal(members)
	require.NoError(t, err)
	form := url.Values{}
	for k, v := range members {
		form.Set(k, v)
	}
	for name, tc := range map[string]struct{ ct, body string }{
		"json": {"application/json", string(js)},
		"form": {"application/x-www-form-urlencoded", form.Encode()},
	} {
		t.Run(name, func(t *testing.T) {
			ev, err := ParseWebhook(webhookRequest(t, tc.ct, tc.body))
			require.NoError(t, err)
			assert.Equal(t, 1, ev.Status)
			require.Len(t, ev.Extra, MaxExtraFields)
			assert.Equal(t, edgeValue, ev.Extra[edgeName], "a name and a value at the limits are kept")
			for i := 0; i < MaxExtraFields-1; i++ {
				assert.Equal(t, strconv.Itoa(i), ev.Extra[fmt.Sprintf("x%03d", i)], "the names that sort first are kept")
			}
			assert.NotContains(t, ev.Extra, longName)
			assert.NotContains(t, ev.Extra, "a-long-value")
			assert.Equal(t, 2+many-(MaxExtraFields-1), ev.ExtraDropped)
		})
	}
}

// Names match as encoding/json matches them (strings.EqualFold: the Kelvin sign and the long s
// fold with k and s), known fields and Extra alike.
func TestParseWebhookNamesFoldLikeJSON(t *testing.T) {
	t.Parallel()
	ev, err := ParseWebhook(webhookRequest(t, "application/json",
		`{"ſervicio":"S","EſTADO":"3","\u212Aey":"kelvin","KEY":"ascii","key":"lower","ſ":"long s","S":"upper"}`))
	require.NoError(t, err)
	assert.Equal(t, "S", ev.Service)
	assert.Equal(t, 3, ev.Status)
	assert.Equal(t, map[string]string{"KEY": "ascii", "S": "upper"}, ev.Extra)
	assert.Zero(t, ev.ExtraDropped)
}

func TestEventKey(t *testing.T) {
	t.Parallel()
	ev := Event{Service: "WHATSAPP", Direction: Outbound, MessageID: 10573758, Phone: "34600000000", Status: 1,
		Type: "text", Time: time.Date(2020, 12, 3, 10, 14, 24, 0, time.UTC)}
	assert.Equal(t, "WHATSAPP|OUTPUT|10573758|34600000000|1|text|2020-12-03T10:14:24Z", ev.Key(),
		"a normal key is readable and unchanged, so keys stored before keep deduplicating")

	// A key up to the bound is kept as it is; a longer one keeps a readable start and ends with
	// the SHA-256 of the whole, within the bound.
	short := ev
	short.Type = strings.Repeat("t", MaxEventKeyBytes-len(ev.Key())+len(ev.Type))
	require.Len(t, short.Key(), MaxEventKeyBytes)
	assert.Contains(t, short.Key(), short.Type)
	long := short
	long.Type += "t"
	assert.LessOrEqual(t, len(long.Key()), MaxEventKeyBytes)
	assert.True(t, strings.HasPrefix(long.Key(), "WHATSAPP|OUTPUT|10573758|34600000000|1|ttt"), long.Key())
	assert.NotEqual(t, short.Key(), long.Key())

	huge := ev
	huge.Service = strings.Repeat("S", 1_000_000)
	other := huge
	other.Service = strings.Repeat("S", 999_999) + "X" // differs in the last byte only
	assert.LessOrEqual(t, len(huge.Key()), MaxEventKeyBytes, "a 1 MB Servicio")
	assert.Equal(t, huge.Key(), huge.Key())
	assert.NotEqual(t, huge.Key(), other.Key())
	for _, f := range []func(*Event){
		func(e *Event) { e.Phone = strings.Repeat("6", 10_000) },
		func(e *Event) { e.Type = strings.Repeat("ñ", 3_000) }, // 6,000 bytes, cut on a rune boundary
		func(e *Event) { e.Direction = Direction(strings.Repeat("\xff", 500)) },
	} {
		e := ev
		f(&e)
		k := e.Key()
		assert.LessOrEqual(t, len(k), MaxEventKeyBytes)
		assert.NotEqual(t, ev.Key(), k)
		if strings.Contains(e.Type, "ñ") {
			assert.True(t, utf8.ValidString(k), "%q", k)
		}
	}
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

// A body of more top-level members (JSON), fields (form) or parts (multipart) than a report can
// hold is refused before it is decoded, with ErrInvalidWebhook and a reason; one at the limit
// parses, its unknown members going to Extra as before.
func TestParseWebhookRefusesTooManyFields(t *testing.T) {
	t.Parallel()
	bodies := func(n int) map[string]struct{ ct, body string } {
		var js, form, parts strings.Builder
		js.WriteString(`{"Estado":"1"`)
		form.WriteString("Estado=1")
		parts.WriteString("--B\r\nContent-Disposition: form-data; name=\"Estado\"\r\n\r\n1\r\n")
		for i := 1; i < n; i++ {
			fmt.Fprintf(&js, `,"x%03d":"%d"`, i, i)
			fmt.Fprintf(&form, "&x%03d=%d", i, i)
			fmt.Fprintf(&parts, "--B\r\nContent-Disposition: form-data; name=\"x%03d\"\r\n\r\n%d\r\n", i, i)
		}
		js.WriteString("}")
		parts.WriteString("--B--\r\n")
		return map[string]struct{ ct, body string }{
			"json":       {"application/json", js.String()},
			"json array": {"application/json", "[" + js.String() + "]"},
			"form":       {"application/x-www-form-urlencoded", form.String()},
			"multipart":  {"multipart/form-data; boundary=B", parts.String()},
		}
	}
	for name, tc := range bodies(maxWebhookFields) {
		t.Run(name+" at the limit", func(t *testing.T) {
			ev, err := ParseWebhook(webhookRequest(t, tc.ct, tc.body))
			require.NoError(t, err)
			assert.Equal(t, 1, ev.Status)
			assert.Len(t, ev.Extra, MaxExtraFields)
			assert.Equal(t, "1", ev.Extra["x001"])
			assert.Equal(t, maxWebhookFields-1-MaxExtraFields, ev.ExtraDropped)
		})
	}
	for name, tc := range bodies(maxWebhookFields + 1) {
		t.Run(name+" over the limit", func(t *testing.T) {
			_, err := ParseWebhook(webhookRequest(t, tc.ct, tc.body))
			require.ErrorIs(t, err, ErrInvalidWebhook)
			assert.Contains(t, err.Error(), fmt.Sprintf("more than %d", maxWebhookFields))
		})
	}
	t.Run("handler", func(t *testing.T) {
		h := NewWebhookHandler(func(context.Context, *Event) error {
			t.Error("the function ran for a hostile body")
			return nil
		}, WithoutWebhookAuth())
		for name, tc := range hostileWebhookBodies(DefaultWebhookMaxBodyBytes) {
			w := serve(h, http.MethodPost, tc.contentType, tc.body)
			assert.Equal(t, http.StatusBadRequest, w.Code, name)
			if !strings.Contains(name, "form-distinct") { // Go's own limit may refuse it first
				assert.Contains(t, w.Body.String(), "fields", name)
			}
		}
	})
}

// A hostile body as large as the default limit (many tiny members, fields or parts) is refused
// after a count, not decoded: a handful of allocations, where decoding it took 50,000 to
// 650,000 (see BenchmarkParseWebhookHostile). Not parallel, so that other tests' allocations
// are not counted.
func TestParseWebhookHostileBodiesAllocateLittle(t *testing.T) {
	for name, tc := range hostileWebhookBodies(DefaultWebhookMaxBodyBytes) {
		body := []byte(tc.body)
		allocs := testing.AllocsPerRun(3, func() {
			if _, err := ParseWebhookBody(tc.contentType, body); err == nil {
				t.Fatalf("%s: parsed", name)
			}
		})
		assert.Less(t, allocs, 100.0, name)
	}
}

// A shared-contacts message of more cards than anyone shares, or a card of more phones or
// emails, is delivered with Raw but without the typed parts, which decoding would make cost
// hundreds of megabytes for a 1 MiB body; within the bound, every card is decoded.
func TestInboundContactsAreBounded(t *testing.T) {
	cards := func(n int, card string) string {
		return `{"Direccion":"INPUT","Tipo":"contacts","Mensaje":{"type":"contacts","contacts":[` +
			strings.TrimSuffix(strings.Repeat(card+",", n), ",") + `]}}`
	}
	phones := func(n int) string {
		return `{"name":"Ana","phones":[` + strings.TrimSuffix(strings.Repeat(`"34600000001",`, n), ",") + `]}`
	}
	ev, err := ParseWebhookBody("application/json", []byte(cards(maxInboundItems, phones(maxInboundItems))))
	require.NoError(t, err)
	require.Len(t, ev.Message.Contacts, maxInboundItems)
	assert.Len(t, ev.Message.Contacts[0].Phones, maxInboundItems)

	ev, err = ParseWebhookBody("application/json", []byte(cards(maxInboundItems+1, `{"name":"Ana"}`)))
	require.NoError(t, err)
	assert.Equal(t, InboundTypeContacts, ev.Message.Type)
	assert.Equal(t, 0, len(ev.Message.Contacts), "cards decoded")
	assert.Contains(t, string(ev.Message.Raw), `{"name":"Ana"}`)

	ev, err = ParseWebhookBody("application/json", []byte(cards(1, phones(maxInboundItems+1))))
	require.NoError(t, err)
	require.Len(t, ev.Message.Contacts, 1)
	assert.Equal(t, "Ana", ev.Message.Contacts[0].Name)
	assert.Equal(t, 0, len(ev.Message.Contacts[0].Phones), "phones decoded")

	// Not parallel, so that other tests' allocations are not counted. A 1 MiB body took 320 MB
	// (cards) and 63 MB (phones).
	n := (DefaultWebhookMaxBodyBytes - 200) / 3
	for name, body := range map[string]string{"cards": cards(n, "{}"), "phones": cards(1, `{"phones":[`+strings.TrimSuffix(strings.Repeat(`"1",`, n*3/4), ",")+`]}`)} {
		b := []byte(body)
		require.Less(t, len(b), DefaultWebhookMaxBodyBytes)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := ParseWebhookBody("application/json", b)
		runtime.ReadMemStats(&after)
		require.NoError(t, err)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), name) // about 4 and 7 MB now
	}
}
