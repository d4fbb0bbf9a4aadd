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
type WebhookOption func(*webhookConfig) error

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
	now            func() time.Time // bounds report dates (WithWebhookClock)
	observer       WebhookObserver  // nil: nothing observes the handler (WithWebhookObserver)
}

// WithWebhookBasicAuth requires HTTP Basic credentials, as configured in the panel; they are
// compared in constant time, and a request without them gets 401. It is one of the two
// authentication choices [NewWebhookHandler] requires (the other is [WithoutWebhookAuth]; of
// several, the last given counts). An empty user or password (typically an unset environment
// variable, which would leave the webhook open to anyone) and a user containing ':' (Basic auth
// splits user from password at the first ':', so nobody could authenticate) are programmer
// errors: [NewWebhookHandler] panics with them, as net/http panics on a nil handler.
func WithWebhookBasicAuth(user, password string) WebhookOption {
	return func(c *webhookConfig) error {
		if user == "" || password == "" {
			return errors.New("mensatek: WithWebhookBasicAuth: empty user or password; the webhook would accept anyone who sends empty credentials")
		}
		if strings.Contains(user, ":") {
			return errors.New("mensatek: WithWebhookBasicAuth: the user contains ':', which HTTP Basic auth reads as the end of the user; no request could authenticate")
		}
		u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
		c.user, c.password, c.auth, c.authChosen = u[:], p[:], true, true
		return nil
	}
}

// WithoutWebhookAuth says that the handler checks no credentials: for a handler behind your
// application's own authentication, and for tests. It is one of the two authentication choices
// [NewWebhookHandler] requires (the other is [WithWebhookBasicAuth]). Anyone who can reach the
// URL can post reports, and with [WithWebhookContacts] change a customer's consent: a forged
// "BAJA" silences a customer, a forged "ALTA" re-subscribes one who opted out.
func WithoutWebhookAuth() WebhookOption {
	return func(c *webhookConfig) error {
		c.user, c.password, c.auth, c.authChosen = nil, nil, false, true
		return nil
	}
}

// WithWebhookMaxBodyBytes sets the largest body read (default 1 MiB); a larger one gets 413.
// n <= 0 is a programmer error and makes [NewWebhookHandler] panic.
func WithWebhookMaxBodyBytes(n int64) WebhookOption {
	return func(c *webhookConfig) error {
		if n <= 0 {
			return fmt.Errorf("mensatek: WithWebhookMaxBodyBytes: %d is not a positive size", n)
		}
		c.maxBody = n
		return nil
	}
}

// WithWebhookDeduplication sets where the handler records which reports are being handled and
// which were handled, so that a report delivered many times reaches your function once. The
// default is an in-memory store (see [NewMemoryDedupStore]), which is enough for one instance;
// several replicas need one store they share (the redisstore and pgstore modules). A nil store
// is a programmer error and makes [NewWebhookHandler] panic; to turn deduplication off, use
// [WithoutWebhookDeduplication].
func WithWebhookDeduplication(store DedupStore) WebhookOption {
	return func(c *webhookConfig) error {
		if store == nil {
			return errors.New("mensatek: WithWebhookDeduplication: nil DedupStore (WithoutWebhookDeduplication turns deduplication off)")
		}
		c.dedup = store
		return nil
	}
}

// WithoutWebhookDeduplication turns deduplication off: every delivery of a report calls your
// function, even while another delivery of it is being handled. Only for a function that is
// idempotent on its own.
func WithoutWebhookDeduplication() WebhookOption {
	return func(c *webhookConfig) error {
		c.dedup = nil
		return nil
	}
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
// context ends before the lease does, so a takeover does not overlap a run that honours it: the
// handler counts the lease from before it sends the claim (the store counts it from when the
// claim ran, which is later), and ends the context a margin early, a tenth of the lease and at
// most a second (a one-minute lease gives your function 59 seconds). Make the lease longer than
// your function can take. A duration <= 0 is a programmer error and makes [NewWebhookHandler] panic.
func WithWebhookLease(d time.Duration) WebhookOption {
	return func(c *webhookConfig) error {
		if d <= 0 {
			return fmt.Errorf("mensatek: WithWebhookLease: %v is not a positive duration", d)
		}
		c.lease = d
		return nil
	}
}

// WithWebhookLogger sets where the handler logs failures of your function (default
// slog.Default()). Credentials and message contents are never logged. A nil logger is a
// programmer error and makes [NewWebhookHandler] panic; to discard the records, pass a logger whose handler
// discards them (slog.DiscardHandler, from Go 1.24).
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	return func(c *webhookConfig) error {
		if l == nil {
			return errors.New("mensatek: WithWebhookLogger: nil *slog.Logger")
		}
		c.logger = l
		return nil
	}
}

