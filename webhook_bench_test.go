package mensatek

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
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
