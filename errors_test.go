package mensatek

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

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