// WithWebhookContacts records in store, for every inbound message, when the customer wrote
// (the event's time, bounded as below), and the consent changes messages make. It reads, without regard to case,
// accents or punctuation:
//   - a text that is an opt-out or opt-in keyword ([WithWebhookConsentKeywords]; by default
//     BAJA, STOP, CANCELAR, DARSE DE BAJA, UNSUBSCRIBE opt out and ALTA, START opt back in),
//     whole, or in a short message (12 words at most) between courtesy words: "Baja, por
//     favor", "stop please";
//   - in a short message, a built-in opt-out phrase, Spanish or English ("quiero darme de
//     baja", "no quiero recibir más mensajes", "unsubscribe me", "stop sending me messages"),
//     unless a negation comes before it in its clause ("no me des de baja", "no quiero darme
//     de baja"), and the few opt-in phrases ("quiero darme de alta"). The phrases are specific:
//     "baja" alone in a sentence is not one ("mi madre está de baja"), and a longer message is
//     never read for them;
//   - a tapped button (a template's quick reply, a reply button, a list row) whose payload or
//     ID, or else its text or title, is read as a short text is: a button "STOP" or "Darme de
//     baja" opts out. A button that says only "Cancelar" (or "Cancel") does not: on a template
//     it usually cancels an appointment or an order.
//
// Other messages (media captions included) change nothing. The source recorded names what
// matched: "keyword:BAJA", "phrase:DARME DE BAJA", "button:STOP". It records them before your
// function runs, and sets [Event.Consent] so your function can send the confirmation WhatsApp
// expects. Recording happens within the delivery's claim: a report already handled is not
// recorded again, and a store that fails makes the handler answer 500, so the provider delivers
// the report again. Give the same store to [WithContacts] to enforce what it records. A nil
// store makes [NewWebhookHandler] panic.
//
// The times recorded are the report's date ([Event.Time], which keeps the date as sent),
// bounded by when the report arrived (the handler's clock, [WithWebhookClock]), because no
// one can prove a date in a report:
//   - a date more than [WebhookClockSkew] after the arrival is recorded as arrival plus
//     WebhookClockSkew: a report dated 2099 neither freezes consent nor holds the window open;
//   - a date more than [WebhookMaxReportAge] before the arrival, or none, is unknown: the
//     message is recorded as written that long ago (without a date: at its arrival), an opt-out
//     at its arrival (the latest it can have been written, so it wins over any change not
//     clearly newer), and an opt-in not at all ([Event.Consent] is then empty; a warning is
//     logged).
//
// A change the store does not record because the one it holds wins ([ConsentChangeWins]:
// when two changes cannot be ordered for certain, the opt-out wins) is not an error: the
// handler answers 200, and [Event.Consent] says what the store holds, not what the message
// asked (a late BAJA against a clearly newer opt-in leaves it empty).
func WithWebhookContacts(store ContactStore) WebhookOption {
	return func(c *webhookConfig) error {
		if store == nil {
			return errors.New("mensatek: WithWebhookContacts: nil ContactStore")
		}
		c.contacts = store
		return nil
	}
}

// WebhookClockSkew is how far past the handler's clock a report's date (Fecha) is believed, for
// a provider whose clock runs a little ahead: [WithWebhookContacts] records a later date as
// this far past the report's arrival, so no report can hold consent or the service window
// beyond it. [ConsentOrderMargin] is larger, so a change recorded at this bound never beats an
// opt-out made after its arrival.
const WebhookClockSkew = time.Minute

// WebhookMaxReportAge is the oldest date (Fecha) a report is believed to have when it arrives:
// the provider delivers late reports again, but not for longer than this. [WithWebhookContacts]
// treats an older date, and a missing one, as unknown (see there).
const WebhookMaxReportAge = 7 * 24 * time.Hour

