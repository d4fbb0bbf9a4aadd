package mensatektest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/internal/api"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// The Plantillas and Variables values of the reference's GetPlantillasWhatsapp and
// GetVariablesPlantillaWhatsapp examples, as JSON string literals, from the repository's
// testdata/reference.
var (
	referencePlantillas = referenceField("templates.json", "Plantillas")
	referenceVariables  = referenceField("template_variables.json", "Variables")
)

// referenceField reads one field of one of the reference's example replies, as raw JSON.
func referenceField(file, field string) string {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "reference", file))
	if err != nil {
		panic(err)
	}
	var reply []map[string]json.RawMessage
	if err := json.Unmarshal(b, &reply); err != nil || len(reply) != 1 {
		panic(fmt.Sprintf("%s: %v", file, err))
	}
	return string(reply[0][field])
}

const (
	jsonType = "application/json"
	formType = "application/x-www-form-urlencoded"
)

func newServer(t *testing.T) *mensatektest.Server {
	t.Helper()
	srv := mensatektest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

// call posts body to the API function with the server's credentials, and returns the HTTP
// status and the reply's body.
func call(t *testing.T, srv *mensatektest.Server, function, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+function, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.SetBasicAuth(srv.APIUser, srv.APIToken)
	return do(t, req)
}

// ownConnections returns a client whose connections no other test shares, each closed when its
// request ends: http.DefaultTransport's idle connections are closed by any parallel test's
// httptest.Server.Close, and a request that had just taken one fails.
func ownConnections(t *testing.T) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := ownConnections(t).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// reply checks a reply's shape, a JSON array holding one object whose values are all strings
// and which carries Res (and Cred, but for an authentication refusal), and returns that object.
func reply(t *testing.T, body string) map[string]string {
	t.Helper()
	var arr []map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &arr), body)
	require.Len(t, arr, 1, body)
	out := make(map[string]string, len(arr[0]))
	for k, v := range arr[0] {
		s, ok := v.(string)
		require.Truef(t, ok, "field %s is a %T, not a string: %s", k, v, body)
		out[k] = s
	}
	require.Contains(t, out, "Res", body)
	if out["Res"] != "-1" {
		require.Contains(t, out, "Cred", body)
	}
	return out
}

func apiError(t *testing.T, err error) *mensatek.APIError {
	t.Helper()
	var apiErr *mensatek.APIError
	require.ErrorAs(t, err, &apiErr)
	return apiErr
}

func welcomeRecipient(phone string) mensatek.Recipient {
	return mensatek.Recipient{Phone: phone, Name: "Ana", Email: "ana@example.com", Vars: map[string]string{
		"Variable_Cabecera_image": "https://example.com/banner.jpg",
		"Valor-URL-Boton-0":       "https://example.com/offer/1",
	}}
}

func TestSendTextThroughClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)
	c := srv.Client()

	res, err := c.SendText(ctx, "+34 600 000 001", "Hola \U0001F603")
	require.NoError(t, err)
	assert.Equal(t, &mensatek.SendResult{MessageID: 1, Sent: 1, NotSent: 0, Credits: 999}, res)

	assert.Equal(t, []mensatektest.SentMessage{{
		ID:   1,
		Type: mensatek.TypeText,
		To:   []mensatek.Recipient{{Phone: "34600000001"}},
		Data: map[string]any{"Texto": "Hola \U0001F603"},
	}}, srv.Sent())
	assert.Equal(t, 999.0, srv.Credits())
	cred, _, ok := c.Credits()
	assert.True(t, ok)
	assert.Equal(t, 999.0, cred)
	assert.Equal(t, 1, srv.Calls(mensatek.OpSend))
	assert.Equal(t, 0, srv.Calls(mensatek.OpTemplates))
}

func TestEveryMessageTypeIsRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)
	c := srv.Client()
	at := time.Date(2030, 5, 1, 15, 10, 0, 0, mensatek.MadridTime())
	plain := []mensatek.Recipient{{Phone: "34600000001"}}
	tests := []struct {
		name string
		msg  mensatek.Message
		to   []mensatek.Recipient
		want map[string]any
	}{
		{"template", mensatek.Template{Name: "customer_welcome"}, []mensatek.Recipient{welcomeRecipient("34600000001")},
			map[string]any{"Plantilla": "customer_welcome"}},
		{"text", mensatek.Text{Body: "hola", PreviewURL: true}, plain,
			map[string]any{"Texto": "hola", "PrevisualizarURL": 1.0}},
		{"image", mensatek.Image{URL: "https://example.com/a.jpg", Caption: "foto"}, plain,
			map[string]any{"URL": "https://example.com/a.jpg", "Texto": "foto"}},
		{"document", mensatek.Document{URL: "https://example.com/f.pdf", Filename: "f.pdf", Caption: "factura"}, plain,
			map[string]any{"URL": "https://example.com/f.pdf", "NombreArchivo": "f.pdf", "Texto": "factura"}},
		{"location", mensatek.Location{Latitude: 40.4168, Longitude: -3.7038, Name: "Sol", Address: "Puerta del Sol, Madrid"}, plain,
			map[string]any{"Latitud": 40.4168, "Longitud": -3.7038, "Nombre": "Sol", "Direccion": "Puerta del Sol, Madrid"}},
		{"location request", mensatek.LocationRequest{Body: "¿Dónde estás?"}, plain,
			map[string]any{"Texto": "¿Dónde estás?"}},
		{"list", mensatek.List{Header: "Menú", Body: "Elige", Footer: "pie", Button: "Ver", Sections: []mensatek.ListSection{
			{Title: "Platos", Rows: []mensatek.ListRow{{ID: "p1", Title: "Paella", Description: "Valenciana"}}}}}, plain,
			map[string]any{"Cabecera": "Menú", "Texto": "Elige", "Pie": "pie", "Boton": "Ver", "Secciones": []any{
				map[string]any{"Titulo": "Platos", "Filas": []any{map[string]any{"Id": "p1", "Titulo": "Paella", "Descripcion": "Valenciana"}}}}}},
		{"reply buttons", mensatek.ReplyButtons{Body: "¿Confirmas?", Buttons: []mensatek.ReplyButton{{ID: "si", Title: "Sí"}, {ID: "no", Title: "No"}}}, plain,
			map[string]any{"Texto": "¿Confirmas?", "Botones": []any{
				map[string]any{"Id": "si", "Titulo": "Sí"}, map[string]any{"Id": "no", "Titulo": "No"}}}},
		{"reaction", mensatek.Reaction{Emoji: "\U0001F44D"}, []mensatek.Recipient{{Phone: "34600000001", ReplyTo: 10573758}},
			map[string]any{"Emoji": "\U0001F44D"}},
		{"CTA button", mensatek.CTAButton{Body: "Mira", Text: "Abrir", URL: "https://example.com/"}, plain,
			map[string]any{"Texto": "Mira", "TextoBoton": "Abrir", "URL": "https://example.com/"}},
	}
	var types []mensatek.MessageType
	for i, tt := range tests {
		res, err := c.Send(ctx, mensatek.SendRequest{To: tt.to, Message: tt.msg, ScheduleAt: at,
			Reference: "ref-" + tt.name, Report: true, FallbackChannels: []string{"SMS"}})
		require.NoError(t, err, tt.name)
		assert.Equal(t, int64(i+1), res.MessageID, tt.name)

		sent := srv.Sent()
		require.Len(t, sent, i+1)
		assert.Equal(t, mensatektest.SentMessage{
			ID:               int64(i + 1),
			Type:             tt.msg.MessageType(),
			To:               tt.to,
			Data:             tt.want,
			ScheduledAt:      "2030-05-01 15:10",
			Reference:        "ref-" + tt.name,
			Report:           true,
			FallbackChannels: []string{"SMS"},
		}, sent[i], tt.name)
		types = append(types, sent[i].Type)
	}
	assert.Equal(t, []mensatek.MessageType{mensatek.TypeTemplate, mensatek.TypeText, mensatek.TypeImage, mensatek.TypeDocument,
		mensatek.TypeLocation, mensatek.TypeLocationRequest, mensatek.TypeList, mensatek.TypeReplyButtons, mensatek.TypeReaction,
		mensatek.TypeCTAButton}, types, "the table covers the ten types in order")
}

