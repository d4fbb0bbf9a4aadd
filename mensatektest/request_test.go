package mensatektest_test

import (
	"bytes"
	"go/parser"
	"go/token"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// The fake reads requests with its own code, never the SDK's, and needs nothing but the root
// package, internal/api (the function and message-type names it must agree on with the client;
// names only, no code that reads a request) and the standard library.
func TestFakeSharesNoDecodingCodeWithTheClient(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			require.NoError(t, err)
			std := !strings.Contains(strings.SplitN(path, "/", 2)[0], ".")
			assert.True(t, std || path == "github.com/mensatek-go/mensatek" || path == "github.com/mensatek-go/mensatek/internal/api", "%s imports %s", name, path)
		}
		checked++
	}
	assert.Greater(t, checked, 5)
}

func TestRequestReading(t *testing.T) {
	t.Parallel()
	const to = `"Destinatarios":[{"Telefono":"34600000001"}]`
	const text = `"Tipomensaje":"TEXTO","Datosmensaje":{"Texto":"hola"}`
	tests := []struct {
		name, contentType, body string
		want                    string // a Res -3 Error contains it; "" means accepted (Res 1)
	}{
		{"a parameter given twice", jsonType, `{` + to + `,` + text + `,"Tipomensaje":"TEXTO"}`, "the request gives parameter Tipomensaje twice"},
		{"a parameter given in two cases", jsonType, `{` + to + `,` + text + `,"TIPOMENSAJE":"TEXTO"}`,
			"the request has Tipomensaje and TIPOMENSAJE, the same parameter to the API"},
		{"a form parameter given twice", formType, "Destinatarios=%5B%7B%22Telefono%22%3A%2234600000001%22%7D%5D&Tipomensaje=TEXTO&Tipomensaje=TEXTO",
			"the request gives parameter Tipomensaje 2 times"},
		{"a form parameter in two cases", formType, "Destinatarios=%5B%7B%22Telefono%22%3A%2234600000001%22%7D%5D&Tipomensaje=TEXTO&tipomensaje=TEXTO",
			"the request has Tipomensaje and tipomensaje"},
		{"a recipient field in two cases", jsonType, `{"Destinatarios":[{"Telefono":"34600000001","telefono":"34600000002"}],` + text + `}`,
			"Destinatarios[0]: the recipient has Telefono and telefono"},
		{"a variable given twice", jsonType, `{"Destinatarios":[{"Telefono":"34600000001","Pedido":"1","Pedido":"2"}],` + text + `}`,
			"Destinatarios[0]: the recipient gives field Pedido twice"},
		{"a Datosmensaje field given twice", jsonType, `{` + to + `,"Tipomensaje":"TEXTO","Datosmensaje":{"Texto":"a","Texto":"b"}}`,
			"Datosmensaje gives field Texto twice"},
		{"Datosmensaje a list", jsonType, `{` + to + `,"Tipomensaje":"TEXTO","Datosmensaje":["hola"]}`, "Datosmensaje is not a JSON object"},
		{"Datosmensaje malformed in a string", jsonType, `{` + to + `,"Tipomensaje":"TEXTO","Datosmensaje":"{\"Texto\":"}`, "Datosmensaje is not a JSON object"},
		{"Datosmensaje empty", jsonType, `{` + to + `,"Tipomensaje":"TEXTO","Datosmensaje":""}`, ""},
		{"Datosmensaje an empty list", jsonType, `{` + to + `,"Tipomensaje":"TEXTO","Datosmensaje":[]}`, ""},
		{"Datosmensaje escaped once too often", jsonType, `{` + to + `,"Tipomensaje":"TEXTO","Datosmensaje":"{\\\"Texto\\\":\\\"hola\\\"}"}`, ""},
		{"Destinatarios in a string in a string", jsonType, `{"Destinatarios":"\"[{\\\"Telefono\\\":\\\"34600000001\\\"}]\"",` + text + `}`, ""},
		{"Destinatarios one object", jsonType, `{"Destinatarios":{"Telefono":"34600000001"},` + text + `}`, ""},
		{"null parameters are absent", jsonType, `{` + to + `,` + text + `,"Fecha":null,"Referenciausuario":null,"Report":null,"Siguientecanal":null}`, ""},
		{"flags as numbers", jsonType, `{` + to + `,` + text + `,"Report":1,"Fixutf8":0}`, ""},
		{"flags as strings", jsonType, `{` + to + `,` + text + `,"Report":" 1 ","Fixutf8":"0"}`, ""},
		{"flags as booleans", jsonType, `{` + to + `,` + text + `,"Report":true,"Fixutf8":false}`, ""},
		{"a flag as a word", jsonType, `{` + to + `,` + text + `,"Report":"yes"}`, `Report must be 0 or 1, not "yes"`},
		{"a flag out of range", jsonType, `{` + to + `,` + text + `,"Fixutf8":2}`, `Fixutf8 must be 0 or 1, not "2"`},
		{"a flag as an object", jsonType, `{` + to + `,` + text + `,"Report":{}}`, `Report must be 0 or 1`},
		{"idMensajeRespondido as a number", jsonType, `{"Destinatarios":[{"Telefono":"34600000001","idMensajeRespondido":10573758}],"Tipomensaje":"REACCION","Datosmensaje":{"Emoji":"x"}}`, ""},
		{"idMensajeRespondido as 1e3", jsonType, `{"Destinatarios":[{"Telefono":"34600000001","idMensajeRespondido":"1e3"}],"Tipomensaje":"REACCION","Datosmensaje":{"Emoji":"x"}}`, ""},
		{"idMensajeRespondido with a fraction", jsonType, `{"Destinatarios":[{"Telefono":"34600000001","idMensajeRespondido":1.5}],"Tipomensaje":"REACCION","Datosmensaje":{"Emoji":"x"}}`,
			`idMensajeRespondido: "1.5" is not a whole number`},
		{"idMensajeRespondido too large", jsonType, `{"Destinatarios":[{"Telefono":"34600000001","idMensajeRespondido":"9223372036854775808"}],"Tipomensaje":"REACCION","Datosmensaje":{"Emoji":"x"}}`,
			`idMensajeRespondido: "9223372036854775808" is out of range`},
		{"a body in an array of one", jsonType, `[{` + to + `,` + text + `}]`, ""},
		{"a body in an array of two", jsonType, `[{` + to + `,` + text + `},{}]`, "the body is a JSON array of 2 elements"},
		{"a body in an empty array", jsonType, `[]`, "the body is a JSON array of 0 elements"},
		{"a body with a byte order mark", jsonType, "\ufeff{" + to + `,` + text + `}`, ""},
		{"JSON that is not an object", jsonType, `"hola"`, "the body is not a valid JSON object"},
		{"JSON with trailing data", jsonType, `{` + to + `,` + text + `} {}`, "the body is not a valid JSON object"},
		{"a form without a content type", "", "Destinatarios=%5B%7B%22Telefono%22%3A%2234600000001%22%7D%5D&Tipomensaje=TEXTO&Datosmensaje=%7B%22Texto%22%3A%22hola%22%7D", ""},
		{"JSON as text/plain", "text/plain", `{` + to + `,` + text + `}`, ""},
		{"an unsupported content type", "application/xml", `<x/>`, `unsupported Content-Type "application/xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mensatektest.Start(t)
			status, body := call(t, srv, "EnviarWHATSAPP", tt.contentType, tt.body)
			assert.Equal(t, http.StatusOK, status)
			r := reply(t, body)
			if tt.want == "" {
				assert.Equal(t, "1", r["Res"], body)
				require.Len(t, srv.Sent(), 1)
				return
			}
			assert.Equal(t, "-3", r["Res"], body)
			assert.Contains(t, r["Error"], tt.want)
			assert.Empty(t, srv.Sent())
			assert.Equal(t, 1000.0, srv.Credits(), "nothing is spent on a refused request")
		})
	}
}

func TestRequestValuesAsRead(t *testing.T) {
	t.Parallel()
	srv := mensatektest.Start(t)
	status, body := call(t, srv, "EnviarWHATSAPP", jsonType, `{"Destinatarios":"[{\"Telefono\":34600000001,\"Nombre\":\"Ana\",`+
		`\"Importe\":12.5,\"Activo\":true,\"Lista\":[1,2],\"Vacio\":null}]","Tipomensaje":" texto ",`+
		`"Datosmensaje":"{\"Texto\":\"hola \\ud83d\\ude01 <b>&</b>\",\"PrevisualizarURL\":1}","Fecha":" 2030-05-01 15:10 ",`+
		`"Siguientecanal":"SMS"}`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "1", reply(t, body)["Res"], body)
	assert.Equal(t, []mensatektest.SentMessage{{
		ID: 1, Type: mensatek.TypeText,
		To: []mensatek.Recipient{{Phone: "34600000001", Name: "Ana",
			Vars: map[string]string{"Importe": "12.5", "Activo": "true", "Lista": "[1,2]", "Vacio": ""}}},
		Data:             map[string]any{"Texto": "hola \U0001F601 <b>&</b>", "PrevisualizarURL": 1.0},
		ScheduledAt:      "2030-05-01 15:10",
		FallbackChannels: []string{"SMS"},
	}}, srv.Sent())

	// Error texts keep <, > and & as they are.
	_, body = call(t, srv, "GetVariablesPlantillaWhatsapp", jsonType, `{"Idplantilla":"<a&b>"}`)
	assert.Contains(t, body, `template \"<a&b>\" does not exist`)

	// Multipart: a parameter given twice is refused, and file parts are not parameters.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	require.NoError(t, mw.WriteField("Estado", "uno"))
	require.NoError(t, mw.WriteField("ESTADO", "dos"))
	require.NoError(t, mw.Close())
	_, body = call(t, srv, "CambiarEstadoWhatsapp", mw.FormDataContentType(), mp.String())
	assert.Contains(t, reply(t, body)["Error"], "the request has ESTADO and Estado")
	assert.Empty(t, srv.AccountStatus())

	mp.Reset()
	mw = multipart.NewWriter(&mp)
	fw, err := mw.CreateFormFile("Estado", "estado.txt")
	require.NoError(t, err)
	_, _ = fw.Write([]byte("from a file"))
	require.NoError(t, mw.Close())
	_, body = call(t, srv, "CambiarEstadoWhatsapp", mw.FormDataContentType(), mp.String())
	assert.Contains(t, reply(t, body)["Error"], "missing required parameter Estado")

	// Message ids as numbers or strings.
	for _, id := range []string{`1288177432`, `"1288177432"`, `" 1288177432 "`, `1288177432.0`, `"+1288177432"`} {
		status, body := call(t, srv, "EscribiendoWhatsapp", jsonType, `{"Idmensaje":`+id+`,"Telefono":"34600000000"}`)
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, "1", reply(t, body)["Res"], "Idmensaje %s: %s", id, body)
	}
	for _, id := range []string{`"abc"`, `-1`, `0`, `1.5`, `[1]`, `"1,5"`} {
		_, body := call(t, srv, "EscribiendoWhatsapp", jsonType, `{"Idmensaje":`+id+`,"Telefono":"34600000000"}`)
		r := reply(t, body)
		assert.Equal(t, "-3", r["Res"], "Idmensaje %s", id)
		assert.Contains(t, r["Error"], "is not a message id", "Idmensaje %s", id)
	}
}
