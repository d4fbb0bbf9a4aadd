package mensatek

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var refTemplates = []TemplateInfo{
	{ID: "572863982585983", Name: "customer_welcome", Language: "es", Category: "MARKETING", Status: "APPROVED", Verified: true, ParameterFormat: "POSITIONAL"},
	{ID: "572863982585984", Name: "appointment_reminder", Language: "es", Category: "UTILITY", Status: "PENDING", Verified: false, ParameterFormat: "POSITIONAL"},
}

// refDetails returns what the reference's GetVariablesPlantillaWhatsapp reply describes.
func refDetails() *TemplateDetails {
	return &TemplateDetails{
		TemplateInfo: refTemplates[0],
		Variables: []TemplateVariable{
			{Index: 1, Name: "Destinatario", Field: "Telefono", Location: "", Format: "TELEFONO", Example: "34600000000"},
			{Index: 2, Name: "Nombre", Field: "Nombre", Location: "BODY", Format: "TEXTO", Example: "Sample value"},
			{Index: 3, Name: "Header IMAGE", Field: "Variable_Cabecera_image", Location: "HEADER", Format: "URL_IMAGEN", Example: "https://www.yourdomain.com/img/banner.jpg"},
			{Index: 4, Name: "Producto", Field: "Valor-URL-Boton-0", Location: "BUTTONS", Format: "URL", Example: "https://www.yourdomain.com/offer/REF123"},
		},
	}
}

// goodRecipient carries every variable of refDetails.
func goodRecipient(phone string) Recipient {
	return Recipient{Phone: phone, Name: "Ana", Vars: map[string]string{
		"Variable_Cabecera_image": "https://cdn.example.com/banner.jpg",
		"Valor-URL-Boton-0":       "https://shop.example.com/offer/REF1",
	}}
}

func TestTemplatesReferenceReply(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	rec := fx.reply(t, "GetPlantillasWhatsapp", http.StatusOK, refTemplatesReply)
	got, err := fx.client.Templates(context.Background())
	require.NoError(t, err)
	assert.Equal(t, refTemplates, got)
	assert.Equal(t, map[string]any{"Resp": "JSON"}, rec.last(t))
	cred, _, ok := fx.client.Credits()
	assert.True(t, ok)
	assert.Equal(t, 12000.0, cred)
}

func TestTemplatesForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply string
		want  []TemplateInfo
	}{
		{
			name: "object, sorted by numeric ID",
			reply: `{"Res":1,"Plantillas":{
				"100":{"Nombre":"c","Verificada":1},
				"9":{"Nombre":"a","Verificada":"0"},
				"abc":{"Nombre":"d"},
				"10":{"Nombre":"b","Verificada":"1"}}}`,
			want: []TemplateInfo{{ID: "9", Name: "a"}, {ID: "10", Name: "b", Verified: true}, {ID: "100", Name: "c", Verified: true}, {ID: "abc", Name: "d"}},
		},
		{
			name:  "string holding JSON",
			reply: `[{"Res":"1","Plantillas":"{\"2\":{\"Nombre\":\"b\",\"Idioma\":\"en\"},\"1\":{\"Nombre\":\"a\",\"Estado\":\"APPROVED\"}}"}]`,
			want:  []TemplateInfo{{ID: "1", Name: "a", Status: "APPROVED", Verified: true}, {ID: "2", Name: "b", Language: "en"}},
		},
		{
			name:  "without Verificada, approved in any case is verified",
			reply: `{"Res":1,"Plantillas":{"1":{"Nombre":"a","Estado":"approved"},"2":{"Nombre":"b","Estado":"APPROVED","Verificada":0}}}`,
			want:  []TemplateInfo{{ID: "1", Name: "a", Status: "approved", Verified: true}, {ID: "2", Name: "b", Status: "APPROVED"}},
		},
		{
			name:  "upper-case field names",
			reply: `{"RES":1,"PLANTILLAS":{"1":{"NOMBRE":"a","IDIOMA":"es","CATEGORIA":"UTILITY","ESTADO":"APPROVED","VERIFICADA":"1","FORMATOPARAMETROS":"NAMED"}}}`,
			want:  []TemplateInfo{{ID: "1", Name: "a", Language: "es", Category: "UTILITY", Status: "APPROVED", Verified: true, ParameterFormat: "NAMED"}},
		},
		{
			name:  "emoji escaped as a surrogate pair",
			reply: `{"Res":1,"Plantillas":{"1":{"Nombre":"hola \uD83D\uDE01"}}}`,
			want:  []TemplateInfo{{ID: "1", Name: "hola 😁"}},
		},
		{name: "no Plantillas", reply: `{"Res":"1","Total":"0"}`, want: []TemplateInfo{}},
		{name: "null", reply: `{"Res":"1","Plantillas":null}`, want: []TemplateInfo{}},
		{name: "empty string", reply: `{"Res":"1","Plantillas":""}`, want: []TemplateInfo{}},
		{name: "empty array", reply: `{"Res":"1","Plantillas":[]}`, want: []TemplateInfo{}},
		{name: "empty object", reply: `{"Res":"1","Plantillas":{}}`, want: []TemplateInfo{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := setup(t)
			fx.reply(t, "GetPlantillasWhatsapp", http.StatusOK, tt.reply)
			got, err := fx.client.Templates(context.Background())
			require.NoError(t, err)
			assert.NotNil(t, got)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestTemplatesUnreadable(t *testing.T) {
	t.Parallel()
	for _, reply := range []string{
		`{"Res":"1","Plantillas":"not json"}`,
		`{"Res":"1","Plantillas":12}`,
		`{"Res":"1","Plantillas":{"1":"x"}}`,
		`{"Res":"1","Plantillas":{"1":{"Nombre":"a","Verificada":"sí"}}}`,
	} {
		t.Run(reply, func(t *testing.T) {
			fx := setup(t)
			fx.reply(t, "GetPlantillasWhatsapp", http.StatusOK, reply)
			got, err := fx.client.Templates(context.Background())
			assert.Nil(t, got)
			var re *ResponseError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, OpTemplates, re.Operation)
			assert.Contains(t, re.Reason, "Plantillas")
			assert.NotErrorIs(t, err, ErrOutcomeUnknown)
		})
	}
}

func TestTemplateVariablesReferenceReply(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	rec := fx.reply(t, "GetVariablesPlantillaWhatsapp", http.StatusOK, refVariablesReply)
	got, err := fx.client.TemplateVariables(context.Background(), "572863982585983")
	require.NoError(t, err)
	assert.Equal(t, refDetails(), got)
	assert.Equal(t, map[string]any{"Idplantilla": "572863982585983", "Resp": "JSON"}, rec.last(t))
}

func TestTemplateVariablesForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reply string
		want  *TemplateDetails
	}{
		{
			name: "object, sorted by number not text",
			reply: `{"Res":1,"IdPlantilla":"7","Nombre":"t","Verificada":1,"Variables":{
				"10":{"Nombre":"diez","Campo":"c10","Formato":"TEXTO"},
				"2":{"Nombre":"dos","Campo":"c2","Donde":"BODY","Formato":"TEXTO","Ejemplo":"x"},
				" 1 ":{"Nombre":"Destinatario","Campo":"Telefono","Formato":"TELEFONO"}}}`,
			want: &TemplateDetails{
				TemplateInfo: TemplateInfo{ID: "7", Name: "t", Verified: true},
				Variables: []TemplateVariable{
					{Index: 1, Name: "Destinatario", Field: "Telefono", Format: "TELEFONO"},
					{Index: 2, Name: "dos", Field: "c2", Location: "BODY", Format: "TEXTO", Example: "x"},
					{Index: 10, Name: "diez", Field: "c10", Format: "TEXTO"},
				},
			},
		},
		{
			name:  "string holding JSON, ID taken from the request",
			reply: `[{"Res":"1","Nombre":"t","Estado":"APPROVED","Variables":"{\"1\":{\"Campo\":\"Telefono\",\"Formato\":\"TELEFONO\"}}"}]`,
			want: &TemplateDetails{
				TemplateInfo: TemplateInfo{ID: "7", Name: "t", Status: "APPROVED", Verified: true},
				Variables:    []TemplateVariable{{Index: 1, Field: "Telefono", Format: "TELEFONO"}},
			},
		},
		{
			name:  "array, numbered from 1",
			reply: `{"Res":1,"IdPlantilla":"7","Variables":[{"Campo":"Telefono"},{"Campo":"Nombre"}]}`,
			want: &TemplateDetails{
				TemplateInfo: TemplateInfo{ID: "7"},
				Variables:    []TemplateVariable{{Index: 1, Field: "Telefono"}, {Index: 2, Field: "Nombre"}},
			},
		},
		{
			name:  "no Variables",
			reply: `{"Res":1,"IdPlantilla":"7"}`,
			want:  &TemplateDetails{TemplateInfo: TemplateInfo{ID: "7"}, Variables: []TemplateVariable{}},
		},
		{
			name:  "empty Variables string",
			reply: `{"Res":1,"IdPlantilla":"7","Variables":""}`,
			want:  &TemplateDetails{TemplateInfo: TemplateInfo{ID: "7"}, Variables: []TemplateVariable{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := setup(t)
			fx.reply(t, "GetVariablesPlantillaWhatsapp", http.StatusOK, tt.reply)
			got, err := fx.client.TemplateVariables(context.Background(), "7")
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestTemplateVariablesUnreadable(t *testing.T) {
	t.Parallel()
	for _, reply := range []string{
		`{"Res":1,"Variables":{"x":{"Campo":"a"}}}`,
		`{"Res":1,"Variables":{"0":{"Campo":"a"}}}`,
		`{"Res":1,"Variables":{"-1":{"Campo":"a"}}}`,
		`{"Res":1,"Variables":{"1":"Telefono"}}`,
		`{"Res":1,"Variables":"{\"1\":"}`,
		`{"Res":1,"Verificada":"quizá","Variables":{}}`,
	} {
		t.Run(reply, func(t *testing.T) {
			fx := setup(t)
			fx.reply(t, "GetVariablesPlantillaWhatsapp", http.StatusOK, reply)
			got, err := fx.client.TemplateVariables(context.Background(), "7")
			assert.Nil(t, got)
			var re *ResponseError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, OpTemplateVariables, re.Operation)
		})
	}
}

func TestTemplateDetailsValidate(t *testing.T) {
	t.Parallel()
	unapproved := refDetails()
	unapproved.Verified, unapproved.Status = false, "PENDING"
	with := func(mod func(r *Recipient)) Recipient {
		r := goodRecipient("34600000001")
		mod(&r)
		return r
	}
	tests := []struct {
		name      string
		d         *TemplateDetails
		to        []Recipient
		wantField string // "" means valid
	}{
		{"all variables", refDetails(), []Recipient{goodRecipient("+34 600 000 001")}, ""},
		{"name in Vars", refDetails(), []Recipient{with(func(r *Recipient) { r.Name = ""; r.Vars["Nombre"] = "Ana" })}, ""},
		{"name in Vars, another case", refDetails(), []Recipient{with(func(r *Recipient) { r.Name = ""; r.Vars["nombre"] = "Ana" })}, ""},
		{"field in another case", refDetails(), []Recipient{with(func(r *Recipient) {
			r.Vars["variable_cabecera_image"] = r.Vars["Variable_Cabecera_image"]
			delete(r.Vars, "Variable_Cabecera_image")
		})}, ""},
		{"value found by Name", refDetails(), []Recipient{with(func(r *Recipient) {
			r.Vars["Producto"] = "https://shop.example.com/p"
			delete(r.Vars, "Valor-URL-Boton-0")
		})}, ""},
		{"several good recipients", refDetails(), []Recipient{goodRecipient("34600000001"), goodRecipient("0034600000002")}, ""},

		{"nil details", nil, []Recipient{goodRecipient("34600000001")}, "Template"},

		{"no recipients", refDetails(), nil, "To"},
		{"variable 1 is the phone: empty", refDetails(), []Recipient{with(func(r *Recipient) { r.Phone = "" })}, "To[0].Phone"},
		{"variable 1 is the phone: malformed", refDetails(), []Recipient{with(func(r *Recipient) { r.Phone = "600" })}, "To[0].Phone"},
		{"missing variable by Field", refDetails(), []Recipient{with(func(r *Recipient) { delete(r.Vars, "Variable_Cabecera_image") })}, "To[0].Vars[Variable_Cabecera_image]"},
		{"blank variable", refDetails(), []Recipient{with(func(r *Recipient) { r.Vars["Variable_Cabecera_image"] = "  " })}, "To[0].Vars[Variable_Cabecera_image]"},
		{"missing name", refDetails(), []Recipient{with(func(r *Recipient) { r.Name = "" })}, "To[0].Name"},
		{"image URL not a URL", refDetails(), []Recipient{with(func(r *Recipient) { r.Vars["Variable_Cabecera_image"] = "banner.jpg" })}, "To[0].Vars[Variable_Cabecera_image]"},
		{"button URL not http", refDetails(), []Recipient{with(func(r *Recipient) { r.Vars["Valor-URL-Boton-0"] = "ftp://x/y" })}, "To[0].Vars[Valor-URL-Boton-0]"},
		{"bad value found by Name", refDetails(), []Recipient{with(func(r *Recipient) {
			r.Vars["Producto"] = "REF123"
			delete(r.Vars, "Valor-URL-Boton-0")
		})}, "To[0].Vars[Producto]"},
		{"second recipient", refDetails(), []Recipient{goodRecipient("34600000001"), with(func(r *Recipient) { r.Vars = nil })}, "To[1].Vars[Variable_Cabecera_image]"},

		// Meta refuses these text parameters after the API took the send.
		{"line break in a name (an Excel cell)", refDetails(), []Recipient{with(func(r *Recipient) { r.Name = "José\nMuñoz" })}, "To[0].Name"},
		{"CRLF in a name", refDetails(), []Recipient{with(func(r *Recipient) { r.Name = "José\r\nMuñoz" })}, "To[0].Name"},
		{"tab in a variable", refDetails(), []Recipient{with(func(r *Recipient) { r.Name = ""; r.Vars["Nombre"] = "Ana\tB" })}, "To[0].Vars[Nombre]"},
		{"five spaces in a row", refDetails(), []Recipient{with(func(r *Recipient) { r.Name = "Ana     B" })}, "To[0].Name"},
		{"four spaces in a row are fine", refDetails(), []Recipient{with(func(r *Recipient) { r.Name = "Ana    B" })}, ""},
		{"line break on the second recipient", refDetails(), []Recipient{goodRecipient("34600000001"), with(func(r *Recipient) { r.Name = "Ana\u2028B" })}, "To[1].Name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Validate(tt.to...)
			if tt.wantField == "" {
				assert.NoError(t, err)
				return
			}
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tt.wantField, ve.Field, "error: %v", err)
		})
	}
}

func TestTemplateDetailsValidateNotApproved(t *testing.T) {
	t.Parallel()
	d := refDetails()
	d.Verified, d.Status = false, TemplateStatusPending
	err := d.Validate(goodRecipient("34600000001"))
	require.ErrorIs(t, err, ErrTemplateNotApproved)
	var te *TemplateError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "customer_welcome", te.Name)
	assert.Equal(t, TemplateStatusPending, te.Status)
	var ve *ValidationError
	assert.False(t, errors.As(err, &ve), "learned from the server, so not a ValidationError")
	assert.Contains(t, err.Error(), `template "customer_welcome" is not approved (status PENDING)`)
}

func TestValidationErrorsRange(t *testing.T) {
	t.Parallel()
	bad := goodRecipient("34600000002")
	delete(bad.Vars, "Variable_Cabecera_image")
	bad.Name = "Ana\nB"
	err := refDetails().Validate(goodRecipient("34600000001"), bad, Recipient{Phone: "1"})
	var verrs ValidationErrors
	require.ErrorAs(t, err, &verrs)
	var fields []string
	for _, ve := range verrs {
		fields = append(fields, ve.Field)
	}
	assert.Equal(t, []string{"To[1].Name", "To[1].Vars[Variable_Cabecera_image]", "To[2].Phone", "To[2].Name",
		"To[2].Vars[Variable_Cabecera_image]", "To[2].Vars[Valor-URL-Boton-0]"}, fields)
	assert.Equal(t, len(verrs), strings.Count(err.Error(), "\n")+1, "one line per problem")
	var first *ValidationError
	require.ErrorAs(t, err, &first)
	assert.Equal(t, "To[1].Name", first.Field)
	assert.NoError(t, refDetails().Validate(goodRecipient("34600000001")), "no problem is a nil error, not an empty slice")
	assert.Nil(t, refDetails().ValidateRecipient(goodRecipient("34600000001")))
}

func TestTemplateDetailsValidateFormats(t *testing.T) {
	t.Parallel()
	details := func(format VariableFormat) *TemplateDetails {
		return &TemplateDetails{
			TemplateInfo: TemplateInfo{Name: "t", Verified: true},
			Variables: []TemplateVariable{
				{Index: 1, Name: "Destinatario", Field: "Telefono", Format: "TELEFONO"},
				{Index: 2, Name: "Valor", Field: "Campo2", Format: format},
			},
		}
	}
	tests := []struct {
		format VariableFormat
		value  string
		ok     bool
	}{
		{"TELEFONO", "+34 600 000 002", true},
		{"TELEFONO", "0034600000002", true},
		{"TELEFONO", "12", false},
		{"TELEFONO", "teléfono", false},
		{"URL", "https://example.com/a?b=1", true},
		{"URL", "http://example.com", true},
		{"URL", "example.com/a", false},
		{"URL", "mailto:a@b.es", false},
		{"URL_IMAGEN", "https://cdn.example.com/a.jpg", true},
		{"URL_IMAGEN", "/a.jpg", false},
		{"URL_DOCUMENTO", "https://cdn.example.com/a.pdf", true},
		{"URL_DOCUMENTO", "file:///a.pdf", false},
		{"URL_VIDEO", "https://cdn.example.com/a.mp4", true},
		{"URL_VIDEO", "a.mp4", false},
		{"url_video", "a.mp4", false}, // formats are matched in any case
		{"TEXTO", "Ana", true},
		{"TEXTO", "not a URL, fine", true},
		{"TEXTO", "", false},
		{"TEXTO", " \t", false},
		{"FECHA", "2026-07-01", true}, // an unknown format is non-empty text
		{"FECHA", "", false},
		{"", "x", true},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.format)+"="+tt.value, func(t *testing.T) {
			r := Recipient{Phone: "34600000001", Vars: map[string]string{"Campo2": tt.value}}
			err := details(tt.format).Validate(r)
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "To[0].Vars[Campo2]", ve.Field)
		})
	}
	// A variable absent from Vars altogether.
	err := details("TEXTO").Validate(Recipient{Phone: "34600000001"})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "To[0].Vars[Campo2]", ve.Field)
	assert.Contains(t, ve.Reason, "missing variable 2")
}