func TestMessageIDsIncrease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)
	c := srv.Client()
	var last int64
	for i := 0; i < 5; i++ {
		res, err := c.SendText(ctx, "34600000001", fmt.Sprint("mensaje ", i))
		require.NoError(t, err)
		assert.Greater(t, res.MessageID, last)
		last = res.MessageID
	}
	sent := srv.Sent()
	require.Len(t, sent, 5)
	for i, m := range sent {
		assert.Equal(t, int64(i+1), m.ID)
		assert.Equal(t, fmt.Sprint("mensaje ", i), m.Data["Texto"])
	}
}

func TestInvalidPhonesAreNotSent(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	// The SDK refuses such phones locally, so this goes straight to the wire.
	status, body := call(t, srv, "EnviarWHATSAPP", jsonType,
		`{"Destinatarios":[{"Telefono":"34600000001"},{"Telefono":"12345"},{"Telefono":"3460000000000000"},{"Nombre":"sin teléfono"}],`+
			`"Tipomensaje":"TEXTO","Datosmensaje":{"Texto":"hola"},"Resp":"JSON"}`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, `[{"Res":"1","idMensaje":"1","Cred":"999","Enviados":"1","NoEnviados":"3"}]`, body)
	sent := srv.Sent()
	require.Len(t, sent, 1)
	assert.Len(t, sent[0].To, 4)
	assert.Equal(t, []string{"12345", "3460000000000000", ""}, sent[0].Rejected)

	status, body = call(t, srv, "EnviarWHATSAPP", jsonType,
		`{"Destinatarios":[{"Telefono":"600"}],"Tipomensaje":"TEXTO","Datosmensaje":{"Texto":"hola"},"Resp":"JSON"}`)
	assert.Equal(t, http.StatusOK, status)
	r := reply(t, body)
	assert.Equal(t, "-3", r["Res"])
	assert.Contains(t, r["Error"], "no valid recipients")
	assert.Equal(t, "999", r["Cred"])
	assert.Len(t, srv.Sent(), 1)
	assert.Equal(t, 999.0, srv.Credits())
}

func TestCreditsAreSpentPerRecipient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)
	c := srv.Client()
	srv.SetCredits(3)
	srv.SetCostPerMessage(1.5)

	res, err := c.Send(ctx, mensatek.SendRequest{
		To:      []mensatek.Recipient{{Phone: "34600000001"}, {Phone: "34600000002"}},
		Message: mensatek.Text{Body: "hola"},
	})
	require.NoError(t, err)
	assert.Equal(t, &mensatek.SendResult{MessageID: 1, Sent: 2, Credits: 0}, res)
	assert.Equal(t, 0.0, srv.Credits())

	_, err = c.SendText(ctx, "34600000003", "sin saldo")
	require.ErrorIs(t, err, mensatek.ErrInsufficientCredits)
	assert.Equal(t, mensatek.CodeInsufficientCredits, apiError(t, err).Code)
	assert.Contains(t, apiError(t, err).Message, "not enough credits")
	assert.NotErrorIs(t, err, mensatek.ErrOutcomeUnknown)
	assert.Len(t, srv.Sent(), 1, "a refused send is not recorded")

	// A balance that covers one recipient is not enough for two.
	srv.SetCredits(2)
	_, err = c.Send(ctx, mensatek.SendRequest{
		To:      []mensatek.Recipient{{Phone: "34600000001"}, {Phone: "34600000002"}},
		Message: mensatek.Text{Body: "hola"},
	})
	require.ErrorIs(t, err, mensatek.ErrInsufficientCredits)
	assert.Equal(t, 2.0, srv.Credits())

	srv.SetCostPerMessage(0.1)
	srv.SetCredits(0.3)
	for i := 0; i < 3; i++ {
		_, err = c.SendText(ctx, "34600000001", "barato")
		require.NoError(t, err)
	}
	assert.Equal(t, 0.0, srv.Credits())
	res, err = c.SendText(ctx, "34600000001", "uno más")
	require.ErrorIs(t, err, mensatek.ErrInsufficientCredits, "%+v", res)
	assert.Len(t, srv.Sent(), 4)
	assert.Equal(t, int64(4), srv.Sent()[3].ID, "a refused send takes no ID")
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)
	assert.NotEmpty(t, srv.APIUser)
	assert.NotEmpty(t, srv.APIToken)

	bad, err := mensatek.NewClient(srv.APIUser, "wrong-token", mensatek.WithBaseURL(srv.URL))
	require.NoError(t, err)
	_, err = bad.SendText(ctx, "34600000001", "hola")
	require.ErrorIs(t, err, mensatek.ErrAuthentication)
	assert.Equal(t, mensatek.CodeAuthentication, apiError(t, err).Code)
	assert.Equal(t, 1, srv.Calls(mensatek.OpSend), "the request reached the fake")
	assert.Empty(t, srv.Sent())
	assert.Equal(t, 1000.0, srv.Credits())

	wrongUser, err := mensatek.NewClient("someone", srv.APIToken, mensatek.WithBaseURL(srv.URL))
	require.NoError(t, err)
	_, err = wrongUser.Templates(ctx)
	require.ErrorIs(t, err, mensatek.ErrAuthentication)

	req, err := http.NewRequest(http.MethodPost, srv.URL+"GetPlantillasWhatsapp", strings.NewReader(`{"Resp":"JSON"}`))
	require.NoError(t, err)
	status, body := do(t, req)
	assert.Equal(t, http.StatusOK, status)
	r := reply(t, body)
	assert.Equal(t, "-1", r["Res"])
	assert.Contains(t, r["Error"], "missing Basic authentication")
	assert.NotContains(t, r, "Cred", "a stranger is not told the balance, not even a false 0")
}

func TestTemplatesThroughClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)
	c := srv.Client()

	welcome := mensatek.TemplateInfo{ID: mensatektest.CustomerWelcomeID, Name: "customer_welcome", Language: "es",
		Category: "MARKETING", Status: "APPROVED", Verified: true, ParameterFormat: "POSITIONAL"}
	reminder := mensatek.TemplateInfo{ID: mensatektest.AppointmentReminderID, Name: "appointment_reminder", Language: "es",
		Category: "UTILITY", Status: "PENDING", Verified: false, ParameterFormat: "POSITIONAL"}
	list, err := c.Templates(ctx)
	require.NoError(t, err)
	assert.Equal(t, []mensatek.TemplateInfo{welcome, reminder}, list)

	d, err := c.TemplateVariables(ctx, mensatektest.CustomerWelcomeID)
	require.NoError(t, err)
	assert.Equal(t, &mensatek.TemplateDetails{TemplateInfo: welcome, Variables: []mensatek.TemplateVariable{
		{Index: 1, Name: "Destinatario", Field: "Telefono", Location: "", Format: "TELEFONO", Example: "34600000000"},
		{Index: 2, Name: "Nombre", Field: "Nombre", Location: "BODY", Format: "TEXTO", Example: "Sample value"},
		{Index: 3, Name: "Header IMAGE", Field: "Variable_Cabecera_image", Location: "HEADER", Format: "URL_IMAGEN",
			Example: "https://www.yourdomain.com/img/banner.jpg"},
		{Index: 4, Name: "Producto", Field: "Valor-URL-Boton-0", Location: "BUTTONS", Format: "URL",
			Example: "https://www.yourdomain.com/offer/REF123"},
	}}, d)

	d, err = c.TemplateVariables(ctx, mensatektest.AppointmentReminderID)
	require.NoError(t, err)
	assert.Equal(t, reminder, d.TemplateInfo)
	var fields []string
	for _, v := range d.Variables {
		fields = append(fields, v.Field)
	}
	assert.Equal(t, []string{"Telefono", "Nombre", "Fecha_cita"}, fields)

	_, err = c.TemplateVariables(ctx, "1")
	require.ErrorIs(t, err, mensatek.ErrInvalidRequest)
	assert.Contains(t, err.Error(), `"1" does not exist`)
}

func TestTemplateRepliesMatchTheReference(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	var plantillas, variables string
	require.NoError(t, json.Unmarshal([]byte(referencePlantillas), &plantillas))
	require.NoError(t, json.Unmarshal([]byte(referenceVariables), &variables))

	status, body := call(t, srv, "GetPlantillasWhatsapp", jsonType, `{"Resp":"JSON"}`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, map[string]string{"Res": "1", "Total": "2", "Plantillas": plantillas, "Cred": "1000"}, reply(t, body))

	status, body = call(t, srv, "GetVariablesPlantillaWhatsapp", formType, "IDPLANTILLA=572863982585983&resp=json")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, map[string]string{
		"Res": "1", "IdPlantilla": "572863982585983", "Nombre": "customer_welcome", "Idioma": "es",
		"Categoria": "MARKETING", "Estado": "APPROVED", "Verificada": "1", "FormatoParametros": "POSITIONAL",
		"Total": "4", "Variables": variables, "Cred": "1000",
	}, reply(t, body))
}

func TestTemplateSendsAreRefusedLikeTheService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)
	c := srv.Client()

	_, err := c.SendTemplate(ctx, "customer_welcome", welcomeRecipient("34600000001"))
	require.NoError(t, err)

	missing := welcomeRecipient("34600000002")
	delete(missing.Vars, "Valor-URL-Boton-0")
	_, err = c.SendTemplate(ctx, "customer_welcome", welcomeRecipient("34600000001"), missing)
	require.ErrorIs(t, err, mensatek.ErrInvalidRequest)
	assert.Contains(t, apiError(t, err).Message, "Valor-URL-Boton-0")
	assert.Contains(t, apiError(t, err).Message, "34600000002")

	noName := welcomeRecipient("34600000003")
	noName.Name = ""
	_, err = c.SendTemplate(ctx, "customer_welcome", noName)
	require.ErrorIs(t, err, mensatek.ErrInvalidRequest)
	assert.Contains(t, apiError(t, err).Message, `Campo "Nombre"`)

	// A variable may be given by its Nombre instead of its Campo.
	byName := welcomeRecipient("34600000004")
	delete(byName.Vars, "Valor-URL-Boton-0")
	byName.Vars["producto"] = "https://example.com/offer/2"
	_, err = c.SendTemplate(ctx, "customer_welcome", byName)
	require.NoError(t, err)

	_, err = c.SendTemplate(ctx, "appointment_reminder", mensatek.Recipient{Phone: "34600000001", Name: "Ana",
		Vars: map[string]string{"Fecha_cita": "15/05/2025 10:30"}})
	require.ErrorIs(t, err, mensatek.ErrInvalidRequest)
	assert.Contains(t, apiError(t, err).Message, `"appointment_reminder" is not approved (status PENDING)`)

	_, err = c.SendTemplate(ctx, "no_such_template", mensatek.Recipient{Phone: "34600000001"})
	require.ErrorIs(t, err, mensatek.ErrInvalidRequest)
	assert.Contains(t, apiError(t, err).Message, `"no_such_template" does not exist`)

	sent := srv.Sent()
	require.Len(t, sent, 2)
	assert.Equal(t, "https://example.com/offer/2", sent[1].To[0].Vars["producto"])
	assert.Equal(t, 998.0, srv.Credits())

	// A checked send finds the problem before any send request leaves.
	before := srv.Calls(mensatek.OpSend)
	_, err = c.SendTemplateChecked(ctx, "appointment_reminder", mensatek.Recipient{Phone: "34600000001", Name: "Ana"})
	require.ErrorIs(t, err, mensatek.ErrTemplateNotApproved)
	assert.Equal(t, before, srv.Calls(mensatek.OpSend))
	assert.Equal(t, 1, srv.Calls(mensatek.OpTemplates))
}

