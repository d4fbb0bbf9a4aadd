package redisstore_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/redisstore"
)

// Every replica gives its webhook handler the same Redis.
func ExampleNewDedupStore() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"}) // or redis.NewClusterClient
	store := redisstore.NewDedupStore(rdb, redisstore.WithRetention(48*time.Hour))
	handler := mensatek.NewWebhookHandler(func(ctx context.Context, ev *mensatek.Event) error {
		log.Printf("report %d: status %d", ev.MessageID, ev.Status)
		return nil
	}, mensatek.WithWebhookBasicAuth(os.Getenv("WEBHOOK_USER"), os.Getenv("WEBHOOK_PASSWORD")),
		mensatek.WithWebhookDeduplication(store), mensatek.WithWebhookLease(time.Minute))
	http.Handle("/mensatek", handler)
}

// Replicas that send with the same credentials share one limit.
func ExampleNewRateLimiter() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	limiter := redisstore.NewRateLimiter(rdb, "mensatek:rate:my-api-user", 20, 5)
	client, err := mensatek.NewClient("my-api-user", "my-api-token", mensatek.WithLimiter(limiter))
	if err != nil {
		log.Fatal(err)
	}
	_, _ = client.SendText(context.Background(), "34600000001", "hola") // waits for its turn
}

// Every replica's webhook records opt-outs and messages in the same Redis, and every replica's
// client checks its recipients against it.
func ExampleNewContactStore() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"}) // or redis.NewClusterClient
	contacts := redisstore.NewContactStore(rdb)
	handler := mensatek.NewWebhookHandler(func(ctx context.Context, ev *mensatek.Event) error {
		return nil
	}, mensatek.WithWebhookBasicAuth(os.Getenv("WEBHOOK_USER"), os.Getenv("WEBHOOK_PASSWORD")),
		mensatek.WithWebhookContacts(contacts), mensatek.WithWebhookDeduplication(redisstore.NewDedupStore(rdb)))
	http.Handle("/mensatek", handler)

	client, err := mensatek.NewClient("my-api-user", "my-api-token", mensatek.WithContacts(contacts))
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.SendTemplate(context.Background(), "spring_sale", mensatek.Recipient{Phone: "34600000001"})
	if errors.Is(err, mensatek.ErrOptedOut) {
		log.Print("not sent: the customer opted out")
	}
}

// A go-redis client configured so that commands abandoned at a caller's deadline end with it
// (the stores return at the deadline either way).
func Example_clientOptions() {
	rdb := redis.NewClient(&redis.Options{
		Addr:                  "redis:6379",
		ContextTimeoutEnabled: true,        // reads and writes end at the caller's deadline
		ReadTimeout:           time.Second, // bounds calls whose ctx has no deadline
		WriteTimeout:          time.Second,
		DialTimeout:           2 * time.Second,
		PoolTimeout:           2 * time.Second, // waiting for a free connection
	})
	limiter := redisstore.NewRateLimiter(rdb, "mensatek:rate:my-api-user", 20, 5)
	_, _ = mensatek.NewClient("my-api-user", "my-api-token", mensatek.WithLimiter(limiter))
}
