package mensatek

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
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
