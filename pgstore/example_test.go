package pgstore_test

import (
	"context"
	"log"
	"net/http"
	"os"

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
	}, mensatek.WithWebhookDeduplication(store))
	http.Handle("/mensatek", handler)
}
