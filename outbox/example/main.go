// Command example shows the outbox's whole loop against the in-process fake API: a request
// handler's transaction inserts an order and its WhatsApp message together, a River worker
// sends the message once the transaction commits, and stores the result in the application's
// own table in the job's completing transaction.
//
//	go run ./outbox/example -db postgres://localhost/mydb
//
// It needs a PostgreSQL database it may create tables in (River's, and "orders"). In
// production the worker runs in its own processes, as many as you like, and the handler in
// yours; here both run in one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
	"github.com/mensatek-go/mensatek/outbox"
)

func main() {
	db := flag.String("db", os.Getenv("DATABASE_URL"), "PostgreSQL URL (default $DATABASE_URL)")
	flag.Parse()
	if *db == "" {
		fmt.Fprintln(os.Stderr, "example: give a PostgreSQL URL with -db or DATABASE_URL")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *db, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dbURL string, w io.Writer) error {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	// River's tables: once per database, usually a deploy step (the river CLI or rivermigrate).
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS orders (
		id bigserial PRIMARY KEY, phone text NOT NULL, message_id bigint)`); err != nil {
		return err
	}

	// The fake API stands in for Mensatek; use mensatek.NewClient with your credentials instead.
	fake := mensatektest.NewServer()
	defer fake.Close()
	client := fake.Client()

	// The worker process: it sends each job once, and stores the result with the order.
	workers := river.NewWorkers()
	river.AddWorker(workers, outbox.NewWorker(client, outbox.WithOnSent(storeMessageID)))
	riverClient, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}},
		Workers: workers,
	})
	if err != nil {
		return err
	}
	done, cancel := riverClient.Subscribe(river.EventKindJobCompleted, river.EventKindJobCancelled, river.EventKindJobFailed)
	defer cancel()
	if err := riverClient.Start(ctx); err != nil {
		return err
	}
	defer riverClient.Stop(context.WithoutCancel(ctx))

	// The request handler: the order and its message commit together, or neither does.
	orderID, err := placeOrder(ctx, pool, riverClient, "34600000001")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "order %d placed; its message is queued\n", orderID)

	select {
	case ev := <-done:
		out, ok := outbox.OutputOf(ev.Job)
		if !ok || out.Outcome != outbox.OutcomeSent {
			return fmt.Errorf("job %d ended %s: %+v", ev.Job.ID, ev.Job.State, out)
		}
		var stored int64
		if err := pool.QueryRow(ctx, `SELECT message_id FROM orders WHERE id = $1`, orderID).Scan(&stored); err != nil {
			return err
		}
		fmt.Fprintf(w, "sent: reference %s, idMensaje %d (stored with the order: %d)\n", out.Reference, out.MessageID, stored)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(30 * time.Second):
		return errors.New("the message was not sent within 30 s")
	}
}

// placeOrder inserts an order and the message that confirms it, in one transaction.
func placeOrder(ctx context.Context, pool *pgxpool.Pool, riverClient *river.Client[pgx.Tx], phone string) (int64, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)

	var orderID int64
	if err := tx.QueryRow(ctx, `INSERT INTO orders (phone) VALUES ($1) RETURNING id`, phone).Scan(&orderID); err != nil {
		return 0, err
	}
	_, err = riverClient.InsertTx(ctx, tx, outbox.SendArgs{Request: mensatek.SendRequest{
		To:        []mensatek.Recipient{{Phone: phone}},
		Message:   mensatek.Text{Body: fmt.Sprintf("Your order %d is confirmed.", orderID)},
		Reference: fmt.Sprintf("order-%d", orderID), // one message per order, however often this runs
		Report:    true,                             // delivery reports carry the reference back
	}}, nil)
	if err != nil {
		return 0, err
	}
	return orderID, tx.Commit(ctx)
}

// storeMessageID keeps the idMensaje with the order, in the job's completing transaction.
func storeMessageID(ctx context.Context, tx pgx.Tx, job *river.Job[outbox.SendArgs], out *outbox.Output) error {
	_, err := tx.Exec(ctx, `UPDATE orders SET message_id = $1 WHERE 'order-' || id = $2`, out.MessageID, out.Reference)
	return err
}