// WithWebhookClock sets the clock the handler bounds report dates by (default time.Now), for
// tests: a report's arrival is this clock's time when the handler records it. The contact
// stores check times against their own clock ([CheckContactTime]), so keep a test clock within
// a day of the real one. A nil clock is a programmer error and makes [NewWebhookHandler] panic.
func WithWebhookClock(now func() time.Time) WebhookOption {
	return func(c *webhookConfig) error {
		if now == nil {
			return errors.New("mensatek: WithWebhookClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithWebhookConsentKeywords replaces the opt-out and opt-in keywords [WithWebhookContacts]
// recognises, for example to add "FIN". Each is matched as [DefaultOptOutKeywords] are: as the
// whole text or button, or between courtesy words in a short message. The built-in phrases are
// not keywords and still apply: opt-out phrases while optOut holds a keyword, opt-in phrases
// while optIn does; an empty optOut (or optIn) turns reading opt-outs (or opt-ins) off
// entirely, phrases and buttons included. A word in both lists makes [NewWebhookHandler] panic.
func WithWebhookConsentKeywords(optOut, optIn []string) WebhookOption {
	return func(c *webhookConfig) error {
		out, in := newKeywordSet(optOut), newKeywordSet(optIn)
		for w := range out {
			if in[w] {
				return fmt.Errorf("mensatek: WithWebhookConsentKeywords: %q both opts out and in", w)
			}
		}
		c.optOut, c.optIn = out, in
		return nil
	}
}

// NewWebhookHandler returns an http.Handler for the URL you configure in the panel. For each
// report it calls fn with the typed event and answers:
//   - 200 once fn returned nil, or at once, without calling fn, for a report already handled
//     (deduplication, [WithWebhookDeduplication]);
//   - 400 with a short reason for a body it cannot parse;
//   - 401 (with WWW-Authenticate) without the Basic credentials of [WithWebhookBasicAuth];
//   - 405 (with Allow: POST) for any method but POST;
//   - 413 for a body over the limit ([WithWebhookMaxBodyBytes]);
//   - 422 with the reason when the contact store ([WithWebhookContacts]) refuses what the
//     report says with a [*ValidationError] (such as a time [CheckContactTime] refuses, which
//     only a handler clock far from the store's gives): every delivery would fail alike;
//   - 500 with a generic text when fn returns an error or panics, or the dedup or contact store
//     fails otherwise (the claim's reply included, if it came too late for fn to start within
//     the lease), so the provider delivers the report again; the detail goes to the logger only;
//   - 503 with Retry-After (the seconds left of the lease, at least 1), without calling fn, while
//     another delivery of the same report is being handled ([WithWebhookLease]): if that one
//     fails, the provider's next delivery is handled; if it succeeds, the next is answered 200.
//
// Authentication is an explicit choice: opts must hold [WithWebhookBasicAuth] (the credentials
// set in the panel) or [WithoutWebhookAuth] (a handler behind your own authentication, or a
// test), because a handler that accepts anyone lets a stranger post reports and, with
// [WithWebhookContacts], change a customer's consent.
//
// Keep fn fast (hand slow work to a queue) and idempotent: a holder whose lease ran out, or a
// crash between fn's work and the store's record of it, can make a report run twice. A nil fn
// and a missing authentication choice are programmer errors and panic here, as [http.Handle]
// panics on a nil handler; so does an option given an invalid value, with the message of the
// error it reports (see "Options" in the package documentation).
func NewWebhookHandler(fn func(ctx context.Context, ev *Event) error, opts ...WebhookOption) http.Handler {
	if fn == nil {
		panic("mensatek: NewWebhookHandler: nil function")
	}
	cfg := webhookConfig{maxBody: DefaultWebhookMaxBodyBytes, dedup: NewMemoryDedupStore(0, 0), lease: DefaultWebhookLease,
		optOut: newKeywordSet(defaultOptOutKeywords), optIn: newKeywordSet(defaultOptInKeywords), now: time.Now}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			panic(err.Error())
		}
	}
	if !cfg.authChosen {
		panic("mensatek: NewWebhookHandler: no authentication chosen; pass WithWebhookBasicAuth(user, password) with the credentials set in the panel, or WithoutWebhookAuth() for a handler behind your own authentication (or in a test)")
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
	if h.cfg.observer != nil {
		var done func()
		w, r, done = h.observeDelivery(w, r)
		defer done()
	}
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
	r.Body = http.MaxBytesReader(unwrapStatusWriter(w), r.Body, h.cfg.maxBody)
	ev, err := parseWebhookRequest(r, h.cfg.maxBody)
	if err != nil {
		if errors.Is(err, ErrWebhookTooLarge) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, strings.TrimPrefix(err.Error(), "mensatek: "), http.StatusBadRequest)
		return
	}
	if h.cfg.observer != nil {
		h.cfg.observer.ReportRead(r.Context(), ReportInfo{Direction: ev.Direction, Status: ev.Status, Type: ev.Type})
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
	// The lease is timed from before the claim is sent: the store starts it when the claim
	// runs, later, so fn's context always ends before another delivery can take over, however
	// slow the store's reply is.
	leaseStart := time.Now()
	c, err := h.cfg.dedup.Claim(ctx, key, token, h.cfg.lease)
	if err != nil {
		h.cfg.logger.ErrorContext(ctx, "mensatek webhook: dedup store failed", "error", err, "message_id", ev.MessageID)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if h.cfg.observer != nil {
		h.cfg.observer.Claimed(ctx, c.Status)
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
	fnCtx, cancel := context.WithDeadline(ctx, leaseStart.Add(h.cfg.lease-webhookLeaseMargin(h.cfg.lease)))
	if err := fnCtx.Err(); err != nil {
		// The claim's reply came after the lease (less the margin), or the request ended while
		// it was on its way: fn would start with its context already over, and another
		// delivery may hold the report by now. Give the claim back; a later delivery handles it.
		cancel()
		if rerr := h.cfg.dedup.Release(after, key, token); rerr != nil {
			h.cfg.logger.ErrorContext(ctx, "mensatek webhook: dedup store release failed", "error", rerr, "message_id", ev.MessageID)
		}
		h.cfg.logger.ErrorContext(ctx, "mensatek webhook: the lease ended before the function could start", "error", err, "message_id", ev.MessageID)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
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
	var refused *reportRefusedError
	if errors.As(err, &refused) {
		// The store refuses what the report says: every delivery would fail the same way.
		h.cfg.logger.WarnContext(ctx, "mensatek webhook: contact store refused the report", "error", err,
			"message_id", ev.MessageID)
		http.Error(w, "contact store refused the report: "+refused.Reason, http.StatusUnprocessableEntity)
		return
	}
	h.cfg.logger.ErrorContext(ctx, "mensatek webhook: handler failed", "error", err,
		"message_id", ev.MessageID, "direction", string(ev.Direction), "status", ev.Status)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// reportRefusedError is a contact store's *ValidationError: the report's content, not a
// passing failure, so the handler answers 422, not 500.
type reportRefusedError struct{ *ValidationError }

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
			if ve := (*ValidationError)(nil); errors.As(err, &ve) {
				return &reportRefusedError{ve}
			}
			return fmt.Errorf("contact store: %w", err)
		}
	}
	return h.call(ctx, ev)
}

// recordContact records an inbound message's time and the consent change it makes, if any
// (keywords.go reads it), at times bounded by the report's arrival (reportTimes).
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
	inboundAt, optOutAt, optInAt := reportTimes(ev.Time, h.cfg.now())
	if err := h.cfg.contacts.RecordInbound(ctx, phone, inboundAt); err != nil {
		return err
	}
	change, source := readConsent(ev.Message, h.cfg.optOut, h.cfg.optIn)
	if change == ConsentNone {
		return nil
	}
	ev.Consent = change
	return h.setConsent(ctx, ev, phone, optOutAt, optInAt, source)
}

// setConsent records the change ev.Consent asks for, and leaves in ev.Consent what the store
// holds after it: the change, or ConsentNone when the store holds the other kind.
func (h *webhookHandler) setConsent(ctx context.Context, ev *Event, phone string, optOutAt, optInAt time.Time, source string) error {
	optedOut, at := ev.Consent == ConsentOptedOut, optInAt
	if optedOut {
		at = optOutAt
	}
	if at.IsZero() {
		h.cfg.logger.WarnContext(ctx, "mensatek webhook: opt-in with no plausible date; not recorded", "message_id", ev.MessageID)
		ev.Consent = ConsentNone
		return nil
	}
	err := h.cfg.contacts.SetOptOut(ctx, phone, optedOut, at, source)
	var se *ConsentSupersededError
	switch {
	case err == nil:
	case errors.As(err, &se):
		if se.Stored.OptedOut != optedOut {
			ev.Consent = ConsentNone
		}
	default:
		return err
	}
	return nil
}

// reportTimes bounds a report's date by its arrival (WithWebhookContacts says how): the times
// to record the message, an opt-out and an opt-in at (zero: do not record the opt-in).
func reportTimes(date, arrived time.Time) (inbound, optOut, optIn time.Time) {
	latest, earliest := arrived.Add(WebhookClockSkew), arrived.Add(-WebhookMaxReportAge)
	switch {
	case date.IsZero():
		return arrived, arrived, time.Time{}
	case date.After(latest):
		return latest, latest, latest
	case date.Before(earliest):
		return earliest, arrived, time.Time{}
	}
	return date, date, date
}

// call runs fn, turning a panic into an error.
func (h *webhookHandler) call(ctx context.Context, ev *Event) (err error) {
	if obs := h.cfg.observer; obs != nil {
		ctx = obs.FuncStart(ctx)
		defer func() { // after the recover below: err holds a panic, but for http.ErrAbortHandler
			if p := recover(); p != nil {
				obs.FuncEnd(ctx, http.ErrAbortHandler)
				panic(p)
			}
			obs.FuncEnd(ctx, err)
		}()
	}
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

// webhookLeaseMargin is how long before its lease a holder's context ends: a tenth of the lease,
// at most a second. It leaves a function that honours its context the time to notice and
// return, and covers timer delays and a store's clock running slightly fast.
func webhookLeaseMargin(lease time.Duration) time.Duration {
	return min(lease/10, time.Second)
}
