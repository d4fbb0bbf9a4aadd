package mensatek

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek/internal/wire"
)

// sentSend is an EnviarWHATSAPP request as the server sees it.
type sentSend struct {
	Body map[string]any   // top-level fields, numbers as json.Number
	To   []map[string]any // Destinatarios, decoded from the string it is sent as
	Data map[string]any   // Datosmensaje, decoded from the string it is sent as
}

func decodeSend(t *testing.T, body map[string]any) sentSend {
	t.Helper()
	s := sentSend{Body: body}
	to, ok := body["Destinatarios"].(string)
	require.True(t, ok, "Destinatarios must be a string holding JSON, got %T", body["Destinatarios"])
	require.NoError(t, decodeJSON(to, &s.To), "Destinatarios %s", to)
	data, ok := body["Datosmensaje"].(string)
	require.True(t, ok, "Datosmensaje must be a string holding JSON, got %T", body["Datosmensaje"])
	require.NoError(t, decodeJSON(data, &s.Data), "Datosmensaje %s", data)
	return s
}

// decodeJSON decodes s into v with numbers as json.Number, rejecting trailing data.
func decodeJSON(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

func mustJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, decodeJSON(s, &m), s)
	return m
}

// sendOnce sends req through a fresh server and returns what the server received.
func sendOnce(t *testing.T, req SendRequest) sentSend {
	t.Helper()
	fx := setup(t)
	rec := fx.reply(t, "EnviarWHATSAPP", http.StatusOK, okSendReply)
	_, err := fx.client.Send(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, 1, rec.count())
	return decodeSend(t, rec.last(t))
}

var one = []Recipient{{Phone: "34600000001"}}

// Text travels as UTF-8, not as \u escapes, and <, > and & are not escaped.
func TestSendRawBodyIsUTF8(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	var raw []byte
	var mu sync.Mutex
	fx.handle("EnviarWHATSAPP", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		raw = b
		mu.Unlock()
		writeReply(w, 200, okSendReply)
	})
	_, err := fx.client.Send(context.Background(), SendRequest{
		To:      []Recipient{{Phone: "34600000001", Name: "Pedro Pérez"}},
		Message: Text{Body: "año 😁 a<b & c>d"},
	})
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.True(t, json.Valid(raw))
	for _, s := range []string{"Pedro Pérez", "año 😁", "a<b & c>d"} {
		assert.Contains(t, string(raw), s)
	}
	assert.NotContains(t, strings.ToLower(string(raw)), `\ud83d`)
	assert.NotContains(t, string(raw), `\u003c`)
}

func TestSendRecipients(t *testing.T) {
	t.Parallel()
	got := sendOnce(t, SendRequest{
		To: []Recipient{
			{
				Phone: "+34 600 000 001", Name: "Pedro Pérez", Email: "recipient@thedomain.com",
				Vars: map[string]string{"Variable_Cabecera_image": "https://www.yourdomain.com/img/banner.jpg", "Valor-URL-Boton-0": "REF123"},
			},
			{Phone: "0034600000002", Vars: map[string]string{"Nombre": "Ana", "email": "ana@example.com"}},
			{Phone: "34600000003", ReplyTo: 1288177432},
			{Phone: "34600000004", Name: "Luis", Vars: map[string]string{"nombre": "Luis"}},
		},
		Message: Template{Name: "customer_welcome"},
	})
	want := []map[string]any{
		{
			"Telefono": "34600000001", "Nombre": "Pedro Pérez", "Email": "recipient@thedomain.com",
			"Variable_Cabecera_image": "https://www.yourdomain.com/img/banner.jpg", "Valor-URL-Boton-0": "REF123",
		},
		{"Telefono": "34600000002", "Nombre": "Ana", "Email": "ana@example.com"},
		{"Telefono": "34600000003", "idMensajeRespondido": json.Number("1288177432")},
		{"Telefono": "34600000004", "Nombre": "Luis"},
	}
	assert.Equal(t, want, got.To)

	// The same request always encodes the same way: own fields first, then variables by name.
	assert.Equal(t,
		`[{"Telefono":"34600000001","Nombre":"Pedro Pérez","Email":"recipient@thedomain.com",`+
			`"Valor-URL-Boton-0":"REF123","Variable_Cabecera_image":"https://www.yourdomain.com/img/banner.jpg"},`+
			`{"Telefono":"34600000002","Nombre":"Ana","Email":"ana@example.com"},`+
			`{"Telefono":"34600000003","idMensajeRespondido":1288177432},`+
			`{"Telefono":"34600000004","Nombre":"Luis"}]`,
		got.Body["Destinatarios"])
}