func TestTemplateDetailsValidateJoinsErrors(t *testing.T) {
	t.Parallel()
	bad0 := goodRecipient("12")                      // bad phone
	delete(bad0.Vars, "Variable_Cabecera_image")     // and a missing image
	bad2 := goodRecipient("34600000003")             //
	bad2.Vars["Valor-URL-Boton-0"] = "no es una URL" // a malformed URL
	err := refDetails().Validate(bad0, goodRecipient("34600000002"), bad2)
	require.Error(t, err)

	var first *ValidationError
	require.ErrorAs(t, err, &first)
	assert.Equal(t, "To[0].Phone", first.Field)

	joined, ok := err.(interface{ Unwrap() []error })
	require.True(t, ok, "want errors joined, got %T", err)
	var fields []string
	for _, e := range joined.Unwrap() {
		var ve *ValidationError
		require.ErrorAs(t, e, &ve)
		fields = append(fields, ve.Field)
	}
	assert.Equal(t, []string{"To[0].Phone", "To[0].Vars[Variable_Cabecera_image]", "To[2].Vars[Valor-URL-Boton-0]"}, fields)
	for _, f := range fields {
		assert.Contains(t, err.Error(), f)
	}
}

func TestTemplateDetailsValidateRecipient(t *testing.T) {
	t.Parallel()
	d := refDetails()
	d.Verified = false // not checked here
	assert.NoError(t, d.ValidateRecipient(goodRecipient("34600000001")))
	err := d.ValidateRecipient(Recipient{Phone: "34600000001"})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "Name", ve.Field)
	r := goodRecipient("34600000001")
	r.Name = "José\nMuñoz"
	err = d.ValidateRecipient(r)
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "Name", ve.Field)
	assert.Contains(t, err.Error(), "line break")
	var nilDetails *TemplateDetails
	assert.Error(t, nilDetails.ValidateRecipient(goodRecipient("34600000001")))
}

