package mensatek

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Distinctive credentials, so a test can tell that they appear nowhere they should not.
const (
	testUser  = "usr-Kq7Zp-apiuser"
	testToken = "tok-9Xw2Lm4Rv8-s3cr3t"
)

var testAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testToken))

// The reference's example replies, verbatim, from testdata/reference (see its README).
var (
	okSendReply       = reference("send.json")               // EnviarWHATSAPP
	okReply           = reference("result.json")             // typing, media download, account status
	refTemplatesReply = reference("templates.json")          // GetPlantillasWhatsapp
	refVariablesReply = reference("template_variables.json") // GetVariablesPlantillaWhatsapp
	referenceWebhook  = reference("webhook.json")            // an inbound text
)

// reference reads one of the reference's examples; the tests cannot run without them.
func reference(name string) string {
	b, err := os.ReadFile(filepath.Join("testdata", "reference", name))
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(b))
}

// fixture is a test server with a ServeMux, and a client pointed at its /v7/.
type fixture struct {
	client *Client
	mux    *http.ServeMux
	server *httptest.Server
	hits   atomic.Int64 // requests that reached the server, on any path
}

// setup starts a server for one test; requests to paths without a handler fail the test.
func setup(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	fx := &fixture{mux: http.NewServeMux()}
	fx.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request: %s %s", r.Method, r.URL)
		http.Error(w, "no handler", http.StatusNotFound)
	})
	fx.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fx.hits.Add(1)
		fx.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(fx.server.Close)
	fx.client = newTestClient(t, fx.server.URL+"/v7/", opts...)
	return fx
}

func newTestClient(t *testing.T, baseURL string, opts ...Option) *Client {
	t.Helper()
	// No retries and no auth cooldown unless a test asks for them: most tests check what one
	// request does; retry_test.go checks the defaults.
	base := []Option{WithBaseURL(baseURL), WithRetryPolicy(RetryPolicy{}), WithAuthCooldown(0)}
	c, err := NewClient(testUser, testToken, append(base, opts...)...)
	require.NoError(t, err)
	return c
}

// handle registers h for an API function.
func (fx *fixture) handle(function string, h http.HandlerFunc) {
	fx.mux.HandleFunc("/v7/"+function, h)
}

// calls records the JSON bodies one function received.
type calls struct {
	mu     sync.Mutex
	bodies []map[string]any
}

func (c *calls) add(b map[string]any) {
	c.mu.Lock()
	c.bodies = append(c.bodies, b)
	c.mu.Unlock()
}

func (c *calls) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.bodies)
}

func (c *calls) last(t *testing.T) map[string]any {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	require.NotEmpty(t, c.bodies, "no request received")
	return c.bodies[len(c.bodies)-1]
}

// reply makes function check each request, record its body and answer with status and body.
func (fx *fixture) reply(t *testing.T, function string, status int, body string) *calls {
	rec := &calls{}
	fx.handle(function, func(w http.ResponseWriter, r *http.Request) {
		rec.add(testRequest(t, r, function))
		writeReply(w, status, body)
	})
	return rec
}

func writeReply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	assert.Equal(t, want, r.Method, "request method")
}

// testRequest checks what every call sends (POST to /v7/function, Basic auth, a JSON body with
// Resp "JSON", nothing in the query string) and returns the decoded body, numbers as json.Number.
func testRequest(t *testing.T, r *http.Request, function string) map[string]any {
	t.Helper()
	testMethod(t, r, http.MethodPost)
	assert.Equal(t, "/v7/"+function, r.URL.Path, "request path")
	assert.Empty(t, r.URL.RawQuery, "query string")
	assert.Equal(t, testAuth, r.Header.Get("Authorization"), "Authorization header")
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	assert.NoError(t, err)
	assert.Equal(t, "application/json", mt, "Content-Type")

	assert.Empty(t, r.TransferEncoding, "the body goes with a Content-Length, not chunked")
	data, err := io.ReadAll(r.Body)
	assert.NoError(t, err)
	assert.EqualValues(t, len(data), r.ContentLength, "Content-Length")

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var body map[string]any
	if !assert.NoError(t, dec.Decode(&body), "request body is not a JSON object") {
		return nil
	}
	assert.False(t, dec.More(), "request body has more than one JSON value")
	assert.Equal(t, "JSON", body["Resp"], "Resp in the body")
	return body
}

func TestNewClientRefusesEmptyCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct{ user, token, want string }{
		{"", testToken, "empty API user"},
		{"  ", testToken, "empty API user"},
		{testUser, "", "empty API token"},
		{testUser, "\t\n", "empty API token"},
	}
	for _, tt := range tests {
		c, err := NewClient(tt.user, tt.token)
		require.Error(t, err, "%q %q", tt.user, tt.token)
		assert.Nil(t, c)
		assert.Contains(t, err.Error(), tt.want)
		assert.NotContains(t, err.Error(), testToken)
	}
}

func TestNewClientDefaults(t *testing.T) {
	t.Parallel()
	c, err := NewClient(testUser, testToken)
	require.NoError(t, err)
	assert.Equal(t, DefaultBaseURL, c.BaseURL())
	want := map[Operation]string{
		OpSend:              "EnviarWHATSAPP",
		OpTyping:            "EscribiendoWhatsapp",
		OpMediaDownload:     "DescargarMultimediaWhatsapp",
		OpAccountStatus:     "CambiarEstadoWhatsapp",
		OpTemplates:         "GetPlantillasWhatsapp",
		OpTemplateVariables: "GetVariablesPlantillaWhatsapp",
	}
	require.Len(t, operations(), len(want))
	for _, op := range operations() {
		assert.Equal(t, want[op], c.Endpoint(op), op)
		def, ok := defaultEndpoint(op)
		assert.True(t, ok)
		assert.Equal(t, want[op], def)
	}
	_, ok := defaultEndpoint("nope")
	assert.False(t, ok)
}

// Every operation posts JSON with Resp "JSON" to base URL + function name, with Basic auth.
func TestEveryCallIsAuthenticatedJSONPost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		function string
		reply    string
		call     func(ctx context.Context, c *Client) error
		want     map[string]any // fields the body must carry besides Resp
	}{
		{
			function: "EnviarWHATSAPP",
			reply:    okSendReply,
			call: func(ctx context.Context, c *Client) error {
				_, err := c.SendText(ctx, "34600000001", "hola")
				return err
			},
			want: map[string]any{"Tipomensaje": "TEXTO"},
		},
		{
			function: "EscribiendoWhatsapp",
			reply:    okReply,
			call: func(ctx context.Context, c *Client) error {
				_, err := c.SendTyping(ctx, 1288177432, "34600000000")
				return err
			},
			want: map[string]any{"Idmensaje": json.Number("1288177432"), "Telefono": "34600000000"},
		},
		{
			function: "DescargarMultimediaWhatsapp",
			reply:    `{"Res":"1","Contenido":"aG9sYQ=="}`,
			call: func(ctx context.Context, c *Client) error {
				_, err := c.DownloadMedia(ctx, 1288177432, "34600000000")
				return err
			},
			want: map[string]any{"Idmensaje": json.Number("1288177432"), "Telefono": "34600000000"},
		},
		{
			function: "CambiarEstadoWhatsapp",
			reply:    okReply,
			call: func(ctx context.Context, c *Client) error {
				_, err := c.SetAccountStatus(ctx, "I'm using WhatsApp Business with Mensatek")
				return err
			},
			want: map[string]any{"Estado": "I'm using WhatsApp Business with Mensatek"},
		},
		{
			function: "GetPlantillasWhatsapp",
			reply:    `[{"Res":"1","Plantillas":{}}]`,
			call: func(ctx context.Context, c *Client) error {
				_, err := c.Templates(ctx)
				return err
			},
			want: map[string]any{},
		},
		{
			function: "GetVariablesPlantillaWhatsapp",
			reply:    `[{"Res":"1","Variables":{}}]`,
			call: func(ctx context.Context, c *Client) error {
				_, err := c.TemplateVariables(ctx, "572863982585983")
				return err
			},
			want: map[string]any{"Idplantilla": "572863982585983"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.function, func(t *testing.T) {
			fx := setup(t)
			rec := fx.reply(t, tt.function, http.StatusOK, tt.reply)
			require.NoError(t, tt.call(context.Background(), fx.client))
			require.Equal(t, 1, rec.count())
			body := rec.last(t)
			for k, v := range tt.want {
				assert.Equal(t, v, body[k], k)
			}
			assert.Len(t, body, len(tt.want)+1+extraSendFields(tt.function), "fields: %v", body)
		})
	}
}

