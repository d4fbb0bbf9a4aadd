package mensatek

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Every sentinel error of the package is declared here, and every error the package returns
// matches its sentinels one way: by unwrapping to them (an Unwrap method), never by an Is
// method, so [errors.Is] and [errors.As] walk one tree. An [*APIError] unwraps to the first three
// by its code.
var (
	// ErrAuthentication: the API refused the credentials (Res -1, or HTTP 401). It is never
	// retried: the provider blocks clients that repeat failed connections.
	ErrAuthentication = errors.New("mensatek: authentication failed")
	// ErrInsufficientCredits: the account has not enough credits for the request (Res -2).
	ErrInsufficientCredits = errors.New("mensatek: not enough credits")
	// ErrInvalidRequest: the API refused the request's data (Res -3); the reason is in
	// [APIError.Message].
	ErrInvalidRequest = errors.New("mensatek: invalid request")
	// ErrOutcomeUnknown: a send (or account-status change) may have reached the server, but no
	// usable answer came back (a timeout after the request was written, a dropped connection, a
	// 5xx status, a truncated reply). The message may or may not have been sent. It is never
	// retried automatically, since the API has no idempotency key: check the delivery reports
	// (webhook) or the panel before sending again.
	ErrOutcomeUnknown = errors.New("mensatek: outcome unknown, the message may have been sent")
	// ErrNotSent: nothing of the failed call reached the API, so nothing happened there and the
	// call may be made again as it is (once what the error says is fixed, or later). It is
	// matched by local mistakes ([*ValidationError], [ValidationErrors]), consent refusals
	// ([*ContactError]) and a contact store that failed during the check, a template a checked
	// send found missing or not approved ([*TemplateError]), a context that ended before the
	// request left, connection failures before the request was written (DNS, connect, TLS, a
	// timeout while connecting), the pause after an authentication failure ([WithAuthCooldown])
	// and the limiter's refusal ([WithLimiter]). It is never matched together with
	// [ErrOutcomeUnknown], nor by an [*APIError]: an answer of the API, a 429 included, means
	// the request reached it. A call retried after one of its attempts reached the API does not
	// match it either.
	ErrNotSent = errors.New("mensatek: not sent: nothing reached the API")
	// ErrTemplateNotFound: the account has no template of that name, as the API's template list
	// says; the error is a [*TemplateError] listing the names there are.
	ErrTemplateNotFound = errors.New("mensatek: template not found")
	// ErrTemplateNotApproved: the template exists but Meta has not approved it (yet), so it
	// cannot be sent; the error is a [*TemplateError] with its status.
	ErrTemplateNotApproved = errors.New("mensatek: template not approved")

	// Consent. A send refused for either of the first two never left the process.

	// ErrOptedOut: the recipient asked not to be messaged (an opt-out keyword such as BAJA, or
	// your application recording it), and has not opted back in.
	ErrOptedOut = errors.New("mensatek: recipient opted out")
	// ErrOutsideServiceWindow: the message is not a template, and the recipient has not written
	// in the service window (24 hours): WhatsApp would refuse it after the API took it.
	ErrOutsideServiceWindow = errors.New("mensatek: outside the customer-service window")
	// ErrConsentSuperseded: [ContactStore.SetOptOut] did not record the change, because the
	// change the store holds wins over it ([ConsentChangeWins]). The error is a
	// [*ConsentSupersededError] saying what the store holds.
	ErrConsentSuperseded = errors.New("mensatek: consent change superseded by the stored one")

	// Webhooks.

	// ErrInvalidWebhook is matched by every error [ParseWebhook] returns for a body it cannot
	// read.
	ErrInvalidWebhook = errors.New("mensatek: invalid webhook")
	// ErrWebhookTooLarge is matched when a webhook body is over the size limit.
	ErrWebhookTooLarge = errors.New("mensatek: webhook body too large")
)

