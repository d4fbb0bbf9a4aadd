package mensatek

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultServiceWindow is WhatsApp's customer-service window: after a customer's last message,
// for this long, any message type may be sent to them; outside it, only templates.
const DefaultServiceWindow = 24 * time.Hour

// ContactOption configures [WithContacts].
type ContactOption func(*contactConfig) error

type contactConfig struct {
	window         time.Duration // 0: no window check
	optOut         bool          // check opt-outs
	repliesAllowed bool          // non-template messages to opted-out customers inside the window
	skip           bool          // send to the others instead of failing the whole send
	now            func() time.Time
}

// WithServiceWindow sets the customer-service window that non-template messages must fall in
// (default [DefaultServiceWindow]); 0 turns the window check off. Templates are always allowed by
// this rule. A negative d makes [NewClient] fail.
func WithServiceWindow(d time.Duration) ContactOption {
	return func(c *contactConfig) error {
		if d < 0 {
			return fmt.Errorf("mensatek: WithServiceWindow: negative duration %v", d)
		}
		c.window = d
		return nil
	}
}

// WithoutOptOutCheck turns the opt-out check off, leaving only the window check.
func WithoutOptOutCheck() ContactOption {
	return func(c *contactConfig) error {
		c.optOut = false
		return nil
	}
}

// AllowRepliesToOptedOut lets non-template messages reach an opted-out customer who wrote inside
// the service window: a reply in a conversation they started, such as the confirmation WhatsApp
// expects after "BAJA". Templates (marketing) to them are still refused.
func AllowRepliesToOptedOut() ContactOption {
	return func(c *contactConfig) error {
		c.repliesAllowed = true
		return nil
	}
}

// SkipRefusedRecipients makes a send with several recipients go to those allowed, listing the
// others in [SendResult.Skipped], instead of failing whole (the default, where nothing is sent).
// A send whose every recipient is refused still fails.
func SkipRefusedRecipients() ContactOption {
	return func(c *contactConfig) error {
		c.skip = true
		return nil
	}
}

// WithContacts makes every send check its recipients against store before anything leaves the
// process: a recipient who opted out fails with an error matching [ErrOptedOut]; a message other
// than a template, to a recipient who has not written within the service window, fails with one
// matching [ErrOutsideServiceWindow]. Both checks, the window and what happens to a send with
// several recipients are set by opts. Feed the store from your webhook with
// [WithWebhookContacts], and from your application with [ContactStore.SetOptOut].
//
// A store that fails makes the send fail with an error matching [ErrNotSent]: consent is never
// assumed.
//
// The store is read before the first attempt and again after every wait that precedes an attempt
// (the rate limiter's, a retry's backoff), so nothing waits between the last read and the
// request: an opt-out the store holds when that read runs stops the send. A recipient refused
// by a later read is treated as one refused by the first: left out and listed in
// [SendResult.Skipped] with SkipRefusedRecipients (the body is encoded again without them),
// otherwise the whole send fails and nothing is sent. Without a limiter the first read is the
// last. What remains is the read's own round trip and the request's way to the API: an opt-out
// recorded during that time, or later, does not stop a request already on its way; a send
// scheduled with [SendRequest.ScheduleAt] is checked when it is made, not when the provider
// delivers it; and a store that reads from a replica sees a change only once the replica has it.
func WithContacts(store ContactStore, opts ...ContactOption) Option {
	return func(c *config) error {
		if store == nil {
			return errors.New("mensatek: WithContacts: nil ContactStore")
		}
		cc := &contactConfig{window: DefaultServiceWindow, optOut: true, now: time.Now}
		for _, o := range opts {
			if o == nil {
				continue
			}
			if err := o(cc); err != nil {
				return err
			}
		}
		c.contacts, c.contactCfg = store, cc
		return nil
	}
}

// ContactError is a recipient a send refused for consent: it matches [ErrOptedOut] or
// [ErrOutsideServiceWindow], and [ErrNotSent], since nothing was sent to the recipient.
type ContactError struct {
	// Phone is the recipient's phone, normalised.
	Phone string
	// Contact is what the store knew of the recipient.
	Contact Contact

	err error
}