func TestAddTemplate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)
	c := srv.Client()

	id := srv.AddTemplate(mensatek.TemplateDetails{
		TemplateInfo: mensatek.TemplateInfo{Name: "order_shipped", Language: "en"},
		Variables:    []mensatek.TemplateVariable{{Name: "Pedido", Field: "Pedido", Location: "BODY", Format: "TEXTO", Example: "A-1"}},
	})
	assert.Equal(t, "572863982585985", id)
	d, err := c.TemplateVariables(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, &mensatek.TemplateDetails{
		TemplateInfo: mensatek.TemplateInfo{ID: id, Name: "order_shipped", Language: "en", Category: "UTILITY",
			Status: "APPROVED", Verified: true, ParameterFormat: "POSITIONAL"},
		Variables: []mensatek.TemplateVariable{
			{Index: 1, Name: "Destinatario", Field: "Telefono", Format: "TELEFONO", Example: "34600000000"},
			{Index: 2, Name: "Pedido", Field: "Pedido", Location: "BODY", Format: "TEXTO", Example: "A-1"},
		},
	}, d)
	list, err := c.Templates(ctx)
	require.NoError(t, err)
	require.Len(t, list, 3)
	assert.Equal(t, id, list[2].ID)

	_, err = c.SendTemplateChecked(ctx, "order_shipped", mensatek.Recipient{Phone: "34600000001", Vars: map[string]string{"Pedido": "A-1"}})
	require.NoError(t, err)

	// Replacing it by ID: paused now, so the service refuses it.
	srv.AddTemplate(mensatek.TemplateDetails{TemplateInfo: mensatek.TemplateInfo{ID: id, Name: "order_shipped", Status: "PAUSED", Verified: true}})
	_, err = c.SendTemplate(ctx, "order_shipped", mensatek.Recipient{Phone: "34600000001", Vars: map[string]string{"Pedido": "A-1"}})
	require.ErrorIs(t, err, mensatek.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "not approved (status PAUSED)")
	d, err = c.TemplateVariables(ctx, id)
	require.NoError(t, err)
	assert.False(t, d.Verified)
}

func TestTypingStatusAndMedia(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)
	c := srv.Client()

	r, err := c.SendTyping(ctx, 1288177432, "34600000000")
	require.NoError(t, err)
	assert.Equal(t, &mensatek.Result{Code: 1, Credits: 1000}, r)

	r, err = c.SetAccountStatus(ctx, "I'm using WhatsApp Business with Mensatek")
	require.NoError(t, err)
	assert.Equal(t, 1, r.Code)
	assert.Equal(t, "I'm using WhatsApp Business with Mensatek", srv.AccountStatus())

	jpeg := []byte("\xff\xd8\xff\xe0 not really a jpeg")
	srv.AddMediaFile(1288177432, "34600000000", "foto.jpg", "image/jpeg", jpeg)
	m, err := c.DownloadMedia(ctx, 1288177432, "34600000000")
	require.NoError(t, err)
	assert.Equal(t, &mensatek.Media{ContentType: "image/jpeg", Filename: "foto.jpg", Data: jpeg}, m)

	pdf := []byte("%PDF-1.4\n%...")
	srv.AddMedia(2, "+34 600 000 002", "", pdf)
	var buf bytes.Buffer
	info, err := c.DownloadMediaTo(ctx, 2, "34600000002", &buf)
	require.NoError(t, err)
	assert.Equal(t, "application/pdf", info.ContentType)
	assert.Equal(t, pdf, buf.Bytes())

	_, err = c.DownloadMedia(ctx, 999, "34600000000")
	require.ErrorIs(t, err, mensatek.ErrInvalidRequest)
	assert.Contains(t, apiError(t, err).Message, "no media in message 999 from 34600000000")

	assert.Equal(t, 1, srv.Calls(mensatek.OpTyping))
	assert.Equal(t, 1, srv.Calls(mensatek.OpAccountStatus))
	assert.Equal(t, 3, srv.Calls(mensatek.OpMediaDownload))
}

func TestRawRequestsAndReplyShapes(t *testing.T) {
	t.Parallel()
	srv := newServer(t)

	// The reference's request example, verbatim: its template does not exist here.
	const example = `{"Destinatarios": "[{\"Telefono\":\"34600000001\",\"Nombre\":\"Pedro Pérez\",\"Email\":\"recipient@thedomain.com\"}]",` +
		`"Tipomensaje": "Plantilla", "Datosmensaje": "{\"Plantilla\":\"My Template\"}", "Fecha": "2022-05-01 15:10",` +
		`"Referenciausuario": "Your reference", "Report": "0", "Siguientecanal": [null], "Fixutf8": 0, "Resp": "JSON"}`
	status, body := call(t, srv, "EnviarWHATSAPP", jsonType, example)
	assert.Equal(t, http.StatusOK, status)
	r := reply(t, body)
	assert.Equal(t, "-3", r["Res"])
	assert.Contains(t, r["Error"], `template "My Template" does not exist`)
	assert.Equal(t, "1000", r["Cred"])

	srv.AddTemplate(mensatek.TemplateDetails{TemplateInfo: mensatek.TemplateInfo{Name: "My Template"}})
	status, body = call(t, srv, "EnviarWHATSAPP", jsonType, example)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, `[{"Res":"1","idMensaje":"1","Cred":"999","Enviados":"1","NoEnviados":"0"}]`, body)

	// A form, with parameter names in any case and no Resp (JSON is the default).
	form := url.Values{
		"DESTINATARIOS":  {`[{"telefono":"34600000002","NOMBRE":"Luis","Pedido":"A-1"}]`},
		"tipoMensaje":    {"texto"},
		"datosMensaje":   {`{"Texto":"hola \uD83D\uDE01"}`},
		"report":         {"1"},
		"SIGUIENTECANAL": {`["SMS"]`},
	}
	status, body = call(t, srv, "enviarwhatsapp", formType, form.Encode())
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, `[{"Res":"1","idMensaje":"2","Cred":"998","Enviados":"1","NoEnviados":"0"}]`, body)

	// multipart/form-data.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	require.NoError(t, mw.WriteField("Destinatarios", `[{"Telefono":"34600000003"}]`))
	require.NoError(t, mw.WriteField("Tipomensaje", "REACCION"))
	require.NoError(t, mw.WriteField("Datosmensaje", `{"Emoji":"👍"}`))
	require.NoError(t, mw.WriteField("Resp", "JSON"))
	require.NoError(t, mw.Close())
	status, body = call(t, srv, "EnviarWhatsApp", mw.FormDataContentType(), mp.String())
	assert.Equal(t, http.StatusOK, status)
	r = reply(t, body)
	assert.Equal(t, "-3", r["Res"])
	assert.Contains(t, r["Error"], "idMensajeRespondido")

	mp.Reset()
	mw = multipart.NewWriter(&mp)
	require.NoError(t, mw.WriteField("Destinatarios", `[{"Telefono":"34600000003","IdMensajeRespondido":"10573758"}]`))
	require.NoError(t, mw.WriteField("Tipomensaje", "REACCION"))
	require.NoError(t, mw.WriteField("Datosmensaje", `{"Emoji":"👍"}`))
	require.NoError(t, mw.Close())
	status, body = call(t, srv, "EnviarWHATSAPP", mw.FormDataContentType(), mp.String())
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, `[{"Res":"1","idMensaje":"3","Cred":"997","Enviados":"1","NoEnviados":"0"}]`, body)

	assert.Equal(t, []mensatektest.SentMessage{
		{
			ID: 1, Type: mensatek.TypeTemplate,
			To:          []mensatek.Recipient{{Phone: "34600000001", Name: "Pedro Pérez", Email: "recipient@thedomain.com"}},
			Data:        map[string]any{"Plantilla": "My Template"},
			ScheduledAt: "2022-05-01 15:10", Reference: "Your reference",
		},
		{
			ID: 2, Type: mensatek.TypeText,
			To:     []mensatek.Recipient{{Phone: "34600000002", Name: "Luis", Vars: map[string]string{"Pedido": "A-1"}}},
			Data:   map[string]any{"Texto": "hola \U0001F601"},
			Report: true, FallbackChannels: []string{"SMS"},
		},
		{
			ID: 3, Type: mensatek.TypeReaction,
			To:   []mensatek.Recipient{{Phone: "34600000003", ReplyTo: 10573758}},
			Data: map[string]any{"Emoji": "👍"},
		},
	}, srv.Sent())

	// Other functions answer in the same shape.
	status, body = call(t, srv, "EscribiendoWhatsapp", jsonType, `{"IDMENSAJE":1288177432,"telefono":"34600000000","resp":"json"}`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, `[{"Res":"1","Cred":"997"}]`, body)
	status, body = call(t, srv, "CambiarEstadoWhatsapp", formType, "estado=Disponible")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, `[{"Res":"1","Cred":"997"}]`, body)
	assert.Equal(t, "Disponible", srv.AccountStatus())
}

