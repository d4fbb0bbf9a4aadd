package mensatek_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// The testing guide's httpmock recipe, as a user writes it: a checked send calls three functions of
// the API, and mensatektest gives the reply body of each.
func TestWelcomeWithHTTPMock(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport() // its own transport: safe in parallel tests
	api := mensatek.DefaultBaseURL
	welcome := mensatektest.ReferenceTemplates()[0] // customer_welcome; or a mensatek.TemplateDetails of your own
	mt.RegisterResponder("POST", api+"GetPlantillasWhatsapp",
		httpmock.NewStringResponder(200, mensatektest.TemplatesReply(welcome)))
	mt.RegisterResponder("POST", api+"GetVariablesPlantillaWhatsapp",
		httpmock.NewStringResponder(200, mensatektest.TemplateVariablesReply(welcome)))
	mt.RegisterResponder("POST", api+"EnviarWHATSAPP",
		httpmock.NewStringResponder(200, mensatektest.SendReply(mensatek.SendResult{MessageID: 7, Sent: 1, Credits: 99})))

	client, err := mensatek.NewClient("user", "token", mensatek.WithHTTPClient(&http.Client{Transport: mt}))
	require.NoError(t, err)
	res, err := client.SendTemplateChecked(context.Background(), "customer_welcome", mensatek.Recipient{
		Phone: "34600000001", Name: "Ana", Vars: map[string]string{
			"Variable_Cabecera_image": "https://cdn.example.com/banner.jpg",
			"Valor-URL-Boton-0":       "https://shop.example.com/offer/A-17",
		}})
	require.NoError(t, err)
	require.Equal(t, int64(7), res.MessageID)
	require.Equal(t, 1, mt.GetCallCountInfo()["POST "+api+"EnviarWHATSAPP"])
}

// The testing guide's httpmock section is code from this file, line for line.
func TestReadmeHTTPMockSectionIsInThisFile(t *testing.T) {
	readmeSectionIsIn(t, "docs/testing.md", "## httpmock", "example_httpmock_test.go")
}
