package mensatek

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