func TestRefusedRequests(t *testing.T) {
	t.Parallel()
	const text = `"Tipomensaje":"TEXTO","Datosmensaje":{"Texto":"hola"}`
	const to = `"Destinatarios":[{"Telefono":"34600000001"}]`
	tests := []struct {
		name, function, body, want string
	}{
		{"missing Destinatarios", "EnviarWHATSAPP", `{` + text + `}`, "missing required parameter Destinatarios"},
		{"empty Destinatarios", "EnviarWHATSAPP", `{"Destinatarios":[],` + text + `}`, "Destinatarios is empty"},
		{"Destinatarios not JSON", "EnviarWHATSAPP", `{"Destinatarios":"34600000001",` + text + `}`, "Destinatarios:"},
		{"recipient not an object", "EnviarWHATSAPP", `{"Destinatarios":["34600000001"],` + text + `}`, "Destinatarios[0]"},
		{"missing Tipomensaje", "EnviarWHATSAPP", `{` + to + `,"Datosmensaje":{"Texto":"hola"}}`, "missing required parameter Tipomensaje"},
		{"unknown Tipomensaje", "EnviarWHATSAPP", `{` + to + `,"Tipomensaje":"VIDEO"}`, `Tipomensaje "VIDEO" is not one of PLANTILLA, TEXTO`},
		{"Datosmensaje not an object", "EnviarWHATSAPP", `{` + to + `,"Tipomensaje":"TEXTO","Datosmensaje":"hola"}`, "Datosmensaje is not a JSON object"},
		{"bad Fecha", "EnviarWHATSAPP", `{` + to + `,` + text + `,"Fecha":"01/05/2022 15:10"}`, `Fecha "01/05/2022 15:10"`},
		{"bad Report", "EnviarWHATSAPP", `{` + to + `,` + text + `,"Report":"2"}`, "Report must be 0 or 1"},
		{"missing Plantilla", "EnviarWHATSAPP", `{` + to + `,"Tipomensaje":"PLANTILLA","Datosmensaje":{}}`, "missing Datosmensaje.Plantilla"},
		{"reaction without idMensajeRespondido", "EnviarWHATSAPP", `{` + to + `,"Tipomensaje":"REACCION","Datosmensaje":{"Emoji":"x"}}`, "idMensajeRespondido"},
		{"malformed JSON", "EnviarWHATSAPP", `{"Destinatarios":`, "not a valid JSON object"},
		{"Resp TXT", "EnviarWHATSAPP", `{` + to + `,` + text + `,"Resp":"TXT"}`, "Resp=TXT is not supported by the fake"},
		{"Resp XML", "GetPlantillasWhatsapp", `{"Resp":"xml"}`, "Resp=XML is not supported by the fake"},
		{"Resp unknown", "GetPlantillasWhatsapp", `{"Resp":"CSV"}`, "Resp must be TXT, JSON or XML"},
		{"typing without Idmensaje", "EscribiendoWhatsapp", `{"Telefono":"34600000000"}`, "missing required parameter Idmensaje"},
		{"typing with a bad Idmensaje", "EscribiendoWhatsapp", `{"Idmensaje":"abc","Telefono":"34600000000"}`, `Idmensaje "abc"`},
		{"typing without Telefono", "EscribiendoWhatsapp", `{"Idmensaje":1}`, "missing required parameter Telefono"},
		{"typing with a bad Telefono", "EscribiendoWhatsapp", `{"Idmensaje":1,"Telefono":"+34 600"}`, `Telefono "+34 600"`},
		{"media without Telefono", "DescargarMultimediaWhatsapp", `{"Idmensaje":1}`, "missing required parameter Telefono"},
		{"status without Estado", "CambiarEstadoWhatsapp", `{"Estado":"  "}`, "missing required parameter Estado"},
		{"status too long", "CambiarEstadoWhatsapp", `{"Estado":"` + strings.Repeat("a", 1025) + `"}`, "Estado has 1025 characters"},
		{"variables without Idplantilla", "GetVariablesPlantillaWhatsapp", `{}`, "missing required parameter Idplantilla"},
		{"variables of an unknown template", "GetVariablesPlantillaWhatsapp", `{"Idplantilla":"42"}`, `template "42" does not exist`},
	}
	srv := newServer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, srv, tt.function, jsonType, tt.body)
			assert.Equal(t, http.StatusOK, status)
			r := reply(t, body)
			assert.Equal(t, "-3", r["Res"])
			assert.Contains(t, r["Error"], tt.want)
			assert.Equal(t, "1000", r["Cred"])
		})
	}
	assert.Empty(t, srv.Sent())
	assert.Empty(t, srv.AccountStatus())
	assert.Equal(t, 1000.0, srv.Credits())
}

