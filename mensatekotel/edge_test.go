package mensatekotel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatekotel"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// A trace context anyone could have written: the webhook's URL is public.
const (
	forgedTraceID     = "0af7651916cd43dd8448eb211c80319c"
	forgedSpanID      = "b7ad6b7169203331"
	forgedTraceparent = "00-" + forgedTraceID + "-" + forgedSpanID + "-01"
)

// forgedDelivery is a delivery of an inbound text whose headers carry a forged trace context
// (and whatever else is in header), with credentials when user is not empty.
func forgedDelivery(t *testing.T, ctx context.Context, header http.Header, user, password string) *http.Request {
	t.Helper()
	body, err := mensatektest.InboundText(4711, phone, secretText).JSON()
	require.NoError(t, err)
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/webhook", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("traceparent", forgedTraceparent)
	for k, v := range header {
		r.Header[k] = v
	}
	if user != "" {
		r.SetBasicAuth(user, password)
	}
	return r
}

// delivery returns the one delivery span the telemetry holds.
func (tm *telemetry) delivery(t *testing.T) sdktrace.ReadOnlySpan {
	t.Helper()
	deliveries := tm.named("mensatek webhook")
	require.Len(t, deliveries, 1)
	return deliveries[0]
}

// isForged reports whether sc is the forged trace context.
func isForged(sc trace.SpanContext) bool {
	return sc.TraceID().String() == forgedTraceID && sc.SpanID().String() == forgedSpanID
}

func TestWebhookForgedTraceparentIsOnlyALink(t *testing.T) {
	tm := newTelemetry(t)
	handler := mensatek.NewWebhookHandler(func(context.Context, *mensatek.Event) error {
		t.Error("the function ran without credentials")
		return nil
	}, mensatek.WithWebhookBasicAuth("hook", "s3cret"), mensatekotel.InstrumentWebhook(tm.opts...))

	w := httptest.NewRecorder()
	handler.ServeHTTP(w, forgedDelivery(t, context.Background(), http.Header{"Tracestate": {"vendor=anything"}}, "", ""))
	require.Equal(t, http.StatusUnauthorized, w.Code)

	d := tm.delivery(t)
	assert.False(t, d.Parent().IsValid(), "a new root, not a child of the forged context")
	assert.NotEqual(t, forgedTraceID, d.SpanContext().TraceID().String(), "not in the forged trace")
	require.Len(t, d.Links(), 1, "the forged context is a link")
	assert.True(t, isForged(d.Links()[0].SpanContext), "the link is to the forged context")
	assert.Zero(t, d.Links()[0].SpanContext.TraceState().Len(), "the sender's free text is not kept")
}

// operator is the operator's own middleware in front of the handler, as otelhttp is: its span
// and baggage are in the request's context.
func operator(tm *telemetry, next http.Handler) (http.Handler, *trace.SpanContext) {
	var ingress trace.SpanContext
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tm.tp.Tracer("operator").Start(r.Context(), "ingress", trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		ingress = span.SpanContext()
		m, _ := baggage.NewMemberRaw("tenant", "ours")
		b, _ := baggage.New(m)
		next.ServeHTTP(w, r.WithContext(baggage.ContextWithBaggage(ctx, b)))
	}), &ingress
}

// withBaggage makes the telemetry's propagators read baggage as well as the trace context.
func withBaggage(tm *telemetry) []mensatekotel.Option {
	return append(tm.opts[:len(tm.opts):len(tm.opts)], mensatekotel.WithPropagators(
		propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})))
}

func TestWebhookDeliveryIsAChildOfTheOperatorsSpan(t *testing.T) {
	tm := newTelemetry(t)
	var fnSpan trace.SpanContext
	var tenant string
	handler := mensatek.NewWebhookHandler(func(ctx context.Context, _ *mensatek.Event) error {
		fnSpan = trace.SpanContextFromContext(ctx)
		tenant = baggage.FromContext(ctx).Member("tenant").Value()
		return nil
	}, mensatek.WithWebhookBasicAuth("hook", "s3cret"), mensatekotel.InstrumentWebhook(withBaggage(tm)...))
	front, ingress := operator(tm, handler)

	w := httptest.NewRecorder()
	front.ServeHTTP(w, forgedDelivery(t, context.Background(), http.Header{"Baggage": {"tenant=forged"}}, "hook", "s3cret"))
	require.Equal(t, http.StatusOK, w.Code)

	d := tm.delivery(t)
	assert.Equal(t, ingress.SpanID(), d.Parent().SpanID(), "a child of the operator's span")
	assert.Equal(t, ingress.TraceID(), d.SpanContext().TraceID())
	require.Len(t, d.Links(), 1)
	assert.True(t, isForged(d.Links()[0].SpanContext), "the forged context is a link")
	fns := tm.named("mensatek webhook function")
	require.Len(t, fns, 1)
	assert.Equal(t, d.SpanContext().SpanID(), fns[0].Parent().SpanID(), "the function is a child of the delivery")
	assert.Equal(t, fns[0].SpanContext(), fnSpan)
	assert.Equal(t, "ours", tenant, "the operator's baggage, not the forged one")
}

func TestWebhookForgedBaggageDoesNotReachTheFunction(t *testing.T) {
	tm := newTelemetry(t)
	members := -1
	handler := mensatek.NewWebhookHandler(func(ctx context.Context, _ *mensatek.Event) error {
		members = baggage.FromContext(ctx).Len()
		return nil
	}, mensatek.WithWebhookBasicAuth("hook", "s3cret"), mensatekotel.InstrumentWebhook(withBaggage(tm)...))

	w := httptest.NewRecorder()
	handler.ServeHTTP(w, forgedDelivery(t, context.Background(),
		http.Header{"Baggage": {"tenant=forged,user.id=0"}}, "hook", "s3cret"))
	require.Equal(t, http.StatusOK, w.Code)
	assert.Zero(t, members, "no baggage from the headers")

	// Without a trace context in the headers there is nothing to link to.
	tm.spans.Reset()
	w = httptest.NewRecorder()
	r := forgedDelivery(t, context.Background(), nil, "hook", "s3cret")
	r.Header.Del("traceparent")
	handler.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code, "a duplicate is answered 200 too")
	d := tm.delivery(t)
	assert.False(t, d.Parent().IsValid())
	assert.Empty(t, d.Links())
}

func TestWebhookTrustedHeadersAreTheParent(t *testing.T) {
	tm := newTelemetry(t)
	var tenant string
	handler := mensatek.NewWebhookHandler(func(ctx context.Context, _ *mensatek.Event) error {
		tenant = baggage.FromContext(ctx).Member("tenant").Value()
		return nil
	}, mensatek.WithWebhookBasicAuth("hook", "s3cret"),
		mensatekotel.InstrumentWebhook(append(withBaggage(tm), mensatekotel.WithTrustedWebhookHeaders())...))

	w := httptest.NewRecorder()
	handler.ServeHTTP(w, forgedDelivery(t, context.Background(), http.Header{"Baggage": {"tenant=proxy"}}, "hook", "s3cret"))
	require.Equal(t, http.StatusOK, w.Code)

	d := tm.delivery(t)
	assert.True(t, isForged(d.Parent()), "a child of the headers' trace context")
	assert.True(t, d.Parent().IsRemote())
	assert.Equal(t, forgedTraceID, d.SpanContext().TraceID().String())
	assert.Empty(t, d.Links())
	assert.Equal(t, "proxy", tenant, "the headers' baggage reaches the function")
}
