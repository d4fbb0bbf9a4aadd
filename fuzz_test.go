package mensatek

import (
	"net/http"
	"testing"

	"github.com/mensatek-go/mensatek/internal/wire"
)

// Fuzz targets for everything that reads network input. `go test` runs their seed corpora
// (testdata/fuzz); `.ci/run` fuzzes each for 50,000 executions; run longer with
// `go test -run '^$' -fuzz FuzzParseWebhookBody -fuzztime 2000000x .`.

func FuzzParseWebhookBody(f *testing.F) {
	f.Add("application/json", []byte(referenceWebhook))
	f.Add("application/x-www-form-urlencoded", []byte("Direccion=INPUT&Estado=8&idMensaje=1&Mensaje=%7B%22type%22%3A%22text%22%2C%22text%22%3A%22hi%22%7D"))
	f.Add("multipart/form-data; boundary=X", []byte("--X\r\nContent-Disposition: form-data; name=\"Estado\"\r\n\r\n3\r\n--X--\r\n"))
	f.Add("", []byte(`[{"Direccion":"INPUT","Mensaje":{"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"1"}}}}]`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		ev, err := ParseWebhookBody(contentType, body)
		if err == nil && ev == nil {
			t.Fatal("nil event without an error")
		}
		if err != nil {
			return
		}
		if k := ev.Key(); len(k) > MaxEventKeyBytes {
			t.Fatalf("key of %d bytes", len(k))
		}
		if len(ev.Extra) > MaxExtraFields {
			t.Fatalf("Extra holds %d fields", len(ev.Extra))
		}
		for name, v := range ev.Extra {
			if len(name) > MaxExtraNameBytes || len(v) > MaxExtraValueBytes {
				t.Fatalf("Extra holds a %d-byte name with a %d-byte value", len(name), len(v))
			}
		}
	})
}

func FuzzDecodeReply(f *testing.F) {
	for _, seed := range []string{
		`[{"Res":"10","Error":"Falta parámetro obligatorio","idMensaje":"123456789","Cred":"12000","Enviados":"2","NoEnviados":"0"}]`,
		`{"Res":-3,"Error":"x","Cred":"12.345,67"}`,
		`[{"Res": "1","Total": "3","Plantillas": "{\n\\\"572863982585983\\\": {\n\\\"Nombre\\\": \\\"customer_welcome\\\",\n\\\"Verificada\\\": 1\n}\n}\n","Cred": "12000"}]`,
		`[{"Res":"1","Variables":"{\"1\":{\"Nombre\":\"Destinatario\",\"Campo\":\"Telefono\",\"Formato\":\"TELEFONO\"}}"}]`,
		`[]`, ``, `<html>`,
	} {
		f.Add(200, []byte(seed))
	}
	f.Add(500, []byte(`{"Res":"-1"}`))
	c, err := NewClient("u", "t")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{}}
		for _, op := range operations() {
			var send sendReply
			var templates templatesReply
			var details templateVariablesReply
			var head replyHead
			var media mediaReply
			for _, r := range []reply{&send, &templates, &details, &head, &media} {
				res, err := c.decodeReply(op, resp, body, nil, r)
				if err != nil {
					_ = err.Error()
					continue
				}
				if res <= 0 {
					t.Fatalf("Res %d without an error", res)
				}
			}
			_, _ = send.result()
			_, _ = templates.templates()
			_, _ = details.details()
			_ = head.result()
		}
		_, _ = wire.Embedded(body)
	})
}

// FuzzReadConsent: any text or button reads without panicking, and what is recorded as the
// source names a keyword or phrase (bounded), never the customer's text as sent.
func FuzzReadConsent(f *testing.F) {
	for _, s := range []string{"BAJA", "Baja, por favor", "No, quiero darme de baja", "no me des de baja",
		"¿Cómo me doy de baja?", "Don't message me", "ALTA", "🙏", "a\u0301\u00a0b,,,¡¿", "stop\nplease"} {
		f.Add(s, s)
	}
	out, in := newKeywordSet(defaultOptOutKeywords), newKeywordSet(defaultOptInKeywords)
	f.Fuzz(func(t *testing.T, text, payload string) {
		for _, m := range []*InboundMessage{
			{Type: InboundTypeText, Text: text},
			{Type: InboundTypeButton, Button: &TemplateButtonReply{Payload: payload, Text: text}},
		} {
			change, source := readConsent(m, out, in)
			if (change == ConsentNone) != (source == "") || len(source) > 64 {
				t.Fatalf("readConsent(%q, %q) = %q, %q", text, payload, change, source)
			}
		}
	})
}
