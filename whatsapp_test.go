package mensatek

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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

func TestSendMessageWireShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		msg      Message
		to       []Recipient
		wantType MessageType
		wantData string
	}{
		{
			name:     "text",
			msg:      Text{Body: "hola 😁 *negrita* <b>&</b>"},
			wantType: TypeText,
			wantData: `{"Texto":"hola 😁 *negrita* <b>&</b>"}`,
		},
		{
			name:     "text with preview",
			msg:      Text{Body: "mira https://example.com", PreviewURL: true},
			wantType: TypeText,
			wantData: `{"Texto":"mira https://example.com","PrevisualizarURL":1}`,
		},
		{
			name:     "text by pointer",
			msg:      &Text{Body: "hola"},
			wantType: TypeText,
			wantData: `{"Texto":"hola"}`,
		},
		{
			name:     "template",
			msg:      Template{Name: "My Template"},
			wantType: TypeTemplate,
			wantData: `{"Plantilla":"My Template"}`,
		},
		{
			name:     "image",
			msg:      Image{URL: "https://cdn.example.com/a.jpg?x=1&y=2", Caption: "Oferta"},
			wantType: TypeImage,
			wantData: `{"URL":"https://cdn.example.com/a.jpg?x=1&y=2","Texto":"Oferta"}`,
		},
		{
			name:     "image without caption",
			msg:      Image{URL: "http://cdn.example.com/a.png"},
			wantType: TypeImage,
			wantData: `{"URL":"http://cdn.example.com/a.png"}`,
		},
		{
			name:     "document",
			msg:      Document{URL: "https://cdn.example.com/f.pdf", Filename: "factura.pdf", Caption: "Su factura"},
			wantType: TypeDocument,
			wantData: `{"URL":"https://cdn.example.com/f.pdf","NombreArchivo":"factura.pdf","Texto":"Su factura"}`,
		},
		{
			name:     "location",
			msg:      Location{Latitude: 40.4168, Longitude: -3.7038, Name: "Puerta del Sol", Address: "Madrid"},
			wantType: TypeLocation,
			wantData: `{"Latitud":40.4168,"Longitud":-3.7038,"Nombre":"Puerta del Sol","Direccion":"Madrid"}`,
		},
		{
			name:     "location at the origin",
			msg:      Location{},
			wantType: TypeLocation,
			wantData: `{"Latitud":0,"Longitud":0}`,
		},
		{
			name:     "location request",
			msg:      LocationRequest{Body: "¿Dónde estás?"},
			wantType: TypeLocationRequest,
			wantData: `{"Texto":"¿Dónde estás?"}`,
		},
		{
			name: "list",
			msg: List{Header: "Menú", Body: "Elige", Footer: "Gracias", Button: "Ver opciones", Sections: []ListSection{
				{Title: "Pizzas", Rows: []ListRow{{ID: "p1", Title: "Margarita", Description: "Tomate y queso"}, {ID: "p2", Title: "Barbacoa"}}},
				{Title: "Bebidas", Rows: []ListRow{{ID: "b1", Title: "Agua"}}},
			}},
			wantType: TypeList,
			wantData: `{"Cabecera":"Menú","Texto":"Elige","Pie":"Gracias","Boton":"Ver opciones","Secciones":[
				{"Titulo":"Pizzas","Filas":[{"Id":"p1","Titulo":"Margarita","Descripcion":"Tomate y queso"},{"Id":"p2","Titulo":"Barbacoa"}]},
				{"Titulo":"Bebidas","Filas":[{"Id":"b1","Titulo":"Agua"}]}]}`,
		},
		{
			name:     "list with one untitled section",
			msg:      List{Body: "Elige", Button: "Ver", Sections: []ListSection{{Rows: []ListRow{{ID: "1", Title: "Uno"}}}}},
			wantType: TypeList,
			wantData: `{"Texto":"Elige","Boton":"Ver","Secciones":[{"Filas":[{"Id":"1","Titulo":"Uno"}]}]}`,
		},
		{
			name:     "reply buttons",
			msg:      ReplyButtons{Header: "Cita", Body: "¿Confirmas?", Footer: "Clínica", Buttons: []ReplyButton{{ID: "si", Title: "Sí"}, {ID: "no", Title: "No"}}},
			wantType: TypeReplyButtons,
			wantData: `{"Cabecera":"Cita","Texto":"¿Confirmas?","Pie":"Clínica","Botones":[{"Id":"si","Titulo":"Sí"},{"Id":"no","Titulo":"No"}]}`,
		},
		{
			name:     "reaction",
			msg:      Reaction{Emoji: "👍"},
			to:       []Recipient{{Phone: "34600000001", ReplyTo: 1288177432}},
			wantType: TypeReaction,
			wantData: `{"Emoji":"👍"}`,
		},
		{
			name:     "CTA button",
			msg:      CTAButton{Header: "Oferta", Body: "Solo hoy", Footer: "Tienda", Text: "Comprar", URL: "https://shop.example.com/o?id=1&src=wa"},
			wantType: TypeCTAButton,
			wantData: `{"Cabecera":"Oferta","Texto":"Solo hoy","Pie":"Tienda","TextoBoton":"Comprar","URL":"https://shop.example.com/o?id=1&src=wa"}`,
		},
		{
			name:     "raw message",
			msg:      RawMessage{Type: "CONTACTO", Data: map[string]any{"Nombre": "Ana", "Telefonos": []string{"34600000009"}, "n": 2}},
			wantType: "CONTACTO",
			wantData: `{"Nombre":"Ana","Telefonos":["34600000009"],"n":2}`,
		},
		{
			name:     "raw message of a known type",
			msg:      RawMessage{Type: TypeText, Data: map[string]any{"Texto": "hola", "Nuevo": true}},
			wantType: TypeText,
			wantData: `{"Texto":"hola","Nuevo":true}`,
		},
		{
			name:     "raw message without data",
			msg:      RawMessage{Type: TypeText},
			wantType: TypeText,
			wantData: `{}`,
		},
	}
	covered := make(map[MessageType]bool)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := tt.to
			if to == nil {
				to = one
			}
			assert.Equal(t, tt.wantType, tt.msg.MessageType())
			got := sendOnce(t, SendRequest{To: to, Message: tt.msg})
			assert.Equal(t, string(tt.wantType), got.Body["Tipomensaje"])
			assert.Equal(t, mustJSON(t, tt.wantData), got.Data)
			require.Len(t, got.To, len(to))
			assert.Equal(t, "34600000001", got.To[0]["Telefono"])
		})
		covered[tt.wantType] = true
	}
	for _, mt := range messageTypes() {
		assert.True(t, covered[mt], "message type %s has no wire-shape case", mt)
	}
	assert.Len(t, messageTypes(), 10)
}

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

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string // want "" means an error
	}{
		{"34600000001", "34600000001"},
		{"+34 600 000 001", "34600000001"},
		{"+34600000001", "34600000001"},
		{"0034600000001", "34600000001"},
		{"34-600-000-001", "34600000001"},
		{"(34) 600.000.001", "34600000001"},
		{" +34 (600) 00-00.01 ", "34600000001"},
		{"+34\u00a0600\t000001", "34600000001"},
		{"+00 34 600 000 001", ""},         // "+" and "00" both: no country starts with 0
		{"6837290", "6837290"},             // Niue: 7 digits is a whole number
		{"5491123456789", "5491123456789"}, // 13 digits, an Argentine mobile
		{"0044 20 7946 0000", "442079460000"},
		{"12345678", ""},         // 8 digits, but +1 234 is no number
		{"123456789012345", ""},  // 15 digits of nothing
		{"1234567", ""},          // too short
		{"+34 600", ""},          // too short
		{"0012345", ""},          // too short once 00 is gone
		{"1234567890123456", ""}, // too long
		{"+34 600 000 000 000 00", ""},
		{"34600abc001", ""},
		{"34600O00001", ""}, // letter O
		{"+34 600 000 001 ext 2", ""},
		{"34+600000001", ""},
		{"++34600000001", ""},
		{"0600000000", ""}, // national number without country prefix
		{"06 00 00 00 00", ""},
		{"000000000000", ""},
		{"３４６００００００１", ""}, // full-width digits
		{"", ""},
		{"   ", ""},
		{"+", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizePhone(tt.in)
			if tt.want == "" {
				var ve *ValidationError
				require.ErrorAs(t, err, &ve, "got %q", got)
				assert.Equal(t, "Phone", ve.Field)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestScheduleAt(t *testing.T) {
	t.Parallel()
	newYork, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"summer (CEST, UTC+2)", time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC), "2026-07-01 12:00"},
		{"winter (CET, UTC+1)", time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC), "2026-01-15 11:00"},
		{"last minute of winter time", time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC), "2026-03-29 01:59"},
		{"first minute of summer time", time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), "2026-03-29 03:00"},
		{"last hour of summer time", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), "2026-10-25 02:30"},
		{"repeated hour in winter time", time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), "2026-10-25 02:30"},
		{"after the switch back", time.Date(2026, 10, 25, 2, 0, 0, 0, time.UTC), "2026-10-25 03:00"},
		{"new year in Madrid, not yet in UTC", time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), "2027-01-01 00:30"},
		{"seconds are dropped", time.Date(2026, 7, 1, 10, 0, 59, 999, time.UTC), "2026-07-01 12:00"},
		{"from New York", time.Date(2026, 7, 1, 6, 0, 0, 0, newYork), "2026-07-01 12:00"},
		{"from a fixed zone", time.Date(2026, 1, 15, 15, 30, 0, 0, time.FixedZone("IST", 5*3600+1800)), "2026-01-15 11:00"},
		{"already Madrid", time.Date(2026, 7, 1, 12, 0, 0, 0, MadridTime()), "2026-07-01 12:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, formatSchedule(tt.at))
		})
	}
	assert.Equal(t, "Europe/Madrid", MadridTime().String())

	// Through a send.
	got := sendOnce(t, SendRequest{To: one, Message: Text{Body: "hola"}, ScheduleAt: tests[0].at})
	assert.Equal(t, "2026-07-01 12:00", got.Body["Fecha"])
	got = sendOnce(t, SendRequest{To: one, Message: Text{Body: "hola"}, ScheduleAt: tests[3].at})
	assert.Equal(t, "2026-03-29 03:00", got.Body["Fecha"])
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

