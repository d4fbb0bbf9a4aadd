package mensatek

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type ctxMark string

// recorder is an observer that writes down what it is told, and marks the contexts it returns
// so the test can tell that they are the ones passed on.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(ctx context.Context, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	mark, _ := ctx.Value(ctxMark("mark")).(string)
	r.events = append(r.events, fmt.Sprintf(format, args...)+" @"+mark)
}

func (r *recorder) CallStart(ctx context.Context, c CallInfo) context.Context {
	r.add(ctx, "call-start %s %d", c.Operation, c.Recipients)
	return context.WithValue(ctx, ctxMark("mark"), "call")
}
func (r *recorder) CallEnd(ctx context.Context, c CallInfo, res CallResult) {
	r.add(ctx, "call-end %s id=%d err=%v", c.Operation, res.MessageID, res.Err != nil)
}
func (r *recorder) AttemptStart(ctx context.Context, a AttemptInfo) context.Context {
	r.add(ctx, "attempt-start %d %s", a.Retry, strings.TrimPrefix(a.URL[strings.LastIndex(a.URL, "/"):], "/"))
	return context.WithValue(ctx, ctxMark("mark"), fmt.Sprint("attempt", a.Retry))
}
func (r *recorder) AttemptEnd(ctx context.Context, a AttemptInfo, res AttemptResult) {
	r.add(ctx, "attempt-end %d %d err=%v", a.Retry, res.HTTPStatus, res.Err != nil)
}
func (r *recorder) LimiterWait(ctx context.Context, w Wait) { r.add(ctx, "limiter %d", w.Retry) }
func (r *recorder) Backoff(ctx context.Context, w Wait) {
	r.add(ctx, "backoff %d %v", w.Retry, w.Duration > 0)
}
func (r *recorder) ConsentRefused(ctx context.Context, op Operation, reason error) {
	r.add(ctx, "refused %s %v", op, reason)
}
func (r *recorder) CreditsSeen(ctx context.Context, op Operation, credits float64) {
	r.add(ctx, "credits %s %v", op, credits)
}
func (r *recorder) DeliveryStart(ctx context.Context, req *http.Request) context.Context {
	r.add(ctx, "delivery-start %s", req.Method)
	return context.WithValue(ctx, ctxMark("mark"), "delivery")
}
func (r *recorder) ReportRead(ctx context.Context, rep ReportInfo) {
	r.add(ctx, "report %s %d %s", rep.Direction, rep.Status, rep.Type)
}
func (r *recorder) Claimed(ctx context.Context, s ClaimStatus) { r.add(ctx, "claim %s", s) }
func (r *recorder) FuncStart(ctx context.Context) context.Context {
	r.add(ctx, "fn-start")
	return context.WithValue(ctx, ctxMark("mark"), "fn")
}
func (r *recorder) FuncEnd(ctx context.Context, err error) { r.add(ctx, "fn-end err=%v", err != nil) }
func (r *recorder) DeliveryEnd(ctx context.Context, status int) {
	r.add(ctx, "delivery-end %d", status)
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// markCheck is a transport that records the mark of each request's context: the HTTP request
// of an attempt runs in the context AttemptStart returned.
type markCheck struct {
	next  http.RoundTripper
	marks []string
}

func (m *markCheck) RoundTrip(r *http.Request) (*http.Response, error) {
	mark, _ := r.Context().Value(ctxMark("mark")).(string)
	m.marks = append(m.marks, mark)
	return m.next.RoundTrip(r)
}

func TestClientObserverSeesCallsAttemptsAndWaits(t *testing.T) {
	rec := &recorder{}
	mc := &markCheck{next: http.DefaultTransport}
	fx := setup(t, WithObserver(rec), fastRetries(), WithRateLimit(1000, 10), WithHTTPClient(&http.Client{Transport: mc}))
	s := &script{answers: []func(http.ResponseWriter, *http.Request){
		status(http.StatusServiceUnavailable, `{"Res":"0","Error":"busy"}`), status(http.StatusOK, refTemplatesReply)}}
	fx.handle("GetPlantillasWhatsapp", s.serve)
	fx.handle("EnviarWHATSAPP", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, okSendReply) })

	_, err := fx.client.Templates(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{
		"call-start templates 0 @",
		"limiter 0 @call",
		"attempt-start 0 GetPlantillasWhatsapp @call",
		"attempt-end 0 503 err=true @attempt0",
		"backoff 1 true @call",
		"limiter 1 @call",
		"attempt-start 1 GetPlantillasWhatsapp @call",
		"attempt-end 1 200 err=false @attempt1",
		"credits templates 12000 @call",
		"call-end templates id=0 err=false @call",
	}, rec.take())
	assert.Equal(t, []string{"attempt0", "attempt1"}, mc.marks, "each request runs in its attempt's context")

	res, err := fx.client.SendText(context.Background(), "+34600111222", "hola")
	require.NoError(t, err)
	ev := rec.take()
	require.NotEmpty(t, ev)
	assert.Equal(t, "call-start send 1 @", ev[0])
	assert.Equal(t, fmt.Sprintf("call-end send id=%d err=false @call", res.MessageID), ev[len(ev)-1])
	assert.NotZero(t, res.MessageID)
}