// The request's Recipient values are not changed by the send.
func TestSendDoesNotModifyRequest(t *testing.T) {
	t.Parallel()
	to := []Recipient{{Phone: "+34 600 000 001", Vars: map[string]string{"a": "1"}}}
	sendOnce(t, SendRequest{To: to, Message: Text{Body: "hola"}})
	assert.Equal(t, "+34 600 000 001", to[0].Phone)
	assert.Equal(t, map[string]string{"a": "1"}, to[0].Vars)
}

func TestSendRequestFields(t *testing.T) {
	t.Parallel()
	t.Run("defaults", func(t *testing.T) {
		got := sendOnce(t, SendRequest{To: one, Message: Text{Body: "hola"}})
		assert.Equal(t, json.Number("0"), got.Body["Report"])
		assert.Equal(t, json.Number("0"), got.Body["Fixutf8"])
		for _, absent := range []string{"Fecha", "Referenciausuario", "Siguientecanal"} {
			assert.NotContains(t, got.Body, absent)
		}
		assert.Len(t, got.Body, 6) // Destinatarios, Tipomensaje, Datosmensaje, Report, Fixutf8, Resp
	})
	t.Run("all set", func(t *testing.T) {
		got := sendOnce(t, SendRequest{
			To:               one,
			Message:          Text{Body: "hola"},
			ScheduleAt:       time.Date(2022, 5, 1, 13, 10, 0, 0, time.UTC),
			Reference:        "Your reference",
			Report:           true,
			FallbackChannels: []string{"SMS", "EMAIL"},
			FixUTF8:          true,
		})
		assert.Equal(t, "2022-05-01 15:10", got.Body["Fecha"])
		assert.Equal(t, "Your reference", got.Body["Referenciausuario"])
		assert.Equal(t, json.Number("1"), got.Body["Report"])
		assert.Equal(t, json.Number("1"), got.Body["Fixutf8"])
		assert.Equal(t, []any{"SMS", "EMAIL"}, got.Body["Siguientecanal"])
		assert.Equal(t, "JSON", got.Body["Resp"])
		assert.Len(t, got.Body, 9)
	})
}

func TestSendExtraData(t *testing.T) {
	t.Parallel()
	got := sendOnce(t, SendRequest{
		To:      one,
		Message: CTAButton{Body: "Solo hoy", Text: "Comprar", URL: "https://shop.example.com"},
		ExtraData: map[string]any{
			"URL":        "https://shop.example.com/override", // replaces the message's own
			"TipoBoton":  "url",                               // adds a field
			"Parametros": map[string]any{"a": 1},
		},
	})
	assert.Equal(t, mustJSON(t, `{"Texto":"Solo hoy","TextoBoton":"Comprar","URL":"https://shop.example.com/override",
		"TipoBoton":"url","Parametros":{"a":1}}`), got.Data)
}

func TestSendExtraDataIgnoresCase(t *testing.T) {
	t.Parallel()
	// The API ignores case in names: "texto" and the message's "Texto" are one field, and it
	// must be sent once, with ExtraData's value.
	got := sendOnce(t, SendRequest{
		To:        one,
		Message:   CTAButton{Body: "Solo hoy", Text: "Comprar", URL: "https://shop.example.com"},
		ExtraData: map[string]any{"texto": "Solo mañana", "url": "https://shop.example.com/b", "TEXTOBOTON": "Ver"},
	})
	assert.Equal(t, mustJSON(t, `{"Texto":"Solo mañana","TextoBoton":"Ver","URL":"https://shop.example.com/b"}`), got.Data)
}

func TestSendExtraDataDoesNotLeakIntoRawMessage(t *testing.T) {
	t.Parallel()
	data := map[string]any{"Texto": "hola"}
	sendOnce(t, SendRequest{To: one, Message: RawMessage{Type: TypeText, Data: data}, ExtraData: map[string]any{"X": 1}})
	assert.Equal(t, map[string]any{"Texto": "hola"}, data)
}

// A case-insensitive repeat of a variable name is refused; which of the two is named depends on
// map order.
func TestSendValidationDuplicateVars(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	_, err := fx.client.Send(context.Background(), SendRequest{
		To:      []Recipient{{Phone: "34600000001", Vars: map[string]string{"Producto": "a", "PRODUCTO": "b"}}},
		Message: Template{Name: "x"},
	})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, []string{"To[0].Vars[Producto]", "To[0].Vars[PRODUCTO]"}, ve.Field)
	assert.Zero(t, fx.hits.Load())
}