// extraSendFields counts the send body's fields that the table above does not list:
// Destinatarios, Datosmensaje, Report and Fixutf8.
func extraSendFields(function string) int {
	if function == "EnviarWHATSAPP" {
		return 4
	}
	return 0
}

// slowHandler answers only when the client gives up or the test ends.
func slowHandler(t *testing.T) http.HandlerFunc {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}

func TestContextDeadline(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.handle("GetPlantillasWhatsapp", slowHandler(t))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := fx.client.Templates(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestCancelledContextSendsNothing(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := fx.client
	calls := map[string]func() error{
		"Send": func() error { _, err := c.SendText(ctx, "34600000001", "hola"); return err },
		"SendTemplate": func() error {
			_, err := c.SendTemplate(ctx, "customer_welcome", Recipient{Phone: "34600000001"})
			return err
		},
		"SendTyping":        func() error { _, err := c.SendTyping(ctx, 1, "34600000001"); return err },
		"DownloadMedia":     func() error { _, err := c.DownloadMedia(ctx, 1, "34600000001"); return err },
		"DownloadMediaTo":   func() error { _, err := c.DownloadMediaTo(ctx, 1, "34600000001", io.Discard); return err },
		"SetAccountStatus":  func() error { _, err := c.SetAccountStatus(ctx, "hola"); return err },
		"Templates":         func() error { _, err := c.Templates(ctx); return err },
		"TemplateVariables": func() error { _, err := c.TemplateVariables(ctx, "1"); return err },
		"SendTemplateChecked": func() error {
			_, err := c.SendTemplateChecked(ctx, "customer_welcome", Recipient{Phone: "34600000001"})
			return err
		},
	}
	for name, call := range calls {
		err := call()
		require.Error(t, err, name)
		assert.ErrorIs(t, err, context.Canceled, name)
		assert.NotErrorIs(t, err, ErrOutcomeUnknown, name)
		assert.Contains(t, err.Error(), "not sent", name)
	}
	assert.Zero(t, fx.hits.Load(), "requests reached the server")
}

func TestCredits(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	var reply atomic.Value
	fx.handle("EnviarWHATSAPP", func(w http.ResponseWriter, r *http.Request) {
		writeReply(w, 200, reply.Load().(string))
	})
	c := fx.client

	cred, seen, ok := c.Credits()
	assert.False(t, ok, "credits before any reply")
	assert.Zero(t, cred)
	assert.True(t, seen.IsZero())

	before := time.Now()
	reply.Store(`[{"Res":"1","idMensaje":"5","Cred":"12.345,67"}]`)
	_, err := c.SendText(context.Background(), "34600000001", "hola")
	require.NoError(t, err)
	cred, seen, ok = c.Credits()
	assert.True(t, ok)
	assert.InDelta(t, 12345.67, cred, 1e-9)
	assert.False(t, seen.Before(before))
	assert.False(t, seen.After(time.Now()))

	// A reply without Cred keeps what was seen.
	reply.Store(`{"Res":1,"idMensaje":6}`)
	_, err = c.SendText(context.Background(), "34600000001", "hola")
	require.NoError(t, err)
	cred2, seen2, ok := c.Credits()
	assert.True(t, ok)
	assert.Equal(t, cred, cred2)
	assert.Equal(t, seen, seen2)

	// A refusal never changes them, whatever Cred it carries: Res <= 0 with HTTP 200...
	for _, refusal := range []string{
		`[{"Res":"-2","Error":"Sin créditos","Cred":"0,5"}]`,
		`{"Res":"-1","Error":"Usuario incorrecto","Cred":0}`,
		`{"Res":"-3","Error":"Falta parámetro","Cred":"0"}`,
	} {
		reply.Store(refusal)
		_, err = c.SendText(context.Background(), "34600000001", "hola")
		require.Error(t, err)
		cred3, seen3, ok := c.Credits()
		assert.True(t, ok)
		assert.Equal(t, cred, cred3, refusal)
		assert.Equal(t, seen, seen3, refusal)
	}

	// ...and a failed HTTP status with a JSON body.
	fx.handle("GetPlantillasWhatsapp", func(w http.ResponseWriter, r *http.Request) {
		writeReply(w, http.StatusUnauthorized, `{"Res":"-1","Cred":"7"}`)
	})
	_, err = c.Templates(context.Background())
	require.ErrorIs(t, err, ErrAuthentication)
	cred4, _, _ := c.Credits()
	assert.Equal(t, cred, cred4)
}

func TestClientFormatHidesCredentials(t *testing.T) {
	t.Parallel()
	c, err := NewClient(testUser, testToken)
	require.NoError(t, err)
	type holder struct {
		C *Client
		c *Client
	}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%p"} {
		outs = append(outs, fmt.Sprintf(verb, c))
		outs = append(outs, fmt.Sprintf(verb, holder{c, c}))
		outs = append(outs, fmt.Sprintf(verb, []*Client{c}))
	}
	outs = append(outs, fmt.Sprint(c), fmt.Sprintln(c), c.String(), c.GoString())
	for _, out := range outs {
		for _, secret := range []string{testUser, testToken, testAuth, testAuth[len("Basic "):]} {
			assert.NotContains(t, out, secret)
		}
	}
	assert.Contains(t, fmt.Sprint(c), DefaultBaseURL)
	assert.Contains(t, fmt.Sprint(c), "REDACTED")
	var nilClient *Client
	assert.Equal(t, "<nil>", fmt.Sprint(nilClient))
}

// logBuffer is a slog JSON handler's output, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		out = append(out, rec)
	}
	return out
}

