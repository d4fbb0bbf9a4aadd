package mensatekotel

import (
	"context"
	"math"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/mensatek-go/mensatek"
)

// Attribute keys. The messaging, HTTP, server, URL and error keys are OpenTelemetry's semantic
// conventions; the mensatek.* keys are this module's.
const (
	keyMessagingSystem    = attribute.Key("messaging.system")
	keyMessagingOperation = attribute.Key("messaging.operation.name")
	keyMessagingOpType    = attribute.Key("messaging.operation.type")
	keyMessageID          = attribute.Key("messaging.message.id")
	keyErrorType          = attribute.Key("error.type")
	keyHTTPMethod         = attribute.Key("http.request.method")
	keyHTTPStatus         = attribute.Key("http.response.status_code")
	keyResendCount        = attribute.Key("http.request.resend_count")
	keyServerAddress      = attribute.Key("server.address")
	keyServerPort         = attribute.Key("server.port")
	keyURLFull            = attribute.Key("url.full")

	keyOperation  = attribute.Key("mensatek.operation")
	keyOutcome    = attribute.Key("mensatek.outcome")
	keyRecipients = attribute.Key("mensatek.recipients")
	keyCredits    = attribute.Key("mensatek.credits")
	keyRetry      = attribute.Key("mensatek.retry")
	keyResend     = attribute.Key("mensatek.attempt.resend")
	keyWait       = attribute.Key("mensatek.wait.duration")
	keyReason     = attribute.Key("mensatek.consent.reason")
)

// clientObserver implements mensatek.ClientObserver with OpenTelemetry.
type clientObserver struct {
	tracer      trace.Tracer
	duration    metric.Float64Histogram
	attempts    metric.Int64Counter
	limiterWait metric.Float64Histogram
	refusals    metric.Int64Counter

	credits atomic.Uint64 // math.Float64bits of the last credits seen
	seen    atomic.Bool   // credits holds a value
}

var _ mensatek.ClientObserver = (*clientObserver)(nil)

func newClientObserver(cfg config) *clientObserver {
	m := cfg.meter()
	o := &clientObserver{tracer: cfg.tracer()}
	var err error
	o.duration, err = m.Float64Histogram("mensatek.client.operation.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of mensatek API calls, retries and waits included."), durationBuckets())
	handle(err)
	o.attempts, err = m.Int64Counter("mensatek.client.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("HTTP attempts of mensatek API calls, by operation, outcome and whether they were retries."))
	handle(err)
	o.limiterWait, err = m.Float64Histogram("mensatek.client.limiter.wait", metric.WithUnit("s"),
		metric.WithDescription("Time mensatek API calls waited for the rate limiter."), durationBuckets())
	handle(err)
	o.refusals, err = m.Int64Counter("mensatek.consent.refusals", metric.WithUnit("{recipient}"),
		metric.WithDescription("Recipients a send refused for consent, by reason."))
	handle(err)
	_, err = m.Float64ObservableGauge("mensatek.client.credits", metric.WithUnit("{credit}"),
		metric.WithDescription("The account's credits, as the last successful reply said (never asked for)."),
		metric.WithFloat64Callback(func(_ context.Context, obs metric.Float64Observer) error {
			if o.seen.Load() {
				obs.Observe(math.Float64frombits(o.credits.Load()))
			}
			return nil
		}))
	handle(err)
	return o
}

// CallStart starts the call's span.
func (o *clientObserver) CallStart(ctx context.Context, call mensatek.CallInfo) context.Context {
	op := string(call.Operation)
	kind := trace.SpanKindInternal
	attrs := []attribute.KeyValue{keyMessagingSystem.String("mensatek"), keyMessagingOperation.String(op), keyOperation.String(op)}
	if call.Operation == mensatek.OpSend {
		kind = trace.SpanKindProducer
		attrs = append(attrs, keyMessagingOpType.String("send"), keyRecipients.Int(call.Recipients))
	}
	ctx, _ = o.tracer.Start(ctx, "mensatek "+op, trace.WithSpanKind(kind), trace.WithTimestamp(call.Start),
		trace.WithAttributes(attrs...))
	return ctx
}

