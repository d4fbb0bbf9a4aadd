package mensatekotel_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatekotel"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// setupTelemetry installs global providers that export spans and metrics, and returns what
// flushes and stops them. In production the exporters are OTLP's, from their own modules:
//
//	traceExp, err := otlptracegrpc.New(ctx)   // go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc
//	metricExp, err := otlpmetricgrpc.New(ctx) // go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc
//	shutdown := setupTelemetry(traceExp, sdkmetric.NewPeriodicReader(metricExp))
//	defer shutdown(context.Background())
func setupTelemetry(traceExp sdktrace.SpanExporter, metricReader sdkmetric.Reader) (shutdown func(context.Context) error) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(traceExp))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(metricReader))
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	otel.SetTextMapPropagator(propagation.TraceContext{}) // a delivery's traceparent is only linked: section 3
	return func(ctx context.Context) error {
		return errors.Join(tp.Shutdown(ctx), mp.Shutdown(ctx))
	}
}

// Instrument a client and a webhook handler. Without options they use the global providers.
func ExampleInstrument() {
	user, token := os.Getenv("MENSATEK_API_USER"), os.Getenv("MENSATEK_API_TOKEN")
	client, err := mensatek.NewClient(user, token, mensatekotel.Instrument())
	if err != nil {
		panic(err)
	}
	handler := mensatek.NewWebhookHandler(func(ctx context.Context, ev *mensatek.Event) error {
		span := trace.SpanFromContext(ctx) // your function's span: add what you choose to
		span.SetAttributes(attribute.Int64("order.message_id", ev.MessageID))
		return nil
	}, mensatek.WithWebhookBasicAuth(os.Getenv("HOOK_USER"), os.Getenv("HOOK_PASSWORD")),
		mensatekotel.InstrumentWebhook())
	http.Handle("POST /mensatek/webhook", handler)
	_ = client
}

// The client and handler report to the global providers, as setupTelemetry leaves them: here
// against the fake API, printing the names of the spans exported.
func Example() {
	shutdown := setupTelemetry(printNames{}, sdkmetric.NewManualReader())

	fake := mensatektest.NewServer() // the real API: mensatek.NewClient(user, token, ...)
	defer fake.Close()

	client, err := mensatek.NewClient(fake.APIUser, fake.APIToken, mensatek.WithBaseURL(fake.URL),
		mensatekotel.Instrument())
	if err != nil {
		panic(err)
	}
	handler := mensatek.NewWebhookHandler(func(ctx context.Context, ev *mensatek.Event) error {
		return nil // ctx carries the function's span: spans started here are its children
	}, mensatek.WithoutWebhookAuth(), mensatekotel.InstrumentWebhook())
	mux := http.NewServeMux()
	mux.Handle("POST /mensatek/webhook", handler)

	if _, err := client.SendText(context.Background(), "+34600000001", "Hola"); err != nil {
		panic(err)
	}
	if err := shutdown(context.Background()); err != nil { // exports what is left
		panic(err)
	}
	// Output:
	// POST
	// mensatek send
}

// printNames is a span exporter that prints the names of the spans it is given.
type printNames struct{}

func (printNames) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	for _, s := range spans {
		fmt.Println(s.Name())
	}
	return nil
}

func (printNames) Shutdown(context.Context) error { return nil }
