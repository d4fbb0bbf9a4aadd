package mensatekotel_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatekotel"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// Personal data the tests put through the SDK; none may reach telemetry.
const (
	phone      = "+34 600 111 222"
	phoneDigit = "600111222"
	otherPhone = "+34600333444"
	otherDigit = "600333444"
	secretText = "tu pedido secreto 4711"
	profile    = "Lucía Pérez"
)

// telemetry is an in-memory trace and metric pipeline.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	opts   []mensatekotel.Option
}

func newTelemetry(t *testing.T) *telemetry {
	t.Helper()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return &telemetry{spans: spans, reader: reader, tp: tp, opts: []mensatekotel.Option{
		mensatekotel.WithTracerProvider(tp), mensatekotel.WithMeterProvider(mp),
		mensatekotel.WithPropagators(propagation.TraceContext{}),
	}}
}

func (tm *telemetry) metrics(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, tm.reader.Collect(context.Background(), &rm))
	return rm
}

func (tm *telemetry) named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range tm.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// assertNoPersonalData scans every span name, attribute, event, status and metric label for
// the phones and texts the test used.
func (tm *telemetry) assertNoPersonalData(t *testing.T, secrets ...string) {
	t.Helper()
	var all strings.Builder
	for _, s := range tm.spans.Ended() {
		fmt.Fprintf(&all, "span %q status %q\n", s.Name(), s.Status().Description)
		for _, a := range s.Attributes() {
			fmt.Fprintf(&all, "  %s=%s\n", a.Key, a.Value.String())
		}
		for _, e := range s.Events() {
			fmt.Fprintf(&all, "  event %q\n", e.Name)
			for _, a := range e.Attributes {
				fmt.Fprintf(&all, "    %s=%s\n", a.Key, a.Value.String())
			}
		}
	}
	for _, sm := range tm.metrics(t).ScopeMetrics {
		for _, m := range sm.Metrics {
			fmt.Fprintf(&all, "metric %s\n", m.Name)
			for _, set := range attributeSets(m.Data) {
				fmt.Fprintf(&all, "  %s\n", set.Encoded(attribute.DefaultEncoder()))
			}
		}
	}
	require.NotEmpty(t, all.String())
	for _, secret := range secrets {
		assert.NotContains(t, all.String(), secret, "personal data in telemetry:\n%s", all.String())
	}
}

func attributeSets(data metricdata.Aggregation) []attribute.Set {
	var sets []attribute.Set
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	}
	return sets
}

func (tm *telemetry) metric(t *testing.T, name string) metricdata.Aggregation {
	t.Helper()
	for _, sm := range tm.metrics(t).ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m.Data
			}
		}
	}
	return nil
}

// counter returns the value of a counter's data point with exactly these attributes.
func (tm *telemetry) counter(t *testing.T, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	sum, _ := tm.metric(t, name).(metricdata.Sum[int64])
	want := attribute.NewSet(attrs...)
	for _, p := range sum.DataPoints {
		if p.Attributes.Equals(&want) {
			return p.Value
		}
	}
	return 0
}

