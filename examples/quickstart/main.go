// Command quickstart walks through the main job of the SDK: list the templates, read a
// template's variables, check a campaign locally, send the template, send a text, show the
// credits left, receive a customer's reply through the webhook handler, and honour a customer's
// opt-out ("BAJA").
//
//	go run ./examples/quickstart
//
// Without MENSATEK_API_USER and MENSATEK_API_TOKEN it runs against the in-process fake
// (package mensatektest): no network, no credentials, no credits. With both set it runs the same
// code against the real API, and sends only to the phone given with -to:
//
//	MENSATEK_API_USER=... MENSATEK_API_TOKEN=... go run ./examples/quickstart -to 34600000000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

func main() {
	to := flag.String("to", "", "phone to send to, with its country prefix (required to send through the real API)")
	template := flag.String("template", "customer_welcome", "name of an approved template to send")
	flag.Parse()
	if err := run(*to, *template); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(to, templateName string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var client *mensatek.Client
	var fake *mensatektest.Server
	user, token := os.Getenv("MENSATEK_API_USER"), os.Getenv("MENSATEK_API_TOKEN")
	if user != "" && token != "" {
		c, err := mensatek.NewClient(user, token)
		if err != nil {
			return err
		}
		client = c
		fmt.Println("Using the real Mensatek API.")
	} else {
		fake = mensatektest.NewServer()
		defer fake.Close()
		client = fake.Client()
		fmt.Println("No MENSATEK_API_USER/MENSATEK_API_TOKEN: using the in-process fake (nothing leaves this machine).")
		if to == "" {
			to = "+34 600 000 001"
		}
	}
	if to != "" {
		phone, err := mensatek.NormalizePhone(to)
		if err != nil {
			return fmt.Errorf("-to: %w", err)
		}
		to = phone
	}

	step(1, "List the templates")
	templates, err := client.Templates(ctx)
	if err != nil {
		return err
	}
	for _, t := range templates {
		fmt.Printf("  %-16s %-22s %-3s %-10s %-9s approved=%v\n", t.ID, t.Name, t.Language, t.Category, t.Status, t.Verified)
	}

	step(2, "Read the variables of "+templateName)
	details, err := client.TemplateByName(ctx, templateName)
	if err != nil {
		return err
	}
	for _, v := range details.Variables {
		fmt.Printf("  %d. %-14s field %-24s %-8s %-10s e.g. %s\n", v.Index, v.Name, v.Field, v.Location, v.Format, v.Example)
	}

	step(3, "Check a campaign locally, before it costs anything")
	good := recipientFor(details, to)
	bad := recipientFor(details, "12345") // a typo in the phone
	if n := len(details.Variables); n > 1 {
		delete(bad.Vars, details.Variables[n-1].Field) // and a variable left empty
	}
	campaign := []mensatek.Recipient{good, bad}
	var ready []mensatek.Recipient
	for i, r := range campaign {
		if err := details.ValidateRecipient(r); err != nil {
			fmt.Printf("  row %d rejected:\n", i+1)
			var problems mensatek.ValidationErrors
			if errors.As(err, &problems) {
				for _, p := range problems {
					fmt.Printf("    - %s: %s\n", p.Field, p.Reason)
				}
			} else {
				fmt.Printf("    - %v\n", err)
			}
			continue
		}
		fmt.Printf("  row %d ok: %s\n", i+1, r.Phone)
		ready = append(ready, r)
	}

	if fake == nil && to == "" {
		fmt.Println("\nPass -to PHONE to send through the real API; stopping before any send.")
		return nil
	}

	step(4, "Send the template to the rows that passed")
	res, err := client.SendChecked(ctx, mensatek.SendRequest{To: ready, Message: mensatek.Template{Name: templateName}, Reference: "quickstart"})
	if err != nil {
		return explain(err)
	}
	fmt.Printf("  message %d: sent %d, not sent %d, credits left %.2f\n", res.MessageID, res.Sent, res.NotSent, res.Credits)

	step(5, "Send a text (inside the 24-hour window after the customer wrote)")
	res, err = client.SendText(ctx, to, "¡Hola! Your order has shipped 📦")
	if err != nil {
		return explain(err)
	}
	fmt.Printf("  message %d: sent %d\n", res.MessageID, res.Sent)

	step(6, "Credits left, from the last reply (no extra call)")
	if credits, seen, ok := client.Credits(); ok {
		fmt.Printf("  %.2f credits as of %s\n", credits, seen.Format(time.TimeOnly))
	}

	if fake != nil {
		step(7, "A customer answers: the webhook handler receives a typed event")
		if err := receiveReply(ctx, res.MessageID+1, good.Phone); err != nil {
			return err
		}

		step(8, "The customer writes BAJA: the next campaign send to them is refused before it costs anything")
		if err := honourOptOut(ctx, fake, good); err != nil {
			return err
		}
		fmt.Printf("\nThe fake recorded %d sends. Set MENSATEK_API_USER and MENSATEK_API_TOKEN to run this against the real API.\n", len(fake.Sent()))
	}
	return nil
}

func step(n int, title string) { fmt.Printf("\n%d. %s\n", n, title) }

// recipientFor fills every variable of the template with its example value.
func recipientFor(d *mensatek.TemplateDetails, phone string) mensatek.Recipient {
	r := mensatek.Recipient{Phone: phone, Vars: map[string]string{}}
	for _, v := range d.Variables {
		switch {
		case v.Index == 1:
		case strings.EqualFold(v.Field, "Nombre"):
			r.Name = "Ana"
		default:
			value := v.Example
			if value == "" {
				value = "example"
			}
			r.Vars[v.Field] = value
		}
	}
	return r
}

// receiveReply runs the SDK's webhook handler in-process and delivers a customer's button reply
// to it, the way Mensatek would POST it.
func receiveReply(ctx context.Context, messageID int64, phone string) error {
	events := make(chan *mensatek.Event, 1)
	handler := mensatek.NewWebhookHandler(func(_ context.Context, ev *mensatek.Event) error {
		events <- ev
		return nil
	}, mensatek.WithWebhookBasicAuth("hook", "hook-secret"))
	srv := httptest.NewServer(handler)
	defer srv.Close()

	status, err := mensatektest.DeliverWebhook(ctx, srv.URL,
		mensatektest.InboundButtonReply(messageID, phone, "track-order", "Track my order"),
		mensatektest.WithBasicAuth("hook", "hook-secret"))
	if err != nil {
		return err
	}
	ev := <-events
	fmt.Printf("  %s message %d from %s (%s): %s %q, button id %q (handler answered %d)\n",
		direction(ev.Direction), ev.MessageID, ev.Phone, ev.ProfileName,
		ev.Message.Type, ev.Message.Text, ev.Message.Reply.ID, status)
	return nil
}

// honourOptOut shares one contact store between a webhook handler, which records the customer's
// "BAJA", and a client, which then refuses to send them anything.
func honourOptOut(ctx context.Context, fake *mensatektest.Server, customer mensatek.Recipient) error {
	contacts := mensatek.NewMemoryContactStore() // redisstore or pgstore with several replicas
	handler := mensatek.NewWebhookHandler(func(_ context.Context, ev *mensatek.Event) error {
		if ev.Consent == mensatek.ConsentOptedOut {
			fmt.Printf("  webhook: %s opted out (send them a confirmation)\n", ev.Phone)
		}
		return nil
	}, mensatek.WithWebhookBasicAuth("hook", "hook-secret"), // without it, anyone could post a BAJA or an ALTA
		mensatek.WithWebhookContacts(contacts))
	srv := httptest.NewServer(handler)
	defer srv.Close()
	if _, err := mensatektest.DeliverWebhook(ctx, srv.URL, mensatektest.InboundText(900, customer.Phone, "Baja."),
		mensatektest.WithBasicAuth("hook", "hook-secret")); err != nil {
		return err
	}

	client := fake.Client(mensatek.WithContacts(contacts))
	before := len(fake.Sent())
	_, err := client.SendChecked(ctx, mensatek.SendRequest{To: []mensatek.Recipient{customer}, Message: mensatek.Template{Name: "customer_welcome"}})
	if !errors.Is(err, mensatek.ErrOptedOut) {
		return fmt.Errorf("the send to a customer who opted out was not refused: %v", err)
	}
	fmt.Printf("  send refused: %v\n  requests that left: %d\n", err, len(fake.Sent())-before)
	return nil
}

func direction(d mensatek.Direction) string {
	if d == mensatek.Inbound {
		return "inbound"
	}
	return "outbound"
}

// explain adds what to do to the errors a user must act on.
func explain(err error) error {
	var verr *mensatek.ValidationError
	switch {
	case errors.As(err, &verr):
		return fmt.Errorf("fix the request: %w", err)
	case errors.Is(err, mensatek.ErrTemplateNotFound), errors.Is(err, mensatek.ErrTemplateNotApproved):
		return fmt.Errorf("check the template's name and its approval in the panel: %w", err)
	case errors.Is(err, mensatek.ErrAuthentication):
		return fmt.Errorf("check MENSATEK_API_USER and MENSATEK_API_TOKEN: %w", err)
	case errors.Is(err, mensatek.ErrOutcomeUnknown):
		return fmt.Errorf("do not resend blindly, check the delivery reports: %w", err)
	}
	return err
}
