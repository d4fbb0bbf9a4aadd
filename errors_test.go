package mensatek

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var sentinels = []error{ErrAuthentication, ErrInsufficientCredits, ErrInvalidRequest, ErrOutcomeUnknown, ErrNotSent}

// assertOnly checks that err matches want (nil: none) and no other sentinel.
func assertOnly(t *testing.T, err error, want ...error) {
	t.Helper()
	for _, s := range sentinels {
		wanted := false
		for _, w := range want {
			wanted = wanted || w == s
		}
		assert.Equal(t, wanted, errors.Is(err, s), "errors.Is(%v, %v)", err, s)
	}
}

func TestAPIErrorCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		reply    string
		wantCode int
		wantMsg  string
		want     []error
	}{
		{"Res -1", 200, `[{"Res":"-1","Error":"Usuario o token incorrecto","Cred":"0"}]`, -1, "Usuario o token incorrecto", []error{ErrAuthentication}},
		{"Res -1 as a number", 200, `{"Res":-1}`, -1, "", []error{ErrAuthentication}},
		{"Res -2", 200, `[{"Res":"-2","Error":"Créditos insuficientes","Cred":"0,25"}]`, -2, "Créditos insuficientes", []error{ErrInsufficientCredits}},
		{"Res -3 with the reference's text", 200, `[{"Res":"-3","Error":"Falta parámetro obligatorio","Cred":"12000"}]`, -3, "Falta parámetro obligatorio", []error{ErrInvalidRequest}},
		{"another negative code", 200, `{"Res":"-7","Error":"Cuenta WhatsApp no activada"}`, -7, "Cuenta WhatsApp no activada", nil},
		{"Res 0", 200, `{"Res":"0","Error":"Ningún mensaje enviado"}`, 0, "Ningún mensaje enviado", nil},
		{"Res 0 without text", 200, `{"Res":0}`, 0, "", nil},
		{"Res -3 as \"-3,0\"", 200, `{"Res":"-3,0","Error":"x"}`, -3, "x", []error{ErrInvalidRequest}},
		{"Res -1 with HTTP 401", 401, `{"Res":"-1","Error":"No autorizado"}`, -1, "No autorizado", []error{ErrAuthentication}},
		{"Res -3 with HTTP 400", 400, `{"Res":"-3","Error":"Falta Destinatarios"}`, -3, "Falta Destinatarios", []error{ErrInvalidRequest}},
	}
	for _, tt := range tests {
		for _, op := range []string{"send", "templates"} {
			t.Run(tt.name+"/"+op, func(t *testing.T) {
				fx := setup(t)
				var err error
				if op == "send" {
					fx.reply(t, "EnviarWHATSAPP", tt.status, tt.reply)
					var res *SendResult
					res, err = fx.client.SendText(context.Background(), "34600000001", "hola")
					assert.Nil(t, res)
				} else {
					fx.reply(t, "GetPlantillasWhatsapp", tt.status, tt.reply)
					var list []TemplateInfo
					list, err = fx.client.Templates(context.Background())
					assert.Nil(t, list)
				}
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tt.wantCode, apiErr.Code)
				assert.Equal(t, tt.wantMsg, apiErr.Message)
				assert.Equal(t, tt.status, apiErr.HTTPStatus)
				wantOp := OpSend
				if op == "templates" {
					wantOp = OpTemplates
				}
				assert.Equal(t, wantOp, apiErr.Operation)
				assertOnly(t, err, tt.want...)
				if tt.wantMsg != "" {
					assert.Contains(t, err.Error(), tt.wantMsg)
				}
				assert.Contains(t, err.Error(), string(wantOp))
			})
		}
	}
}

func TestAPIErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  APIError
		want string
	}{
		{APIError{Operation: OpSend, Code: -1, Message: "Usuario incorrecto", HTTPStatus: 200}, "mensatek: send: API error -1 (authentication failed): Usuario incorrecto"},
		{APIError{Operation: OpSend, Code: -2, HTTPStatus: 200}, "mensatek: send: API error -2 (not enough credits)"},
		{APIError{Operation: OpTemplates, Code: -3, Message: "Falta parámetro obligatorio", HTTPStatus: 200}, "mensatek: templates: API error -3 (invalid request): Falta parámetro obligatorio"},
		{APIError{Operation: OpSend, Code: -9, Message: "Otro", HTTPStatus: 200}, "mensatek: send: API error -9: Otro"},
		{APIError{Operation: OpSend, Code: -1, Message: "No", HTTPStatus: 401}, "mensatek: send: API error -1 (authentication failed): No (HTTP 401)"},
		{APIError{Operation: OpTyping, Message: "Bad Gateway: <html>", HTTPStatus: 502}, "mensatek: typing: API error: Bad Gateway: <html> (HTTP 502)"},
		{APIError{Operation: OpSend, Message: "Nada enviado", HTTPStatus: 200}, "mensatek: send: API error: Nada enviado (HTTP 200)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Error())
	}
}

