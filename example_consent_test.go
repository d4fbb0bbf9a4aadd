package mensatek_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// A customer writes "Baja." to your webhook; from then on no send reaches them, until they write
// "ALTA". One store is shared by the webhook handler and the client (in production a
// redisstore or pgstore ContactStore, shared by every replica).
func ExampleWithWebhookContacts() {
	ctx := context.Background()
	api := mensatektest.NewServer() // the fake API
	defer api.Close()
	contacts := mensatek.NewMemoryContactStore()

	webhook := httptest.NewServer(mensatek.NewWebhookHandler(func(ctx context.Context, ev *mensatek.Event) error {
		if ev.Consent == mensatek.ConsentOptedOut {
			fmt.Println("opted out:", ev.Phone) // send the confirmation WhatsApp expects here
		}
		return nil
	}, mensatek.WithWebhookBasicAuth("hook", "s3cret"), // the credentials set in the panel: nobody else can change consent
		mensatek.WithWebhookContacts(contacts)))
	defer webhook.Close()
	client := api.Client(mensatek.WithContacts(contacts, mensatek.AllowRepliesToOptedOut()))

	if _, err := mensatektest.DeliverWebhook(ctx, webhook.URL, mensatektest.InboundText(1, "34600000001", "Baja."),
		mensatektest.WithBasicAuth("hook", "s3cret")); err != nil {
		fmt.Println(err)
		return
	}
	_, err := client.SendTemplate(ctx, "customer_welcome", mensatek.Recipient{Phone: "34600000001"})
	fmt.Println(errors.Is(err, mensatek.ErrOptedOut), len(api.Sent()))

	// The customer just wrote, so a reply (not a template) may confirm the opt-out.
	_, err = client.SendText(ctx, "34600000001", "Te hemos dado de baja. Escribe ALTA para volver.")
	fmt.Println(err, len(api.Sent()))
	// Output:
	// opted out: 34600000001
	// true 0
	// <nil> 1
}
