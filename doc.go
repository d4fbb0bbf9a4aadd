// Package mensatek is a typed client for the Mensatek WhatsApp Business API (v7): send the ten
// WhatsApp message types, show a typing indicator, download media your customers send, change the
// account status, list templates and their variables, and receive delivery reports and incoming
// messages through a webhook.
//
// # Sending
//
// A [Client] is safe for concurrent use; make one per set of credentials and share it. Every
// method takes a [context.Context] first and honours it. Local mistakes (a malformed phone, a text
// over WhatsApp's limits, a missing template variable) fail with a [*ValidationError] before any
// request leaves the process; the API's refusals are [*APIError] values matched with
// [ErrAuthentication], [ErrInsufficientCredits] and [ErrInvalidRequest]. A send whose request may
// have reached the server but got no usable answer fails with [ErrOutcomeUnknown] and is never
// repeated automatically, since the API has no idempotency key; one that provably never left is
// retried. Every failure for which nothing reached the API (a local mistake, a consent refusal,
// a context that ended first, a connection that failed before the request was written) matches
// [ErrNotSent] instead: safe to make again as it is. No error matches both. Failures that are safe to repeat are retried ([RetryPolicy]); an authentication failure
// is not, and starts a cooldown ([WithAuthCooldown]), so a misconfigured deployment does not get
// blocked as spam. [WithTimeout] bounds each call, retries included.
//
// # Options
//
// Options fail one way, in every package and module of the SDK: an option given an invalid value
// (a negative duration, a nil store, an empty password) does nothing when it is made; the
// constructor it is given to reports it, naming the option, as an error when the constructor
// returns one ([NewClient], [WithContacts]' [ContactOption] values included; pgstore's stores),
// and otherwise as a panic at start-up ([NewWebhookHandler], redisstore's stores,
// outbox.NewWorker), as [http.Handle] panics on a nil handler.
//
// # Receiving
//
// [NewWebhookHandler] is the http.Handler for the webhook: typed [Event] values, inbound messages
// decoded into typed parts ([InboundMessage]), and each report handled once even when it is
// delivered many times or to several replicas at once ([DedupStore], [WithWebhookLease]). It
// requires an explicit authentication choice: [WithWebhookBasicAuth] or [WithoutWebhookAuth].
//
// # Consent
//
// A [ContactStore], fed by the webhook ([WithWebhookContacts]) and read by the client
// ([WithContacts]), keeps customers who wrote BAJA from getting more messages ([ErrOptedOut]) and
// refuses messages outside WhatsApp's 24-hour window ([ErrOutsideServiceWindow]) before they cost
// anything.
//
// # Several replicas and tests
//
// The in-memory stores are the defaults for one process. The modules
// github.com/mensatek-go/mensatek/redisstore and github.com/mensatek-go/mensatek/pgstore hold
// the same stores on Redis and PostgreSQL, and a rate limiter shared by every replica; packages
// dedupstoretest and contactstoretest are the conformance suites a store of your own must pass.
// Package mensatektest has an in-process fake of the API for your tests. The module
// github.com/mensatek-go/mensatek/outbox queues sends in your PostgreSQL transactions (on River)
// and sends each once, from any number of workers.
//
// # Tracing and metrics
//
// [WithObserver] and [WithWebhookObserver] tell an observer of yours what a client and a webhook
// handler do: calls, HTTP attempts, waits, consent refusals, credits, deliveries. Unset, they
// cost nothing. The module github.com/mensatek-go/mensatek/mensatekotel implements them with
// OpenTelemetry traces and metrics.
package mensatek
