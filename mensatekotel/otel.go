// Package mensatekotel traces and measures a mensatek client and webhook handler with
// OpenTelemetry. It implements the core's hooks ([mensatek.ClientObserver],
// [mensatek.WebhookObserver]):
//
//	client, err := mensatek.NewClient(user, token, mensatekotel.Instrument())
//	handler := mensatek.NewWebhookHandler(fn, auth, mensatekotel.InstrumentWebhook())
//
// Each API call is a span, a child of the span in the caller's context, with one child span per
// HTTP attempt (OpenTelemetry's HTTP client conventions); each webhook delivery is a span, a
// child of the span in the request's context (your middleware's) or a new root, with your
// function as a child span. The webhook's URL is public, so a trace context in the request's
// headers is only linked and their baggage is dropped, unless [WithTrustedWebhookHeaders].
// Metrics count and time calls, attempts, the rate limiter's waits, credits, reports,
// duplicate deliveries and consent refusals. The README lists every name.
//
// No personal data reaches telemetry: no phone, name, message text, template value or
// credential appears in a span name, attribute, event, status or metric label. Errors are
// recorded by kind (error.type: "outcome_unknown", "opted_out", "api_code_-3", ...), never by
// their text, which can name phones. Every metric attribute comes from a small fixed set.
package mensatekotel

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/mensatek-go/mensatek"
)

// ScopeName is the instrumentation scope of the tracer and meter: this module's path.
const ScopeName = "github.com/mensatek-go/mensatek/mensatekotel"

// Option configures [Instrument] and [InstrumentWebhook].
type Option func(*config)

type config struct {
	tp          trace.TracerProvider
	mp          metric.MeterProvider
	propagators propagation.TextMapPropagator

	trustWebhookHeaders bool
}

// WithTracerProvider sets where spans go (default: the global provider, otel.GetTracerProvider,
// as it is when Instrument or InstrumentWebhook is called).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider sets where metrics go (default: the global provider,
// otel.GetMeterProvider, as it is when Instrument or InstrumentWebhook is called).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithPropagators sets how [InstrumentWebhook] reads a trace context (and, with
// [WithTrustedWebhookHeaders], baggage) from a delivery's headers (default: the global
// propagator, otel.GetTextMapPropagator).
func WithPropagators(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.propagators = p }
}

// WithTrustedWebhookHeaders makes [InstrumentWebhook] trust the trace context and baggage in a
// delivery's headers: the delivery's span is a child of that context, and the baggage reaches
// your function's context. Use it only when a proxy of yours in front of the handler sets or
// strips those headers. Without it the webhook is a public endpoint (OpenTelemetry's advice
// for one): anyone who can reach its URL, with no credentials, could write those headers, so
// the span is a child of the span in the request's context (your own middleware's, such as
// otelhttp's) or a new root, a trace context in the headers is only recorded as a link, and
// baggage in the headers is dropped. Mensatek's servers send no trace context. [Instrument]
// ignores it.
func WithTrustedWebhookHeaders() Option {
	return func(c *config) { c.trustWebhookHeaders = true }
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.propagators == nil {
		c.propagators = otel.GetTextMapPropagator()
	}
	return c
}

func (c config) tracer() trace.Tracer {
	return c.tp.Tracer(ScopeName, trace.WithInstrumentationVersion(mensatek.Version))
}

func (c config) meter() metric.Meter {
	return c.mp.Meter(ScopeName, metric.WithInstrumentationVersion(mensatek.Version))
}

// Instrument returns a client option that traces and measures every call of the client (see
// the package doc). Its instruments are made once, when Instrument is called: give each client
// its own Instrument(), since the credits gauge reports the credits the last reply to any of
// its clients carried.
func Instrument(opts ...Option) mensatek.Option {
	return mensatek.WithObserver(newClientObserver(newConfig(opts)))
}

// InstrumentWebhook returns a webhook option that traces and measures every delivery the
// handler gets (see the package doc).
func InstrumentWebhook(opts ...Option) mensatek.WebhookOption {
	return mensatek.WithWebhookObserver(newWebhookObserver(newConfig(opts)))
}

// durationBuckets returns the boundaries, in seconds, OpenTelemetry's HTTP conventions advise
// for request durations.
func durationBuckets() metric.HistogramOption {
	return metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
}

// handle reports an instrument that could not be made; the SDK still returns a usable one.
func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}
