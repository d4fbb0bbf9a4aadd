package mensatek

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// WebhookOption configures [NewWebhookHandler].
type WebhookOption func(*webhookConfig)

type webhookConfig struct {
	user, password []byte
	auth           bool
	maxBody        int64
	dedup          DedupStore
	logger         *slog.Logger
}

// WithWebhookBasicAuth requires HTTP Basic credentials, as configured in the panel; they are
// compared in constant time, and a request without them gets 401. An empty user or password is
// a programmer error (typically an unset environment variable, which would leave the webhook
// open to anyone) and panics here, when the option is made, as net/http panics on a nil handler.
func WithWebhookBasicAuth(user, password string) WebhookOption {
	if user == "" || password == "" {
		panic("mensatek: WithWebhookBasicAuth: empty user or password; the webhook would accept anyone who sends empty credentials")
	}
	return func(c *webhookConfig) {
		u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
		c.user, c.password, c.auth = u[:], p[:], true
	}
}

// WithWebhookMaxBodyBytes sets the largest body read (default 1 MiB); a larger one gets 413.
// n <= 0 is a programmer error and panics here.
func WithWebhookMaxBodyBytes(n int64) WebhookOption {
	if n <= 0 {
		panic(fmt.Sprintf("mensatek: WithWebhookMaxBodyBytes: %d is not a positive size", n))
	}
	return func(c *webhookConfig) { c.maxBody = n }
}

// WithWebhookDeduplication sets where the handler remembers the reports it has handled, so a
// report delivered twice reaches your function once. The default is an in-memory store (see
// [NewMemoryDedupStore]), which is enough for one instance; give several replicas one shared
// store. nil turns deduplication off.
func WithWebhookDeduplication(store DedupStore) WebhookOption {
	return func(c *webhookConfig) { c.dedup = store }
}

// WithWebhookLogger sets where the handler logs failures of your function (default
// slog.Default()). Credentials and message contents are never logged. A nil logger is a
// programmer error and panics here; to discard the records, pass a logger whose handler
// discards them (slog.DiscardHandler, from Go 1.24).
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	if l == nil {
		panic("mensatek: WithWebhookLogger: nil *slog.Logger")
	}
	return func(c *webhookConfig) { c.logger = l }
}

// DedupStore remembers handled reports by [Event.Key]. Implementations must be safe for concurrent
// use. To share one across replicas, back it with a store that has an atomic set-if-absent: with
// Redis, MarkSeen is `SET key 1 NX EX <seconds>` (seen when the reply is nil) and Forget is `DEL key`.
type DedupStore interface {
	// MarkSeen records key and reports whether it was already recorded, in one atomic step.
	MarkSeen(ctx context.Context, key string) (seen bool, err error)
	// Forget removes key, so a report whose handling failed is handled when it comes again.
	Forget(ctx context.Context, key string) error
}

// NewWebhookHandler returns an http.Handler for the URL you configure in the panel. For each
// report it calls fn with the typed event and answers:
//   - 200 once fn returned nil, or at once for a report already handled (deduplication);
//   - 400 with a short reason for a body it cannot parse;
//   - 401 (with WWW-Authenticate) without the Basic credentials of [WithWebhookBasicAuth];
//   - 405 (with Allow: POST) for any method but POST;
//   - 413 for a body over the limit ([WithWebhookMaxBodyBytes]);
//   - 500 with a generic text when fn returns an error or panics, or the dedup store fails, so
//     the provider delivers the report again; the detail goes to the logger only.
//
// Keep fn fast (hand slow work to a queue) and idempotent. A nil fn is a programmer error and
// panics here, as [http.Handle] panics on a nil handler; so do the options given invalid values.
func NewWebhookHandler(fn func(ctx context.Context, ev *Event) error, opts ...WebhookOption) http.Handler {
	if fn == nil {
		panic("mensatek: NewWebhookHandler: nil function")
	}
	cfg := webhookConfig{maxBody: DefaultWebhookMaxBodyBytes, dedup: NewMemoryDedupStore(0, 0)}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	return &webhookHandler{fn: fn, cfg: cfg}
}

