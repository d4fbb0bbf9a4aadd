package mensatek

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
)

// handWrittenWebhook is what a user would write without the SDK for the reference's example:
// decode the JSON into a struct, convert the numbers and the date, decode Mensaje.
func handWrittenWebhook(fn func(*Event) error) http.HandlerFunc {
	loc := MadridTime()
	return func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Servicio, Direccion, Estado, Telefono, NombreDestinatario, Fecha string
			IDMensaje                                                        string `json:"idMensaje"`
			Referencia, Tipo, Mensaje                                        string
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		st, err1 := strconv.Atoi(p.Estado)
		id, err2 := strconv.ParseInt(p.IDMensaje, 10, 64)
		at, err3 := time.ParseInLocation("2006-01-02 15:04:05", p.Fecha, loc)
		var m struct{ Type, Text string }
		err4 := json.Unmarshal([]byte(p.Mensaje), &m)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		ev := &Event{Service: p.Servicio, Direction: Direction(p.Direccion), Status: st, Phone: p.Telefono,
			ProfileName: p.NombreDestinatario, Time: at, MessageID: id, Reference: p.Referencia, Type: p.Tipo,
			Message: &InboundMessage{Type: InboundType(m.Type), Text: m.Text, Raw: json.RawMessage(p.Mensaje)}}
		if err := fn(ev); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

func benchWebhook(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(referenceWebhook))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkWebhook compares the SDK's handler (deduplication off, since the same report is
// delivered each time) with a hand-written decode of the same body, in the same run.
// sdk-dedup-nop-observer measures the hook (WithWebhookObserver) with an observer that does
// nothing; sdk and sdk-dedup, without one, must cost what they cost before the hook existed.
func BenchmarkWebhook(b *testing.B) {
	fn := func(_ context.Context, ev *Event) error {
		if ev.Message == nil || ev.MessageID != 10573758 {
			b.Fatal("bad event")
		}
		return nil
	}
	b.Run("sdk", func(b *testing.B) {
		benchWebhook(b, NewWebhookHandler(fn, WithoutWebhookAuth(), WithoutWebhookDeduplication()))
	})
	b.Run("sdk-dedup", func(b *testing.B) {
		benchWebhook(b, NewWebhookHandler(fn, WithoutWebhookAuth(), WithWebhookDeduplication(&noopStore{})))
	})
	b.Run("sdk-dedup-nop-observer", func(b *testing.B) {
		benchWebhook(b, NewWebhookHandler(fn, WithoutWebhookAuth(), WithWebhookDeduplication(&noopStore{}),
			WithWebhookObserver(NopWebhookObserver{})))
	})
	b.Run("handwritten", func(b *testing.B) {
		benchWebhook(b, handWrittenWebhook(func(ev *Event) error { return fn(context.Background(), ev) }))
	})
}

// noopStore never reports a duplicate, to measure the dedup path's cost on every call.
type noopStore struct{}

func (*noopStore) Claim(context.Context, string, string, time.Duration) (Claim, error) {
	return Claim{Status: ClaimAcquired}, nil
}
func (*noopStore) Complete(context.Context, string) error        { return nil }
func (*noopStore) Release(context.Context, string, string) error { return nil }

// hostileWebhookBodies are bodies just under limit bytes built to be slow to parse: as many
// distinct unknown member names as fit (JSON and form), and as many case variants of one
// unknown name as fit (which fold to the same key).
func hostileWebhookBodies(limit int) map[string]struct{ contentType, body string } {
	var js, form, variants strings.Builder
	js.WriteString(`{"Servicio":"WHATSAPP","Direccion":"OUTPUT","Estado":"1","idMensaje":"1"`)
	for i := 0; js.Len() < limit-32; i++ {
		fmt.Fprintf(&js, `,"x%d":0`, i)
	}
	js.WriteString("}")
	form.WriteString("Servicio=WHATSAPP&Direccion=OUTPUT&Estado=1&idMensaje=1")
	for i := 0; form.Len() < limit-32; i++ {
		fmt.Fprintf(&form, "&x%d=", i)
	}
	variants.WriteString(`{"Estado":"1"`)
	name := []byte("coste_de_envio_k")
	for i := 0; variants.Len() < limit-32; i++ {
		for j := range name { // the bits of i choose the case of each letter
			if name[j] != '_' {
				name[j] = byte(unicode.ToLower(rune(name[j])))
				if i>>j&1 == 1 {
					name[j] = byte(unicode.ToUpper(rune(name[j])))
				}
			}
		}
		fmt.Fprintf(&variants, `,"%s%d":0`, name, i>>len(name))
	}
	variants.WriteString("}")
	// Go (from 1.24.12 and 1.25.6) refuses a form of over 10,000 fields and a multipart body of
	// over 1,000 parts itself, so these stay under those limits, with values that fill the size.
	var fields, parts strings.Builder
	fields.WriteString("Servicio=WHATSAPP&Direccion=OUTPUT&Estado=1&idMensaje=1")
	for i := 0; i < 9990 && fields.Len() < limit-256; i++ {
		fmt.Fprintf(&fields, "&x%d=%s", i, strings.Repeat("v", limit/10000))
	}
	for i := 0; i < 990 && parts.Len() < limit-2048; i++ {
		fmt.Fprintf(&parts, "--B\r\nContent-Disposition: form-data; name=\"x%d\"\r\n\r\n%s\r\n", i, strings.Repeat("v", limit/1000-64))
	}
	parts.WriteString("--B\r\nContent-Disposition: form-data; name=\"Estado\"\r\n\r\n1\r\n--B--\r\n")
	return map[string]struct{ contentType, body string }{
		"json-distinct-names":  {"application/json", js.String()},
		"form-distinct-names":  {"application/x-www-form-urlencoded", form.String()},
		"json-case-variants":   {"application/json", variants.String()},
		"form-many-fields":     {"application/x-www-form-urlencoded", fields.String()},
		"multipart-many-parts": {"multipart/form-data; boundary=B", parts.String()},
	}
}

// BenchmarkParseWebhookHostile parses each hostile body once per iteration, at half and at
// the whole default size limit: the time must grow linearly with the size (ns/op doubles, MB/s
// stays), not quadratically. A body refused for what it holds (ErrInvalidWebhook) counts as
// parsed: refusing it is what the parser does with it.
func BenchmarkParseWebhookHostile(b *testing.B) {
	for _, size := range []int{DefaultWebhookMaxBodyBytes / 2, DefaultWebhookMaxBodyBytes} {
		for name, tc := range hostileWebhookBodies(size) {
			b.Run(fmt.Sprintf("%s/%dKiB", name, size>>10), func(b *testing.B) {
				body := []byte(tc.body)
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := ParseWebhookBody(tc.contentType, body); err != nil && !errors.Is(err, ErrInvalidWebhook) {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
