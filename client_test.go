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

func TestNewClientOptionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  Option
		want string
	}{
		{"nil http client", WithHTTPClient(nil), "nil *http.Client"},
		{"negative timeout", WithTimeout(-time.Second), "negative"},
		{"negative cache TTL", WithTemplateCacheTTL(-time.Second), "negative"},
		{"user agent with CR LF", WithUserAgent("x\r\nAuthorization: y"), "line break"},
		{"user agent with LF", WithUserAgent("x\ny"), "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(testUser, testToken, tt.opt)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	// A nil option is skipped.
	_, err := NewClient(testUser, testToken, nil)
	assert.NoError(t, err)
}

func TestWithBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string // want "" means an error
		wantErr  string
	}{
		{in: "https://api.mensatek.com/v7/", want: "https://api.mensatek.com/v7/"},
		{in: "https://api.mensatek.com/v7", want: "https://api.mensatek.com/v7/"},
		{in: " https://api.mensatek.com/v7 ", want: "https://api.mensatek.com/v7/"},
		{in: "https://proxy.example.com", want: "https://proxy.example.com/"},
		{in: "HTTPS://api.mensatek.com/v7/", want: "https://api.mensatek.com/v7/"},
		{in: "http://localhost:8080/v7", want: "http://localhost:8080/v7/"},
		{in: "http://LOCALHOST/", want: "http://LOCALHOST/"},
		{in: "http://api.localhost/", wantErr: "must be https"}, // proxies do not bypass *.localhost
		{in: "http://127.0.0.1:9/v7/", want: "http://127.0.0.1:9/v7/"},
		{in: "http://127.3.2.1/", want: "http://127.3.2.1/"},
		{in: "http://[::1]:8080/v7/", want: "http://[::1]:8080/v7/"},
		{in: "http://api.mensatek.com/v7/", wantErr: "must be https"},
		{in: "http://localhost.example.com/", wantErr: "must be https"},
		{in: "http://10.0.0.1/", wantErr: "must be https"},
		{in: "http://0.0.0.0/", wantErr: "must be https"},
		{in: "http://[::2]/", wantErr: "must be https"},
		{in: "ftp://api.mensatek.com/v7/", wantErr: "https"},
		{in: "ws://localhost/", wantErr: "https"},
		{in: "https://someone:hunter2pw@api.mensatek.com/v7/", wantErr: "credentials"},
		{in: "https://someone@api.mensatek.com/v7/", wantErr: "credentials"},
		{in: "http://someone:hunter2pw@localhost/", wantErr: "credentials"},
		{in: "https://api.mensatek.com/v7/?Resp=JSON", wantErr: "query"},
		{in: "https://api.mensatek.com/v7/?", wantErr: "query"}, // would send to .../v7/?EnviarWHATSAPP
		{in: "https://api.mensatek.com/v7/#top", wantErr: "fragment"},
		{in: "api.mensatek.com/v7/", wantErr: "no host"},
		{in: "https:///v7/", wantErr: "no host"},
		{in: "", wantErr: "no host"},
		{in: "https://api.mensatek.com/%zz", wantErr: "invalid URL escape"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := NewClient(testUser, testToken, WithBaseURL(tt.in))
			if tt.want == "" {
				require.Error(t, err)
				assert.Nil(t, c)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "hunter2pw")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.BaseURL())
		})
	}
}

func TestBaseURLWithAndWithoutSlash(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{"/v7", "/v7/"} {
		t.Run(suffix, func(t *testing.T) {
			fx := setup(t)
			c := newTestClient(t, fx.server.URL+suffix)
			rec := fx.reply(t, "EnviarWHATSAPP", http.StatusOK, okSendReply)
			_, err := c.SendText(context.Background(), "34600000001", "hola")
			require.NoError(t, err)
			assert.Equal(t, 1, rec.count())
		})
	}
	t.Run("no path", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			assert.Equal(t, "/GetPlantillasWhatsapp", r.URL.Path)
			writeReply(w, 200, `{"Res":1}`)
		}))
		defer srv.Close()
		_, err := newTestClient(t, srv.URL).Templates(context.Background())
		require.NoError(t, err)
	})
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

func TestWithEndpoint(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	c := newTestClient(t, fx.server.URL+"/v7/",
		WithEndpoint(OpTyping, "SetTypingWhatsapp"),
		WithEndpoint(OpSend, "EnviarWHATSAPP2"))
	assert.Equal(t, "SetTypingWhatsapp", c.Endpoint(OpTyping))
	assert.Equal(t, "EnviarWHATSAPP2", c.Endpoint(OpSend))
	assert.Equal(t, "GetPlantillasWhatsapp", c.Endpoint(OpTemplates))

	typing := fx.reply(t, "SetTypingWhatsapp", http.StatusOK, okReply)
	send := fx.reply(t, "EnviarWHATSAPP2", http.StatusOK, okSendReply)
	_, err := c.SendTyping(context.Background(), 5, "34600000001")
	require.NoError(t, err)
	_, err = c.SendText(context.Background(), "34600000001", "hola")
	require.NoError(t, err)
	assert.Equal(t, 1, typing.count())
	assert.Equal(t, 1, send.count())
}

func TestWithEndpointInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		op       Operation
		function string
		want     string
	}{
		{"nope", "EnviarWHATSAPP", "unknown operation"},
		{"", "EnviarWHATSAPP", "unknown operation"},
		{OpSend, "", "invalid function name"},
		{OpSend, "a/b", "invalid function name"},
		{OpSend, "../admin", "invalid function name"},
		{OpSend, "a?b=1", "invalid function name"},
		{OpSend, "a#b", "invalid function name"},
		{OpSend, "a b", "invalid function name"},
		{OpSend, "a%2Fb", "invalid function name"},
		{OpSend, "a\r\nb", "invalid function name"},
	}
	for _, tt := range tests {
		c, err := NewClient(testUser, testToken, WithEndpoint(tt.op, tt.function))
		require.Error(t, err, "%q %q", tt.op, tt.function)
		assert.Nil(t, c)
		assert.Contains(t, err.Error(), tt.want)
	}
}

func TestWithUserAgent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts []Option
		want string
	}{
		{"default", nil, "mensatek-go/" + Version},
		{"custom", []Option{WithUserAgent("shop-backend/2.1")}, "shop-backend/2.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fx := setup(t, tt.opts...)
			fx.handle("GetPlantillasWhatsapp", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, tt.want, r.Header.Get("User-Agent"))
				writeReply(w, 200, `{"Res":1}`)
			})
			_, err := fx.client.Templates(context.Background())
			require.NoError(t, err)
		})
	}
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

func TestWithTimeout(t *testing.T) {
	t.Parallel()
	// Long enough that the request is surely written before it fires, even under -race on a
	// loaded machine: the send is then an unknown outcome, not a request that never left.
	fx := setup(t, WithTimeout(time.Second))
	fx.handle("GetPlantillasWhatsapp", slowHandler(t))
	fx.handle("EnviarWHATSAPP", slowHandler(t))

	start := time.Now()
	_, err := fx.client.Templates(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "call took longer than 1s (WithTimeout): context deadline exceeded")
	assert.NotErrorIs(t, err, ErrOutcomeUnknown, "a read has no outcome to be unsure of")
	assert.Less(t, time.Since(start), 5*time.Second)

	// The send's request was written before the timeout: it may have been sent.
	_, err = fx.client.SendText(context.Background(), "34600000001", "hola")
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, ErrOutcomeUnknown)
}

// A timeout while the reply's body is arriving is still a timeout.
func TestWithTimeoutDuringBody(t *testing.T) {
	t.Parallel()
	fx := setup(t, WithTimeout(time.Second))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	stall := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[{"Res":"1",`)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	fx.handle("GetPlantillasWhatsapp", stall)
	fx.handle("EnviarWHATSAPP", stall)

	_, err := fx.client.Templates(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)

	_, err = fx.client.SendText(context.Background(), "34600000001", "hola")
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, ErrOutcomeUnknown)
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

func TestWithLogger(t *testing.T) {
	t.Parallel()
	logger, buf := newLogger(slog.LevelDebug)
	fx := setup(t, WithLogger(logger))
	const (
		body   = "cuerpo-del-mensaje-Jx81"
		status = "estado-de-la-cuenta-Pq42"
	)
	fx.reply(t, "EnviarWHATSAPP", 200, okSendReply)
	fx.reply(t, "EscribiendoWhatsapp", 200, okReply)
	fx.reply(t, "CambiarEstadoWhatsapp", 200, okReply)
	fx.reply(t, "GetPlantillasWhatsapp", 200, `[{"Res":"-1","Error":"Usuario o token incorrecto"}]`)
	fx.handle("DescargarMultimediaWhatsapp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		io.WriteString(w, "jpeg-bytes-Zz93")
	})
	ctx := context.Background()

	steps := []struct {
		op     Operation
		status float64
		res    float64
		fails  bool
		call   func() error
	}{
		{OpSend, 200, 10, false, func() error { _, err := fx.client.SendText(ctx, "34600000001", body); return err }},
		{OpTyping, 200, 1, false, func() error { _, err := fx.client.SendTyping(ctx, 9, "34600000001"); return err }},
		{OpAccountStatus, 200, 1, false, func() error { _, err := fx.client.SetAccountStatus(ctx, status); return err }},
		{OpTemplates, 200, -1, true, func() error { _, err := fx.client.Templates(ctx); return err }},
		{OpMediaDownload, 200, 1, false, func() error { _, err := fx.client.DownloadMedia(ctx, 9, "34600000001"); return err }},
	}
	for i, s := range steps {
		err := s.call()
		assert.Equal(t, s.fails, err != nil, "%s: %v", s.op, err)
		recs := buf.records(t)
		require.Len(t, recs, i+1, "one record per call; after %s", s.op)
		rec := recs[i]
		assert.Equal(t, "DEBUG", rec["level"])
		assert.Equal(t, string(s.op), rec["operation"])
		assert.Equal(t, fx.client.Endpoint(s.op), rec["function"])
		assert.Equal(t, s.status, rec["http_status"])
		assert.Equal(t, s.res, rec["res"])
		assert.Contains(t, rec, "duration")
		_, hasErr := rec["error"]
		assert.Equal(t, s.fails, hasErr)
	}

	// A local validation failure makes no call and no record.
	_, err := fx.client.SendText(ctx, "bad", body)
	require.Error(t, err)
	assert.Len(t, buf.records(t), len(steps))

	out := buf.String()
	for _, secret := range []string{testToken, testUser, testAuth[len("Basic "):], "Basic ", body, status, "jpeg-bytes-Zz93"} {
		assert.NotContains(t, out, secret)
	}
}

func TestWithLoggerAboveDebugIsQuiet(t *testing.T) {
	t.Parallel()
	logger, buf := newLogger(slog.LevelInfo)
	fx := setup(t, WithLogger(logger))
	fx.reply(t, "EnviarWHATSAPP", 200, okSendReply)
	_, err := fx.client.SendText(context.Background(), "34600000001", "hola")
	require.NoError(t, err)
	assert.Empty(t, buf.String())
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