func TestOtherCallsValidation(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx := context.Background()
	c := fx.client
	tests := []struct {
		name      string
		call      func() error
		wantField string
	}{
		{"typing: zero id", func() error { _, err := c.SendTyping(ctx, 0, "34600000001"); return err }, "MessageID"},
		{"typing: negative id", func() error { _, err := c.SendTyping(ctx, -5, "34600000001"); return err }, "MessageID"},
		{"typing: bad phone", func() error { _, err := c.SendTyping(ctx, 5, "600"); return err }, "Phone"},
		{"media: zero id", func() error { _, err := c.DownloadMedia(ctx, 0, "34600000001"); return err }, "MessageID"},
		{"media: bad phone", func() error { _, err := c.DownloadMedia(ctx, 5, "x"); return err }, "Phone"},
		{"media to: nil writer", func() error { _, err := c.DownloadMediaTo(ctx, 5, "34600000001", nil); return err }, "Writer"},
		{"media to: bad phone", func() error { _, err := c.DownloadMediaTo(ctx, 5, "", io.Discard); return err }, "Phone"},
		{"status: empty", func() error { _, err := c.SetAccountStatus(ctx, ""); return err }, "Status"},
		{"status: blank", func() error { _, err := c.SetAccountStatus(ctx, "   "); return err }, "Status"},
		{"status: 1025 characters", func() error { _, err := c.SetAccountStatus(ctx, strings.Repeat("ñ", 1025)); return err }, "Status"},
		{"template variables: no id", func() error { _, err := c.TemplateVariables(ctx, " "); return err }, "TemplateID"},
		{"template by name: no name", func() error { _, err := c.TemplateByName(ctx, ""); return err }, "Message.Name"},
	}
	for _, tt := range tests {
		err := tt.call()
		var ve *ValidationError
		require.ErrorAs(t, err, &ve, tt.name)
		assert.Equal(t, tt.wantField, ve.Field, tt.name)
	}
	assert.Zero(t, fx.hits.Load(), "requests reached the server")
}

func TestSendResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply string
		want  SendResult
	}{
		{
			name:  "reference example, verbatim",
			reply: okSendReply,
			want:  SendResult{MessageID: 123456789, Sent: 2, NotSent: 0, Credits: 12000},
		},
		{
			name:  "object instead of array",
			reply: `{"Res":"3","idMensaje":"77","Cred":"10,5","Enviados":"3","NoEnviados":"1"}`,
			want:  SendResult{MessageID: 77, Sent: 3, NotSent: 1, Credits: 10.5},
		},
		{
			name:  "numbers as numbers",
			reply: `[{"Res":2,"idMensaje":1234567890123,"Cred":99.25,"Enviados":2,"NoEnviados":0}]`,
			want:  SendResult{MessageID: 1234567890123, Sent: 2, Credits: 99.25},
		},
		{
			name:  "IdMensaje spelling",
			reply: `{"Res":"1","IdMensaje":"42","Cred":"12.345,67"}`,
			want:  SendResult{MessageID: 42, Sent: 1, Credits: 12345.67},
		},
		{
			name:  "Msgid spelling",
			reply: `{"Res":"1","Msgid":"43"}`,
			want:  SendResult{MessageID: 43, Sent: 1},
		},
		{
			name:  "upper-case names",
			reply: `{"RES":"1","IDMENSAJE":"44","CRED":"5","ENVIADOS":"1","NOENVIADOS":"0"}`,
			want:  SendResult{MessageID: 44, Sent: 1, Credits: 5},
		},
		{
			name:  "without Enviados, Res is the count",
			reply: `{"Res":"5","idMensaje":"45"}`,
			want:  SendResult{MessageID: 45, Sent: 5},
		},
		{
			name:  "null and empty fields",
			reply: `{"Res":"1","idMensaje":"46","Cred":null,"NoEnviados":"","Error":""}`,
			want:  SendResult{MessageID: 46, Sent: 1},
		},
		{
			name:  "BOM and white space",
			reply: "\xef\xbb\xbf\n [{\"Res\":\"1\",\"idMensaje\":\"47\"}]\n",
			want:  SendResult{MessageID: 47, Sent: 1},
		},
		{
			name:  "escaped emoji in the error text",
			reply: `{"Res":"1","idMensaje":"48","Error":"\uD83D\uDE01"}`,
			want:  SendResult{MessageID: 48, Sent: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := setup(t)
			fx.reply(t, "EnviarWHATSAPP", http.StatusOK, tt.reply)
			got, err := fx.client.SendText(context.Background(), "34600000001", "hola")
			require.NoError(t, err)
			assert.Equal(t, tt.want, *got)
		})
	}
}

