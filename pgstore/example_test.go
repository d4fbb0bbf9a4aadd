package pgstore_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/pgstore"
)

// Every replica gives its webhook handler the same database.
func ExampleNewDedupStore() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	store, err := pgstore.NewDedupStore(ctx, pool, pgstore.WithTable("mensatek_dedup"))
	if err != nil {
		log.Fatal(err) // the table could not be created: wrong credentials, no database
	}
	handler := mensatek.NewWebhookHandler(func(ctx context.Context, ev *mensatek.Event) error {
		log.Printf("report %d: status %d", ev.MessageID, ev.Status)
		return nil
	}, mensatek.WithWebhookBasicAuth(os.Getenv("WEBHOOK_USER"), os.Getenv("WEBHOOK_PASSWORD")),
		mensatek.WithWebhookDeduplication(store))
	http.Handle("/mensatek", handler)
}

// Every replica's webhook records opt-outs and messages in the same database, and every
// replica's client checks its recipients against it.
func ExampleNewContactStore() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	contacts, err := pgstore.NewContactStore(ctx, pool) // table mensatek_contacts; pgstore.WithTable("crm.contacts")
	if err != nil {
		log.Fatal(err) // the table could not be created: wrong credentials, no database
	}
	handler := mensatek.NewWebhookHandler(func(ctx context.Context, ev *mensatek.Event) error {
		return nil
	}, mensatek.WithWebhookBasicAuth(os.Getenv("WEBHOOK_USER"), os.Getenv("WEBHOOK_PASSWORD")),
		mensatek.WithWebhookContacts(contacts))
	http.Handle("/mensatek", handler)

	// An opt-out made on the website, recorded for every replica.
	if err := contacts.SetOptOut(ctx, "34600000001", true, time.Now(), "web-form"); err != nil {
		log.Fatal(err)
	}
	client, err := mensatek.NewClient("my-api-user", "my-api-token", mensatek.WithContacts(contacts))
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.SendTemplate(ctx, "spring_sale", mensatek.Recipient{Phone: "34600000001"})
	if errors.Is(err, mensatek.ErrOptedOut) {
		log.Print("not sent: the customer opted out")
	}
}