func newLogger(level slog.Level) (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: level})), buf
}

// A plain-http loopback call with Basic auth must not make resty log its insecure-auth warning.
func TestNoRestyWarnings(t *testing.T) {
	t.Parallel()
	logger, buf := newLogger(slog.LevelDebug)
	fx := setup(t, WithLogger(logger))
	fx.reply(t, "EnviarWHATSAPP", 200, okSendReply)
	for i := 0; i < 3; i++ {
		_, err := fx.client.SendText(context.Background(), "34600000001", "hola")
		require.NoError(t, err)
	}
	assert.Len(t, buf.records(t), 3)
	assert.NotContains(t, buf.String(), "resty")
}

// httpmock.ActivateNonDefault on the *http.Client given to WithHTTPClient, after NewClient.
func TestHTTPMockActivateNonDefault(t *testing.T) {
	t.Parallel()
	hc := &http.Client{}
	c, err := NewClient(testUser, testToken, WithHTTPClient(hc))
	require.NoError(t, err)
	httpmock.ActivateNonDefault(hc)
	t.Cleanup(func() {
		httpmock.DeactivateNonDefault(hc)
		httpmock.Reset()
	})

	const url = "https://api.mensatek.com/v7/EnviarWHATSAPP"
	httpmock.RegisterResponder(http.MethodPost, url, func(req *http.Request) (*http.Response, error) {
		if got := req.Header.Get("Authorization"); got != testAuth {
			return httpmock.NewStringResponse(401, "bad auth"), nil
		}
		b, _ := io.ReadAll(req.Body)
		if !bytes.Contains(b, []byte(`"Resp":"JSON"`)) {
			return httpmock.NewStringResponse(400, "no Resp"), nil
		}
		resp := httpmock.NewStringResponse(200, okSendReply)
		resp.Header.Set("Content-Type", "application/json")
		return resp, nil
	})

	for i := 0; i < 2; i++ {
		res, err := c.SendText(context.Background(), "34600000001", "hola")
		require.NoError(t, err)
		assert.EqualValues(t, 123456789, res.MessageID)
	}
	assert.Equal(t, 2, httpmock.GetCallCountInfo()["POST "+url])
	assert.Equal(t, 2, httpmock.GetTotalCallCount())
}

// A MockTransport of its own, in the client's *http.Client: safe in parallel tests.
func TestHTTPMockTransport(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	c, err := NewClient(testUser, testToken, WithHTTPClient(&http.Client{Transport: mt}))
	require.NoError(t, err)
	mt.RegisterResponder(http.MethodPost, "https://api.mensatek.com/v7/GetPlantillasWhatsapp",
		httpmock.NewStringResponder(200, `[{"Res":"1","Plantillas":{"7":{"Nombre":"hola","Verificada":1}}}]`))

	list, err := c.Templates(context.Background())
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "hola", list[0].Name)
	assert.Equal(t, 1, mt.GetTotalCallCount())

	// Nothing registered for the send: the mock's error, and no panic.
	_, err = c.SendText(context.Background(), "34600000001", "hola")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no responder")
}

