// Command webhook-server receives Mensatek delivery reports and incoming WhatsApp messages and
// logs each as one line.
//
//	go run ./examples/webhook-server -addr :8080 -user hook -password s3cret
//
// Configure the panel (Your Data → API configuration) to POST reports to http(s)://your-host:8080/
// with the same Basic credentials. The address and credentials can also come from the
// environment: WEBHOOK_ADDR, WEBHOOK_USER, WEBHOOK_PASSWORD. Without credentials it refuses to
// start unless -no-auth says the webhook may accept reports from anyone (behind your own
// authenticating proxy, or on a private network).
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mensatek-go/mensatek"
)

func main() {
	addr := flag.String("addr", envOr("WEBHOOK_ADDR", ":8080"), "address to listen on")
	user := flag.String("user", os.Getenv("WEBHOOK_USER"), "Basic auth user the panel sends")
	password := flag.String("password", os.Getenv("WEBHOOK_PASSWORD"), "Basic auth password the panel sends")
	noAuth := flag.Bool("no-auth", false, "accept reports without credentials (behind your own authentication)")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stdout, nil))
	opts := []mensatek.WebhookOption{mensatek.WithWebhookLogger(logger)}
	switch {
	case *user != "" && *password == "":
		logger.Error("-user needs -password (or WEBHOOK_PASSWORD)")
		os.Exit(2)
	case strings.Contains(*user, ":"):
		logger.Error("-user must not contain ':' (Basic auth ends the user there)")
		os.Exit(2)
	case *user != "" && *noAuth:
		logger.Error("-no-auth and -user contradict each other")
		os.Exit(2)
	case *user != "":
		opts = append(opts, mensatek.WithWebhookBasicAuth(*user, *password))
	case *noAuth:
		logger.Warn("-no-auth: the webhook accepts reports from anyone")
		opts = append(opts, mensatek.WithoutWebhookAuth())
	default:
		logger.Error("no credentials: give -user and -password (or WEBHOOK_USER and WEBHOOK_PASSWORD), or -no-auth to accept reports from anyone")
		os.Exit(2)
	}

	handler := mensatek.NewWebhookHandler(func(ctx context.Context, ev *mensatek.Event) error {
		attrs := []any{"direction", ev.Direction, "status", ev.Status, "message_id", ev.MessageID,
			"phone", ev.Phone, "type", ev.Type, "reference", ev.Reference}
		if m := ev.Message; m != nil {
			attrs = append(attrs, "message_type", m.Type, "text", m.Text)
			if m.Reply != nil {
				attrs = append(attrs, "reply_id", m.Reply.ID)
			}
		}
		logger.InfoContext(ctx, "mensatek event", attrs...)
		return nil // keep this fast: hand slow work to a queue
	}, opts...)

	mux := http.NewServeMux()
	mux.Handle("/", handler)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("listening for Mensatek webhooks", "addr", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("server failed", "error", err)
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
