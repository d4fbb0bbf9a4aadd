package mensatekotel

import (
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/mensatek-go/mensatek"
)

// Outcomes and error types. A success is "ok"; a failure is named by what the SDK's errors
// match, from this fixed set, never by their text (which can name phones).
const (
	outcomeOK = "ok"

	typeOutcomeUnknown      = "outcome_unknown"
	typeOptedOut            = "opted_out"
	typeOutsideWindow       = "outside_window"
	typeValidation          = "validation"
	typeTemplateNotFound    = "template_not_found"
	typeTemplateNotApproved = "template_not_approved"
	typeAuthentication      = "authentication"
	typeInsufficientCredits = "insufficient_credits"
	typeInvalidRequest      = "invalid_request"
	typeTimeout             = "timeout"
	typeCanceled            = "canceled"
	typeNotSent             = "not_sent"
	typeBadReply            = "bad_reply"
	typeConnection          = "connection"
	typeOther               = "_OTHER" // OpenTelemetry's name for an error of no known type
)

// errorType names err's kind for error.type and the outcome attribute: the sentinel it
// matches, "outcome_unknown", or the API's code ("api_code_-5") or HTTP status ("http_503")
// when no sentinel says more. The set is bounded: codes and statuses out of range are
// "api_code_other" and "http_other".
func errorType(err error) string {
	if err == nil {
		return outcomeOK
	}
	var (
		apiErr  *mensatek.APIError
		valErr  *mensatek.ValidationError
		respErr *mensatek.ResponseError
		netErr  net.Error
	)
	switch {
	case errors.Is(err, mensatek.ErrOutcomeUnknown):
		return typeOutcomeUnknown
	case errors.Is(err, mensatek.ErrOptedOut):
		return typeOptedOut
	case errors.Is(err, mensatek.ErrOutsideServiceWindow):
		return typeOutsideWindow
	case errors.As(err, &valErr):
		return typeValidation
	case errors.Is(err, mensatek.ErrTemplateNotFound):
		return typeTemplateNotFound
	case errors.Is(err, mensatek.ErrTemplateNotApproved):
		return typeTemplateNotApproved
	case errors.Is(err, mensatek.ErrAuthentication):
		return typeAuthentication
	case errors.Is(err, mensatek.ErrInsufficientCredits):
		return typeInsufficientCredits
	case errors.Is(err, mensatek.ErrInvalidRequest):
		return typeInvalidRequest
	case errors.As(err, &apiErr):
		switch {
		case apiErr.Code < 0 && apiErr.Code >= -999:
			return "api_code_" + strconv.Itoa(apiErr.Code)
		case apiErr.Code != 0:
			return "api_code_other"
		case apiErr.HTTPStatus >= 100 && apiErr.HTTPStatus <= 599:
			return "http_" + strconv.Itoa(apiErr.HTTPStatus)
		}
		return "http_other"
	case errors.Is(err, context.DeadlineExceeded):
		return typeTimeout
	case errors.Is(err, context.Canceled):
		return typeCanceled
	case errors.Is(err, mensatek.ErrNotSent):
		return typeNotSent
	case errors.As(err, &respErr):
		return typeBadReply
	case errors.As(err, &netErr):
		return typeConnection
	}
	return typeOther
}

// consentReason names a consent refusal for mensatek.consent.refusals.
func consentReason(err error) string {
	switch {
	case errors.Is(err, mensatek.ErrOptedOut):
		return typeOptedOut
	case errors.Is(err, mensatek.ErrOutsideServiceWindow):
		return typeOutsideWindow
	}
	return typeOther
}