// The client never follows a redirect: a redirected POST would turn into a GET without its body.
func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.handle("EnviarWHATSAPP", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	_, err := fx.client.SendText(context.Background(), "34600000001", "hola")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusFound, apiErr.HTTPStatus)
	assert.EqualValues(t, 1, fx.hits.Load())
}

// One client shared by many goroutines sending at once (run with -race).
func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	const n = 64
	fx := setup(t)
	var seq atomic.Int64
	fx.handle("EnviarWHATSAPP", func(w http.ResponseWriter, r *http.Request) {
		body := testRequest(t, r, "EnviarWHATSAPP")
		assert.Equal(t, "TEXTO", body["Tipomensaje"])
		id := seq.Add(1)
		writeReply(w, 200, fmt.Sprintf(`[{"Res":"1","idMensaje":"%d","Cred":"%d","Enviados":"1"}]`, id, 1000-id))
	})

	start := make(chan struct{})
	var wg sync.WaitGroup
	ids := make([]int64, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			res, err := fx.client.SendText(context.Background(), fmt.Sprintf("346000%05d", i), fmt.Sprintf("hola %d", i))
			errs[i] = err
			if err == nil {
				ids[i] = res.MessageID
			}
			fx.client.Credits()
			_ = fmt.Sprint(fx.client)
		}(i)
	}
	close(start)
	wg.Wait()

	seen := make(map[int64]bool)
	for i := 0; i < n; i++ {
		require.NoError(t, errs[i], "goroutine %d", i)
		assert.False(t, seen[ids[i]], "message id %d twice", ids[i])
		seen[ids[i]] = true
	}
	assert.EqualValues(t, n, seq.Load())
	cred, _, ok := fx.client.Credits()
	assert.True(t, ok)
	assert.GreaterOrEqual(t, cred, float64(1000-n))
}

// closedPortURL returns a loopback URL nothing listens on.
func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr + "/v7/"
}

func TestErrorsNeverShowCredentials(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.handle("EnviarWHATSAPP", func(w http.ResponseWriter, r *http.Request) {
		writeReply(w, 500, "internal error")
	})
	_, err1 := fx.client.SendText(context.Background(), "34600000001", "hola")
	_, err2 := newTestClient(t, closedPortURL(t)).Templates(context.Background())
	_, err3 := fx.client.SendText(context.Background(), "12", "hola")
	for _, err := range []error{err1, err2, err3} {
		require.Error(t, err)
		for _, s := range []string{testUser, testToken, testAuth[len("Basic "):]} {
			assert.NotContains(t, err.Error(), s)
			assert.NotContains(t, fmt.Sprintf("%+v", err), s)
		}
	}
}

// resty's own messages go to the client's logger at debug level, never elsewhere.
func TestRestyLoggerGoesToTheClientLogger(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := restyLogger{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	l.Errorf("e %d", 1)
	l.Warnf("w %s", "x")
	l.Debugf("d\n")
	out := buf.String()
	assert.Equal(t, 3, strings.Count(out, "level=DEBUG"))
	for _, want := range []string{`msg="resty: e 1"`, `msg="resty: w x"`, `msg="resty: d"`} {
		assert.Contains(t, out, want)
	}
	restyLogger{}.Errorf("no logger: nothing happens")
}

// A retry decodes into a clean reply: nothing of a failed attempt's reply is left over.
func TestDecodeReplyStartsClean(t *testing.T) {
	t.Parallel()
	c, err := NewClient("u", "t")
	require.NoError(t, err)
	r := templatesReply{}
	_, err = c.decodeReply(OpTemplates, &http.Response{StatusCode: 503}, []byte(`{"Plantillas":{"1":{"Nombre":"stale"}}}`), nil, &r)
	require.Error(t, err)
	_, err = c.decodeReply(OpTemplates, &http.Response{StatusCode: 200}, []byte(`{"Res":"1"}`), nil, &r)
	require.NoError(t, err)
	assert.Empty(t, r.Plantillas.Value)
}
