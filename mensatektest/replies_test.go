package mensatektest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/internal/api"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// stubClient is a client whose requests go to a MockTransport of its own.
func stubClient(t *testing.T) (*mensatek.Client, *httpmock.MockTransport) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	c, err := mensatek.NewClient("user", "token", mensatek.WithHTTPClient(&http.Client{Transport: mt}))
	require.NoError(t, err)
	return c, mt
}

func stub(mt *httpmock.MockTransport, op mensatek.Operation, body string) {
	fn, _ := api.DefaultFunction(string(op))
	mt.RegisterResponder(http.MethodPost, mensatek.DefaultBaseURL+fn, httpmock.NewStringResponder(200, body))
}

// Every operation's reply body decodes, through the client, into what it was made from.
func TestReplyBodies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, mt := stubClient(t)

	stub(mt, mensatek.OpSend, mensatektest.SendReply(mensatek.SendResult{MessageID: 7, Sent: 2, NotSent: 1, Credits: 97.5}))
	res, err := c.SendText(ctx, "34600000001", "hola")
	require.NoError(t, err)
	assert.Equal(t, &mensatek.SendResult{MessageID: 7, Sent: 2, NotSent: 1, Credits: 97.5}, res)
	credits, _, ok := c.Credits()
	assert.True(t, ok)
	assert.Equal(t, 97.5, credits)

	stub(mt, mensatek.OpSend, mensatektest.SendReply(mensatek.SendResult{MessageID: 8}))
	res, err = c.SendText(ctx, "34600000001", "hola")
	require.NoError(t, err, "a result with no counts is still a success")
	assert.Equal(t, int64(8), res.MessageID)

	for _, op := range []mensatek.Operation{mensatek.OpTyping, mensatek.OpAccountStatus} {
		stub(mt, op, mensatektest.ResultReply(mensatek.Result{Credits: 50}))
	}
	r, err := c.SendTyping(ctx, 7, "34600000001")
	require.NoError(t, err)
	assert.Equal(t, &mensatek.Result{Code: 1, Credits: 50}, r)
	r, err = c.SetAccountStatus(ctx, "Open")
	require.NoError(t, err)
	assert.Equal(t, &mensatek.Result{Code: 1, Credits: 50}, r)

	refs := mensatektest.ReferenceTemplates()
	require.Len(t, refs, 2)
	stub(mt, mensatek.OpTemplates, mensatektest.TemplatesReply(refs...))
	list, err := c.Templates(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, refs[0].TemplateInfo, list[0])
	assert.Equal(t, refs[1].TemplateInfo, list[1])

	stub(mt, mensatek.OpTemplateVariables, mensatektest.TemplateVariablesReply(refs[0]))
	d, err := c.TemplateVariables(ctx, refs[0].ID)
	require.NoError(t, err)
	assert.Equal(t, &refs[0], d)

	stub(mt, mensatek.OpTemplates, mensatektest.TemplatesReply())
	list, err = c.Templates(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)

	stub(mt, mensatek.OpSend, mensatektest.ErrorReply(mensatek.CodeInsufficientCredits, "Sin créditos"))
	_, err = c.SendText(ctx, "34600000001", "hola")
	require.ErrorIs(t, err, mensatek.ErrInsufficientCredits)
	var apiErr *mensatek.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "Sin créditos", apiErr.Message)
}

// A template of your own takes the defaults AddTemplate gives it; one without an ID is listed
// under its name.
func TestTemplateRepliesOfYourOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, mt := stubClient(t)
	shipped := mensatek.TemplateDetails{
		TemplateInfo: mensatek.TemplateInfo{Name: "order_shipped"},
		Variables:    []mensatek.TemplateVariable{{Name: "Pedido", Field: "Pedido", Location: "BODY", Format: mensatek.FormatText}},
	}
	stub(mt, mensatek.OpTemplates, mensatektest.TemplatesReply(shipped))
	stub(mt, mensatek.OpTemplateVariables, mensatektest.TemplateVariablesReply(shipped))
	stub(mt, mensatek.OpSend, mensatektest.SendReply(mensatek.SendResult{MessageID: 1, Sent: 1}))

	list, err := c.Templates(ctx)
	require.NoError(t, err)
	assert.Equal(t, []mensatek.TemplateInfo{{ID: "order_shipped", Name: "order_shipped", Language: "es", Category: "UTILITY",
		Status: "APPROVED", Verified: true, ParameterFormat: "POSITIONAL"}}, list)
	d, err := c.TemplateByName(ctx, "order_shipped")
	require.NoError(t, err)
	assert.Equal(t, []mensatek.TemplateVariable{
		{Index: 1, Name: "Destinatario", Field: "Telefono", Format: "TELEFONO", Example: "34600000000"},
		{Index: 2, Name: "Pedido", Field: "Pedido", Location: "BODY", Format: "TEXTO"},
	}, d.Variables)

	_, err = c.SendTemplateChecked(ctx, "order_shipped", mensatek.Recipient{Phone: "34600000001", Vars: map[string]string{"Pedido": "A-1"}})
	require.NoError(t, err)
	_, err = c.SendTemplateChecked(ctx, "order_shipped", mensatek.Recipient{Phone: "34600000001", Vars: map[string]string{"Pedidos": "A-1"}})
	assert.ErrorContains(t, err, `did you mean "Pedido"?`)
}

// The replies are the fake's own: a server answers the same bodies.
func TestReplyBodiesMatchTheServer(t *testing.T) {
	t.Parallel()
	srv := mensatektest.Start(t)
	c, mt := stubClient(t)
	refs := mensatektest.ReferenceTemplates()
	stub(mt, mensatek.OpTemplates, mensatektest.TemplatesReply(refs...))
	stub(mt, mensatek.OpTemplateVariables, mensatektest.TemplateVariablesReply(refs[1]))
	ctx := context.Background()

	fromStub, err := c.Templates(ctx)
	require.NoError(t, err)
	fromFake, err := srv.Client().Templates(ctx)
	require.NoError(t, err)
	assert.Equal(t, fromFake, fromStub)

	d1, err := c.TemplateVariables(ctx, mensatektest.AppointmentReminderID)
	require.NoError(t, err)
	d2, err := srv.Client().TemplateVariables(ctx, mensatektest.AppointmentReminderID)
	require.NoError(t, err)
	assert.Equal(t, d2, d1)
}