// The message went out (Res > 0) but a field of the reply is garbage: the result that could be
// read comes back, with an error that says not to send again.
func TestSendResultUnreadableField(t *testing.T) {
	t.Parallel()
	for _, reply := range []string{
		`{"Res":"2","idMensaje":"abc","Enviados":"2"}`,
		`{"Res":"2","idMensaje":"7","Enviados":"dos"}`,
		`{"Res":"2","idMensaje":"7","Cred":"mucho"}`,
		`{"Res":"2","idMensaje":"7","NoEnviados":{}}`,
	} {
		t.Run(reply, func(t *testing.T) {
			fx := setup(t)
			fx.reply(t, "EnviarWHATSAPP", http.StatusOK, reply)
			got, err := fx.client.SendText(context.Background(), "34600000001", "hola")
			require.Error(t, err)
			require.NotNil(t, got)
			assert.Equal(t, 2, got.Sent)
			var re *ResponseError
			assert.ErrorAs(t, err, &re)
			assert.ErrorIs(t, err, ErrOutcomeUnknown)
		})
	}
}

func TestSendTyping(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	rec := fx.reply(t, "EscribiendoWhatsapp", http.StatusOK, okReply)
	got, err := fx.client.SendTyping(context.Background(), 1288177432, "+34 600 000 000")
	require.NoError(t, err)
	assert.Equal(t, Result{Code: 1, Credits: 12000}, *got)
	assert.Equal(t, map[string]any{"Idmensaje": json.Number("1288177432"), "Telefono": "34600000000", "Resp": "JSON"}, rec.last(t))
}

func TestSetAccountStatus(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	rec := fx.reply(t, "CambiarEstadoWhatsapp", http.StatusOK, okReply)
	status := strings.Repeat("ñ", 1023) + "😁"
	got, err := fx.client.SetAccountStatus(context.Background(), status)
	require.NoError(t, err)
	assert.Equal(t, Result{Code: 1, Credits: 12000}, *got)
	assert.Equal(t, map[string]any{"Estado": status, "Resp": "JSON"}, rec.last(t))

	_, err = fx.client.SetAccountStatus(context.Background(), "I'm using WhatsApp Business with Mensatek")
	require.NoError(t, err)
	assert.Equal(t, "I'm using WhatsApp Business with Mensatek", rec.last(t)["Estado"])
}

// A status change, like a send, may have happened when the reply is lost.
func TestSetAccountStatusOutcomeUnknown(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.reply(t, "CambiarEstadoWhatsapp", http.StatusBadGateway, "<html>Bad Gateway</html>")
	_, err := fx.client.SetAccountStatus(context.Background(), "hola")
	assert.ErrorIs(t, err, ErrOutcomeUnknown)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, OpAccountStatus, apiErr.Operation)
}

// A name given twice in a reply, in any case, keeps its last value, as encoding/json does.
func TestSendReplyDuplicateNamesKeepTheLast(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.reply(t, "EnviarWHATSAPP", http.StatusOK, `[{"Res":"1","idMensaje":"5","IdMensaje":"6","Enviados":"1","ENVIADOS":"3"}]`)
	got, err := fx.client.SendText(context.Background(), "34600000001", "hola")
	require.NoError(t, err)
	assert.Equal(t, int64(6), got.MessageID)
	assert.Equal(t, 3, got.Sent)
}

// TestFlatRepliesNameEveryField: a reply decoded by wire's scanner (a wire.Flat) names every
// field encoding/json would fill, so a field added to the struct is never silently skipped.
func TestFlatRepliesNameEveryField(t *testing.T) {
	for _, r := range []wire.Flat{&sendReply{}} {
		var names []string
		var walk func(reflect.Type)
		walk = func(rt reflect.Type) {
			for i := range rt.NumField() {
				f := rt.Field(i)
				if f.Anonymous {
					walk(f.Type)
					continue
				}
				name := f.Name
				if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" {
					name = tag
				}
				names = append(names, name)
			}
		}
		walk(reflect.TypeOf(r).Elem())
		for _, name := range names {
			b, _ := json.Marshal(map[string]string{name: "7"})
			v := reflect.New(reflect.TypeOf(r).Elem()).Interface().(reply)
			require.NoError(t, wire.DecodeReply(b, v))
			assert.NotEqual(t, reflect.Zero(reflect.TypeOf(r).Elem()).Interface(), reflect.ValueOf(v).Elem().Interface(),
				"%T: member %q is not read", r, name)
		}
	}
}
