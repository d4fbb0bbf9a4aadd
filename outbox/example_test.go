package outbox_test

import (
	"context"
	"log"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/outbox"
)

// A worker process: River's client with the outbox worker registered. (Compiled, not run: it
// needs a database; outbox/example runs the whole loop.)
func ExampleNewWorker() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://localhost/app")
	if err != nil {
		log.Fatal(err)
	}
	client, err := mensatek.NewClientFromEnv(mensatek.WithRateLimit(10, 10))
	if err != nil {
		log.Fatal(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, outbox.NewWorker(client))
	riverClient, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}},
		Workers: workers,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := riverClient.Start(ctx); err != nil {
		log.Fatal(err)
	}
}

// A request handler queues the message in the transaction that makes the change it is about.
func ExampleSendArgs() {
	var (
		ctx         = context.Background()
		tx          pgx.Tx                // the handler's transaction
		riverClient *river.Client[pgx.Tx] // an insert-only client is enough: river.NewClient without Workers
	)
	res, err := riverClient.InsertTx(ctx, tx, outbox.SendArgs{Request: mensatek.SendRequest{
		To:        []mensatek.Recipient{{Phone: "34600000001", Vars: map[string]string{"1": "42"}}},
		Message:   mensatek.Template{Name: "order_shipped"},
		Reference: "order-42-shipped",
	}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	if res.UniqueSkippedAsDuplicate {
		log.Print("already queued (or sent) for this order")
	}
}

// The webhook settles jobs whose outcome was unknown when their delivery report arrives.
func ExampleSettleFromReport() {
	var riverClient *river.Client[pgx.Tx]
	handler := mensatek.NewWebhookHandler(func(ctx context.Context, ev *mensatek.Event) error {
		_, err := outbox.SettleFromReport(ctx, riverClient, ev)
		return err
	}, mensatek.WithWebhookBasicAuth("hook", "s3cret"))
	http.Handle("/mensatek", handler)
}
