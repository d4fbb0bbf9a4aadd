// Command send-text sends one WhatsApp text message.
//
//	MENSATEK_API_USER=... MENSATEK_API_TOKEN=... go run ./examples/send-text -to 34600000000 -text "Hola"
//
// With the variables `mensatek fake` prints (MENSATEK_BASE_URL included), it sends to the fake.
//
// A text can only be sent within 24 hours of the customer's last message; outside that window
// send a template (see examples/templates).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/mensatek-go/mensatek"
)

func main() {
	to := flag.String("to", "", "recipient's phone with its country prefix, like 34600000000")
	text := flag.String("text", "", "the message")
	flag.Parse()
	if *to == "" || *text == "" {
		fmt.Fprintln(os.Stderr, "usage: send-text -to PHONE -text MESSAGE  (with MENSATEK_API_USER and MENSATEK_API_TOKEN set)")
		os.Exit(2)
	}

	client, err := mensatek.NewClientFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err, "(go run ./examples/quickstart works without them)")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	res, err := client.SendText(ctx, *to, *text)
	var verr *mensatek.ValidationError
	switch {
	case err == nil:
		fmt.Printf("sent: message %d, %d sent, %d not sent, %.2f credits left\n", res.MessageID, res.Sent, res.NotSent, res.Credits)
	case errors.As(err, &verr):
		fmt.Fprintln(os.Stderr, "nothing sent, fix the request:", err)
		os.Exit(3)
	case errors.Is(err, mensatek.ErrNotSent):
		fmt.Fprintln(os.Stderr, "nothing reached the API; safe to try again:", err)
		os.Exit(5)
	case errors.Is(err, mensatek.ErrOutcomeUnknown):
		fmt.Fprintln(os.Stderr, "the message may have been sent; check the delivery reports before sending again:", err)
		os.Exit(5)
	default:
		fmt.Fprintln(os.Stderr, "not sent:", err)
		os.Exit(4)
	}
}