// CallEnd ends the call's span and records its duration.
func (o *clientObserver) CallEnd(ctx context.Context, call mensatek.CallInfo, result mensatek.CallResult) {
	outcome := errorType(result.Err)
	end := time.Now()
	o.duration.Record(ctx, end.Sub(call.Start).Seconds(), metric.WithAttributes(
		keyOperation.String(string(call.Operation)), keyOutcome.String(outcome)))
	span := trace.SpanFromContext(ctx)
	if result.MessageID != 0 {
		span.SetAttributes(keyMessageID.String(strconv.FormatInt(result.MessageID, 10)))
	}
	setError(span, result.Err, outcome)
	span.End(trace.WithTimestamp(end))
}

// AttemptStart starts the attempt's span, by OpenTelemetry's HTTP client conventions.
func (o *clientObserver) AttemptStart(ctx context.Context, a mensatek.AttemptInfo) context.Context {
	attrs := []attribute.KeyValue{keyHTTPMethod.String("POST"), keyURLFull.String(a.URL),
		keyOperation.String(string(a.Operation))}
	if u, err := url.Parse(a.URL); err == nil {
		attrs = append(attrs, keyServerAddress.String(u.Hostname()))
		port, _ := strconv.Atoi(u.Port())
		if port == 0 && u.Scheme == "https" {
			port = 443
		} else if port == 0 {
			port = 80
		}
		attrs = append(attrs, keyServerPort.Int(port))
	}
	if a.Retry > 0 {
		attrs = append(attrs, keyResendCount.Int(a.Retry))
	}
	ctx, _ = o.tracer.Start(ctx, "POST", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(a.Start),
		trace.WithAttributes(attrs...))
	return ctx
}

// AttemptEnd ends the attempt's span and counts it.
func (o *clientObserver) AttemptEnd(ctx context.Context, a mensatek.AttemptInfo, result mensatek.AttemptResult) {
	outcome := errorType(result.Err)
	if result.Err != nil && result.NeverSent {
		outcome = typeNotSent // a connection refused, a DNS failure: the request never left
	}
	o.attempts.Add(ctx, 1, metric.WithAttributes(keyOperation.String(string(a.Operation)), keyOutcome.String(outcome),
		keyResend.Bool(a.Retry > 0)))
	span := trace.SpanFromContext(ctx)
	if result.HTTPStatus > 0 {
		span.SetAttributes(keyHTTPStatus.Int(result.HTTPStatus))
	}
	setError(span, result.Err, outcome)
	span.End()
}

// LimiterWait records the wait, and adds it to the call's span as an event.
func (o *clientObserver) LimiterWait(ctx context.Context, w mensatek.Wait) {
	o.limiterWait.Record(ctx, w.Duration.Seconds(), metric.WithAttributes(keyOperation.String(string(w.Operation))))
	attrs := []attribute.KeyValue{keyWait.Float64(w.Duration.Seconds()), keyRetry.Int(w.Retry)}
	if w.Err != nil {
		attrs = append(attrs, keyErrorType.String(errorType(w.Err)))
	}
	trace.SpanFromContext(ctx).AddEvent("mensatek.limiter.wait", trace.WithAttributes(attrs...))
}

// Backoff adds the pause between two attempts to the call's span as an event.
func (o *clientObserver) Backoff(ctx context.Context, w mensatek.Wait) {
	trace.SpanFromContext(ctx).AddEvent("mensatek.backoff", trace.WithAttributes(
		keyWait.Float64(w.Duration.Seconds()), keyRetry.Int(w.Retry), keyErrorType.String(errorType(w.Err))))
}

// ConsentRefused counts the refusal, and adds it to the call's span as an event.
func (o *clientObserver) ConsentRefused(ctx context.Context, _ mensatek.Operation, reason error) {
	r := keyReason.String(consentReason(reason))
	o.refusals.Add(ctx, 1, metric.WithAttributes(r))
	trace.SpanFromContext(ctx).AddEvent("mensatek.consent.refused", trace.WithAttributes(r))
}

// CreditsSeen keeps the credits for the gauge, and sets them on the call's span.
func (o *clientObserver) CreditsSeen(ctx context.Context, _ mensatek.Operation, credits float64) {
	o.credits.Store(math.Float64bits(credits))
	o.seen.Store(true)
	trace.SpanFromContext(ctx).SetAttributes(keyCredits.Float64(credits))
}

// setError marks span as failed with err's type: never err's text, which can name phones.
func setError(span trace.Span, err error, errType string) {
	if err == nil {
		return
	}
	span.SetAttributes(keyErrorType.String(errType))
	span.SetStatus(codes.Error, errType)
}