type webhookHandler struct {
	fn  func(ctx context.Context, ev *Event) error
	cfg webhookConfig
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if h.cfg.auth && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="mensatek webhook", charset="UTF-8"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.maxBody)
	ev, err := parseWebhookRequest(r, h.cfg.maxBody)
	if err != nil {
		if errors.Is(err, ErrWebhookTooLarge) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, strings.TrimPrefix(err.Error(), "mensatek: "), http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	var key string
	if h.cfg.dedup != nil {
		key = ev.Key()
		seen, err := h.cfg.dedup.MarkSeen(ctx, key)
		if err != nil {
			h.cfg.logger.ErrorContext(ctx, "mensatek webhook: dedup store failed", "error", err, "message_id", ev.MessageID)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		if seen {
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	if err := h.call(ctx, ev); err != nil {
		if h.cfg.dedup != nil {
			if ferr := h.cfg.dedup.Forget(context.WithoutCancel(ctx), key); ferr != nil {
				h.cfg.logger.ErrorContext(ctx, "mensatek webhook: dedup store forget failed", "error", ferr, "message_id", ev.MessageID)
			}
		}
		h.cfg.logger.ErrorContext(ctx, "mensatek webhook: handler failed", "error", err,
			"message_id", ev.MessageID, "direction", string(ev.Direction), "status", ev.Status)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// call runs fn, turning a panic into an error.
func (h *webhookHandler) call(ctx context.Context, ev *Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	if h.fn == nil {
		return nil
	}
	return h.fn(ctx, ev)
}

func (h *webhookHandler) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	uok := subtle.ConstantTimeCompare(u[:], h.cfg.user)
	pok := subtle.ConstantTimeCompare(p[:], h.cfg.password)
	return uok&pok == 1
}

// MemoryDedupStore is an in-memory [DedupStore] bounded in size and time: it forgets a key after
// its TTL, and the oldest keys when it is full. It suits a single instance; replicas need a
// shared store.
type MemoryDedupStore struct {
	max int
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	seen  map[string]time.Time
	order []dedupEntry // insertion order, for expiry and eviction
	head  int
}

type dedupEntry struct {
	key string
	at  time.Time
}

// Defaults of [NewMemoryDedupStore].
const (
	DefaultDedupEntries = 100_000
	DefaultDedupTTL     = 24 * time.Hour
)

// NewMemoryDedupStore returns a store that remembers at most maxEntries keys (default 100,000)
// for ttl each (default 24 hours); 0 takes the default.
func NewMemoryDedupStore(maxEntries int, ttl time.Duration) *MemoryDedupStore {
	if maxEntries <= 0 {
		maxEntries = DefaultDedupEntries
	}
	if ttl <= 0 {
		ttl = DefaultDedupTTL
	}
	return &MemoryDedupStore{max: maxEntries, ttl: ttl, now: time.Now, seen: make(map[string]time.Time)}
}

// MarkSeen records key and reports whether it was already recorded and not expired.
func (s *MemoryDedupStore) MarkSeen(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	if at, ok := s.seen[key]; ok && now.Sub(at) < s.ttl {
		return true, nil
	}
	for len(s.seen) >= s.max {
		s.evictOldest()
	}
	s.seen[key] = now
	s.order = append(s.order, dedupEntry{key, now})
	if len(s.order)-s.head > 2*s.max {
		s.rebuild() // keys forgotten and marked again left stale entries
	}
	return false, nil
}

// Forget removes key.
func (s *MemoryDedupStore) Forget(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.seen, key)
	return nil
}

// Len returns how many keys the store holds.
func (s *MemoryDedupStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

func (s *MemoryDedupStore) expire(now time.Time) {
	for s.head < len(s.order) && now.Sub(s.order[s.head].at) >= s.ttl {
		s.drop(s.order[s.head])
		s.head++
	}
	s.compact()
}

func (s *MemoryDedupStore) evictOldest() {
	for s.head < len(s.order) {
		e := s.order[s.head]
		s.head++
		if s.drop(e) {
			break
		}
	}
	s.compact()
}

// drop deletes e's key if the map still holds this entry (not a newer mark of the same key).
func (s *MemoryDedupStore) drop(e dedupEntry) bool {
	if at, ok := s.seen[e.key]; ok && at.Equal(e.at) {
		delete(s.seen, e.key)
		return true
	}
	return false
}

func (s *MemoryDedupStore) rebuild() {
	s.order = s.order[:0:0]
	for k, at := range s.seen {
		s.order = append(s.order, dedupEntry{k, at})
	}
	sort.Slice(s.order, func(i, j int) bool { return s.order[i].at.Before(s.order[j].at) })
	s.head = 0
}

func (s *MemoryDedupStore) compact() {
	if s.head > 1024 && s.head*2 > len(s.order) {
		s.order = append(s.order[:0:0], s.order[s.head:]...)
		s.head = 0
	}
}