func TestMethodsAndFunctionNames(t *testing.T) {
	t.Parallel()
	srv := newServer(t)

	req, err := http.NewRequest(http.MethodGet, srv.URL+"EnviarWHATSAPP", nil)
	require.NoError(t, err)
	req.SetBasicAuth(srv.APIUser, srv.APIToken)
	resp, err := ownConnections(t).Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, http.MethodPost, resp.Header.Get("Allow"))
	assert.Contains(t, reply(t, string(b))["Error"], "POST only")
	assert.Equal(t, 1, srv.Calls(mensatek.OpSend), "a wrong method reached the fake")

	status, body := call(t, srv, "EnviarSMS", jsonType, `{}`)
	assert.Equal(t, http.StatusNotFound, status)
	r := reply(t, body)
	assert.Equal(t, "-3", r["Res"])
	assert.Contains(t, r["Error"], `unknown API function "EnviarSMS"`)

	req, err = http.NewRequest(http.MethodPost, strings.TrimSuffix(srv.URL, "v7/")+"v6/EnviarWHATSAPP", strings.NewReader(`{}`))
	require.NoError(t, err)
	status, _ = do(t, req)
	assert.Equal(t, http.StatusNotFound, status)

	// Every default function name answers, in any case.
	srv.Reset()
	for _, e := range api.Endpoints() {
		op, name := mensatek.Operation(e.Op), e.Function
		for _, fn := range []string{name, strings.ToLower(name), strings.ToUpper(name)} {
			status, body := call(t, srv, fn, jsonType, `{"Resp":"JSON"}`)
			assert.Equal(t, http.StatusOK, status, fn)
			reply(t, body)
		}
		assert.Equal(t, 3, srv.Calls(op), op)
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)
	c := srv.Client()

	srv.FailNext(mensatek.OpSend, mensatek.CodeInsufficientCredits, "saldo insuficiente")
	srv.FailNext(mensatek.OpSend, -7, "error interno")
	srv.FailNext(mensatek.OpTemplates, mensatek.CodeInvalidRequest, "plantillas no disponibles")

	_, err := c.SendText(ctx, "34600000001", "uno")
	require.ErrorIs(t, err, mensatek.ErrInsufficientCredits)
	assert.Equal(t, "saldo insuficiente", apiError(t, err).Message)
	_, err = c.SendText(ctx, "34600000001", "dos")
	assert.Equal(t, -7, apiError(t, err).Code)
	assert.Equal(t, "error interno", apiError(t, err).Message)
	res, err := c.SendText(ctx, "34600000001", "tres")
	require.NoError(t, err, "the faults are used up")
	assert.Equal(t, int64(1), res.MessageID)
	assert.Len(t, srv.Sent(), 1)
	assert.Equal(t, 3, srv.Calls(mensatek.OpSend))
	assert.Equal(t, 999.0, srv.Credits())

	_, err = c.Templates(ctx)
	require.ErrorIs(t, err, mensatek.ErrInvalidRequest, "the templates' fault waited for a templates call")
	_, err = c.Templates(ctx)
	require.NoError(t, err)

	// A fault answers before authentication: it stands for whatever the service would say.
	srv.FailNext(mensatek.OpTyping, mensatek.CodeAuthentication, "bloqueado")
	_, err = c.SendTyping(ctx, 1, "34600000001")
	require.ErrorIs(t, err, mensatek.ErrAuthentication)
}

func TestFailNextHTTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)
	c := srv.Client()

	// A read is retried after a 5xx: the default client recovers.
	srv.FailNextHTTP(mensatek.OpTemplates, http.StatusServiceUnavailable, "Service Unavailable")
	_, err := c.Templates(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, srv.Calls(mensatek.OpTemplates))

	noRetry := srv.Client(mensatek.WithRetryPolicy(mensatek.RetryPolicy{}))
	srv.FailNextHTTP(mensatek.OpTemplates, http.StatusServiceUnavailable, "Service Unavailable")
	_, err = noRetry.Templates(ctx)
	apiErr := apiError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.HTTPStatus)
	assert.NotErrorIs(t, err, mensatek.ErrOutcomeUnknown, "listing templates sends nothing")

	srv.FailNextHTTP(mensatek.OpSend, http.StatusBadGateway, "<html>Bad Gateway</html>")
	_, err = c.SendText(ctx, "34600000001", "hola")
	require.ErrorIs(t, err, mensatek.ErrOutcomeUnknown, "a 5xx to a send may come after the message went out")
	assert.Empty(t, srv.Sent())

	srv.FailNextHTTP(mensatek.OpSend, http.StatusUnauthorized, `[{"Res":"-1","Error":"no autorizado"}]`)
	_, err = c.SendText(ctx, "34600000001", "hola")
	require.ErrorIs(t, err, mensatek.ErrAuthentication)
	assert.Equal(t, "no autorizado", apiError(t, err).Message)

	assert.Panics(t, func() { srv.FailNextHTTP(mensatek.OpSend, 0, "") })
	assert.Panics(t, func() { srv.FailNext("no_such_operation", -3, "") })
}

func TestDropNext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)
	c := srv.Client()

	_, err := c.SendText(ctx, "34600000001", "warm the connection up")
	require.NoError(t, err)

	srv.DropNext(mensatek.OpSend)
	_, err = c.SendText(ctx, "34600000001", "hola")
	require.ErrorIs(t, err, mensatek.ErrOutcomeUnknown)
	assert.Equal(t, 2, srv.Calls(mensatek.OpSend), "the request reached the fake once and was not repeated")
	assert.Len(t, srv.Sent(), 1, "the dropped send was not processed")

	srv.DropNext(mensatek.OpTemplates)
	_, err = c.Templates(ctx)
	require.NoError(t, err, "a read is retried after a dropped connection")

	srv.DropNext(mensatek.OpTemplates)
	_, err = srv.Client(mensatek.WithRetryPolicy(mensatek.RetryPolicy{})).Templates(ctx)
	require.Error(t, err)
	assert.NotErrorIs(t, err, mensatek.ErrOutcomeUnknown)

	_, err = c.SendText(ctx, "34600000001", "again")
	require.NoError(t, err)
	assert.Len(t, srv.Sent(), 2)
}