// templateServer answers the template list, the variables of the reference's two templates
// (the second not approved), and sends; it counts each.
type templateServer struct {
	*fixture
	lists, vars, sends atomic.Int64
	sent               *calls
	// onList, when set (before any request), runs on each list request after it is counted;
	// it answers instead of the default when it returns true.
	onList func(w http.ResponseWriter, r *http.Request) bool
}

func newTemplateServer(t *testing.T, opts ...Option) *templateServer {
	ts := &templateServer{fixture: setup(t, opts...), sent: &calls{}}
	ts.handle("GetPlantillasWhatsapp", func(w http.ResponseWriter, r *http.Request) {
		testRequest(t, r, "GetPlantillasWhatsapp")
		ts.lists.Add(1)
		if ts.onList != nil && ts.onList(w, r) {
			return
		}
		writeReply(w, 200, refTemplatesReply)
	})
	ts.handle("GetVariablesPlantillaWhatsapp", func(w http.ResponseWriter, r *http.Request) {
		body := testRequest(t, r, "GetVariablesPlantillaWhatsapp")
		ts.vars.Add(1)
		switch body["Idplantilla"] {
		case "572863982585983":
			writeReply(w, 200, refVariablesReply)
		case "572863982585984":
			writeReply(w, 200, `{"Res":"1","IdPlantilla":"572863982585984","Nombre":"appointment_reminder","Estado":"PENDING","Verificada":"0",
				"Variables":{"1":{"Campo":"Telefono","Formato":"TELEFONO"}}}`)
		default:
			t.Errorf("variables of unexpected template %v", body["Idplantilla"])
			writeReply(w, 200, `{"Res":"-3","Error":"Plantilla desconocida"}`)
		}
	})
	ts.handle("EnviarWHATSAPP", func(w http.ResponseWriter, r *http.Request) {
		ts.sent.add(testRequest(t, r, "EnviarWHATSAPP"))
		n := ts.sends.Add(1)
		writeReply(w, 200, fmt.Sprintf(`{"Res":"1","idMensaje":"%d","Enviados":"1"}`, n))
	})
	return ts
}

func (ts *templateServer) counts() [3]int64 {
	return [3]int64{ts.lists.Load(), ts.vars.Load(), ts.sends.Load()}
}