func TestHTTPStatusErrors(t *testing.T) {
	t.Parallel()
	html := "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>" + strings.Repeat("<p>nginx upstream error</p>", 400) + "</body></html>"
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wantInText  []string
		want        []error // for a read; a send adds ErrOutcomeUnknown on 5xx
	}{
		{"401 without JSON", 401, "text/plain", "Unauthorized", []string{"401", "Unauthorized"}, []error{ErrAuthentication}},
		{"401 empty", 401, "", "", []string{"401", "Unauthorized"}, []error{ErrAuthentication}},
		{"403 HTML", 403, "text/html", "<h1>Forbidden</h1>", []string{"403", "Forbidden"}, nil},
		{"404", 404, "text/html", "<h1>Not Found</h1>", []string{"404", "Not Found"}, nil},
		{"429", 429, "text/plain", "Too many connections", []string{"429", "Too many connections"}, nil},
		{"500 empty", 500, "", "", []string{"500", "Internal Server Error"}, nil},
		{"502 long HTML page", 502, "text/html", html, []string{"502", "Bad Gateway", "nginx upstream error"}, nil},
		{"503 JSON without Res", 503, "application/json", `{"message":"maintenance"}`, []string{"503", "maintenance"}, nil},
		{"500 binary", 500, "application/octet-stream", "\x00\x01\x02\xff\xfe", []string{"500"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := setup(t)
			handler := func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}
			fx.handle("GetPlantillasWhatsapp", handler)
			fx.handle("EnviarWHATSAPP", handler)

			_, readErr := fx.client.Templates(context.Background())
			_, sendErr := fx.client.SendText(context.Background(), "34600000001", "hola")
			for _, err := range []error{readErr, sendErr} {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tt.status, apiErr.HTTPStatus)
				assert.Zero(t, apiErr.Code)
				for _, s := range tt.wantInText {
					assert.Contains(t, err.Error(), s)
				}
				assert.Less(t, len(err.Error()), 700, "the error must carry a short excerpt: %s", err)
				assert.NotContains(t, err.Error(), "\n")
				assert.NotContains(t, err.Error(), testToken)
				assert.NotContains(t, err.Error(), testAuth[len("Basic "):])
			}
			assertOnly(t, readErr, tt.want...)
			if tt.status >= 500 {
				assertOnly(t, sendErr, append([]error{ErrOutcomeUnknown}, tt.want...)...)
			} else {
				assertOnly(t, sendErr, tt.want...)
			}
		})
	}
}

// Replies with a 2xx status that cannot be read.
func TestUnreadableReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string
		wantReason string
	}{
		{"not JSON", "OK", "not a JSON object"},
		{"HTML", "<html><body>Mantenimiento</body></html>", "not a JSON object"},
		{"TXT answer", "Res=1&Cred=12000", "not a JSON object"},
		{"empty", "", "empty reply"},
		{"white space", "\r\n  \n", "empty reply"},
		{"empty array", "[]", "empty JSON array"},
		{"truncated JSON", `[{"Res":"1","idMensaje":"123`, "not valid JSON"},
		{"truncated object", `{"Res":"1","Cred":`, "not a valid JSON object"},
		{"no Res", `[{"Error":"","Cred":"12000"}]`, "no Res"},
		{"Res empty", `{"Res":""}`, "no Res"},
		{"Res null", `{"Res":null}`, "no Res"},
		{"Res not a number", `{"Res":"OK"}`, "Res is not a number"},
		{"Res an object", `{"Res":{"code":1}}`, "Res is not a number"},
		{"over 1 MiB", `{"Res":"1","Relleno":"` + strings.Repeat("a", 2<<20) + `"}`, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := setup(t)
			fx.reply(t, "GetPlantillasWhatsapp", http.StatusOK, tt.body)
			fx.reply(t, "EnviarWHATSAPP", http.StatusOK, tt.body)
			fx.reply(t, "EscribiendoWhatsapp", http.StatusOK, tt.body)

			list, readErr := fx.client.Templates(context.Background())
			assert.Nil(t, list)
			_, typingErr := fx.client.SendTyping(context.Background(), 1, "34600000001")
			res, sendErr := fx.client.SendText(context.Background(), "34600000001", "hola")
			assert.Nil(t, res)

			for i, err := range []error{readErr, typingErr, sendErr} {
				var re *ResponseError
				require.ErrorAs(t, err, &re, "call %d", i)
				assert.Equal(t, http.StatusOK, re.HTTPStatus)
				assert.Contains(t, re.Reason, tt.wantReason)
				assert.LessOrEqual(t, len(re.Excerpt), 204, "excerpt must be short")
				assert.Contains(t, err.Error(), "200")
				assert.Less(t, len(err.Error()), 700)
				var apiErr *APIError
				assert.False(t, errors.As(err, &apiErr))
			}
			assert.Equal(t, OpTemplates, errAs[*ResponseError](t, readErr).Operation)
			assert.Equal(t, OpTyping, errAs[*ResponseError](t, typingErr).Operation)
			assert.Equal(t, OpSend, errAs[*ResponseError](t, sendErr).Operation)

			// Only the send may have happened.
			assertOnly(t, readErr)
			assertOnly(t, typingErr)
			assertOnly(t, sendErr, ErrOutcomeUnknown)
			assert.Contains(t, sendErr.Error(), "check the delivery reports")
		})
	}
}