// cancelOnArrival cancels once the n-th call of op has reached srv: a client that gives up
// while the fake holds its request, with no timing to tune.
func cancelOnArrival(t *testing.T, srv *mensatektest.Server, op mensatek.Operation, n int, cancel context.CancelFunc) {
	t.Helper()
	go func() {
		defer cancel()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		deadline := time.After(10 * time.Second) // then the test fails on what it gets
		for srv.Calls(op) < n {
			select {
			case <-tick.C:
			case <-deadline:
				return
			}
		}
	}()
}

// waitFinished waits until srv has finished handling n calls of op, and fails the test after a
// deadline.
func waitFinished(t *testing.T, srv *mensatektest.Server, op mensatek.Operation, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return srv.Finished(op) >= n }, 10*time.Second, time.Millisecond,
		"the fake did not finish %d calls of %s", n, op)
}

func TestDelayNext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)

	// The delay holds the answer at least that long.
	srv.DelayNext(mensatek.OpTyping, 100*time.Millisecond)
	start := time.Now()
	_, err := srv.Client().SendTyping(ctx, 1, "34600000001")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)

	// The client gives up while the fake holds its send: the outcome is unknown to the client,
	// and the fake abandons the send, which it never processes, even once the delay is over.
	srv.DelayNext(mensatek.OpSend, time.Minute)
	sendCtx, cancel := context.WithCancel(ctx)
	cancelOnArrival(t, srv, mensatek.OpSend, 1, cancel)
	_, err = srv.Client().SendText(sendCtx, "34600000001", "hola")
	require.ErrorIs(t, err, mensatek.ErrOutcomeUnknown)
	assert.ErrorIs(t, err, context.Canceled)
	waitFinished(t, srv, mensatek.OpSend, 1) // long before the minute is over: abandoned
	assert.Empty(t, srv.Sent())
	assert.Equal(t, 1, srv.Calls(mensatek.OpSend))

	// So does a client's timeout, and a context's deadline.
	srv.DelayNext(mensatek.OpTemplates, time.Minute)
	_, err = srv.Client(mensatek.WithTimeout(50 * time.Millisecond)).Templates(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	srv.DelayNext(mensatek.OpAccountStatus, time.Minute)
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = srv.Client().SetAccountStatus(cctx, "ocupado")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	if srv.Calls(mensatek.OpAccountStatus) == 1 {
		waitFinished(t, srv, mensatek.OpAccountStatus, 1)
	}
	assert.Empty(t, srv.AccountStatus(), "an abandoned call changes nothing")
}

func TestCloseCutsADelayShort(t *testing.T) {
	t.Parallel()
	srv := mensatektest.NewServer()
	c := srv.Client()
	srv.DelayNext(mensatek.OpTemplates, time.Minute)
	done := make(chan error, 1)
	go func() {
		_, err := c.Templates(context.Background())
		done <- err
	}()
	require.Eventually(t, func() bool { return srv.Calls(mensatek.OpTemplates) == 1 }, 10*time.Second, time.Millisecond)
	start := time.Now()
	srv.Close()
	assert.Less(t, time.Since(start), 20*time.Second, "Close did not wait out the minute")
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("the call did not end when the server closed")
	}
	srv.Close() // twice is fine
}

func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)
	c := srv.Client()
	const n = 64
	ids := make([]int64, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := c.SendText(ctx, fmt.Sprintf("346000001%02d", i), fmt.Sprint("mensaje ", i))
			if err != nil {
				errs <- err
				return
			}
			ids[i] = res.MessageID
			_ = srv.Sent()
			_ = srv.Calls(mensatek.OpSend)
			_ = srv.Credits()
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	sent := srv.Sent()
	require.Len(t, sent, n)
	seen := make(map[int64]bool, n)
	phones := make(map[string]bool, n)
	for i, m := range sent {
		assert.Equal(t, int64(i+1), m.ID, "IDs follow the order of acceptance")
		seen[m.ID] = true
		phones[m.To[0].Phone] = true
	}
	assert.Len(t, seen, n)
	assert.Len(t, phones, n)
	for _, id := range ids {
		assert.True(t, seen[id])
	}
	assert.Equal(t, float64(1000-n), srv.Credits())
	assert.Equal(t, n, srv.Calls(mensatek.OpSend))
}

func TestServersAreIndependent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := newServer(t), newServer(t)
	assert.NotEqual(t, a.URL, b.URL)
	assert.NotEqual(t, a.APIToken, b.APIToken)

	_, err := a.Client().SendText(ctx, "34600000001", "hola")
	require.NoError(t, err)
	a.AddTemplate(mensatek.TemplateDetails{TemplateInfo: mensatek.TemplateInfo{Name: "only_in_a"}})
	a.SetCredits(5)
	a.FailNext(mensatek.OpSend, -3, "a's fault")

	res, err := b.Client().SendText(ctx, "34600000001", "hola")
	require.NoError(t, err, "a's fault is not b's")
	assert.Equal(t, int64(1), res.MessageID)
	assert.Len(t, a.Sent(), 1)
	assert.Len(t, b.Sent(), 1)
	assert.Equal(t, 999.0, b.Credits())
	list, err := b.Client().Templates(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 2)

	crossed, err := mensatek.NewClient(a.APIUser, a.APIToken, mensatek.WithBaseURL(b.URL))
	require.NoError(t, err)
	_, err = crossed.SendText(ctx, "34600000001", "hola")
	require.ErrorIs(t, err, mensatek.ErrAuthentication)
}

func TestSentReturnsCopiesAndResetClears(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)
	c := srv.Client()
	_, err := c.Send(ctx, mensatek.SendRequest{
		To:               []mensatek.Recipient{{Phone: "34600000001", Vars: map[string]string{"Pedido": "A-1"}}},
		Message:          mensatek.List{Body: "Elige", Button: "Ver", Sections: []mensatek.ListSection{{Rows: []mensatek.ListRow{{ID: "1", Title: "Uno"}}}}},
		FallbackChannels: []string{"SMS"},
	})
	require.NoError(t, err)

	first := srv.Sent()
	first[0].To[0].Phone = "changed"
	first[0].To[0].Vars["Pedido"] = "changed"
	first[0].Data["Texto"] = "changed"
	first[0].Data["Secciones"].([]any)[0].(map[string]any)["Filas"] = nil
	first[0].FallbackChannels[0] = "changed"
	again := srv.Sent()
	assert.Equal(t, "34600000001", again[0].To[0].Phone)
	assert.Equal(t, "A-1", again[0].To[0].Vars["Pedido"])
	assert.Equal(t, "Elige", again[0].Data["Texto"])
	assert.NotNil(t, again[0].Data["Secciones"].([]any)[0].(map[string]any)["Filas"])
	assert.Equal(t, []string{"SMS"}, again[0].FallbackChannels)

	srv.AddMedia(1, "34600000001", "text/plain", []byte("hola"))
	srv.FailNext(mensatek.OpSend, -3, "forgotten by Reset")
	srv.Reset()
	assert.Empty(t, srv.Sent())
	assert.Equal(t, 0, srv.Calls(mensatek.OpSend))
	res, err := c.SendText(ctx, "34600000001", "after reset")
	require.NoError(t, err, "Reset drops pending faults")
	assert.Equal(t, int64(2), res.MessageID, "IDs are never reused")
	assert.Equal(t, 998.0, srv.Credits(), "Reset keeps the balance")
	_, err = c.DownloadMedia(ctx, 1, "34600000001")
	require.NoError(t, err, "Reset keeps media")
	list, err := c.Templates(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 2, "Reset keeps templates")
}

