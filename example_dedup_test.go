package mensatek_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/mensatek-go/mensatek"
	"golang.org/x/time/rate"
)

// Two replicas share one store: while one handles a report, a redelivery of it to the other is
// told to come back later; once it is handled, a redelivery is answered 200 without running
// the function again.
func ExampleWithWebhookLease() {
	const report = `{"Servicio":"WHATSAPP","Direccion":"OUTPUT","Estado":"1","Telefono":"34600000000","idMensaje":"7"}`
	deliver := func(h http.Handler) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(report)))
		return w
	}
	store := mensatek.NewMemoryDedupStore(0, 0) // replicas would share redisstore or pgstore
	var second http.Handler
	handle := func(ctx context.Context, ev *mensatek.Event) error {
		w := deliver(second) // the provider delivers the report again, meanwhile
		fmt.Println("meanwhile:", w.Code, "Retry-After", w.Header().Get("Retry-After"))
		return nil
	}
	opts := []mensatek.WebhookOption{mensatek.WithoutWebhookAuth(), // a test; in production WithWebhookBasicAuth
		mensatek.WithWebhookDeduplication(store), mensatek.WithWebhookLease(30 * time.Second)}
	first := mensatek.NewWebhookHandler(handle, opts...)
	second = mensatek.NewWebhookHandler(handle, opts...)

	fmt.Println("first:", deliver(first).Code)
	fmt.Println("later:", deliver(second).Code)
	// Output:
	// meanwhile: 503 Retry-After 30
	// first: 200
	// later: 200
}

func ExampleWithLimiter() {
	// Any Wait(ctx) error limiter: *rate.Limiter in one process, redisstore.NewRateLimiter
	// for replicas that share one limit.
	client, err := mensatek.NewClient("my-api-user", "my-api-token",
		mensatek.WithLimiter(rate.NewLimiter(20, 5)))
	fmt.Println(client != nil, err)
	// Output: true <nil>
}