func errAs[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	require.ErrorAs(t, err, &target)
	return target
}

func TestReplyExcerptIsPrintable(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.reply(t, "GetPlantillasWhatsapp", http.StatusOK, "\x00\x01garbage\xff\xfe\nmore")
	_, err := fx.client.Templates(context.Background())
	re := errAs[*ResponseError](t, err)
	assert.Equal(t, "  garbage\uFFFD\uFFFD more", re.Excerpt)
}

// hangUp reads the request and closes the connection without a reply.
func hangUp(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

// Faults after the request may have reached the server: for a send they match
// ErrOutcomeUnknown (and still the underlying error); for a read they do not.
func TestOutcomeUnknown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		wantAPI  bool // errors.As finds an *APIError
		wantResp bool // errors.As finds a *ResponseError
		wantIs   error
	}{
		{"5xx without Res", func(w http.ResponseWriter, r *http.Request) {
			writeReply(w, http.StatusInternalServerError, `{"Error":"database down"}`)
		}, true, false, nil},
		{"504 text", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusGatewayTimeout)
			io.WriteString(w, "upstream timed out")
		}, true, false, nil},
		{"truncated 2xx reply", func(w http.ResponseWriter, r *http.Request) {
			writeReply(w, 200, `[{"Res":"1","idMensaje":"12`)
		}, false, true, nil},
		{"garbage 2xx reply", func(w http.ResponseWriter, r *http.Request) {
			writeReply(w, 200, "\x1f\x8b\x08 gzip?")
		}, false, true, nil},
		{"connection dropped after the request", hangUp, false, false, nil},
		{"body cut short of its Content-Length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			io.WriteString(w, `{"Res":"1"`)
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}, false, true, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := setup(t)
			fx.handle("EnviarWHATSAPP", tt.handler)
			fx.handle("CambiarEstadoWhatsapp", tt.handler)
			fx.handle("GetPlantillasWhatsapp", tt.handler)
			fx.handle("GetVariablesPlantillaWhatsapp", tt.handler)
			fx.handle("EscribiendoWhatsapp", tt.handler)
			ctx := context.Background()

			_, sendErr := fx.client.SendText(ctx, "34600000001", "hola")
			_, statusErr := fx.client.SetAccountStatus(ctx, "hola")
			for _, err := range []error{sendErr, statusErr} {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrOutcomeUnknown)
				assert.NotErrorIs(t, err, ErrAuthentication)
				assert.Contains(t, err.Error(), "outcome unknown")
				var apiErr *APIError
				assert.Equal(t, tt.wantAPI, errors.As(err, &apiErr), "As *APIError: %v", err)
				var respErr *ResponseError
				assert.Equal(t, tt.wantResp, errors.As(err, &respErr), "As *ResponseError: %v", err)
			}

			_, err1 := fx.client.Templates(ctx)
			_, err2 := fx.client.TemplateVariables(ctx, "1")
			_, err3 := fx.client.SendTyping(ctx, 1, "34600000001")
			for _, err := range []error{sendErr, statusErr, err1, err2, err3} {
				if tt.wantIs != nil {
					assert.ErrorIs(t, err, tt.wantIs)
				}
			}
			for _, err := range []error{err1, err2, err3} {
				require.Error(t, err)
				assert.NotErrorIs(t, err, ErrOutcomeUnknown, "%v", err)
				var apiErr *APIError
				assert.Equal(t, tt.wantAPI, errors.As(err, &apiErr), "As *APIError: %v", err)
				var respErr *ResponseError
				assert.Equal(t, tt.wantResp, errors.As(err, &respErr), "As *ResponseError: %v", err)
			}
		})
	}
}

// A 5xx that carries a negative Res is a refusal, not an unknown outcome.
func TestServerErrorWithResIsRefusal(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.reply(t, "EnviarWHATSAPP", http.StatusInternalServerError, `{"Res":"-3","Error":"Teléfono no válido"}`)
	_, err := fx.client.SendText(context.Background(), "34600000001", "hola")
	assertOnly(t, err, ErrInvalidRequest)
}

