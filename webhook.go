package mensatek

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// WebhookOption configures [NewWebhookHandler].
type WebhookOption func(*webhookConfig)

type webhookConfig struct {
	user, password []byte
	auth           bool
	authChosen     bool // WithWebhookBasicAuth or WithoutWebhookAuth was given
	maxBody        int64
	dedup          DedupStore
	lease          time.Duration
	logger         *slog.Logger
	contacts       ContactStore // nil: no consent recording
	optOut, optIn  keywordSet
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
		c.user, c.password, c.auth, c.authChosen = u[:], p[:], true, true
	}
}

// WithoutWebhookAuth says that the handler checks no credentials: for a handler behind your
// application's own authentication, and for tests. Anyone who can reach the URL can post
// reports, and with [WithWebhookContacts] change a customer's consent.
func WithoutWebhookAuth() WebhookOption {
	return func(c *webhookConfig) { c.user, c.password, c.auth, c.authChosen = nil, nil, false, true }
}

// WithWebhookMaxBodyBytes sets the largest body read (default 1 MiB); a larger one gets 413.
// n <= 0 is a programmer error and panics here.
func WithWebhookMaxBodyBytes(n int64) WebhookOption {
	if n <= 0 {
		panic(fmt.Sprintf("mensatek: WithWebhookMaxBodyBytes: %d is not a positive size", n))
	}
	return func(c *webhookConfig) { c.maxBody = n }
}

// WithWebhookDeduplication sets where the handler records which reports are being handled and
// which were handled, so that a report delivered many times reaches your function once. The
// default is an in-memory store (see [NewMemoryDedupStore]), which is enough for one instance;
// several replicas need one store they share (the redisstore and pgstore modules). A nil store
// is a programmer error and panics here; to turn deduplication off, use
// [WithoutWebhookDeduplication].
func WithWebhookDeduplication(store DedupStore) WebhookOption {
	if store == nil {
		panic("mensatek: WithWebhookDeduplication: nil DedupStore (WithoutWebhookDeduplication turns deduplication off)")
	}
	return func(c *webhookConfig) { c.dedup = store }
}

// WithoutWebhookDeduplication turns deduplication off: every delivery of a report calls your
// function, even while another delivery of it is being handled. Only for a function that is
// idempotent on its own.
func WithoutWebhookDeduplication() WebhookOption {
	return func(c *webhookConfig) { c.dedup = nil }
}

// DefaultWebhookLease is how long one delivery holds a report unless [WithWebhookLease] says
// otherwise. One minute is far longer than a webhook request should take (the provider stops
// waiting long before, and your function should hand slow work to a queue), so a live holder
// is never overtaken; and it is short enough that a report whose holder died (a crash, an OOM
// kill, a deploy) is handled by a redelivery about a minute later.
const DefaultWebhookLease = time.Minute