func TestClientOptions(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	c := srv.Client(mensatek.WithUserAgent("my-app/1.0"))
	assert.Equal(t, srv.URL, c.BaseURL())
	assert.True(t, strings.HasSuffix(srv.URL, "/v7/"))
	assert.Panics(t, func() { srv.Client(mensatek.WithTimeout(-time.Second)) })
}

func ExampleServer() {
	srv := mensatektest.NewServer()
	defer srv.Close()
	client := srv.Client()

	res, err := client.SendText(context.Background(), "34600000001", "Hola")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.MessageID, res.Sent, res.Credits)
	for _, m := range srv.Sent() {
		fmt.Println(m.ID, m.Type, m.Phones(), m.Text())
	}
	// Output:
	// 1 1 999
	// 1 TEXTO [34600000001] Hola
}

func ExampleServer_FailNext() {
	srv := mensatektest.NewServer()
	defer srv.Close()
	client := srv.Client()

	srv.FailNext(mensatek.OpSend, mensatek.CodeInsufficientCredits, "not enough credits")
	_, err := client.SendText(context.Background(), "34600000001", "Hola")
	fmt.Println(errors.Is(err, mensatek.ErrInsufficientCredits), len(srv.Sent()), srv.Calls(mensatek.OpSend))
	// Output:
	// true 0 1
}

func ExampleServer_DropNext() {
	srv := mensatektest.NewServer()
	defer srv.Close()
	client := srv.Client()

	srv.DropNext(mensatek.OpSend)
	_, err := client.SendText(context.Background(), "34600000001", "Hola")
	fmt.Println(errors.Is(err, mensatek.ErrOutcomeUnknown))
	// Output:
	// true
}

func TestParameterNamesIgnoreCase(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	// Every name in another case, as the API accepts them.
	status, body := call(t, srv, "EnviarWHATSAPP", jsonType, `{"destinatarios":"[{\"TELEFONO\":\"34600000001\",\"nombre\":\"Ana\"}]",`+
		`"TIPOMENSAJE":"texto","datosMENSAJE":"{\"texto\":\"hola\"}","resp":"JSON","referenciaUsuario":"r1"}`)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "1", reply(t, body)["Res"], body)
	sent := srv.Sent()
	require.Len(t, sent, 1)
	assert.Equal(t, mensatek.TypeText, sent[0].Type)
	assert.Equal(t, "34600000001", sent[0].To[0].Phone)
	assert.Equal(t, "Ana", sent[0].To[0].Name)
	assert.Equal(t, map[string]any{"texto": "hola"}, sent[0].Data)

	// Two spellings of one name are one field given twice: refused, nothing spent.
	status, body = call(t, srv, "EnviarWHATSAPP", jsonType, `{"Destinatarios":"[{\"Telefono\":\"34600000001\"}]",`+
		`"Tipomensaje":"TEXTO","Datosmensaje":"{\"Texto\":\"a\",\"texto\":\"b\"}","Resp":"JSON"}`)
	assert.Equal(t, http.StatusOK, status)
	r := reply(t, body)
	assert.Equal(t, "-3", r["Res"])
	assert.Contains(t, r["Error"], "Texto and texto")
	assert.Len(t, srv.Sent(), 1)
}

// The fake accepts exactly the phones the client accepts (mensatek.NormalizePhone), in the
// international digits the client sends: Niue's 7-digit numbers are valid, a 12345678 that
// no country has is not.
func TestFakeAcceptsThePhonesTheClientAccepts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newServer(t)
	c := srv.Client()

	res, err := c.SendText(ctx, "+683 7290", "hola")
	require.NoError(t, err)
	assert.Equal(t, 1, res.Sent)
	sent := srv.Sent()
	require.Len(t, sent, 1)
	assert.Equal(t, "6837290", sent[0].To[0].Phone)
	assert.Empty(t, sent[0].Rejected)
	_, err = c.SendTyping(ctx, res.MessageID, "6837290")
	require.NoError(t, err)
	srv.AddMediaFile(res.MessageID, "6837290", "foto.jpg", "image/jpeg", []byte("jpeg"))
	_, err = c.DownloadMedia(ctx, res.MessageID, "+683 7290")
	require.NoError(t, err)

	// Straight to the wire: the fake's answer for each phone is the client's.
	for _, phone := range []string{"6837290", "34600000001", "12345678", "12345", "3460000000000000", "+34600000001", "34 600 000 001"} {
		_, clientErr := mensatek.NormalizePhone(phone)
		wire := clientErr == nil && strings.Trim(phone, "0123456789") == ""
		status, body := call(t, srv, "EnviarWHATSAPP", jsonType,
			fmt.Sprintf(`{"Destinatarios":[{"Telefono":%q}],"Tipomensaje":"TEXTO","Datosmensaje":{"Texto":"hola"},"Resp":"JSON"}`, phone))
		assert.Equal(t, http.StatusOK, status)
		if wire {
			assert.Equal(t, "1", reply(t, body)["Res"], phone)
		} else {
			assert.Contains(t, reply(t, body)["Error"], "no valid recipients", phone)
		}
	}
}

// No test of the fake sends on http.DefaultClient or http.DefaultTransport: a parallel test's
// httptest.Server.Close closes that transport's idle connections, and a request that had just
// taken one fails ("CloseIdleConnections called"). They use ownConnections, as DeliverWebhook
// does by default.
func TestTestsUseConnectionsOfTheirOwn(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*_test.go")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "http" && (sel.Sel.Name == "DefaultClient" || sel.Sel.Name == "DefaultTransport") {
					t.Errorf("%s uses http.%s", fset.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
	}
}