// A request that provably never left (nothing listens) is not an unknown outcome.
func TestDialErrorIsNotOutcomeUnknown(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, closedPortURL(t))
	_, err := c.SendText(context.Background(), "34600000001", "hola")
	require.Error(t, err)
	assertOnly(t, err, ErrNotSent)
	assert.Contains(t, err.Error(), "not sent")
	_, err = c.SetAccountStatus(context.Background(), "hola")
	assertOnly(t, err, ErrNotSent)
	_, err = c.Templates(context.Background())
	assertOnly(t, err, ErrNotSent)
}

func TestOutcomeErrorUnwrap(t *testing.T) {
	t.Parallel()
	cause := &APIError{Operation: OpSend, HTTPStatus: 502, Message: "Bad Gateway"}
	err := error(&outcomeError{op: OpSend, cause: cause})
	assert.ErrorIs(t, err, ErrOutcomeUnknown)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Same(t, cause, apiErr)
	assert.Equal(t, "mensatek: send: outcome unknown (API error: Bad Gateway (HTTP 502)): the request may have reached the server "+
		"and the message may have been sent; check the delivery reports before sending again", err.Error())
}

func TestValidationErrorText(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "mensatek: invalid To[2].Phone: phone number is empty",
		(&ValidationError{Field: "To[2].Phone", Reason: "phone number is empty"}).Error())
	assert.Equal(t, "mensatek: invalid request: no recipients", (&ValidationError{Reason: "no recipients"}).Error())
}

func TestResponseErrorText(t *testing.T) {
	t.Parallel()
	err := &ResponseError{Operation: OpTemplates, HTTPStatus: 200, Reason: "empty reply"}
	assert.Equal(t, "mensatek: templates: unreadable reply (HTTP 200): empty reply", err.Error())
	err.Excerpt = "<html>"
	assert.Equal(t, `mensatek: templates: unreadable reply (HTTP 200): empty reply: "<html>"`, err.Error())
}

// Every sentinel is declared in errors.go, and every error type matches its sentinels one way:
// by unwrapping to them, never by an Is method.
func TestErrorsOneMechanism(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		require.NoError(t, err)
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				assert.False(t, d.Recv != nil && d.Name.Name == "Is", "%s: an Is method; unwrap to the sentinel instead", name)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if vs, ok := s.(*ast.ValueSpec); ok {
						for _, n := range vs.Names {
							assert.False(t, n.IsExported() && strings.HasPrefix(n.Name, "Err") && name != "errors.go",
								"%s declares %s; sentinels belong in errors.go", name, n.Name)
						}
					}
				}
			}
		}
	}
}

// operation is one call of the client, with valid arguments.
type operation struct {
	name string
	call func(ctx context.Context, c *Client) error
}

// everyOperation lists a call of each operation the client has, the checked send included.
func everyOperation() []operation {
	return []operation{
		{"send", func(ctx context.Context, c *Client) error {
			_, err := c.SendText(ctx, "34600000001", "hola")
			return err
		}},
		{"checked send", func(ctx context.Context, c *Client) error {
			_, err := c.SendTemplateChecked(ctx, "customer_welcome", goodRecipient("34600000001"))
			return err
		}},
		{"typing", func(ctx context.Context, c *Client) error {
			_, err := c.SendTyping(ctx, 1, "34600000001")
			return err
		}},
		{"media download", func(ctx context.Context, c *Client) error {
			_, err := c.DownloadMedia(ctx, 1, "34600000001")
			return err
		}},
		{"media download to a writer", func(ctx context.Context, c *Client) error {
			_, err := c.DownloadMediaTo(ctx, 1, "34600000001", io.Discard)
			return err
		}},
		{"account status", func(ctx context.Context, c *Client) error {
			_, err := c.SetAccountStatus(ctx, "hola")
			return err
		}},
		{"templates", func(ctx context.Context, c *Client) error {
			_, err := c.Templates(ctx)
			return err
		}},
		{"template variables", func(ctx context.Context, c *Client) error {
			_, err := c.TemplateVariables(ctx, "572863982585983")
			return err
		}},
		{"template by name", func(ctx context.Context, c *Client) error {
			_, err := c.TemplateByName(ctx, "customer_welcome")
			return err
		}},
	}
}

// failurePath is one way a call fails, and which of the two sentinels its error must match:
// ErrNotSent, ErrOutcomeUnknown, or neither (nil).
type failurePath struct {
	name string
	err  func(t *testing.T) error
	want error
	// reached: the API got a request of the call (the server counts it, or the reply is an
	// *APIError); such an error never matches ErrNotSent.
	reached bool
}

// dnsFailing is a client whose every connection fails to resolve the host.
func dnsFailing() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(_ context.Context, network, _ string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "api.mensatek.invalid", IsNotFound: true}}
	}
	return &http.Client{Transport: tr}
}

// roundTrips answers each request with the next function; the last repeats.
type roundTrips []func(*http.Request) (*http.Response, error)