// TemplateError is a template that cannot be sent, as the API's template list or the template's
// details say: one the account does not have, or one not approved. It matches
// [ErrTemplateNotFound] or [ErrTemplateNotApproved]. It is not a [*ValidationError], since it was
// learned from the server; it is still found before the send itself leaves, so one a checked send
// ([Client.SendChecked]) returns matches [ErrNotSent]. One from [Client.TemplateByName] or
// [TemplateDetails.Validate] alone, which send nothing, does not.
type TemplateError struct {
	// Name is the template's name.
	Name string
	// Status is the template's status in Meta; empty when it was not found.
	Status TemplateStatus
	// Available lists the names of the account's templates when Name was not found.
	Available []string

	err         error // ErrTemplateNotFound or ErrTemplateNotApproved
	checkedSend bool  // returned by a checked send, whose send never left: matches ErrNotSent
}

// Error names the template and what is wrong with it.
func (e *TemplateError) Error() string {
	if errors.Is(e.err, ErrTemplateNotFound) {
		have := strings.Join(e.Available, ", ")
		if have == "" {
			have = "none"
		}
		return fmt.Sprintf("mensatek: no template named %q; the account has: %s", e.Name, have)
	}
	status := string(e.Status)
	if status == "" {
		status = "unknown"
	}
	return fmt.Sprintf("mensatek: template %q is not approved (status %s); only approved templates can be sent", e.Name, status)
}

// Unwrap returns the sentinel the error matches, and [ErrNotSent] for an error a checked send
// returned.
func (e *TemplateError) Unwrap() []error {
	if e.checkedSend {
		return []error{e.err, ErrNotSent}
	}
	return []error{e.err}
}

// Res codes the API documents; other negative codes exist and are kept as they come.
const (
	CodeAuthentication      = -1 // wrong API user or token
	CodeInsufficientCredits = -2 // not enough credits
	CodeInvalidRequest      = -3 // wrong or missing data; the reason is in the Error field
)

// APIError is an error answer from the API: a reply whose Res is 0 or negative, or a non-2xx HTTP
// status. Use [errors.As] to read it and [errors.Is] with the sentinels to classify it.
type APIError struct {
	// Operation is the SDK operation that failed.
	Operation Operation
	// Code is the reply's Res (-1, -2, -3, or another code); 0 when the reply carried none.
	Code int
	// Message is the server's Error text, or a short excerpt of a reply that was not JSON.
	Message string
	// HTTPStatus is the reply's HTTP status code.
	HTTPStatus int
	// RetryAfter is how long the reply's Retry-After header (seconds or a date) asked the client
	// to wait before trying again, such as with a 429; 0 when it gave none. The client honours it
	// within a call (up to RetryPolicy.MaxBackoff); a caller that retries later, such as a job
	// queue, should wait at least this long.
	RetryAfter time.Duration
}