// Error says which recipient was refused and why.
func (e *ContactError) Error() string {
	switch {
	case errors.Is(e.err, ErrOptedOut):
		s := fmt.Sprintf("mensatek: send: not sent to %s: the recipient opted out", e.Phone)
		if !e.Contact.ConsentAt.IsZero() {
			s += " on " + e.Contact.ConsentAt.UTC().Format(time.RFC3339)
		}
		if e.Contact.ConsentSource != "" {
			s += " (" + e.Contact.ConsentSource + ")"
		}
		return s
	default:
		if e.Contact.LastInbound.IsZero() {
			return fmt.Sprintf("mensatek: send: not sent to %s: outside the customer-service window, the recipient never wrote; send a template", e.Phone)
		}
		return fmt.Sprintf("mensatek: send: not sent to %s: outside the customer-service window, the recipient last wrote on %s; send a template",
			e.Phone, e.Contact.LastInbound.UTC().Format(time.RFC3339))
	}
}

// Unwrap returns the consent sentinel the error matches, and [ErrNotSent]: a consent refusal is
// found before anything leaves.
func (e *ContactError) Unwrap() []error { return []error{e.err, ErrNotSent} }

// SkippedRecipient is a recipient a send left out, with [SkipRefusedRecipients].
type SkippedRecipient struct {
	Phone string // as given in the request
	Err   error  // a *ContactError
}

// consentedBody is the body of a send with [WithContacts]: each call checks the recipients left
// in req against the store and encodes those allowed. The request path calls it before the first
// attempt and again after every wait (the rate limiter's, a retry's backoff), so a recipient
// whose opt-out was recorded while the send waited is not sent to. A recipient refused by a
// later check is removed from req and added to *skipped, as one refused by the first; without
// SkipRefusedRecipients the send fails. A check that finds nothing new reuses the body.
func (c *Client) consentedBody(req *SendRequest, phones []string, skipped *[]SkippedRecipient) bodyFunc {
	var body []byte
	return func(ctx context.Context) ([]byte, error) {
		to, kept, skip, err := c.checkContacts(ctx, req, phones)
		if err != nil {
			var ce *ContactError
			if errors.As(err, &ce) && len(*skipped) > 0 {
				// Every recipient is refused now: name those left out before too.
				errs := make([]error, 0, len(*skipped)+1)
				for _, s := range *skipped {
					errs = append(errs, s.Err)
				}
				err = errors.Join(append(errs, err)...)
			}
			return nil, err
		}
		if body != nil && len(kept) == len(phones) {
			return body, nil
		}
		req.To, phones = to, kept
		*skipped = append(*skipped, skip...)
		body, err = encodeValidated(req, phones)
		return body, err
	}
}

// checkContacts applies the consent rules to req's recipients, whose normalised phones are
// phones. It returns the recipients to send to (all of them, or the allowed ones when skipping)
// with their phones, and the skipped ones.
func (c *Client) checkContacts(ctx context.Context, req *SendRequest, phones []string) ([]Recipient, []string, []SkippedRecipient, error) {
	cc := c.contactCfg
	template := req.Message.MessageType() == TypeTemplate
	if !cc.optOut && (cc.window == 0 || template) {
		return req.To, phones, nil, nil
	}
	known, err := c.contacts.Contacts(ctx, phones)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) && cause != ctx.Err() {
			err = fmt.Errorf("%w: %w", err, cause) // names WithTimeout when it ended the read
		}
		return nil, nil, nil, markNotSent(fmt.Errorf("mensatek: send: not sent: reading the contact store: %w", err))
	}
	now := cc.now()
	var refused []error
	var skipped []SkippedRecipient
	to, kept := req.To[:0:0], phones[:0:0]
	for i, r := range req.To {
		ct := known[phones[i]]
		inWindow := !ct.LastInbound.IsZero() && now.Sub(ct.LastInbound) < cc.window
		var reason error
		switch {
		case cc.optOut && ct.OptedOut && !(cc.repliesAllowed && !template && inWindow):
			reason = ErrOptedOut
		case cc.window > 0 && !template && !inWindow:
			reason = ErrOutsideServiceWindow
		}
		if reason == nil {
			to, kept = append(to, r), append(kept, phones[i])
			continue
		}
		if c.observer != nil {
			c.observer.ConsentRefused(ctx, OpSend, reason)
		}
		ce := &ContactError{Phone: phones[i], Contact: ct, err: reason}
		refused = append(refused, ce)
		skipped = append(skipped, SkippedRecipient{Phone: r.Phone, Err: ce})
	}
	if len(refused) == 0 {
		return req.To, phones, nil, nil
	}
	if !cc.skip || len(to) == 0 {
		return nil, nil, nil, errors.Join(refused...)
	}
	return to, kept, skipped, nil
}
