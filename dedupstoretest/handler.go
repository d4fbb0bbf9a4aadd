package dedupstoretest

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mensatek-go/mensatek"
)

// Report returns the JSON body of one delivery report with the given message id.
func Report(id int64) string {
	return fmt.Sprintf(`{"Servicio":"WHATSAPP","Direccion":"OUTPUT","Estado":"1","Telefono":"34600000000",`+
		`"Fecha":"2026-01-02 10:00:00","idMensaje":"%d","Referencia":"dedupstoretest","Tipo":"text"}`, id)
}

func newReportID() int64 { return rand.Int64N(1<<53) + 1 }

func deliver(h http.Handler, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// redeliver delivers body to h until it is answered 2xx, as the provider does, pausing a moment
// between tries (not waiting for Retry-After, which would make the test slow). It returns the
// statuses seen, the last one 2xx, or stops at Deadline.
func redeliver(t *testing.T, h http.Handler, body string) []int {
	deadline := time.Now().Add(Deadline)
	var codes []int
	for {
		w := deliver(h, body)
		codes = append(codes, w.Code)
		switch {
		case w.Code/100 == 2:
			return codes
		case w.Code == http.StatusServiceUnavailable:
			if ra := w.Header().Get("Retry-After"); ra == "" || ra == "0" {
				t.Errorf("503 with Retry-After %q, want at least 1", ra)
			}
		case w.Code != http.StatusInternalServerError:
			t.Errorf("status %d: %s", w.Code, w.Body)
			return codes
		}
		if time.Now().After(deadline) {
			t.Errorf("no 2xx after %v: %v", Deadline, codes[max(0, len(codes)-5):])
			return codes
		}
		time.Sleep(time.Millisecond) // pacing between redeliveries, as a provider would; proves nothing
	}
}

// RunHandler checks the webhook handler on store the way several replicas use it: two
// handlers ("replicas") share store, and 200 concurrent deliveries of one report are spread
// over both. With fn succeeding, fn runs exactly once and every delivery ends 200. With the
// first run of fn failing, fn eventually succeeds exactly once and no delivery is answered 2xx
// before that success. With a holder that never returns, a delivery after the lease handles
// the report. store must remember done keys for at least a minute.
func RunHandler(t *testing.T, store mensatek.DedupStore) {
	t.Helper()
	t.Run("OnceAcrossReplicas", func(t *testing.T) { testHandlerOnce(t, store) })
	t.Run("FirstRunFails", func(t *testing.T) { testHandlerFirstFails(t, store) })
	t.Run("HolderNeverReturns", func(t *testing.T) { testHandlerHolderDies(t, store) })
	t.Run("HostileReport", func(t *testing.T) { testHandlerHostileReport(t, store) })
}

// testHandlerHostileReport delivers reports whose fields are as long as the body limit allows
// (a 6,000-byte Tipo, a 1 MB Servicio): each is handled once and answered 200, never refused
// forever for the length of its key.
func testHandlerHostileReport(t *testing.T, store mensatek.DedupStore) {
	var calls atomic.Int32
	hs := replicas(store, func(context.Context, *mensatek.Event) error { calls.Add(1); return nil })
	id := newReportID()
	report := func(field, value string) string {
		return fmt.Sprintf(`{"Servicio":"WHATSAPP","Direccion":"OUTPUT","Estado":"1","Telefono":"34600000000",`+
			`"idMensaje":"%d","Tipo":"text",%q:%q}`, id, field, value)
	}
	// Random text does not compress: PostgreSQL compresses a long bytea before it checks the
	// index row limit, so a repeated letter would fit where a real long value does not.
	noise := make([]byte, 4_500)
	_, _ = crand.Read(noise)
	tipo := base64.StdEncoding.EncodeToString(noise) // 6,000 bytes
	bodies := []string{
		report("Tipo", tipo),
		report("Tipo", tipo[:len(tipo)-1]+"!"), // another report: the keys differ in the last byte
		report("Servicio", strings.Repeat("S", 1_000_000)),
	}
	for i, body := range bodies {
		for d := 0; d < 2; d++ {
			if w := deliver(hs[d], body); w.Code != http.StatusOK {
				t.Fatalf("report %d, delivery %d: status %d: %s", i, d+1, w.Code, w.Body)
			}
		}
	}
	if n := calls.Load(); n != int32(len(bodies)) {
		t.Fatalf("fn ran %d times for %d reports delivered twice each, want %d", n, len(bodies), len(bodies))
	}
}

const deliveries = 200

func replicas(store mensatek.DedupStore, fn func(context.Context, *mensatek.Event) error, opts ...mensatek.WebhookOption) [2]http.Handler {
	opts = append([]mensatek.WebhookOption{mensatek.WithoutWebhookAuth(), mensatek.WithWebhookDeduplication(store),
		mensatek.WithWebhookLogger(discardLogger())}, opts...)
	return [2]http.Handler{mensatek.NewWebhookHandler(fn, opts...), mensatek.NewWebhookHandler(fn, opts...)}
}

func testHandlerOnce(t *testing.T, store mensatek.DedupStore) {
	var calls atomic.Int32
	hs := replicas(store, func(context.Context, *mensatek.Event) error { calls.Add(1); return nil })
	body := Report(newReportID())
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < deliveries; i++ {
		wg.Add(1)
		go func(h http.Handler) {
			defer wg.Done()
			<-start
			redeliver(t, h, body)
		}(hs[i%2])
	}
	close(start)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("fn ran %d times for %d deliveries of one report over two replicas, want 1", n, deliveries)
	}
}

