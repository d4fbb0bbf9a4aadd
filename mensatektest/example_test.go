package mensatektest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// A test reads what was sent with the accessors, which ignore case in names as the API does.
// In a test, mensatektest.Start(t) starts the server and closes it when the test ends.
func ExampleSentMessage() {
	srv := mensatektest.NewServer()
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()

	_, err := client.SendTemplate(ctx, "customer_welcome", mensatek.Recipient{
		Phone: "34600000001",
		Name:  "Ana",
		Vars: map[string]string{
			"Variable_Cabecera_image": "https://example.com/banner.jpg",
			"Valor-URL-Boton-0":       "https://example.com/offer/1",
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = client.Send(ctx, mensatek.SendRequest{
		To:      []mensatek.Recipient{{Phone: "34600000001"}},
		Message: mensatek.Image{URL: "https://example.com/a.jpg", Caption: "Your order"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	sent := srv.Sent()
	welcome, image := sent[0], sent[1]
	fmt.Println(welcome.Template(), welcome.Phones())
	fmt.Println(welcome.VarFor("+34 600 000 001", "nombre"), welcome.Var(0, "valor-url-boton-0"))
	fmt.Println(image.Type, image.MediaURL(), image.Caption())
	// Output:
	// customer_welcome [34600000001]
	// Ana https://example.com/offer/1
	// IMAGEN https://example.com/a.jpg Your order
}

// A completed WhatsApp Flow arrives with its answers in response_json, a string holding JSON;
// the SDK hands them over as JSON to decode into your own type.
func ExampleInboundFlowReply() {
	handler := mensatek.NewWebhookHandler(func(_ context.Context, ev *mensatek.Event) error {
		if ev.Message == nil || ev.Message.Flow == nil {
			return nil
		}
		var booking struct {
			Date   string `json:"date"`
			People int    `json:"people"`
		}
		if err := json.Unmarshal(ev.Message.Flow.ResponseJSON, &booking); err != nil {
			return err
		}
		fmt.Println(ev.Phone, booking.Date, booking.People)
		return nil
	}, mensatek.WithoutWebhookAuth()) // a test; in production WithWebhookBasicAuth
	hooks := httptest.NewServer(handler)
	defer hooks.Close()

	status, err := mensatektest.DeliverWebhook(context.Background(), hooks.URL,
		mensatektest.InboundFlowReply(10573758, "34600000001", map[string]any{"date": "2026-07-01", "people": 2}))
	fmt.Println(status, err)
	// Output:
	// 34600000001 2026-07-01 2
	// 200 <nil>
}