func TestSendValidation(t *testing.T) {
	t.Parallel()
	long := func(n int, r string) string { return strings.Repeat(r, n) }
	buttons := func(n int) []ReplyButton {
		b := make([]ReplyButton, n)
		for i := range b {
			b[i] = ReplyButton{ID: fmt.Sprint("b", i), Title: fmt.Sprint("Opción ", i)}
		}
		return b
	}
	rows := func(prefix string, n int) []ListRow {
		r := make([]ListRow, n)
		for i := range r {
			r[i] = ListRow{ID: fmt.Sprint(prefix, i), Title: fmt.Sprint("Fila ", i)}
		}
		return r
	}
	list := func(mod func(*List)) List {
		l := List{Body: "Elige", Button: "Ver", Sections: []ListSection{{Title: "S", Rows: rows("r", 2)}}}
		mod(&l)
		return l
	}
	okURL := "https://cdn.example.com/a.jpg"
	var nilText *Text
	var nilTemplate *Template

	tests := []struct {
		name      string
		req       SendRequest
		wantField string
	}{
		{"nil message", SendRequest{To: one}, "Message"},
		{"typed-nil pointer message", SendRequest{To: one, Message: nilText}, "Message"},
		{"typed-nil template", SendRequest{To: one, Message: nilTemplate}, "Message"},
		{"no recipients", SendRequest{Message: Text{Body: "hola"}}, "To"},
		{"empty recipients", SendRequest{To: []Recipient{}, Message: Text{Body: "hola"}}, "To"},
		{"empty phone", SendRequest{To: []Recipient{{}}, Message: Text{Body: "hola"}}, "To[0].Phone"},
		{"bad phone", SendRequest{To: []Recipient{{Phone: "abc"}}, Message: Text{Body: "hola"}}, "To[0].Phone"},
		{"bad second phone", SendRequest{To: []Recipient{{Phone: "34600000001"}, {Phone: "123"}}, Message: Text{Body: "hola"}}, "To[1].Phone"},
		{"negative ReplyTo", SendRequest{To: []Recipient{{Phone: "34600000001", ReplyTo: -1}}, Message: Text{Body: "hola"}}, "To[0].ReplyTo"},

		{"empty text", SendRequest{To: one, Message: Text{}}, "Message.Body"},
		{"blank text", SendRequest{To: one, Message: Text{Body: " \n\t "}}, "Message.Body"},
		{"text of 4097 ASCII", SendRequest{To: one, Message: Text{Body: long(4097, "a")}}, "Message.Body"},
		{"text of 4097 two-byte runes", SendRequest{To: one, Message: Text{Body: long(4097, "é")}}, "Message.Body"},
		{"text of 4097 emoji", SendRequest{To: one, Message: Text{Body: long(4097, "😁")}}, "Message.Body"},

		{"template without name", SendRequest{To: one, Message: Template{}}, "Message.Name"},
		{"template name too long", SendRequest{To: one, Message: Template{Name: long(513, "a")}}, "Message.Name"},

		{"image without URL", SendRequest{To: one, Message: Image{}}, "Message.URL"},
		{"image relative URL", SendRequest{To: one, Message: Image{URL: "/img/a.jpg"}}, "Message.URL"},
		{"image URL without scheme", SendRequest{To: one, Message: Image{URL: "cdn.example.com/a.jpg"}}, "Message.URL"},
		{"image ftp URL", SendRequest{To: one, Message: Image{URL: "ftp://cdn.example.com/a.jpg"}}, "Message.URL"},
		{"image file URL", SendRequest{To: one, Message: Image{URL: "file:///etc/passwd"}}, "Message.URL"},
		{"image javascript URL", SendRequest{To: one, Message: Image{URL: "javascript:alert(1)"}}, "Message.URL"},
		{"image URL without host", SendRequest{To: one, Message: Image{URL: "https:///a.jpg"}}, "Message.URL"},
		{"image caption of 1025", SendRequest{To: one, Message: Image{URL: okURL, Caption: long(1025, "ñ")}}, "Message.Caption"},
		{"document without URL", SendRequest{To: one, Message: Document{Filename: "a.pdf"}}, "Message.URL"},
		{"document caption of 1025", SendRequest{To: one, Message: Document{URL: okURL, Caption: long(1025, "a")}}, "Message.Caption"},
		{"document file name with a path", SendRequest{To: one, Message: Document{URL: okURL, Filename: "../a.pdf"}}, "Message.Filename"},
		{"document file name too long", SendRequest{To: one, Message: Document{URL: okURL, Filename: long(241, "a")}}, "Message.Filename"},

		{"latitude over 90", SendRequest{To: one, Message: Location{Latitude: 90.0001}}, "Message.Latitude"},
		{"latitude under -90", SendRequest{To: one, Message: Location{Latitude: -91}}, "Message.Latitude"},
		{"latitude NaN", SendRequest{To: one, Message: Location{Latitude: math.NaN()}}, "Message.Latitude"},
		{"latitude infinite", SendRequest{To: one, Message: Location{Latitude: math.Inf(1)}}, "Message.Latitude"},
		{"longitude over 180", SendRequest{To: one, Message: Location{Longitude: 180.5}}, "Message.Longitude"},
		{"longitude under -180", SendRequest{To: one, Message: Location{Longitude: -181}}, "Message.Longitude"},
		{"longitude NaN", SendRequest{To: one, Message: Location{Longitude: math.NaN()}}, "Message.Longitude"},
		{"longitude infinite", SendRequest{To: one, Message: Location{Longitude: math.Inf(-1)}}, "Message.Longitude"},

		{"location request empty", SendRequest{To: one, Message: LocationRequest{}}, "Message.Body"},
		{"location request body 1025", SendRequest{To: one, Message: LocationRequest{Body: long(1025, "a")}}, "Message.Body"},

		{"reply buttons: none", SendRequest{To: one, Message: ReplyButtons{Body: "¿Sí?"}}, "Message.Buttons"},
		{"reply buttons: four", SendRequest{To: one, Message: ReplyButtons{Body: "¿Sí?", Buttons: buttons(4)}}, "Message.Buttons"},
		{"reply buttons: title of 21", SendRequest{To: one, Message: ReplyButtons{Body: "¿Sí?", Buttons: []ReplyButton{{ID: "a", Title: long(21, "é")}}}}, "Message.Buttons[0].Title"},
		{"reply buttons: empty title", SendRequest{To: one, Message: ReplyButtons{Body: "¿Sí?", Buttons: []ReplyButton{{ID: "a"}}}}, "Message.Buttons[0].Title"},
		{"reply buttons: empty ID", SendRequest{To: one, Message: ReplyButtons{Body: "¿Sí?", Buttons: []ReplyButton{{Title: "Sí"}}}}, "Message.Buttons[0].ID"},
		{"reply buttons: ID of 257", SendRequest{To: one, Message: ReplyButtons{Body: "¿Sí?", Buttons: []ReplyButton{{ID: long(257, "x"), Title: "Sí"}}}}, "Message.Buttons[0].ID"},
		{"reply buttons: duplicate IDs", SendRequest{To: one, Message: ReplyButtons{Body: "¿Sí?", Buttons: []ReplyButton{{ID: "a", Title: "Sí"}, {ID: "b", Title: "No"}, {ID: "a", Title: "Quizá"}}}}, "Message.Buttons[2].ID"},
		{"reply buttons: empty body", SendRequest{To: one, Message: ReplyButtons{Buttons: buttons(1)}}, "Message.Body"},
		{"reply buttons: body of 1025", SendRequest{To: one, Message: ReplyButtons{Body: long(1025, "ü"), Buttons: buttons(1)}}, "Message.Body"},
		{"reply buttons: header of 61", SendRequest{To: one, Message: ReplyButtons{Header: long(61, "a"), Body: "x", Buttons: buttons(1)}}, "Message.Header"},
		{"reply buttons: footer of 61", SendRequest{To: one, Message: ReplyButtons{Footer: long(61, "a"), Body: "x", Buttons: buttons(1)}}, "Message.Footer"},

		{"list: no sections", SendRequest{To: one, Message: list(func(l *List) { l.Sections = nil })}, "Message.Sections"},
		{"list: section without rows", SendRequest{To: one, Message: list(func(l *List) { l.Sections[0].Rows = nil })}, "Message.Sections[0].Rows"},
		{"list: 11 rows in one section", SendRequest{To: one, Message: list(func(l *List) { l.Sections[0].Rows = rows("r", 11) })}, "Message.Sections"},
		{"list: 11 rows in all", SendRequest{To: one, Message: list(func(l *List) {
			l.Sections = []ListSection{{Title: "A", Rows: rows("a", 6)}, {Title: "B", Rows: rows("b", 5)}}
		})}, "Message.Sections"},
		{"list: 11 sections", SendRequest{To: one, Message: list(func(l *List) {
			l.Sections = nil
			for i := 0; i < 11; i++ {
				l.Sections = append(l.Sections, ListSection{Title: fmt.Sprint("S", i), Rows: rows(fmt.Sprint("s", i, "-"), 1)})
			}
		})}, "Message.Sections"},
		{"list: row title of 25", SendRequest{To: one, Message: list(func(l *List) { l.Sections[0].Rows[0].Title = long(25, "ñ") })}, "Message.Sections[0].Rows[0].Title"},
		{"list: empty row title", SendRequest{To: one, Message: list(func(l *List) { l.Sections[0].Rows[1].Title = "" })}, "Message.Sections[0].Rows[1].Title"},
		{"list: row description of 73", SendRequest{To: one, Message: list(func(l *List) { l.Sections[0].Rows[0].Description = long(73, "a") })}, "Message.Sections[0].Rows[0].Description"},
		{"list: empty row ID", SendRequest{To: one, Message: list(func(l *List) { l.Sections[0].Rows[0].ID = "" })}, "Message.Sections[0].Rows[0].ID"},
		{"list: duplicate row IDs across sections", SendRequest{To: one, Message: list(func(l *List) {
			l.Sections = []ListSection{{Title: "A", Rows: rows("x", 2)}, {Title: "B", Rows: rows("x", 1)}}
		})}, "Message.Sections[1].Rows[0].ID"},
		{"list: section title of 25", SendRequest{To: one, Message: list(func(l *List) { l.Sections[0].Title = long(25, "a") })}, "Message.Sections[0].Title"},
		{"list: untitled section among several", SendRequest{To: one, Message: list(func(l *List) {
			l.Sections = []ListSection{{Rows: rows("a", 1)}, {Title: "B", Rows: rows("b", 1)}}
		})}, "Message.Sections[0].Title"},
		{"list: button text of 21", SendRequest{To: one, Message: list(func(l *List) { l.Button = long(21, "a") })}, "Message.Button"},
		{"list: no button text", SendRequest{To: one, Message: list(func(l *List) { l.Button = "" })}, "Message.Button"},
		{"list: empty body", SendRequest{To: one, Message: list(func(l *List) { l.Body = "" })}, "Message.Body"},
		{"list: body of 1025", SendRequest{To: one, Message: list(func(l *List) { l.Body = long(1025, "a") })}, "Message.Body"},
		{"list: header of 61", SendRequest{To: one, Message: list(func(l *List) { l.Header = long(61, "a") })}, "Message.Header"},
		{"list: footer of 61", SendRequest{To: one, Message: list(func(l *List) { l.Footer = long(61, "😁") })}, "Message.Footer"},

		{"reaction without ReplyTo", SendRequest{To: one, Message: Reaction{Emoji: "👍"}}, "To[0].ReplyTo"},
		{"reaction, second recipient without ReplyTo", SendRequest{To: []Recipient{{Phone: "34600000001", ReplyTo: 1}, {Phone: "34600000002"}}, Message: Reaction{Emoji: "👍"}}, "To[1].ReplyTo"},
		{"reaction without emoji", SendRequest{To: []Recipient{{Phone: "34600000001", ReplyTo: 1}}, Message: Reaction{}}, "Message.Emoji"},
		{"reaction with text", SendRequest{To: []Recipient{{Phone: "34600000001", ReplyTo: 1}}, Message: Reaction{Emoji: long(17, "a")}}, "Message.Emoji"},
		{"reaction with invalid UTF-8", SendRequest{To: []Recipient{{Phone: "34600000001", ReplyTo: 1}}, Message: Reaction{Emoji: "\xff"}}, "Message.Emoji"},

		{"CTA: no URL", SendRequest{To: one, Message: CTAButton{Body: "x", Text: "Ir"}}, "Message.URL"},
		{"CTA: relative URL", SendRequest{To: one, Message: CTAButton{Body: "x", Text: "Ir", URL: "/oferta"}}, "Message.URL"},
		{"CTA: mailto URL", SendRequest{To: one, Message: CTAButton{Body: "x", Text: "Ir", URL: "mailto:a@b.c"}}, "Message.URL"},
		{"CTA: button text of 21", SendRequest{To: one, Message: CTAButton{Body: "x", Text: long(21, "a"), URL: okURL}}, "Message.Text"},
		{"CTA: no button text", SendRequest{To: one, Message: CTAButton{Body: "x", URL: okURL}}, "Message.Text"},
		{"CTA: body of 1025", SendRequest{To: one, Message: CTAButton{Body: long(1025, "a"), Text: "Ir", URL: okURL}}, "Message.Body"},
		{"CTA: header of 61", SendRequest{To: one, Message: CTAButton{Header: long(61, "a"), Body: "x", Text: "Ir", URL: okURL}}, "Message.Header"},
		{"CTA: footer of 61", SendRequest{To: one, Message: CTAButton{Footer: long(61, "a"), Body: "x", Text: "Ir", URL: okURL}}, "Message.Footer"},

		{"raw message without type", SendRequest{To: one, Message: RawMessage{Data: map[string]any{"a": 1}}}, "Message.Type"},
		{"raw message that cannot be encoded", SendRequest{To: one, Message: RawMessage{Type: TypeText, Data: map[string]any{"f": func() {}}}}, "Message"},
		{"ExtraData that cannot be encoded", SendRequest{To: one, Message: Text{Body: "x"}, ExtraData: map[string]any{"c": make(chan int)}}, "Message"},
		{"ExtraData with an empty key", SendRequest{To: one, Message: Text{Body: "x"}, ExtraData: map[string]any{" ": 1}}, "ExtraData"},
		{"ExtraData with a name twice in another case", SendRequest{To: one, Message: Text{Body: "x"}, ExtraData: map[string]any{"Pie": 1, "PIE": 2}}, "ExtraData"},
		{"empty fallback channel", SendRequest{To: one, Message: Text{Body: "x"}, FallbackChannels: []string{"SMS", ""}}, "FallbackChannels[1]"},

		{"Vars: phone", SendRequest{To: []Recipient{{Phone: "34600000001", Vars: map[string]string{"Telefono": "34600000002"}}}, Message: Text{Body: "x"}}, "To[0].Vars[Telefono]"},
		{"Vars: phone in another case", SendRequest{To: []Recipient{{Phone: "34600000001", Vars: map[string]string{"TELEFONO": "34600000002"}}}, Message: Text{Body: "x"}}, "To[0].Vars[TELEFONO]"},
		{"Vars: replied message", SendRequest{To: []Recipient{{Phone: "34600000001", Vars: map[string]string{"idMensajeRespondido": "5"}}}, Message: Text{Body: "x"}}, "To[0].Vars[idMensajeRespondido]"},
		{"Vars: name differs from Name", SendRequest{To: []Recipient{{Phone: "34600000001", Name: "Ana", Vars: map[string]string{"Nombre": "Eva"}}}, Message: Text{Body: "x"}}, "To[0].Vars[Nombre]"},
		{"Vars: email differs from Email", SendRequest{To: []Recipient{{Phone: "34600000001", Email: "a@x.es", Vars: map[string]string{"email": "b@x.es"}}}, Message: Text{Body: "x"}}, "To[0].Vars[email]"},
		{"Vars: empty name", SendRequest{To: []Recipient{{Phone: "34600000001", Vars: map[string]string{"": "x"}}}, Message: Text{Body: "x"}}, "To[0].Vars"},
		{"Vars: on the second recipient", SendRequest{To: []Recipient{{Phone: "34600000001"}, {Phone: "34600000002", Vars: map[string]string{"telefono": "1"}}}, Message: Text{Body: "x"}}, "To[1].Vars[telefono]"},
	}

	fx := setup(t)
	fx.handle("EnviarWHATSAPP", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request left despite a validation error")
		writeReply(w, 200, okSendReply)
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := fx.client.Send(context.Background(), tt.req)
			assert.Nil(t, res)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.wantField, ve.Field, "error: %v", err)
			assert.NotEmpty(t, ve.Reason)
			assert.Contains(t, err.Error(), tt.wantField)
			assert.NotErrorIs(t, err, ErrOutcomeUnknown)

			// The checked send refuses it the same way, before asking for templates.
			_, err = fx.client.SendChecked(context.Background(), tt.req)
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.wantField, ve.Field)
		})
	}
	assert.Zero(t, fx.hits.Load(), "requests reached the server")
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