func testHandlerFirstFails(t *testing.T, store mensatek.DedupStore) {
	var (
		calls, successes atomic.Int32
		succeeded        atomic.Bool
		answered         atomic.Int32 // deliveries answered anything while the first run holds the report
		enough           = make(chan struct{})
		once             sync.Once
	)
	fn := func(ctx context.Context, _ *mensatek.Event) error {
		if calls.Add(1) == 1 {
			// Hold the report until other deliveries have been answered meanwhile, then fail.
			select {
			case <-enough:
			case <-time.After(Deadline):
			}
			return errors.New("first run fails")
		}
		successes.Add(1)
		succeeded.Store(true)
		return nil
	}
	hs := replicas(store, fn)
	body := Report(newReportID())
	var early atomic.Int32 // 2xx answers seen before fn succeeded
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < deliveries; i++ {
		wg.Add(1)
		go func(h http.Handler) {
			defer wg.Done()
			<-start
			deadline := time.Now().Add(Deadline)
			for {
				w := deliver(h, body)
				if w.Code/100 == 2 {
					if !succeeded.Load() {
						early.Add(1)
					}
					return
				}
				if w.Code != http.StatusServiceUnavailable && w.Code != http.StatusInternalServerError {
					t.Errorf("status %d: %s", w.Code, w.Body)
					return
				}
				if answered.Add(1) >= 20 {
					once.Do(func() { close(enough) })
				}
				if time.Now().After(deadline) {
					t.Errorf("no 2xx after %v", Deadline)
					return
				}
				time.Sleep(time.Millisecond) // pacing between redeliveries; proves nothing
			}
		}(hs[i%2])
	}
	close(start)
	wg.Wait()
	if n := successes.Load(); n != 1 {
		t.Fatalf("fn succeeded %d times, want exactly 1 (ran %d times)", n, calls.Load())
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("fn ran %d times, want 2: the failed run and one success", n)
	}
	if n := early.Load(); n != 0 {
		t.Fatalf("%d deliveries were answered 2xx before fn succeeded", n)
	}
}

func testHandlerHolderDies(t *testing.T, store mensatek.DedupStore) {
	const lease = 300 * time.Millisecond
	stuck := make(chan struct{})
	var calls atomic.Int32
	holding := make(chan struct{})
	fn := func(context.Context, *mensatek.Event) error {
		if calls.Add(1) == 1 {
			close(holding)
			<-stuck // a holder that never returns (and ignores its context)
		}
		return nil
	}
	hs := replicas(store, fn, mensatek.WithWebhookLease(lease))
	body := Report(newReportID())
	first := make(chan int, 1)
	go func() { first <- deliver(hs[0], body).Code }()
	<-holding
	codes := redeliver(t, hs[1], body)
	if got := codes[len(codes)-1]; got != http.StatusOK {
		t.Fatalf("delivery to the other replica ended %d", got)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("fn ran %d times, want 2: the stuck holder and the takeover", n)
	}
	close(stuck)
	if code := <-first; code != http.StatusOK {
		t.Fatalf("the stuck holder, once it returned nil, was answered %d", code)
	}
	if w := deliver(hs[0], body); w.Code != http.StatusOK || calls.Load() != 2 {
		t.Fatalf("a later delivery: %d, fn ran %d times", w.Code, calls.Load())
	}
}

// BenchmarkStore measures what deduplication adds to one delivery of a new report, without
// HTTP: a claim and a completion, one after the other (ns/op is their latency together).
func BenchmarkStore(b *testing.B, store mensatek.DedupStore) {
	ctx := context.Background()
	prefix := "bench-" + Token() + "-"
	b.ResetTimer() // the caller's setup (starting a server) is not measured
	for i := 0; i < b.N; i++ {
		key := prefix + strconv.Itoa(i)
		c, err := store.Claim(ctx, key, Token(), time.Minute)
		if err != nil || c.Status != mensatek.ClaimAcquired {
			b.Fatalf("claim: %v %v", c.Status, err)
		}
		if err := store.Complete(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandler measures the webhook handler with store behind a real http.Server on
// loopback, every delivery a distinct report (so each costs a claim and a completion): the
// sub-benchmark "serial" gives one delivery's latency (ns/op), "parallel" the throughput
// (deliveries/s) with 16 concurrent senders. nil store measures the handler without
// deduplication, the baseline the others add to.
func BenchmarkHandler(b *testing.B, store mensatek.DedupStore) {
	h := mensatek.NewWebhookHandler(func(context.Context, *mensatek.Event) error { return nil },
		mensatek.WithoutWebhookAuth(), mensatek.WithWebhookDeduplication(store), mensatek.WithWebhookLogger(discardLogger()))
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	base := newReportID() &^ (1<<40 - 1)
	b.ResetTimer()
	var seq atomic.Int64
	post := func(b *testing.B) {
		resp, err := client.Post(srv.URL, "application/json", strings.NewReader(Report(base+seq.Add(1))))
		if err != nil {
			b.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Errorf("status %d", resp.StatusCode)
		}
	}
	b.Run("serial", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			post(b)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				post(b)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	})
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