func TestClientObserverSeesConsentRefusals(t *testing.T) {
	rec := &recorder{}
	store := NewMemoryContactStore()
	phone, err := NormalizePhone("+34600111222")
	require.NoError(t, err)
	require.NoError(t, store.SetOptOut(context.Background(), phone, true, time.Now().Add(-time.Minute), "BAJA"))
	fx := setup(t, WithObserver(rec), WithContacts(store, WithServiceWindow(0)))
	_, err = fx.client.SendText(context.Background(), "+34600111222", "hola")
	require.ErrorIs(t, err, ErrOptedOut)
	assert.Equal(t, []string{
		"call-start send 1 @",
		"refused send " + ErrOptedOut.Error() + " @call",
		"call-end send id=0 err=true @call",
	}, rec.take())
	assert.Zero(t, fx.hits.Load())
}

func TestWebhookObserverSeesDeliveries(t *testing.T) {
	rec := &recorder{}
	var fnMarks []string
	h := NewWebhookHandler(func(ctx context.Context, ev *Event) error {
		mark, _ := ctx.Value(ctxMark("mark")).(string)
		fnMarks = append(fnMarks, mark)
		return nil
	}, WithoutWebhookAuth(), WithWebhookObserver(rec), WithWebhookMaxBodyBytes(4096))
	deliver := func(body string) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body)))
		return w.Code
	}
	deliverJSON := func(body string) int {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(w, r)
		return w.Code
	}
	require.Equal(t, http.StatusOK, deliverJSON(referenceWebhook))
	require.Equal(t, http.StatusOK, deliverJSON(referenceWebhook))
	assert.Equal(t, []string{
		"delivery-start POST @",
		"report INPUT 8 text @delivery",
		"claim acquired @delivery",
		"fn-start @delivery",
		"fn-end err=false @fn",
		"delivery-end 200 @delivery",
		"delivery-start POST @",
		"report INPUT 8 text @delivery",
		"claim done @delivery",
		"delivery-end 200 @delivery",
	}, rec.take())
	assert.Equal(t, []string{"fn"}, fnMarks, "the function runs in FuncStart's context")

	// The size limit still works through the observer's writer.
	require.Equal(t, http.StatusRequestEntityTooLarge, deliver(strings.Repeat("x", 5000)))
	assert.Equal(t, []string{"delivery-start POST @", "delivery-end 413 @delivery"}, rec.take())
}

func TestWebhookObserverSeesAbortedDeliveries(t *testing.T) {
	rec := &recorder{}
	h := NewWebhookHandler(func(context.Context, *Event) error { panic(http.ErrAbortHandler) },
		WithoutWebhookAuth(), WithWebhookObserver(rec))
	r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(referenceWebhook))
	r.Header.Set("Content-Type", "application/json")
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { h.ServeHTTP(httptest.NewRecorder(), r) })
	assert.Equal(t, []string{
		"delivery-start POST @",
		"report INPUT 8 text @delivery",
		"claim acquired @delivery",
		"fn-start @delivery",
		"fn-end err=true @fn",
		"delivery-end 0 @delivery",
	}, rec.take(), "an aborted delivery is neither a success nor an answer")
}
