package contactstoretest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// RunReplicas checks that two stores on one backend (two replicas of a service, each with its
// own store value) agree: what one records the other reads at once, concurrent conflicting
// changes through both end in the same state, and an opt-out a customer sends to one replica's
// webhook stops a send from the other replica's client.
func RunReplicas(t *testing.T, a, b mensatek.ContactStore) {
	t.Helper()
	t.Run("ReadsAgree", func(t *testing.T) { testReplicaReads(t, a, b) })
	t.Run("ConcurrentChangesAgree", func(t *testing.T) { testReplicaConcurrent(t, a, b) })
	t.Run("WebhookAndClient", func(t *testing.T) { testReplicaWebhook(t, a, b) })
}

func testReplicaReads(t *testing.T, a, b mensatek.ContactStore) {
	p := Phone()
	record(t, a, p, base)
	setOptOut(t, b, p, true, base.Add(time.Minute), "keyword:BAJA")
	for name, s := range map[string]mensatek.ContactStore{"a": a, "b": b} {
		c := one(t, s, p)
		wantTime(t, "replica "+name+": LastInbound", c.LastInbound, base)
		wantConsent(t, "replica "+name, c, true, base.Add(time.Minute), "keyword:BAJA")
	}
	// A late opt-in through a loses to the opt-out b recorded.
	setOptOut(t, a, p, false, base, "late")
	wantConsent(t, "after a late opt-in", one(t, b, p), true, base.Add(time.Minute), "keyword:BAJA")
	if !listed(t, a, p) || !listed(t, b, p) {
		t.Fatalf("%s is not in both replicas' OptedOut", p)
	}
}

func listed(t testing.TB, s mensatek.ContactStore, phone string) bool {
	for _, c := range optedOut(t, s) {
		if c.Phone == phone {
			return true
		}
	}
	return false
}

func testReplicaConcurrent(t *testing.T, a, b mensatek.ContactStore) {
	phones := []string{Phone(), Phone(), Phone()}
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*n*len(phones))
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			s := []mensatek.ContactStore{a, b}[i%2]
			for k, p := range phones {
				at := base.Add(time.Duration((i*7+k)%n) * time.Second)
				if err := s.RecordInbound(ctxT(t), p, at); err != nil {
					errs <- err
				}
				if err := s.SetOptOut(ctxT(t), p, (i+k)%3 == 0, at, "replica-"+strconv.Itoa(i%2)); err != nil {
					errs <- err
				}
			}
		}(i)
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent writes through two replicas: %v", err)
	}
	ca, cb := lookup(t, a, phones...), lookup(t, b, phones...)
	for _, p := range phones {
		x, y := ca[p], cb[p]
		if !x.LastInbound.Equal(y.LastInbound) || x.OptedOut != y.OptedOut || !x.ConsentAt.Equal(y.ConsentAt) || x.ConsentSource != y.ConsentSource {
			t.Fatalf("replicas disagree on %s: %+v and %+v", p, x, y)
		}
		wantTime(t, "LastInbound", x.LastInbound, base.Add((n-1)*time.Second))
		if !x.ConsentAt.Equal(base.Add((n - 1) * time.Second)) {
			t.Fatalf("ConsentAt %v, want the newest change's", x.ConsentAt)
		}
	}
}

// testReplicaWebhook: "BAJA" reaches replica a's webhook; replica b's campaign send to that
// customer is refused before anything leaves; "ALTA" through b's webhook lets a's client send.
func testReplicaWebhook(t *testing.T, a, b mensatek.ContactStore) {
	ctx := ctxT(t)
	api := mensatektest.Start(t)
	hookA, hookB := receiver(t, a), receiver(t, b)
	clientA, clientB := api.Client(mensatek.WithContacts(a)), api.Client(mensatek.WithContacts(b))
	p := Phone()
	now := time.Now().Truncate(time.Second)

	baja := mensatektest.InboundText(1, p, "Baja.")
	baja.Time = now
	deliver(t, hookA, baja)
	_, err := clientB.SendTemplate(ctx, "customer_welcome", welcome(p))
	if !errors.Is(err, mensatek.ErrOptedOut) {
		t.Fatalf("replica b's send after BAJA reached replica a: %v, want ErrOptedOut", err)
	}
	if n := api.Calls(mensatek.OpSend); n != 0 {
		t.Fatalf("the API saw %d sends", n)
	}
	alta := mensatektest.InboundText(2, p, "ALTA")
	alta.Time = now.Add(time.Second)
	deliver(t, hookB, alta)
	if _, err := clientA.SendTemplate(ctx, "customer_welcome", welcome(p)); err != nil {
		t.Fatalf("replica a's send after ALTA reached replica b: %v", err)
	}
	// And the window: b's client may reply in text to the customer who wrote to a.
	if _, err := clientB.SendText(ctx, p, "¡Bienvenido de nuevo!"); err != nil {
		t.Fatalf("a text within the service window: %v", err)
	}
	if n := api.Calls(mensatek.OpSend); n != 2 {
		t.Fatalf("the API saw %d sends, want 2", n)
	}
}

// welcome is a recipient of the fake's customer_welcome template, with every variable it needs.
func welcome(phone string) mensatek.Recipient {
	return mensatek.Recipient{Phone: phone, Name: "Ana", Vars: map[string]string{
		"Variable_Cabecera_image": "https://cdn.example.com/banner.jpg",
		"Valor-URL-Boton-0":       "https://shop.example.com/offer/1",
	}}
}

func receiver(t *testing.T, store mensatek.ContactStore) string {
	h := mensatek.NewWebhookHandler(func(context.Context, *mensatek.Event) error { return nil },
		mensatek.WithoutWebhookAuth(), mensatek.WithWebhookContacts(store), mensatek.WithWebhookLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func deliver(t *testing.T, url string, w mensatektest.Webhook) {
	t.Helper()
	status, err := mensatektest.DeliverWebhook(ctxT(t), url, w)
	if err != nil || status != http.StatusOK {
		t.Fatalf("delivering %q: status %d, %v", w.Message["text"], status, err)
	}
}

// BenchmarkContacts measures one [mensatek.ContactStore.Contacts] call for n recipients (a
// campaign's check before it sends), half of them known to store: ns/op is the latency of the
// whole lookup. The known half is written first, outside the measurement.
func BenchmarkContacts(b *testing.B, store mensatek.ContactStore, n int) {
	ctx := context.Background()
	prefix := "349" + fmt.Sprintf("%04d", time.Now().UnixNano()%10000)
	phones := make([]string, n)
	for i := range phones {
		phones[i] = prefix + fmt.Sprintf("%06d", i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 2 * w; i < n; i += 16 { // the even ones
				if err := store.RecordInbound(ctx, phones[i], base.Add(time.Duration(i)*time.Second)); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := store.Contacts(ctx, phones)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != (n+1)/2 {
			b.Fatalf("Contacts found %d of the %d known", len(got), (n+1)/2)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/phone")
}