// WithWebhookLease sets how long one delivery holds a report while your function runs (default
// [DefaultWebhookLease]); any positive duration, shorter than a second included. Deliveries of
// the report meanwhile get 503 with Retry-After; once the lease has run out, a holder that
// never finished is presumed dead and the next delivery handles the report. Your function's
// context ends with the lease, so a takeover does not overlap a run that honours it. Make it
// longer than your function can take. A duration <= 0 is a programmer error and panics here.
func WithWebhookLease(d time.Duration) WebhookOption {
	if d <= 0 {
		panic(fmt.Sprintf("mensatek: WithWebhookLease: %v is not a positive duration", d))
	}
	return func(c *webhookConfig) { c.lease = d }
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

// WithWebhookContacts records in store, for every inbound message, when the customer wrote
// (the event's time), and reads a text that is an opt-out or opt-in keyword as one
// ([WithWebhookConsentKeywords]; by default BAJA, STOP, CANCELAR, DARSE DE BAJA, UNSUBSCRIBE
// opt out and ALTA, START opt back in, matched on the whole message without regard to case,
// accents, punctuation or surrounding spaces). It records them before your function runs, and
// sets [Event.Consent] so your function can send the confirmation WhatsApp expects. Recording
// happens within the delivery's claim: a report already handled is not recorded again, and a
// store that fails makes the handler answer 500, so the provider delivers the report again.
// Give the same store to [WithContacts] to enforce what it records. A nil store panics here.
func WithWebhookContacts(store ContactStore) WebhookOption {
	if store == nil {
		panic("mensatek: WithWebhookContacts: nil ContactStore")
	}
	return func(c *webhookConfig) { c.contacts = store }
}

// WithWebhookConsentKeywords replaces the opt-out and opt-in keywords [WithWebhookContacts]
// recognises, for example to add "NO QUIERO RECIBIR MAS MENSAJES". Each is matched as
// [DefaultOptOutKeywords] are. A word in both lists panics here.
func WithWebhookConsentKeywords(optOut, optIn []string) WebhookOption {
	out, in := newKeywordSet(optOut), newKeywordSet(optIn)
	for w := range out {
		if in[w] {
			panic(fmt.Sprintf("mensatek: WithWebhookConsentKeywords: %q both opts out and in", w))
		}
	}
	return func(c *webhookConfig) { c.optOut, c.optIn = out, in }
}

// NewWebhookHandler returns an http.Handler for the URL you configure in the panel. For each
// report it calls fn with the typed event and answers:
//   - 200 once fn returned nil, or at once, without calling fn, for a report already handled
//     (deduplication, [WithWebhookDeduplication]);
//   - 400 with a short reason for a body it cannot parse;
//   - 401 (with WWW-Authenticate) without the Basic credentials of [WithWebhookBasicAuth];
//   - 405 (with Allow: POST) for any method but POST;
//   - 413 for a body over the limit ([WithWebhookMaxBodyBytes]);
//   - 500 with a generic text when fn returns an error or panics, or the dedup store fails, so
//     the provider delivers the report again; the detail goes to the logger only;
//   - 503 with Retry-After (the seconds left of the lease, at least 1), without calling fn, while
//     another delivery of the same report is being handled ([WithWebhookLease]): if that one
//     fails, the provider's next delivery is handled; if it succeeds, the next is answered 200.
//
// Keep fn fast (hand slow work to a queue) and idempotent: a holder whose lease ran out, or a
// crash between fn's work and the store's record of it, can make a report run twice. A nil fn is
// a programmer error and panics here, as [http.Handle] panics on a nil handler; so do the options
// given invalid values.
func NewWebhookHandler(fn func(ctx context.Context, ev *Event) error, opts ...WebhookOption) http.Handler {
	if fn == nil {
		panic("mensatek: NewWebhookHandler: nil function")
	}
	cfg := webhookConfig{maxBody: DefaultWebhookMaxBodyBytes, dedup: NewMemoryDedupStore(0, 0), lease: DefaultWebhookLease,
		optOut: newKeywordSet(defaultOptOutKeywords), optIn: newKeywordSet(defaultOptInKeywords)}
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
	fn       func(ctx context.Context, ev *Event) error
	cfg      webhookConfig
	tokenSeq atomic.Uint64 // claim tokens if crypto/rand ever fails
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
	if h.cfg.dedup == nil {
		h.handle(r.Context(), w, ev)
		return
	}
	h.handleOnce(r.Context(), w, ev)
}

// handleOnce runs fn for ev under a claim of its key: see [DedupStore].
func (h *webhookHandler) handleOnce(ctx context.Context, w http.ResponseWriter, ev *Event) {
	key, token := ev.Key(), h.newClaimToken()
	c, err := h.cfg.dedup.Claim(ctx, key, token, h.cfg.lease)
	if err != nil {
		h.cfg.logger.ErrorContext(ctx, "mensatek webhook: dedup store failed", "error", err, "message_id", ev.MessageID)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	switch c.Status {
	case ClaimDone:
		w.WriteHeader(http.StatusOK)
		return
	case ClaimInProgress:
		secs := int64((c.Remaining + time.Second - 1) / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		http.Error(w, "this report is being handled; deliver it again later", http.StatusServiceUnavailable)
		return
	case ClaimAcquired:
	default:
		h.cfg.logger.ErrorContext(ctx, "mensatek webhook: dedup store answered an unknown state", "state", c.Status.String(), "message_id", ev.MessageID)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// After fn, the store is told the outcome even if the request's context has ended, within
	// a bound of its own so a hung store cannot hold the request forever.
	after, cancelAfter := context.WithTimeout(context.WithoutCancel(ctx), storeOutcomeTimeout)
	defer cancelAfter()
	fnCtx, cancel := context.WithTimeout(ctx, h.cfg.lease)
	err = func() error {
		defer func() {
			if p := recover(); p != nil { // http.ErrAbortHandler, passed on by call
				_ = h.cfg.dedup.Release(after, key, token)
				panic(p)
			}
		}()
		return h.run(fnCtx, ev)
	}()
	cancel()
	if err != nil {
		if rerr := h.cfg.dedup.Release(after, key, token); rerr != nil {
			// The claim stays until its lease runs out; the report is delivered again after that.
			h.cfg.logger.ErrorContext(ctx, "mensatek webhook: dedup store release failed", "error", rerr, "message_id", ev.MessageID)
		}
		h.fail(ctx, w, ev, err)
		return
	}
	if cerr := h.cfg.dedup.Complete(after, key); cerr != nil {
		// fn succeeded, so the report was handled: answer 200. Only a redelivery after the lease
		// would run fn again.
		h.cfg.logger.ErrorContext(ctx, "mensatek webhook: dedup store complete failed", "error", cerr, "message_id", ev.MessageID)
	}
	w.WriteHeader(http.StatusOK)
}

// handle runs fn for ev without deduplication.
func (h *webhookHandler) handle(ctx context.Context, w http.ResponseWriter, ev *Event) {
	if err := h.run(ctx, ev); err != nil {
		h.fail(ctx, w, ev, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *webhookHandler) fail(ctx context.Context, w http.ResponseWriter, ev *Event, err error) {
	h.cfg.logger.ErrorContext(ctx, "mensatek webhook: handler failed", "error", err,
		"message_id", ev.MessageID, "direction", string(ev.Direction), "status", ev.Status)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// storeOutcomeTimeout bounds the store call that records fn's outcome.
const storeOutcomeTimeout = 30 * time.Second

// newClaimToken returns a random token that tells this delivery's claim from any other's.
func (h *webhookHandler) newClaimToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; a counter keeps tokens unique here.
		return "n" + strconv.FormatUint(h.tokenSeq.Add(1), 10)
	}
	return hex.EncodeToString(b[:])
}

// run records the event in the contact store, if there is one, then runs fn.
func (h *webhookHandler) run(ctx context.Context, ev *Event) error {
	if h.cfg.contacts != nil {
		if err := h.recordContact(ctx, ev); err != nil {
			return fmt.Errorf("contact store: %w", err)
		}
	}
	return h.call(ctx, ev)
}

// recordContact records an inbound message's time and, for a keyword, the consent change.
func (h *webhookHandler) recordContact(ctx context.Context, ev *Event) error {
	if ev.Direction != Inbound {
		return nil
	}
	// Not the send's full check: a phone the provider saw write is recorded even when this
	// SDK's numbering plans do not know its range yet (inboundPhone).
	phone, ok := inboundPhone(ev.Phone)
	if !ok {
		h.cfg.logger.WarnContext(ctx, "mensatek webhook: inbound message with an unusable phone; not recorded", "message_id", ev.MessageID)
		return nil
	}
	at := ev.Time
	if at.IsZero() {
		at = time.Now()
	}
	if err := h.cfg.contacts.RecordInbound(ctx, phone, at); err != nil {
		return err
	}
	if ev.Message == nil || ev.Message.Type != InboundTypeText {
		return nil
	}
	word := normalizeKeyword(ev.Message.Text)
	switch {
	case h.cfg.optOut[word]:
		ev.Consent = ConsentOptedOut
	case h.cfg.optIn[word]:
		ev.Consent = ConsentOptedIn
	default:
		return nil
	}
	return h.cfg.contacts.SetOptOut(ctx, phone, ev.Consent == ConsentOptedOut, at, "keyword:"+word)
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