// The limits themselves are allowed, counted in characters, not bytes.
func TestSendValidationLimitsAreInclusive(t *testing.T) {
	t.Parallel()
	long := strings.Repeat
	btn := func(n int) []ReplyButton {
		b := make([]ReplyButton, n)
		for i := range b {
			b[i] = ReplyButton{ID: fmt.Sprint(i), Title: long("é", 20)}
		}
		return b
	}
	var tenRows []ListRow
	for i := 0; i < 10; i++ {
		tenRows = append(tenRows, ListRow{ID: fmt.Sprint(i), Title: long("ñ", 24), Description: long("a", 72)})
	}
	okURL := "https://cdn.example.com/a.jpg"
	tests := []struct {
		name string
		msg  Message
		to   []Recipient
	}{
		{"text of 4096 ASCII", Text{Body: long("a", 4096)}, nil},
		{"text of 4096 two-byte runes", Text{Body: long("é", 4096)}, nil},
		{"text of 4096 emoji", Text{Body: long("😁", 4096)}, nil},
		{"caption of 1024", Image{URL: okURL, Caption: long("ñ", 1024)}, nil},
		{"document caption of 1024", Document{URL: okURL, Caption: long("ñ", 1024), Filename: long("a", 240)}, nil},
		{"three buttons with titles of 20", ReplyButtons{Header: long("a", 60), Body: long("ü", 1024), Footer: long("a", 60), Buttons: btn(3)}, nil},
		{"ten rows in two sections", List{Body: "x", Button: long("a", 20), Sections: []ListSection{
			{Title: long("a", 24), Rows: tenRows[:4]}, {Title: "B", Rows: tenRows[4:]},
		}}, nil},
		{"CTA at its limits", CTAButton{Header: long("a", 60), Body: long("a", 1024), Footer: long("a", 60), Text: long("é", 20), URL: okURL}, nil},
		{"location at the poles", Location{Latitude: 90, Longitude: -180}, nil},
		{"location at the other corners", Location{Latitude: -90, Longitude: 180}, nil},
		{"location request of 1024", LocationRequest{Body: long("a", 1024)}, nil},
		{"reaction with a flag", Reaction{Emoji: "🇪🇸"}, []Recipient{{Phone: "34600000001", ReplyTo: 1}}},
	}
	fx := setup(t)
	rec := fx.reply(t, "EnviarWHATSAPP", http.StatusOK, okSendReply)
	for _, tt := range tests {
		to := tt.to
		if to == nil {
			to = one
		}
		_, err := fx.client.Send(context.Background(), SendRequest{To: to, Message: tt.msg})
		assert.NoError(t, err, tt.name)
	}
	assert.Equal(t, len(tests), rec.count())
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