// Error describes the failure with the code, the server's text and the HTTP status.
func (e *APIError) Error() string {
	s := fmt.Sprintf("mensatek: %s: ", e.Operation)
	switch {
	case e.Code != 0:
		s += fmt.Sprintf("API error %d", e.Code)
		if name := codeName(e.Code); name != "" {
			s += " (" + name + ")"
		}
	default:
		s += "API error"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.HTTPStatus != 0 && (e.HTTPStatus != http.StatusOK || e.Code == 0) {
		s += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
	}
	return s
}

func codeName(code int) string {
	switch code {
	case CodeAuthentication:
		return "authentication failed"
	case CodeInsufficientCredits:
		return "not enough credits"
	case CodeInvalidRequest:
		return "invalid request"
	}
	return ""
}

// Unwrap returns the sentinel errors the code and HTTP status match, if any: [ErrAuthentication]
// for -1 or HTTP 401, [ErrInsufficientCredits] for -2, [ErrInvalidRequest] for -3.
func (e *APIError) Unwrap() []error {
	var errs []error
	if e.Code == CodeAuthentication || e.HTTPStatus == http.StatusUnauthorized {
		errs = append(errs, ErrAuthentication)
	}
	switch e.Code {
	case CodeInsufficientCredits:
		errs = append(errs, ErrInsufficientCredits)
	case CodeInvalidRequest:
		errs = append(errs, ErrInvalidRequest)
	}
	return errs
}

// ResponseError is a successful HTTP status with a reply the SDK could not read: empty, not JSON,
// truncated, larger than the limit, or without a Res code.
type ResponseError struct {
	// Operation is the SDK operation whose reply failed.
	Operation Operation
	// HTTPStatus is the reply's HTTP status code.
	HTTPStatus int
	// Reason says what is wrong with the reply.
	Reason string
	// Excerpt is the start of the reply, made printable and cut short.
	Excerpt string

	err error // what cut the reply short (a timeout, a dropped connection), if anything
}

// Unwrap returns what cut the reply short, if anything, so that errors.Is finds
// context.DeadlineExceeded or io.ErrUnexpectedEOF.
func (e *ResponseError) Unwrap() error { return e.err }

// Error describes the reply and what is wrong with it.
func (e *ResponseError) Error() string {
	s := fmt.Sprintf("mensatek: %s: unreadable reply (HTTP %d): %s", e.Operation, e.HTTPStatus, e.Reason)
	if e.Excerpt != "" {
		s += fmt.Sprintf(": %q", e.Excerpt)
	}
	return s
}

// ValidationError is a local mistake found before any request left the process: a missing
// recipient, a malformed phone, a text over WhatsApp's limits, a missing template variable.
// Several mistakes come together as [ValidationErrors]; [errors.As] finds the first. It matches
// [ErrNotSent].
type ValidationError struct {
	// Field names what is wrong, as a Go path: "To[2].Phone", "Message.Body",
	// "To[0].Vars[Valor-URL-Boton-0]".
	Field string
	// Reason says why, in words.
	Reason string
}

// Unwrap returns [ErrNotSent]: a local mistake is found before anything leaves.
func (e *ValidationError) Unwrap() error { return ErrNotSent }

// Error names the field and the reason.
func (e *ValidationError) Error() string {
	if e.Field == "" {
		return "mensatek: invalid request: " + e.Reason
	}
	return "mensatek: invalid " + e.Field + ": " + e.Reason
}

// ValidationErrors is every local mistake of a request, in order: [TemplateDetails.Validate]
// returns one for all the recipients' problems, so a caller can range over them. It is never
// empty when returned as an error. It matches [ErrNotSent], through its mistakes.
type ValidationErrors []*ValidationError

// Error lists the mistakes, one per line.
func (e ValidationErrors) Error() string {
	lines := make([]string, len(e))
	for i, v := range e {
		lines[i] = v.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns each mistake, so [errors.As] finds the first *ValidationError.
func (e ValidationErrors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, v := range e {
		errs[i] = v
	}
	return errs
}

// orNil returns e as an error, or nil when it holds no mistake (never a typed nil).
func (e ValidationErrors) orNil() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// outcomeError marks an error after which a send may or may not have happened. It matches
// ErrOutcomeUnknown and everything the cause matches (an *APIError, context.DeadlineExceeded).
type outcomeError struct {
	op    Operation
	cause error
}

func (e *outcomeError) Error() string {
	cause := strings.TrimPrefix(e.cause.Error(), "mensatek: "+string(e.op)+": ")
	return fmt.Sprintf("mensatek: %s: outcome unknown (%s): the request may have reached the server and the message "+
		"may have been sent; check the delivery reports before sending again", e.op, cause)
}

func (e *outcomeError) Unwrap() []error { return []error{ErrOutcomeUnknown, e.cause} }

// notSentError marks an error for which nothing reached the API. It reads as the error it marks
// and matches ErrNotSent and everything that error matches.
type notSentError struct{ err error }

func (e *notSentError) Error() string   { return e.err.Error() }
func (e *notSentError) Unwrap() []error { return []error{ErrNotSent, e.err} }

// markNotSent marks err (not nil) as a failure for which nothing reached the API.
func markNotSent(err error) error { return &notSentError{err: err} }