func (rt *roundTrips) RoundTrip(r *http.Request) (*http.Response, error) {
	f := (*rt)[0]
	if len(*rt) > 1 {
		*rt = (*rt)[1:]
	}
	return f(r)
}

func tooManyRequests(r *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, r.Body)
	return &http.Response{StatusCode: http.StatusTooManyRequests, Status: "429 Too Many Requests", Header: http.Header{},
		Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

func dialRefused(*http.Request) (*http.Response, error) {
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
}

// tlsServer starts a TLS server that a default client does not trust, counting the requests it
// gets (none: every handshake fails).
func tlsServer(t *testing.T, requests *atomic.Int32) string {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		writeReply(w, 200, sendOK)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL + "/v7/"
}

// notSentPaths are the failures for which nothing reached the API.
func notSentPaths() []failurePath {
	var paths []failurePath
	local := func(name string, f func(c *Client) error) {
		paths = append(paths, failurePath{name: "validation: " + name, want: ErrNotSent, err: func(t *testing.T) error {
			fx := setup(t) // no handler: a request that left fails the test
			err := f(fx.client)
			assert.Zero(t, fx.hits.Load())
			var ve *ValidationError
			assert.ErrorAs(t, err, &ve)
			return err
		}})
	}
	ctx := context.Background()
	local("send without recipients", func(c *Client) error {
		_, err := c.Send(ctx, SendRequest{Message: Text{Body: "hola"}})
		return err
	})
	local("send to a malformed phone", func(c *Client) error { _, err := c.SendText(ctx, "12", "hola"); return err })
	local("text over the limit", func(c *Client) error {
		_, err := c.SendText(ctx, "34600000001", strings.Repeat("a", MaxTextLength+1))
		return err
	})
	local("typing without a message id", func(c *Client) error { _, err := c.SendTyping(ctx, 0, "34600000001"); return err })
	local("media download from a malformed phone", func(c *Client) error { _, err := c.DownloadMedia(ctx, 1, "x"); return err })
	local("media download to a nil writer", func(c *Client) error {
		_, err := c.DownloadMediaTo(ctx, 1, "34600000001", nil)
		return err
	})
	local("empty account status", func(c *Client) error { _, err := c.SetAccountStatus(ctx, ""); return err })
	local("template variables without an id", func(c *Client) error { _, err := c.TemplateVariables(ctx, ""); return err })
	local("template by an empty name", func(c *Client) error { _, err := c.TemplateByName(ctx, ""); return err })
	local("checked send with a malformed phone", func(c *Client) error {
		_, err := c.SendTemplateChecked(ctx, "customer_welcome", goodRecipient("12"))
		return err
	})
	local("TemplateDetails.Validate: missing variables", func(*Client) error {
		return refDetails().Validate(Recipient{Phone: "34600000001"})
	})
	paths = append(paths,
		failurePath{name: "validation: checked send with a missing variable", want: ErrNotSent, err: func(t *testing.T) error {
			ts := newTemplateServer(t)
			_, err := ts.client.SendTemplateChecked(ctx, "customer_welcome", Recipient{Phone: "34600000001"})
			assert.Zero(t, ts.sends.Load())
			var problems ValidationErrors
			assert.ErrorAs(t, err, &problems)
			return err
		}},
		failurePath{name: "checked send: template not found", want: ErrNotSent, err: func(t *testing.T) error {
			ts := newTemplateServer(t)
			_, err := ts.client.SendTemplateChecked(ctx, "no_such_template", goodRecipient("34600000001"))
			assert.Zero(t, ts.sends.Load())
			assert.ErrorIs(t, err, ErrTemplateNotFound)
			assert.IsType(t, &TemplateError{}, err, "returned as it was, not wrapped")
			return err
		}},
		failurePath{name: "checked send: template not approved", want: ErrNotSent, err: func(t *testing.T) error {
			ts := newTemplateServer(t)
			_, err := ts.client.SendTemplateChecked(ctx, "appointment_reminder", goodRecipient("34600000001"))
			assert.Zero(t, ts.sends.Load())
			assert.ErrorIs(t, err, ErrTemplateNotApproved)
			return err
		}},
	)

	consent := func(name string, store ContactStore, msg Message, is error) {
		paths = append(paths, failurePath{name: "consent: " + name, want: ErrNotSent, err: func(t *testing.T) error {
			fx := setup(t, WithContacts(store))
			_, err := fx.client.Send(ctx, SendRequest{To: []Recipient{{Phone: "34600000001"}}, Message: msg})
			assert.Zero(t, fx.hits.Load())
			if is != nil {
				assert.ErrorIs(t, err, is)
				var ce *ContactError
				assert.ErrorAs(t, err, &ce)
			}
			return err
		}})
	}
	optedOut := NewMemoryContactStore()
	_ = optedOut.SetOptOut(ctx, "34600000001", true, time.Now(), "test")
	consent("opted out", optedOut, Template{Name: "customer_welcome"}, ErrOptedOut)
	consent("outside the service window", NewMemoryContactStore(), Text{Body: "hola"}, ErrOutsideServiceWindow)
	consent("contact store failed", brokenContacts{}, Text{Body: "hola"}, nil)
	consent("contact store saw the context end", NewMemoryContactStore(), Text{Body: "hola"}, nil)
	paths[len(paths)-1].err = func(t *testing.T) error {
		fx := setup(t, WithContacts(NewMemoryContactStore()))
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := fx.client.SendText(cctx, "34600000001", "hola")
		assert.ErrorIs(t, err, context.Canceled)
		return err
	}

	for _, op := range everyOperation() {
		paths = append(paths,
			failurePath{name: "context cancelled before: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				fx := setup(t)
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				err := op.call(cctx, fx.client)
				assert.ErrorIs(t, err, context.Canceled)
				assert.Zero(t, fx.hits.Load())
				return err
			}},
			failurePath{name: "context expired before: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				fx := setup(t)
				cctx, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
				defer cancel()
				err := op.call(cctx, fx.client)
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				assert.Zero(t, fx.hits.Load())
				return err
			}},
			failurePath{name: "connection refused: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				return op.call(ctx, newTestClient(t, closedPortURL(t), fastRetries()))
			}},
			failurePath{name: "DNS failure: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				c := newTestClient(t, "https://api.mensatek.invalid/v7/", WithHTTPClient(dnsFailing()))
				err := op.call(ctx, c)
				var dnsErr *net.DNSError
				assert.ErrorAs(t, err, &dnsErr)
				return err
			}},
			failurePath{name: "TLS failure: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				var requests atomic.Int32
				err := op.call(ctx, newTestClient(t, tlsServer(t, &requests)))
				assert.Zero(t, requests.Load())
				assert.ErrorContains(t, err, "certificate")
				return err
			}},
			failurePath{name: "connect pending at the timeout: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				var dials atomic.Int32
				fx := setup(t, WithTimeout(20*time.Millisecond), WithHTTPClient(hangingDialer(&dials)))
				err := op.call(ctx, fx.client)
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				assert.Zero(t, fx.hits.Load())
				return err
			}},
			failurePath{name: "limiter refused: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				fx := setup(t, WithLimiter(&countingLimiter{}))
				err := op.call(ctx, fx.client)
				assert.ErrorIs(t, err, errFull)
				assert.Zero(t, fx.hits.Load())
				return err
			}},
			failurePath{name: "limiter turn past the deadline: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				fx := setup(t, WithRateLimit(0.001, 1))
				fx.client.limiter.Wait(ctx) // spend the burst: the next turn is in 1000 s
				cctx, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				err := op.call(cctx, fx.client)
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				assert.Zero(t, fx.hits.Load())
				return err
			}},
			failurePath{name: "auth cooldown: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				fx := setup(t, WithAuthCooldown(time.Hour))
				fx.reply(t, "GetPlantillasWhatsapp", 200, `[{"Res":"-1","Error":"Usuario incorrecto"}]`)
				_, err := fx.client.Templates(ctx)
				require.ErrorIs(t, err, ErrAuthentication)
				assert.NotErrorIs(t, err, ErrNotSent, "the API refused this one")
				fx.client.ForgetTemplates()
				err = op.call(ctx, fx.client)
				assert.ErrorIs(t, err, ErrAuthentication)
				assert.Equal(t, int64(1), fx.hits.Load())
				return err
			}},
		)
	}
	paths = append(paths, failurePath{name: "context ended in the wait after a dial failure", want: ErrNotSent, err: func(t *testing.T) error {
		cctx, cancel := context.WithCancel(ctx)
		onRetry := slog.New(handlerFunc(func(r slog.Record) {
			if r.Message == "mensatek retry" {
				cancel()
			}
		}))
		c := newTestClient(t, closedPortURL(t), WithLogger(onRetry),
			WithRetryPolicy(RetryPolicy{MaxRetries: 3, InitialBackoff: time.Hour, MaxBackoff: time.Hour}))
		_, err := c.SendText(cctx, "34600000001", "hola")
		assert.ErrorIs(t, err, context.Canceled)
		return err
	}})
	return paths
}