func attr(s sdktrace.ReadOnlySpan, key string) (attribute.Value, bool) {
	for _, a := range s.Attributes() {
		if string(a.Key) == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

func eventNames(s sdktrace.ReadOnlySpan) []string {
	var names []string
	for _, e := range s.Events() {
		names = append(names, e.Name)
	}
	return names
}

// refuseFirstDial returns an HTTP client whose first connection goes to a closed loopback port
// (connection refused: the request never leaves) and every later one where it was meant to.
func refuseFirstDial(t *testing.T) *http.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())
	var dials atomic.Int32
	var d net.Dialer
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			addr = closed
		}
		return d.DialContext(ctx, network, addr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestSendRetriedAfterRefusedConnection(t *testing.T) {
	tm := newTelemetry(t)
	srv := mensatektest.NewServer()
	defer srv.Close()
	srv.SetCredits(987.5)
	client := srv.Client(mensatekotel.Instrument(tm.opts...), mensatek.WithHTTPClient(refuseFirstDial(t)),
		mensatek.WithRetryPolicy(mensatek.RetryPolicy{MaxRetries: 2, InitialBackoff: time.Millisecond}),
		mensatek.WithRateLimit(1000, 10))

	ctx, parent := tm.tp.Tracer("test").Start(context.Background(), "ship order")
	res, err := client.Send(ctx, mensatek.SendRequest{
		To:      []mensatek.Recipient{{Phone: phone, Name: profile}},
		Message: mensatek.Text{Body: secretText},
	})
	parent.End()
	require.NoError(t, err)
	require.Len(t, srv.Sent(), 1, "sent once")

	calls := tm.named("mensatek send")
	require.Len(t, calls, 1)
	call := calls[0]
	assert.Equal(t, parent.SpanContext().SpanID(), call.Parent().SpanID(), "the call is a child of the caller's span")
	assert.Equal(t, trace.SpanKindProducer, call.SpanKind())
	v, _ := attr(call, "messaging.system")
	assert.Equal(t, "mensatek", v.AsString())
	v, _ = attr(call, "messaging.message.id")
	assert.Equal(t, fmt.Sprint(res.MessageID), v.AsString())
	v, _ = attr(call, "mensatek.recipients")
	assert.Equal(t, int64(1), v.AsInt64())
	assert.Equal(t, codes.Unset, call.Status().Code)
	assert.Contains(t, eventNames(call), "mensatek.backoff")
	assert.Contains(t, eventNames(call), "mensatek.limiter.wait")

	attempts := tm.named("POST")
	require.Len(t, attempts, 2, "one span per HTTP attempt")
	for _, a := range attempts {
		assert.Equal(t, call.SpanContext().SpanID(), a.Parent().SpanID(), "attempts are children of the call")
		assert.Equal(t, trace.SpanKindClient, a.SpanKind())
		v, _ := attr(a, "http.request.method")
		assert.Equal(t, "POST", v.AsString())
		v, _ = attr(a, "url.full")
		assert.Equal(t, srv.URL+"EnviarWHATSAPP", v.AsString())
	}
	first, second := attempts[0], attempts[1]
	if first.StartTime().After(second.StartTime()) {
		first, second = second, first
	}
	_, resent := attr(first, "http.request.resend_count")
	assert.False(t, resent, "the first attempt is no resend")
	v, _ = attr(first, "error.type")
	assert.Equal(t, "not_sent", v.AsString())
	assert.Equal(t, codes.Error, first.Status().Code)
	v, _ = attr(second, "http.request.resend_count")
	assert.Equal(t, int64(1), v.AsInt64())
	v, _ = attr(second, "http.response.status_code")
	assert.Equal(t, int64(200), v.AsInt64())

	op := attribute.String("mensatek.operation", "send")
	assert.Equal(t, int64(1), tm.counter(t, "mensatek.client.attempts", op, attribute.String("mensatek.outcome", "not_sent"),
		attribute.Bool("mensatek.attempt.resend", false)))
	assert.Equal(t, int64(1), tm.counter(t, "mensatek.client.attempts", op, attribute.String("mensatek.outcome", "ok"),
		attribute.Bool("mensatek.attempt.resend", true)))
	hist, ok := tm.metric(t, "mensatek.client.operation.duration").(metricdata.Histogram[float64])
	require.True(t, ok)
	require.Len(t, hist.DataPoints, 1)
	assert.Equal(t, uint64(1), hist.DataPoints[0].Count)
	outcome, _ := hist.DataPoints[0].Attributes.Value("mensatek.outcome")
	assert.Equal(t, "ok", outcome.AsString())
	wait, ok := tm.metric(t, "mensatek.client.limiter.wait").(metricdata.Histogram[float64])
	require.True(t, ok)
	require.Len(t, wait.DataPoints, 1)
	assert.Equal(t, uint64(2), wait.DataPoints[0].Count, "one limiter wait per attempt")

	credits, ok := tm.metric(t, "mensatek.client.credits").(metricdata.Gauge[float64])
	require.True(t, ok)
	require.Len(t, credits.DataPoints, 1)
	assert.Equal(t, srv.Credits(), credits.DataPoints[0].Value, "credits after a send are the fake's")
	seen, _, _ := client.Credits()
	assert.Equal(t, seen, credits.DataPoints[0].Value)

	tm.assertNoPersonalData(t, phoneDigit, secretText, profile, srv.APIUser, srv.APIToken)
}

func TestCreditsGaugeEmptyUntilAReplyCarriesThem(t *testing.T) {
	tm := newTelemetry(t)
	srv := mensatektest.NewServer()
	defer srv.Close()
	srv.Client(mensatekotel.Instrument(tm.opts...))
	credits, _ := tm.metric(t, "mensatek.client.credits").(metricdata.Gauge[float64])
	assert.Empty(t, credits.DataPoints, "no call of its own: nothing to report before a reply")
	assert.Zero(t, srv.Calls(mensatek.OpAccountStatus)+srv.Calls(mensatek.OpTemplates)+srv.Calls(mensatek.OpSend))
}

func TestSendOutcomeUnknown(t *testing.T) {
	tm := newTelemetry(t)
	srv := mensatektest.NewServer()
	defer srv.Close()
	client := srv.Client(mensatekotel.Instrument(tm.opts...))
	srv.DropNext(mensatek.OpSend)

	_, err := client.SendText(context.Background(), phone, secretText)
	require.ErrorIs(t, err, mensatek.ErrOutcomeUnknown)

	calls := tm.named("mensatek send")
	require.Len(t, calls, 1)
	assert.Equal(t, codes.Error, calls[0].Status().Code)
	assert.Equal(t, "outcome_unknown", calls[0].Status().Description)
	v, _ := attr(calls[0], "error.type")
	assert.Equal(t, "outcome_unknown", v.AsString())
	assert.Len(t, tm.named("POST"), 1, "never retried")
	hist, _ := tm.metric(t, "mensatek.client.operation.duration").(metricdata.Histogram[float64])
	require.Len(t, hist.DataPoints, 1)
	outcome, _ := hist.DataPoints[0].Attributes.Value("mensatek.outcome")
	assert.Equal(t, "outcome_unknown", outcome.AsString())

	tm.assertNoPersonalData(t, phoneDigit, secretText)
}

func TestAPIErrorByCode(t *testing.T) {
	tm := newTelemetry(t)
	srv := mensatektest.NewServer()
	defer srv.Close()
	client := srv.Client(mensatekotel.Instrument(tm.opts...))
	srv.FailNext(mensatek.OpSend, -7, "el teléfono "+phone+" no puede recibir")
	srv.FailNext(mensatek.OpTemplates, mensatek.CodeInsufficientCredits, "sin saldo")

	_, err := client.SendText(context.Background(), phone, secretText)
	require.Error(t, err)
	_, err = client.Templates(context.Background())
	require.ErrorIs(t, err, mensatek.ErrInsufficientCredits)

	send := tm.named("mensatek send")
	require.Len(t, send, 1)
	assert.Equal(t, "api_code_-7", send[0].Status().Description)
	templates := tm.named("mensatek templates")
	require.Len(t, templates, 1)
	assert.Equal(t, trace.SpanKindInternal, templates[0].SpanKind())
	assert.Equal(t, "insufficient_credits", templates[0].Status().Description)
	tm.assertNoPersonalData(t, phoneDigit, secretText, "no puede recibir")
}

func TestConsentRefusalsCounted(t *testing.T) {
	tm := newTelemetry(t)
	srv := mensatektest.NewServer()
	defer srv.Close()
	store := mensatek.NewMemoryContactStore()
	ctx := context.Background()
	optedOut, err := mensatek.NormalizePhone(phone)
	require.NoError(t, err)
	require.NoError(t, store.RecordInbound(ctx, optedOut, time.Now().Add(-time.Minute)))
	require.NoError(t, store.SetOptOut(ctx, optedOut, true, time.Now().Add(-time.Minute), "BAJA"))
	client := srv.Client(mensatekotel.Instrument(tm.opts...), mensatek.WithContacts(store))

	_, err = client.Send(ctx, mensatek.SendRequest{
		To:      []mensatek.Recipient{{Phone: phone}, {Phone: otherPhone}}, // opted out; never wrote
		Message: mensatek.Text{Body: secretText},
	})
	require.ErrorIs(t, err, mensatek.ErrOptedOut)
	require.ErrorIs(t, err, mensatek.ErrOutsideServiceWindow)
	assert.Empty(t, srv.Sent())

	assert.Equal(t, int64(1), tm.counter(t, "mensatek.consent.refusals", attribute.String("mensatek.consent.reason", "opted_out")))
	assert.Equal(t, int64(1), tm.counter(t, "mensatek.consent.refusals", attribute.String("mensatek.consent.reason", "outside_window")))
	calls := tm.named("mensatek send")
	require.Len(t, calls, 1)
	assert.Equal(t, "opted_out", calls[0].Status().Description)
	assert.Equal(t, []string{"mensatek.consent.refused", "mensatek.consent.refused"}, eventNames(calls[0]))
	assert.Empty(t, tm.named("POST"), "nothing left the process")
	tm.assertNoPersonalData(t, phoneDigit, otherDigit, secretText)
}

func TestWebhookDuplicateDelivery(t *testing.T) {
	tm := newTelemetry(t)
	var fnSpans []trace.SpanContext
	handler := mensatek.NewWebhookHandler(func(ctx context.Context, ev *mensatek.Event) error {
		fnSpans = append(fnSpans, trace.SpanFromContext(ctx).SpanContext())
		return nil
	}, mensatek.WithoutWebhookAuth(), mensatekotel.InstrumentWebhook(tm.opts...))
	srv := httptest.NewServer(handler)
	defer srv.Close()

	// A sender that propagates its trace context in the delivery's headers (Mensatek's servers
	// do not): by default the delivery only links to it.
	ctx, parent := tm.tp.Tracer("test").Start(context.Background(), "provider")
	hc := &http.Client{Transport: injecting{http.DefaultTransport}}
	report := mensatektest.InboundText(4711, phone, secretText)
	for range 2 {
		status, err := mensatektest.DeliverWebhook(ctx, srv.URL, report, mensatektest.WithDeliveryClient(hc))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
	}
	parent.End()
	require.Len(t, fnSpans, 1, "the duplicate did not reach the function")

	deliveries := tm.named("mensatek webhook")
	require.Len(t, deliveries, 2)
	claims := map[string]bool{}
	for _, d := range deliveries {
		assert.False(t, d.Parent().IsValid(), "a new root")
		require.Len(t, d.Links(), 1)
		assert.Equal(t, parent.SpanContext().SpanID(), d.Links()[0].SpanContext.SpanID(), "a link to the propagated context")
		assert.Equal(t, trace.SpanKindServer, d.SpanKind())
		v, _ := attr(d, "mensatek.webhook.claim")
		claims[v.AsString()] = true
		v, _ = attr(d, "mensatek.report.direction")
		assert.Equal(t, "inbound", v.AsString())
		v, _ = attr(d, "mensatek.report.type")
		assert.Equal(t, "text", v.AsString())
		v, _ = attr(d, "http.response.status_code")
		assert.Equal(t, int64(200), v.AsInt64())
	}
	assert.Equal(t, map[string]bool{"acquired": true, "done": true}, claims)
	fns := tm.named("mensatek webhook function")
	require.Len(t, fns, 1)
	assert.Equal(t, fns[0].SpanContext(), fnSpans[0], "the function runs in its span")

	sum, ok := tm.metric(t, "mensatek.webhook.reports").(metricdata.Sum[int64])
	require.True(t, ok)
	require.Len(t, sum.DataPoints, 1)
	assert.Equal(t, int64(1), sum.DataPoints[0].Value, "a report counts once")
	dir, _ := sum.DataPoints[0].Attributes.Value("mensatek.report.direction")
	assert.Equal(t, "inbound", dir.AsString())
	assert.Equal(t, int64(1), tm.counter(t, "mensatek.webhook.duplicates", attribute.String("mensatek.webhook.claim", "done")))

	tm.assertNoPersonalData(t, phoneDigit, secretText, "4711")
}

func TestWebhookFailuresAreNotReports(t *testing.T) {
	tm := newTelemetry(t)
	handler := mensatek.NewWebhookHandler(func(context.Context, *mensatek.Event) error {
		return errors.New("could not store the message for " + phone)
	}, mensatek.WithoutWebhookAuth(), mensatek.WithWebhookLogger(slog.New(slog.DiscardHandler)),
		mensatekotel.InstrumentWebhook(tm.opts...))
	srv := httptest.NewServer(handler)
	defer srv.Close()

	status, err := mensatektest.DeliverWebhook(context.Background(), srv.URL, mensatektest.StatusChange(9, phone, 3, "order-1"))
	require.NoError(t, err)
	require.Equal(t, http.StatusInternalServerError, status)
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(`{"Telefono":"`+phone+`",`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	assert.Nil(t, tm.metric(t, "mensatek.webhook.reports"), "no report was handled")
	fns := tm.named("mensatek webhook function")
	require.Len(t, fns, 1)
	assert.Equal(t, codes.Error, fns[0].Status().Code)
	deliveries := tm.named("mensatek webhook")
	require.Len(t, deliveries, 2)
	tm.assertNoPersonalData(t, phoneDigit, "order-1")
}

// injecting puts the request context's trace context in its headers, as an instrumented
// sender would.
type injecting struct{ next http.RoundTripper }

func (i injecting) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	propagation.TraceContext{}.Inject(r.Context(), propagation.HeaderCarrier(r.Header))
	return i.next.RoundTrip(r)
}

func TestEveryOperationIsASpan(t *testing.T) {
	tm := newTelemetry(t)
	srv := mensatektest.NewServer()
	defer srv.Close()
	srv.AddMedia(77, phone, "image/jpeg", []byte("jpeg bytes"))
	client := srv.Client(mensatekotel.Instrument(tm.opts...))
	ctx := context.Background()

	_, err := client.SendTyping(ctx, 77, phone)
	require.NoError(t, err)
	_, err = client.DownloadMedia(ctx, 77, phone)
	require.NoError(t, err)
	_, err = client.SetAccountStatus(ctx, secretText)
	require.NoError(t, err)
	list, err := client.Templates(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, list)
	_, err = client.TemplateVariables(ctx, list[0].ID)
	require.NoError(t, err)

	for _, op := range []mensatek.Operation{mensatek.OpTyping, mensatek.OpMediaDownload, mensatek.OpAccountStatus,
		mensatek.OpTemplates, mensatek.OpTemplateVariables} {
		calls := tm.named("mensatek " + string(op))
		require.Len(t, calls, 1, op)
		v, _ := attr(calls[0], "mensatek.operation")
		assert.Equal(t, string(op), v.AsString())
		assert.Equal(t, codes.Unset, calls[0].Status().Code, op)
		assert.Equal(t, int64(1), tm.counter(t, "mensatek.client.attempts", attribute.String("mensatek.operation", string(op)),
			attribute.String("mensatek.outcome", "ok"), attribute.Bool("mensatek.attempt.resend", false)), op)
	}
	assert.Len(t, tm.named("POST"), 5)
	tm.assertNoPersonalData(t, phoneDigit, secretText, "jpeg bytes")
}
