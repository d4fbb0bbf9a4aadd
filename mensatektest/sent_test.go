package mensatektest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

func TestSentMessageAccessors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := mensatektest.Start(t)
	c := srv.Client()

	_, err := c.SendTemplate(ctx, "customer_welcome", welcomeRecipient("34600000001"),
		mensatek.Recipient{Phone: "+34 600 000 002", Name: "Luis", Vars: map[string]string{
			"Variable_Cabecera_image": "https://example.com/b2.jpg", "Valor-URL-Boton-0": "https://example.com/offer/2"}})
	require.NoError(t, err)
	_, err = c.SendText(ctx, "34600000001", "hola")
	require.NoError(t, err)
	_, err = c.Send(ctx, mensatek.SendRequest{To: []mensatek.Recipient{{Phone: "34600000001"}},
		Message: mensatek.Image{URL: "https://example.com/a.jpg", Caption: "foto"}})
	require.NoError(t, err)
	_, err = c.Send(ctx, mensatek.SendRequest{To: []mensatek.Recipient{{Phone: "34600000001"}},
		Message: mensatek.Document{URL: "https://example.com/f.pdf", Filename: "f.pdf", Caption: "factura"}})
	require.NoError(t, err)
	_, err = c.Send(ctx, mensatek.SendRequest{To: []mensatek.Recipient{{Phone: "34600000001", ReplyTo: 77}},
		Message: mensatek.Reaction{Emoji: "👍"}})
	require.NoError(t, err)

	sent := srv.Sent()
	require.Len(t, sent, 5)
	tmpl, text, img, doc, reaction := sent[0], sent[1], sent[2], sent[3], sent[4]

	assert.Equal(t, "customer_welcome", tmpl.Template())
	assert.Equal(t, []string{"34600000001", "34600000002"}, tmpl.Phones())
	assert.Equal(t, "Ana", tmpl.Var(0, "Nombre"), "Nombre is the recipient's own field")
	assert.Equal(t, "Ana", tmpl.Var(0, "NOMBRE"), "names ignore case, as the API's")
	assert.Equal(t, "ana@example.com", tmpl.Var(0, "email"))
	assert.Equal(t, "34600000001", tmpl.Var(0, "Telefono"))
	assert.Equal(t, "https://example.com/offer/1", tmpl.Var(0, "valor-url-boton-0"))
	assert.Equal(t, "https://example.com/b2.jpg", tmpl.VarFor("34600000002", "variable_cabecera_image"))
	assert.Equal(t, "Luis", tmpl.VarFor("+34 600-000-002", "Nombre"), "phones match by their digits")
	assert.Equal(t, "", tmpl.Var(5, "Nombre"), "out of range is empty, not a panic")
	assert.Equal(t, "", tmpl.Var(-1, "Nombre"))
	assert.Equal(t, "", tmpl.VarFor("34699999999", "Nombre"))
	assert.Equal(t, "", tmpl.VarFor("", "Nombre"))
	_, ok := tmpl.LookupVar(0, "Pedido")
	assert.False(t, ok)
	_, ok = tmpl.LookupVar(0, "idMensajeRespondido")
	assert.False(t, ok)
	v, ok := tmpl.LookupVar(1, "Valor-URL-Boton-0")
	assert.True(t, ok)
	assert.Equal(t, "https://example.com/offer/2", v)
	r, ok := tmpl.Recipient("34 600 000 002")
	require.True(t, ok)
	assert.Equal(t, "Luis", r.Name)
	_, ok = tmpl.Recipient("34600000003")
	assert.False(t, ok)
	assert.Equal(t, "", tmpl.Text())
	assert.Equal(t, "", tmpl.MediaURL())

	assert.Equal(t, "hola", text.Text())
	assert.Equal(t, "", text.Template(), "only a template send names a template")
	assert.Equal(t, "", text.Caption(), "a text has no caption")

	assert.Equal(t, "https://example.com/a.jpg", img.MediaURL())
	assert.Equal(t, "foto", img.Caption())
	assert.Equal(t, "", img.Filename())
	assert.Equal(t, "https://example.com/f.pdf", doc.MediaURL())
	assert.Equal(t, "factura", doc.Caption())
	assert.Equal(t, "f.pdf", doc.Filename())

	assert.Equal(t, "👍", reaction.Emoji())
	assert.Equal(t, "77", reaction.Var(0, "IDMENSAJERESPONDIDO"))
	assert.Equal(t, "", text.Emoji())
}

func TestSentMessageFieldIgnoresCase(t *testing.T) {
	t.Parallel()
	srv := mensatektest.Start(t)
	// A raw request, with names in other cases than the SDK writes.
	status, body := call(t, srv, "EnviarWHATSAPP", jsonType, `{"Destinatarios":[{"telefono":"34600000001","PEDIDO":"A-1"}],`+
		`"Tipomensaje":"plantilla","Datosmensaje":{"plantilla":"customer_welcome_raw","LATITUD":40.5,"extra":[1,"x"]},"Resp":"JSON"}`)
	require.Equal(t, 200, status)
	assert.Contains(t, body, `"Res":"-3"`, "that template does not exist")
	srv.AddTemplate(mensatek.TemplateDetails{TemplateInfo: mensatek.TemplateInfo{Name: "customer_welcome_raw"}})
	_, body = call(t, srv, "EnviarWHATSAPP", jsonType, `{"Destinatarios":[{"telefono":"34600000001","PEDIDO":"A-1"}],`+
		`"Tipomensaje":"plantilla","Datosmensaje":{"plantilla":"customer_welcome_raw","LATITUD":40.5,"extra":[1,"x"]},"Resp":"JSON"}`)
	require.Contains(t, body, `"Res":"1"`)
	m := srv.Sent()[0]
	assert.Equal(t, "customer_welcome_raw", m.Template())
	assert.Equal(t, "A-1", m.Var(0, "pedido"))
	lat, ok := m.Field("Latitud")
	assert.True(t, ok)
	assert.Equal(t, 40.5, lat)
	extra, ok := m.Field("EXTRA")
	assert.True(t, ok)
	assert.Equal(t, []any{1.0, "x"}, extra)
	_, ok = m.Field("Texto")
	assert.False(t, ok)
}

func TestSentMessageZeroValue(t *testing.T) {
	t.Parallel()
	var m mensatektest.SentMessage
	assert.Equal(t, "", m.Template())
	assert.Equal(t, "", m.Text())
	assert.Equal(t, "", m.Var(0, "Nombre"))
	assert.Empty(t, m.Phones())
	_, ok := m.Recipient("34600000001")
	assert.False(t, ok)
	_, ok = m.Field("Texto")
	assert.False(t, ok)
}