// brokenContacts is a contact store that cannot be read.
type brokenContacts struct{ ContactStore }

func (brokenContacts) Contacts(context.Context, []string) (map[string]Contact, error) {
	return nil, errors.New("connection refused")
}

// reachedPaths are failures after a request of the call reached the API: an unknown outcome for
// a send, an *APIError, or a read that failed.
func reachedPaths() []failurePath {
	var paths []failurePath
	ctx := context.Background()
	mutating := map[string]func(ctx context.Context, c *Client) error{
		"send": func(ctx context.Context, c *Client) error {
			_, err := c.SendText(ctx, "34600000001", "hola")
			return err
		},
		"account status": func(ctx context.Context, c *Client) error {
			_, err := c.SetAccountStatus(ctx, "hola")
			return err
		},
	}
	for _, tt := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"5xx without Res", status(500, `{"Error":"database down"}`)},
		{"truncated reply", status(200, `[{"Res":"1","idMensaje":"12`)},
		{"connection dropped after the request", hangUp},
	} {
		for name, call := range mutating {
			paths = append(paths, failurePath{name: "outcome unknown: " + tt.name + ": " + name, want: ErrOutcomeUnknown, reached: true,
				err: func(t *testing.T) error {
					fx := setup(t)
					fx.handle("EnviarWHATSAPP", tt.handler)
					fx.handle("CambiarEstadoWhatsapp", tt.handler)
					return call(ctx, fx.client)
				}})
		}
	}
	// The context ends once the server has the request: no timing involved.
	for name, call := range mutating {
		paths = append(paths, failurePath{name: "outcome unknown: context ended after the request arrived: " + name, want: ErrOutcomeUnknown,
			reached: true, err: func(t *testing.T) error {
				fx := setup(t)
				cctx, cancel := context.WithCancel(ctx)
				h := func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body)
					cancel()
					<-r.Context().Done()
				}
				fx.handle("EnviarWHATSAPP", h)
				fx.handle("CambiarEstadoWhatsapp", h)
				err := call(cctx, fx.client)
				assert.ErrorIs(t, err, context.Canceled)
				return err
			}})
	}
	paths = append(paths, failurePath{name: "outcome unknown: accepted send with an unreadable field", want: ErrOutcomeUnknown, reached: true,
		err: func(t *testing.T) error {
			fx := setup(t)
			fx.reply(t, "EnviarWHATSAPP", 200, `{"Res":"1","idMensaje":"doce"}`)
			res, err := fx.client.SendText(ctx, "34600000001", "hola")
			assert.NotNil(t, res)
			return err
		}})
	for _, tt := range []struct{ name, body string }{
		{"authentication refused", `{"Res":"-1","Error":"Usuario incorrecto"}`},
		{"no credits", `{"Res":"-2"}`},
		{"data refused", `{"Res":"-3","Error":"Teléfono no válido"}`},
		{"another code", `{"Res":"-7"}`},
	} {
		for _, op := range everyOperation() {
			if op.name == "checked send" {
				continue // its template list is what the API refuses; covered by "template list"
			}
			paths = append(paths, failurePath{name: "API refusal: " + tt.name + ": " + op.name, reached: true, err: func(t *testing.T) error {
				fx := setup(t)
				for _, f := range []string{"EnviarWHATSAPP", "EscribiendoWhatsapp", "DescargarMultimediaWhatsapp", "CambiarEstadoWhatsapp",
					"GetPlantillasWhatsapp", "GetVariablesPlantillaWhatsapp"} {
					fx.reply(t, f, 200, tt.body)
				}
				return op.call(ctx, fx.client)
			}})
		}
	}
	for _, code := range []int{400, 401, 403, 404, 429} {
		paths = append(paths, failurePath{name: "HTTP " + http.StatusText(code) + ": send", reached: true, err: func(t *testing.T) error {
			fx := setup(t)
			fx.reply(t, "EnviarWHATSAPP", code, "no")
			_, err := fx.client.SendText(ctx, "34600000001", "hola")
			return err
		}})
	}
	paths = append(paths,
		failurePath{name: "429 after retries: send", reached: true, err: func(t *testing.T) error {
			fx := setup(t, fastRetries())
			s := &script{answers: []func(http.ResponseWriter, *http.Request){status(429, "")}}
			fx.handle("EnviarWHATSAPP", s.serve)
			_, err := fx.client.SendText(ctx, "34600000001", "hola")
			assert.Equal(t, 3, s.count())
			return err
		}},
		failurePath{name: "429, then a dial failure: send", reached: true, err: func(t *testing.T) error {
			// The last attempt never left, but the first reached the API: not ErrNotSent.
			rt := &roundTrips{tooManyRequests, dialRefused}
			c := newTestClient(t, "https://api.mensatek.com/v7/", WithHTTPClient(&http.Client{Transport: rt}), fastRetries())
			_, err := c.SendText(ctx, "34600000001", "hola")
			assert.ErrorContains(t, err, "connection refused")
			return err
		}},
		failurePath{name: "read: 5xx: templates", reached: true, err: func(t *testing.T) error {
			fx := setup(t)
			fx.reply(t, "GetPlantillasWhatsapp", 503, "down")
			_, err := fx.client.Templates(ctx)
			return err
		}},
		failurePath{name: "read: connection dropped: typing", reached: true, err: func(t *testing.T) error {
			fx := setup(t)
			fx.handle("EscribiendoWhatsapp", hangUp)
			_, err := fx.client.SendTyping(ctx, 1, "34600000001")
			return err
		}},
		failurePath{name: "read: template by name not found", reached: true, err: func(t *testing.T) error {
			// A read the API answered; only a checked send, which did not send, makes it ErrNotSent.
			ts := newTemplateServer(t)
			_, err := ts.client.TemplateByName(ctx, "no_such_template")
			assert.ErrorIs(t, err, ErrTemplateNotFound)
			return err
		}},
		failurePath{name: "checked send: template list refused", reached: true, err: func(t *testing.T) error {
			fx := setup(t)
			fx.reply(t, "GetPlantillasWhatsapp", 200, `[{"Res":"-1","Error":"Usuario incorrecto"}]`)
			_, err := fx.client.SendTemplateChecked(ctx, "customer_welcome", goodRecipient("34600000001"))
			return err
		}},
	)
	return paths
}

