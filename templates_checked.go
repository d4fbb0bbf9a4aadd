package mensatek

import (
	"context"
	"errors"
)

// SendChecked sends like [Client.Send], but first checks a [Template] message against the
// template's variables ([Client.TemplateByName], then [TemplateDetails.Validate]), so a campaign
// that would fail fails before it costs anything: a missing or malformed variable, or a Vars key
// the template does not have, with [ValidationErrors]; an unknown template with
// [ErrTemplateNotFound], one not approved with [ErrTemplateNotApproved]. A malformed request (a
// bad phone, no recipient) is found first, before the template is fetched, and comes alone, as
// ValidationErrors holding that one mistake. Each of these errors matches [ErrNotSent]; a
// failure to read the template is returned as the read's error ([*APIError] when the API
// refused it). Other message types are sent as by Send.
//
// A variable given by its display name (Vars["Producto"]) is sent under its Campo
// ("Valor-URL-Boton-0"), the only name the live API knows. The caller's request is not
// modified: what is sent is a copy, with new Vars maps for the recipients that change.
func (c *Client) SendChecked(ctx context.Context, req SendRequest) (*SendResult, error) {
	var name string
	switch m := req.Message.(type) {
	case Template:
		name = m.Name
	case *Template:
		if m != nil {
			name = m.Name
		}
	default:
		return c.Send(ctx, req)
	}
	phones, err := validateSend(&req, c.region)
	if err != nil {
		// A malformed request (a bad phone, no recipient) is found before the template is
		// fetched: alone, but in the same form as the template's problems.
		var ve *ValidationError
		if errors.As(err, &ve) {
			return nil, ValidationErrors{ve}
		}
		return nil, err
	}
	d, err := c.TemplateByName(ctx, name)
	if err == nil {
		to := req.To
		if c.region != nil {
			// The template's checks read phones without the client's region: give them the
			// ones read with it.
			to = make([]Recipient, len(req.To))
			for i, r := range req.To {
				r.Phone = phones[i]
				to[i] = r
			}
		}
		req.To, err = d.bind(to) // req is our copy; bind copies what it changes
	}
	if err != nil {
		var te *TemplateError
		if errors.As(err, &te) {
			te.checkedSend = true // the template was read; the send never left: ErrNotSent
		}
		return nil, err
	}
	return c.Send(ctx, req)
}

// SendTemplateChecked sends the template called name to the recipients after checking their
// variables against it, as [Client.SendChecked] does.
func (c *Client) SendTemplateChecked(ctx context.Context, name string, to ...Recipient) (*SendResult, error) {
	return c.SendChecked(ctx, SendRequest{To: to, Message: Template{Name: name}})
}
