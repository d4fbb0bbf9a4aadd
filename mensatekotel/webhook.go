package mensatekotel

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/mensatek-go/mensatek"
)

const (
	keyDirection    = attribute.Key("mensatek.report.direction")
	keyReportStatus = attribute.Key("mensatek.report.status")
	keyReportType   = attribute.Key("mensatek.report.type")
	keyClaim        = attribute.Key("mensatek.webhook.claim")
)

// webhookObserver implements mensatek.WebhookObserver with OpenTelemetry.
type webhookObserver struct {
	tracer       trace.Tracer
	propagators  propagation.TextMapPropagator
	trustHeaders bool // WithTrustedWebhookHeaders
	reports      metric.Int64Counter
	duplicates   metric.Int64Counter
}

var _ mensatek.WebhookObserver = (*webhookObserver)(nil)

func newWebhookObserver(cfg config) *webhookObserver {
	m := cfg.meter()
	o := &webhookObserver{tracer: cfg.tracer(), propagators: cfg.propagators, trustHeaders: cfg.trustWebhookHeaders}
	var err error
	o.reports, err = m.Int64Counter("mensatek.webhook.reports", metric.WithUnit("{report}"),
		metric.WithDescription("Webhook reports handled (your function returned nil), by direction, status and type."))
	handle(err)
	o.duplicates, err = m.Int64Counter("mensatek.webhook.duplicates", metric.WithUnit("{delivery}"),
		metric.WithDescription("Webhook deliveries of a report already handled or being handled, answered without your function."))
	handle(err)
	return o
}

// delivery is what the observer learns of one delivery, for the metrics at its end.
type delivery struct {
	mu      sync.Mutex
	report  []attribute.KeyValue // direction, status, type; nil until the body was read
	handled bool                 // the function ran and returned nil
}

type deliveryKey struct{}

// DeliveryStart starts the delivery's span, a child of the span in ctx (the operator's own
// middleware's) or a new root. The webhook's URL is public and DeliveryStart runs before the
// handler checks credentials, so a trace context in the headers is anyone's to write: it is only
// linked, and baggage in the headers is dropped, unless WithTrustedWebhookHeaders says a proxy
// of the operator's wrote them.
func (o *webhookObserver) DeliveryStart(ctx context.Context, r *http.Request) context.Context {
	method := r.Method
	if method != http.MethodPost {
		method = "_OTHER" // bounded: anyone can send any method
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(keyMessagingSystem.String("mensatek"), keyMessagingOpType.String("receive"),
			keyHTTPMethod.String(method))}
	if o.trustHeaders {
		ctx = o.propagators.Extract(ctx, propagation.HeaderCarrier(r.Header))
	} else if sc := o.headerSpanContext(r); sc.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	ctx, _ = o.tracer.Start(ctx, "mensatek webhook", opts...)
	return context.WithValue(ctx, deliveryKey{}, &delivery{})
}

// headerSpanContext returns the trace context in r's headers, if any, for a link: its ids and
// flags only, since its trace state is free text from whoever sent the request.
func (o *webhookObserver) headerSpanContext(r *http.Request) trace.SpanContext {
	// Extracted into an empty context, so that neither the span already in the request's
	// context nor the headers' baggage comes back.
	sc := trace.SpanContextFromContext(o.propagators.Extract(context.Background(), propagation.HeaderCarrier(r.Header)))
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: sc.TraceID(), SpanID: sc.SpanID(),
		TraceFlags: sc.TraceFlags(), Remote: true})
}

// ReportRead sets the report's kind, bounded, on the span.
func (o *webhookObserver) ReportRead(ctx context.Context, rep mensatek.ReportInfo) {
	attrs := []attribute.KeyValue{keyDirection.String(direction(rep.Direction)),
		keyReportStatus.String(reportStatus(rep.Status)), keyReportType.String(reportType(rep.Type))}
	if d, ok := ctx.Value(deliveryKey{}).(*delivery); ok {
		d.mu.Lock()
		d.report = attrs
		d.mu.Unlock()
	}
	trace.SpanFromContext(ctx).SetAttributes(attrs...)
}

// Claimed records the claim's result, and counts a duplicate delivery.
func (o *webhookObserver) Claimed(ctx context.Context, status mensatek.ClaimStatus) {
	claim := claimName(status)
	trace.SpanFromContext(ctx).SetAttributes(keyClaim.String(claim))
	if status == mensatek.ClaimDone || status == mensatek.ClaimInProgress {
		o.duplicates.Add(ctx, 1, metric.WithAttributes(keyClaim.String(claim)))
	}
}

// FuncStart starts your function's span.
func (o *webhookObserver) FuncStart(ctx context.Context) context.Context {
	ctx, _ = o.tracer.Start(ctx, "mensatek webhook function")
	return ctx
}

// FuncEnd ends your function's span.
func (o *webhookObserver) FuncEnd(ctx context.Context, err error) {
	span := trace.SpanFromContext(ctx)
	if err != nil {
		// Your function's error is yours to describe: its text may hold anything.
		span.SetAttributes(keyErrorType.String(typeOther))
		span.SetStatus(codes.Error, "function failed")
	} else if d, ok := ctx.Value(deliveryKey{}).(*delivery); ok {
		d.mu.Lock()
		d.handled = true
		d.mu.Unlock()
	}
	span.End()
}

// DeliveryEnd ends the delivery's span, and counts a report handled.
func (o *webhookObserver) DeliveryEnd(ctx context.Context, status int) {
	span := trace.SpanFromContext(ctx)
	switch {
	case status == 0: // aborted before an answer
		span.SetAttributes(keyErrorType.String("aborted"))
		span.SetStatus(codes.Error, "aborted")
	case status >= 500:
		span.SetAttributes(keyHTTPStatus.Int(status), keyErrorType.String(strconv.Itoa(status)))
		span.SetStatus(codes.Error, strconv.Itoa(status))
	default:
		span.SetAttributes(keyHTTPStatus.Int(status))
	}
	if d, ok := ctx.Value(deliveryKey{}).(*delivery); ok {
		d.mu.Lock()
		report, handled := d.report, d.handled
		d.mu.Unlock()
		if handled && report != nil && status >= 200 && status < 300 {
			o.reports.Add(ctx, 1, metric.WithAttributes(report...))
		}
	}
	span.End()
}

// direction names a report's direction; anything else a body may say is "other".
func direction(d mensatek.Direction) string {
	switch d {
	case mensatek.Inbound:
		return "inbound"
	case mensatek.Outbound:
		return "outbound"
	}
	return "other"
}

// reportStatus is a report's status as a label: the statuses are small integers (the reference
// does not list them), so one outside 0-99 is "other".
func reportStatus(s int) string {
	if s < 0 || s > 99 {
		return "other"
	}
	return strconv.Itoa(s)
}

// reportType is a report's type as a label: a known inbound or outbound type, lower case, "none"
// when there is none, "other" for anything else.
func reportType(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	switch t {
	case "":
		return "none"
	case "text", "image", "document", "audio", "video", "sticker", "voice", "location", "contacts",
		"interactive", "button_reply", "list_reply", "nfm_reply", "button", "reaction", "unsupported",
		"plantilla", "texto", "imagen", "documento", "ubicacion", "solicitarubicacion", "lista",
		"botonesrespuesta", "reaccion", "botonescta":
		return t
	}
	return "other"
}

func claimName(s mensatek.ClaimStatus) string {
	switch s {
	case mensatek.ClaimAcquired:
		return "acquired"
	case mensatek.ClaimDone:
		return "done"
	case mensatek.ClaimInProgress:
		return "in_progress"
	}
	return "other"
}
