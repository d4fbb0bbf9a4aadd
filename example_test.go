package mensatek_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

func ExampleNewClient() {
	client, err := mensatek.NewClient("my-api-user", "my-api-token",
		mensatek.WithTimeout(10*time.Second),
		mensatek.WithUserAgent("my-shop/1.0"),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(client) // never shows the credentials
	// Output:
	// mensatek.Client{BaseURL: "https://api.mensatek.com/v7/", credentials: [REDACTED]}
}

func ExampleNewClientFromEnv() {
	fake := mensatektest.NewServer()
	defer fake.Close()
	// In your shell, as `mensatek fake` prints it:
	//   export MENSATEK_BASE_URL=... MENSATEK_API_USER=... MENSATEK_API_TOKEN=...
	// Without MENSATEK_BASE_URL, the client calls the API (DefaultBaseURL).
	for k, v := range map[string]string{"MENSATEK_BASE_URL": fake.URL, "MENSATEK_API_USER": fake.APIUser, "MENSATEK_API_TOKEN": fake.APIToken} {
		os.Setenv(k, v)
		defer os.Unsetenv(k)
	}

	client, err := mensatek.NewClientFromEnv(mensatek.WithTimeout(10 * time.Second))
	if err != nil {
		log.Fatal(err) // names the variable that is missing
	}
	res, err := client.SendText(context.Background(), "34600000001", "hola")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent", res.Sent, "through the fake:", client.BaseURL() == fake.URL)

	os.Unsetenv("MENSATEK_API_TOKEN")
	_, err = mensatek.NewClientFromEnv()
	fmt.Println(err)
	// Output:
	// sent 1 through the fake: true
	// mensatek: NewClientFromEnv: no credentials: MENSATEK_API_TOKEN is not set
}

func ExampleClient_SendText() {
	fake := mensatektest.NewServer() // in your code: mensatek.NewClient(user, token)
	defer fake.Close()
	client := fake.Client()

	res, err := client.SendText(context.Background(), "+34 600 000 001", "¡Hola! 😃")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("message %d sent to %d recipient(s)\n", res.MessageID, res.Sent)

	_, err = client.SendText(context.Background(), "600", "too short a phone")
	var verr *mensatek.ValidationError
	fmt.Println(errors.As(err, &verr), verr.Field)
	// Output:
	// message 1 sent to 1 recipient(s)
	// true To[0].Phone
}

func ExampleClient_SendTemplate() {
	fake := mensatektest.NewServer()
	defer fake.Close()
	client := fake.Client()

	res, err := client.SendTemplate(context.Background(), "customer_welcome", mensatek.Recipient{
		Phone: "34600000001",
		Name:  "Pedro", // the template's variable "Nombre"
		Vars: map[string]string{
			"Variable_Cabecera_image": "https://example.com/banner.jpg",
			"Valor-URL-Boton-0":       "https://example.com/offer/REF123",
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent", res.Sent)
	// Output:
	// sent 1
}

func ExampleClient_SendTemplateChecked() {
	fake := mensatektest.NewServer()
	defer fake.Close()
	client := fake.Client()

	// The recipient lacks the header image: nothing is sent, nothing is spent.
	_, err := client.SendTemplateChecked(context.Background(), "customer_welcome", mensatek.Recipient{
		Phone: "34600000001",
		Name:  "Pedro",
		Vars:  map[string]string{"Valor-URL-Boton-0": "https://example.com/offer/REF123"},
	})
	var problems mensatek.ValidationErrors
	if errors.As(err, &problems) {
		for _, p := range problems {
			fmt.Println(p.Field)
		}
	}
	fmt.Println(len(fake.Sent()), "sent")

	// A template Meta has not approved yet is refused too, before the send.
	_, err = client.SendTemplateChecked(context.Background(), "appointment_reminder", mensatek.Recipient{Phone: "34600000001"})
	fmt.Println(errors.Is(err, mensatek.ErrTemplateNotApproved))
	// Output:
	// To[0].Vars[Variable_Cabecera_image]
	// 0 sent
	// true
}

func ExampleClient_Templates() {
	fake := mensatektest.NewServer()
	defer fake.Close()
	client := fake.Client()

	templates, err := client.Templates(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range templates {
		fmt.Println(t.ID, t.Name, t.Status, t.Verified)
	}
	// Output:
	// 572863982585983 customer_welcome APPROVED true
	// 572863982585984 appointment_reminder PENDING false
}

func ExampleClient_Send() {
	fake := mensatektest.NewServer()
	defer fake.Close()
	client := fake.Client()

	res, err := client.Send(context.Background(), mensatek.SendRequest{
		To: []mensatek.Recipient{{Phone: "34600000001"}},
		Message: mensatek.ReplyButtons{
			Body: "Did your order arrive?",
			Buttons: []mensatek.ReplyButton{
				{ID: "yes", Title: "Yes"},
				{ID: "no", Title: "Not yet"},
			},
		},
		ScheduleAt: time.Date(2030, 7, 1, 10, 0, 0, 0, time.UTC), // sent as Madrid time
		Reference:  "order-1234",
		Report:     true,
	})
	if err != nil {
		log.Fatal(err)
	}
	sent := fake.Sent()[0]
	fmt.Println(res.MessageID, sent.Type, sent.ScheduledAt, sent.Reference)
	// Output:
	// 1 BOTONESRESPUESTA 2030-07-01 12:00 order-1234
}

func ExampleParseWebhook() {
	hook := mensatektest.InboundText(10573758, "34600000001", "Hi, where is my order?")
	body, _ := hook.JSON()
	ev, err := mensatek.ParseWebhookBody("application/json", body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.Direction, ev.MessageID, ev.Phone, ev.Message.Type, ev.Message.Text)
	// Output:
	// INPUT 10573758 34600000001 text Hi, where is my order?
}

// Which failures may be retried as they are: ErrNotSent says nothing reached the API;
// ErrOutcomeUnknown says a send may have happened. An error never matches both.
func ExampleErrNotSent() {
	fake := mensatektest.NewServer()
	defer fake.Close()
	client := fake.Client()
	ctx := context.Background()

	classify := func(err error) string {
		switch {
		case err == nil:
			return "sent"
		case errors.Is(err, mensatek.ErrNotSent):
			return "not sent: safe to retry once the cause is fixed"
		case errors.Is(err, mensatek.ErrOutcomeUnknown):
			return "maybe sent: check the delivery reports before sending again"
		default:
			return "refused by the API: " + err.Error()
		}
	}

	_, err := client.SendText(ctx, "600", "a phone too short") // a *ValidationError
	fmt.Println(classify(err))

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = client.SendText(cancelled, "34600000001", "hola")
	fmt.Println(classify(err))

	fake.DropNext(mensatek.OpSend) // the server reads the request, then hangs up
	_, err = client.SendText(ctx, "34600000001", "hola")
	fmt.Println(classify(err))

	fake.FailNext(mensatek.OpSend, mensatek.CodeInsufficientCredits, "Sin créditos")
	_, err = client.SendText(ctx, "34600000001", "hola")
	fmt.Println(classify(err))
	// Output:
	// not sent: safe to retry once the cause is fixed
	// not sent: safe to retry once the cause is fixed
	// maybe sent: check the delivery reports before sending again
	// refused by the API: mensatek: send: API error -2 (not enough credits): Sin créditos
}