// Every failure path the SDK has: ErrNotSent matches exactly those for which nothing reached the
// API, ErrOutcomeUnknown those after which a send may have happened; never both, and never an
// error the API answered.
func TestErrNotSentAndOutcomeUnknownAreExclusive(t *testing.T) {
	t.Parallel()
	for _, p := range append(notSentPaths(), reachedPaths()...) {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			err := p.err(t)
			require.Error(t, err)
			notSent, unknown := errors.Is(err, ErrNotSent), errors.Is(err, ErrOutcomeUnknown)
			assert.False(t, notSent && unknown, "both sentinels: %v", err)
			assert.Equal(t, p.want == ErrNotSent, notSent, "errors.Is(err, ErrNotSent): %v", err)
			assert.Equal(t, p.want == ErrOutcomeUnknown, unknown, "errors.Is(err, ErrOutcomeUnknown): %v", err)
			var apiErr *APIError
			if errors.As(err, &apiErr) {
				var cooling *authCooldownError
				assert.True(t, !notSent || errors.As(err, &cooling),
					"an *APIError is an answer of the API, never ErrNotSent (the cooldown only quotes an earlier one): %v", err)
			}
			if p.reached {
				assert.False(t, notSent)
			}
		})
	}
}

// The sentinel and the types that match it, alone.
func TestErrNotSentTypes(t *testing.T) {
	t.Parallel()
	assert.ErrorIs(t, &ValidationError{Field: "To", Reason: "x"}, ErrNotSent)
	assert.ErrorIs(t, ValidationErrors{{Field: "To[0].Phone"}, {Field: "To[1].Phone"}}, ErrNotSent)
	assert.ErrorIs(t, &ContactError{Phone: "34600000001", err: ErrOptedOut}, ErrNotSent)
	assert.ErrorIs(t, &ContactError{Phone: "34600000001", err: ErrOutsideServiceWindow}, ErrNotSent)
	for _, err := range []error{
		&APIError{Operation: OpSend, HTTPStatus: 429},
		&APIError{Operation: OpSend, Code: CodeInvalidRequest},
		&ResponseError{Operation: OpTemplates, HTTPStatus: 200, Reason: "empty"},
		&outcomeError{op: OpSend, cause: errors.New("EOF")},
	} {
		assert.NotErrorIs(t, err, ErrNotSent)
	}
	// A template error matches only from a checked send.
	assert.NotErrorIs(t, &TemplateError{Name: "x", err: ErrTemplateNotFound}, ErrNotSent)
	assert.ErrorIs(t, &TemplateError{Name: "x", err: ErrTemplateNotFound, checkedSend: true}, ErrNotSent)

	// The marker reads as what it marks, and keeps every match of it.
	inner := &TemplateError{Name: "x", err: ErrTemplateNotFound}
	err := markNotSent(inner)
	assert.Equal(t, inner.Error(), err.Error())
	assert.ErrorIs(t, err, ErrNotSent)
	assert.ErrorIs(t, err, ErrTemplateNotFound)
	var te *TemplateError
	require.ErrorAs(t, err, &te)
	assert.Same(t, inner, te)
	assert.Equal(t, "mensatek: not sent: nothing reached the API", ErrNotSent.Error())
}

// A joined consent refusal keeps its per-recipient errors and matches ErrNotSent once.
func TestErrNotSentConsentJoin(t *testing.T) {
	t.Parallel()
	store := NewMemoryContactStore()
	ctx := context.Background()
	require.NoError(t, store.SetOptOut(ctx, "34600000001", true, time.Now(), "test"))
	fx := setup(t, WithContacts(store))
	_, err := fx.client.Send(ctx, SendRequest{To: []Recipient{{Phone: "34600000001"}, {Phone: "34600000002"}}, Message: Text{Body: "hola"}})
	require.ErrorIs(t, err, ErrNotSent)
	assert.ErrorIs(t, err, ErrOptedOut)
	assert.ErrorIs(t, err, ErrOutsideServiceWindow)
	assert.Equal(t, 2, strings.Count(err.Error(), "not sent to"))
}
