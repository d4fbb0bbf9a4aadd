package mensatek

import (
	"errors"
	"fmt"
	"strings"
)

// VariableFormat is the kind of value a template variable takes (Formato). A value the SDK does
// not list is kept as it came, and checked as text.
type VariableFormat string

// The variable formats the API names. Any other format is checked as text.
const (
	FormatPhone    VariableFormat = "TELEFONO"
	FormatText     VariableFormat = "TEXTO"
	FormatURL      VariableFormat = "URL"
	FormatImageURL VariableFormat = "URL_IMAGEN"
	FormatDocURL   VariableFormat = "URL_DOCUMENTO"
	FormatVideoURL VariableFormat = "URL_VIDEO"
)

// Validate checks that the template can be sent to these recipients: it is approved, there is at
// least one recipient, and each recipient carries every variable (by its Field, or else its Name;
// variable 1 is the phone) with a value that fits its Format: a valid phone for TELEFONO, an
// absolute http(s) URL for URL, URL_IMAGEN, URL_DOCUMENTO and URL_VIDEO, non-empty text otherwise
// that WhatsApp accepts in a template (no line break, no tab, no more than 4 spaces in a row:
// Meta refuses such a send after the API took it, so a spreadsheet cell with a line break in a
// name is caught here, before anything is spent).
//
// A template that is not approved is a [*TemplateError] matching [ErrTemplateNotApproved]. The
// recipients' problems are [ValidationErrors], every one a *ValidationError naming the recipient
// and variable ("To[3].Vars[Nombre]"), in order.
func (d *TemplateDetails) Validate(to ...Recipient) error {
	if d == nil {
		return invalid("Template", "no template details")
	}
	if !d.Verified {
		return &TemplateError{Name: d.Name, Status: d.Status, err: ErrTemplateNotApproved}
	}
	if len(to) == 0 {
		return invalid("To", "at least one recipient is required")
	}
	var errs ValidationErrors
	for i, r := range to {
		errs = d.appendRecipientErrors(errs, fmt.Sprintf("To[%d].", i), r)
	}
	return errs.orNil()
}

// ValidateRecipient checks one recipient's variables as [TemplateDetails.Validate] does, without
// the approval check, so a caller can sort good rows from bad ones. Its problems are
// [ValidationErrors] with paths relative to the recipient ("Vars[Nombre]").
func (d *TemplateDetails) ValidateRecipient(r Recipient) error {
	if d == nil {
		return invalid("Template", "no template details")
	}
	return d.appendRecipientErrors(nil, "", r).orNil()
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func (d *TemplateDetails) appendRecipientErrors(errs ValidationErrors, prefix string, r Recipient) ValidationErrors {
	if _, err := normalizePhone(prefix+"Phone", r.Phone); err != nil {
		errs = appendValidation(errs, err)
	}
	for _, v := range d.Variables {
		field, value, found := lookupVar(v, r)
		if field == "Phone" {
			continue // checked above
		}
		path := prefix + field
		if !found || strings.TrimSpace(value) == "" {
			key := v.Field
			if key == "" {
				key = v.Name
			}
			reason := fmt.Sprintf("missing variable %d (%s, %s)", v.Index, v.Name, strings.ToLower(orNone(string(v.Format))))
			if v.Example != "" {
				reason += fmt.Sprintf("; for example %q", v.Example)
			}
			errs = append(errs, &ValidationError{Field: prefix + "Vars[" + key + "]", Reason: reason})
			continue
		}
		switch VariableFormat(strings.ToUpper(string(v.Format))) {
		case FormatPhone:
			if _, err := normalizePhone(path, value); err != nil {
				errs = appendValidation(errs, err)
			}
		case FormatURL, FormatImageURL, FormatDocURL, FormatVideoURL:
			if err := checkURL(path, value); err != nil {
				errs = appendValidation(errs, err)
			}
		default:
			if reason := metaTextProblem(value); reason != "" {
				errs = append(errs, &ValidationError{Field: path, Reason: reason})
			}
		}
	}
	return errs
}

// appendValidation adds the *ValidationError err holds (the local checks return nothing else).
func appendValidation(errs ValidationErrors, err error) ValidationErrors {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		ve = &ValidationError{Reason: err.Error()}
	}
	return append(errs, ve)
}

// metaTextProblem says why Meta would refuse value as a template's text parameter: it may hold
// no line break or tab, nor more than four spaces in a row. "" means none.
func metaTextProblem(value string) string {
	spaces := 0
	for i, r := range value {
		switch r {
		case '\n', '\r', '\v', '\f', '\u0085', '\u2028', '\u2029':
			return fmt.Sprintf("has a line break at byte %d; WhatsApp refuses line breaks in a template's variables", i)
		case '\t':
			return fmt.Sprintf("has a tab at byte %d; WhatsApp refuses tabs in a template's variables", i)
		case ' ':
			if spaces++; spaces > 4 {
				return fmt.Sprintf("has more than 4 spaces in a row at byte %d; WhatsApp refuses them in a template's variables", i-4)
			}
		default:
			spaces = 0
		}
	}
	return ""
}

// lookupVar finds the recipient's value for v: by Field, then by Name; the phone, name and email
// come from the recipient's own fields. field is the Go path of where it was (or should be) found.
func lookupVar(v TemplateVariable, r Recipient) (field, value string, found bool) {
	if v.Index == 1 || strings.EqualFold(v.Field, fieldPhone) {
		return "Phone", r.Phone, r.Phone != ""
	}
	for _, key := range []string{v.Field, v.Name} {
		if key == "" {
			continue
		}
		switch {
		case strings.EqualFold(key, fieldName) && r.Name != "":
			return "Name", r.Name, true
		case strings.EqualFold(key, fieldEmail) && r.Email != "":
			return "Email", r.Email, true
		}
		if val, ok := r.Vars[key]; ok {
			return "Vars[" + key + "]", val, true
		}
		for k, val := range r.Vars {
			if strings.EqualFold(k, key) {
				return "Vars[" + k + "]", val, true
			}
		}
	}
	return "", "", false
}
