package mensatek

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mensatek-go/mensatek/internal/phone"
	"github.com/mensatek-go/mensatek/internal/wire"
)

// SendRequest is one send (EnviarWHATSAPP): a message to one or more recipients.
type SendRequest struct {
	// To lists the recipients (Destinatarios), at least one, each phone once; each may carry its
	// own variables.
	To []Recipient
	// Message is the content: Text{...}, Image{...}, Template{...}, ... or a RawMessage.
	Message Message
	// ScheduleAt schedules the send (Fecha); zero sends now. It is sent as Madrid wall-clock time
	// to the minute ("2006-01-02 15:04"), whatever t's location, across summer and winter time.
	ScheduleAt time.Time
	// Reference is your reference for the whole send (Referenciausuario); delivery reports
	// carry it back.
	Reference string
	// Report asks for delivery reports at the webhook configured in the panel (Report = 1).
	Report bool
	// FallbackChannels are channels to try if WhatsApp delivery fails (Siguientecanal), as the
	// panel names them.
	FallbackChannels []string
	// FixUTF8 asks the API to repair badly encoded text (Fixutf8 = 1).
	FixUTF8 bool
	// ExtraData adds fields to Datosmensaje, or replaces the message's own: for fields the live
	// API needs that the typed messages do not send. Names are matched without regard to case,
	// as the API matches them: "texto" here replaces the message's "Texto" (the value is
	// ExtraData's, sent under the message's spelling), so the API never gets the field twice.
	ExtraData map[string]any
}

// SendResult is the API's answer to a send.
type SendResult struct {
	MessageID int64   // idMensaje: the id delivery reports refer to
	Sent      int     // Enviados: recipients the message was sent to
	NotSent   int     // NoEnviados: recipients it was not sent to
	Credits   float64 // Cred: credits left after the send
	// Skipped lists the recipients the send left out for consent, with [SkipRefusedRecipients];
	// they were not sent to. Empty otherwise.
	Skipped []SkippedRecipient
}

// Result is the API's answer to a call that returns no data.
type Result struct {
	Code    int     // Res: a positive code means success
	Credits float64 // Cred: credits left
}

// Send sends req.Message to req.To (API function EnviarWHATSAPP). It checks the request first
// and returns a *ValidationError before anything is sent. A send that may have reached the
// server without a usable answer returns an error matching ErrOutcomeUnknown and is never
// repeated: check the delivery reports before sending it again. A send that reached nothing
// (a local mistake, a consent refusal, a connection that failed first) matches ErrNotSent.
//
// Send returns a result and an error together in one case only: the API accepted the send
// (Res > 0), so the message went out, but a field of its reply could not be read. The result
// then holds what was read (Sent from Res at least), and the error matches ErrOutcomeUnknown and
// wraps a *ResponseError naming the field. In every other case exactly one of them is nil.
func (c *Client) Send(ctx context.Context, req SendRequest) (res *SendResult, err error) {
	if c.observer != nil {
		var end func(int64, error)
		ctx, end = c.startCall(ctx, OpSend, len(req.To))
		defer func() { end(sendID(res), err) }()
	}
	phones, err := validateSend(&req, c.region)
	if err != nil {
		return nil, err
	}
	var skipped []SkippedRecipient
	var body bodyFunc
	if c.contacts != nil {
		body = c.consentedBody(&req, phones, &skipped)
	} else {
		b, err := encodeValidated(&req, phones)
		if err != nil {
			return nil, err
		}
		body = fixedBody(b)
	}
	var r sendReply
	if err := c.callWith(ctx, OpSend, body, &r); err != nil {
		return nil, err
	}
	res, err = r.result()
	if res != nil {
		res.Skipped = skipped
	}
	return res, err
}

// sendID is a send's message id, for the observer.
func sendID(res *SendResult) int64 {
	if res == nil {
		return 0
	}
	return res.MessageID
}

// SendText sends a text message to one phone (API function EnviarWHATSAPP). Outside the
// 24-hour window after the customer's last message, only templates can be sent.
func (c *Client) SendText(ctx context.Context, phone, body string) (*SendResult, error) {
	return c.Send(ctx, SendRequest{To: []Recipient{{Phone: phone}}, Message: Text{Body: body}})
}

// SendTemplate sends the approved template called name to the recipients, each with the
// template's variables in Vars (API function EnviarWHATSAPP). It does not check the variables
// against the template; [Client.SendChecked] does.
func (c *Client) SendTemplate(ctx context.Context, name string, to ...Recipient) (*SendResult, error) {
	return c.Send(ctx, SendRequest{To: to, Message: Template{Name: name}})
}

// sendReply is EnviarWHATSAPP's reply.
type sendReply struct {
	replyHead
	MessageID wire.Number `json:"idMensaje"` // also IdMensaje: names match without regard to case
	Msgid     wire.Number // the older name of idMensaje
	Sent      wire.Number `json:"Enviados"`
	NotSent   wire.Number `json:"NoEnviados"`
}

// Member makes sendReply a wire.Flat: the reply of every send is decoded without reflection.
func (r *sendReply) Member(name wire.Name) json.Unmarshaler {
	switch string(name.Bytes()) {
	case "idmensaje":
		return &r.MessageID
	case "msgid":
		return &r.Msgid
	case "enviados":
		return &r.Sent
	case "noenviados":
		return &r.NotSent
	}
	return r.replyHead.member(&name)
}

// result reads an accepted send's reply. A member that cannot be read leaves its field zero
// and makes the error, which says that the message went out.
func (r *sendReply) result() (*SendResult, error) {
	res, _, _ := r.Res.Int()
	out := &SendResult{Sent: int(res)}
	var err error
	setErr := func(name string, e error) {
		if e != nil && err == nil {
			// The message went out: an error that does not say so invites a resend.
			err = &outcomeError{op: OpSend, cause: &ResponseError{Operation: OpSend, HTTPStatus: http.StatusOK, Reason: name + ": " + e.Error()}}
		}
	}
	idNum := r.MessageID
	if !idNum.IsSet() {
		idNum = r.Msgid
	}
	id, _, e := idNum.Int()
	setErr("idMensaje", e)
	out.MessageID = id
	if n, ok, e := r.Sent.Int(); ok {
		out.Sent = int(n)
	} else {
		setErr("Enviados", e)
	}
	n, _, e := r.NotSent.Int()
	setErr("NoEnviados", e)
	out.NotSent = int(n)
	cred, _, e := r.Cred.Float()
	setErr("Cred", e)
	out.Credits = cred
	if err != nil {
		// The message went out (Res > 0); report what was read along with the problem.
		return out, err
	}
	return out, nil
}

// validateSend checks req and returns the recipients' phones, normalised, with national numbers
// read in region (nil: none). Every phone must be a valid number, and no phone may come twice:
// one send reaches a phone once. Field names for errors are built only when there is an error:
// a 10,000-recipient campaign builds none, and its phones that are already international digits
// are not copied.
func validateSend(req *SendRequest, region *phone.RegionData) ([]string, error) {
	if req.Message == nil {
		return nil, invalid("Message", "is required")
	}
	if v := reflect.ValueOf(req.Message); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil, invalid("Message", "is a nil %T", req.Message)
	}
	if len(req.To) == 0 {
		return nil, invalid("To", "at least one recipient is required")
	}
	phones := make([]string, len(req.To))
	var seen map[string]int // phone -> index of its first recipient
	if len(req.To) > 1 {
		seen = make(map[string]int, len(req.To))
	}
	for i, r := range req.To {
		p, err := normalizePhoneIn("", r.Phone, region)
		if err != nil {
			err.(*ValidationError).Field = fmt.Sprintf("To[%d].Phone", i)
			return nil, err
		}
		if seen != nil {
			// Compared after normalising: "+34 600 000 001" and "0034600000001" are one phone.
			if first, dup := seen[p]; dup {
				return nil, invalid(fmt.Sprintf("To[%d].Phone", i), "is the phone of To[%d].Phone too (%s); one send reaches a phone once", first, p)
			}
			seen[p] = i
		}
		phones[i] = p
		if r.ReplyTo < 0 {
			return nil, invalid(fmt.Sprintf("To[%d].ReplyTo", i), "message id %d is negative", r.ReplyTo)
		}
		if err := checkVars(i, r); err != nil {
			return nil, err
		}
	}
	if err := req.Message.validate(req.To); err != nil {
		return nil, err
	}
	for i, ch := range req.FallbackChannels {
		if strings.TrimSpace(ch) == "" {
			return nil, invalid(fmt.Sprintf("FallbackChannels[%d]", i), "is empty")
		}
	}
	for k := range req.ExtraData {
		if strings.TrimSpace(k) == "" {
			return nil, invalid("ExtraData", "has an empty field name")
		}
		for other := range req.ExtraData {
			if other != k && strings.EqualFold(other, k) {
				return nil, invalid("ExtraData", "has %q and %q, one field to the API, which ignores case in names", k, other)
			}
		}
	}
	return phones, nil
}

// checkVars rejects variable names that are empty, repeated in another case, or that clash with
// the recipient's own fields. It allocates nothing unless it fails: it runs once per recipient.
func checkVars(i int, r Recipient) error {
	field := func(k string) string { return fmt.Sprintf("To[%d].Vars[%s]", i, k) }
	for k, v := range r.Vars {
		if strings.TrimSpace(k) == "" {
			return invalid(fmt.Sprintf("To[%d].Vars", i), "has an empty variable name")
		}
		for other := range r.Vars {
			if other != k && strings.EqualFold(other, k) {
				return invalid(field(k), "repeats variable %q; the API ignores case in names", other)
			}
		}
		switch {
		case strings.EqualFold(k, fieldPhone):
			return invalid(field(k), "set the phone in Recipient.Phone")
		case strings.EqualFold(k, fieldReplyTo):
			return invalid(field(k), "set the replied message in Recipient.ReplyTo")
		case strings.EqualFold(k, fieldName) && r.Name != "" && r.Name != v:
			return invalid(field(k), "differs from Recipient.Name (%q); set one of them", r.Name)
		case strings.EqualFold(k, fieldEmail) && r.Email != "" && r.Email != v:
			return invalid(field(k), "differs from Recipient.Email (%q); set one of them", r.Email)
		}
	}
	return nil
}

// encodeSend validates req and builds the JSON body in one buffer. Destinatarios and
// Datosmensaje are sent as strings holding JSON, exactly as the reference's request example shows
// them: each piece is written to a small scratch buffer and escaped straight into the body, so a
// 10,000-recipient campaign costs little more than its body (see BenchmarkEncodeCampaign10k).
func encodeSend(req *SendRequest) ([]byte, error) {
	phones, err := validateSend(req, nil)
	if err != nil {
		return nil, err
	}
	return encodeValidated(req, phones)
}

// encodeValidated is encodeSend for a request validateSend accepted, with the recipients'
// normalised phones it returned.
func encodeValidated(req *SendRequest, phones []string) ([]byte, error) {
	data := req.Message.data()
	mergeExtra(data, req.ExtraData)
	scratch, err := wire.AppendValue(make([]byte, 0, 256), data)
	if err != nil {
		return nil, invalid("Message", "cannot encode Datosmensaje: %v", err)
	}

	b := make([]byte, 0, sendSizeHint(req, len(scratch)))
	b = append(b, `{"Destinatarios":"[`...)
	var keys []string
	for i, r := range req.To {
		if i > 0 {
			b = append(b, ',')
		}
		var rec []byte
		rec, keys = appendRecipient(scratch[len(scratch):], r, phones[i], keys)
		b = wire.AppendEscaped(b, rec)
	}
	b = append(b, `]","Tipomensaje":`...)
	b = wire.AppendString(b, string(req.Message.MessageType()))
	b = append(b, `,"Datosmensaje":"`...)
	b = wire.AppendEscaped(b, scratch)
	b = append(b, '"')
	if !req.ScheduleAt.IsZero() {
		b = append(b, `,"Fecha":`...)
		b = wire.AppendString(b, formatSchedule(req.ScheduleAt))
	}
	if req.Reference != "" {
		b = append(b, `,"Referenciausuario":`...)
		b = wire.AppendString(b, req.Reference)
	}
	b = append(b, `,"Report":`...)
	b = appendFlag(b, req.Report)
	if len(req.FallbackChannels) > 0 {
		b = append(b, `,"Siguientecanal":[`...)
		for i, ch := range req.FallbackChannels {
			if i > 0 {
				b = append(b, ',')
			}
			b = wire.AppendString(b, ch)
		}
		b = append(b, ']')
	}
	b = append(b, `,"Fixutf8":`...)
	b = appendFlag(b, req.FixUTF8)
	b = append(b, `,"Resp":"JSON"}`...)
	return b, nil
}

// mergeExtra sets extra's fields in data. A name data already has in another case is replaced
// under data's spelling: the API ignores case, so both spellings would be one field sent twice.
func mergeExtra(data, extra map[string]any) {
	for k, v := range extra {
		if _, ok := data[k]; !ok {
			for own := range data {
				if strings.EqualFold(own, k) {
					k = own
					break
				}
			}
		}
		data[k] = v
	}
}

// sendSizeHint estimates the body's size, so it is allocated once: each recipient's JSON plus
// the backslashes its quotes take when it is embedded as a string.
func sendSizeHint(req *SendRequest, dataLen int) int {
	n := 160 + dataLen*5/4 + len(req.Reference) + 20*len(req.FallbackChannels)
	for _, r := range req.To {
		n += 48 + len(r.Phone) + len(r.Name) + len(r.Email)
		for k, v := range r.Vars {
			n += 10 + len(k) + len(v)
		}
	}
	return n + n/16
}

func appendFlag(b []byte, on bool) []byte {
	if on {
		return append(b, '1')
	}
	return append(b, '0')
}

// appendRecipient writes one element of Destinatarios: Telefono, Nombre, Email,
// idMensajeRespondido, then the variables sorted by name, so the same request always encodes the
// same way. keys is scratch space, returned for reuse.
func appendRecipient(b []byte, r Recipient, phone string, keys []string) ([]byte, []string) {
	name, email := r.Name, r.Email
	keys = keys[:0]
	for k, v := range r.Vars {
		switch {
		case strings.EqualFold(k, fieldName):
			name = v
		case strings.EqualFold(k, fieldEmail):
			email = v
		default:
			keys = append(keys, k)
		}
	}
	b = append(b, `{"Telefono":`...)
	b = wire.AppendString(b, phone)
	if name != "" {
		b = append(b, `,"Nombre":`...)
		b = wire.AppendString(b, name)
	}
	if email != "" {
		b = append(b, `,"Email":`...)
		b = wire.AppendString(b, email)
	}
	if r.ReplyTo > 0 {
		b = append(b, `,"idMensajeRespondido":`...)
		b = strconv.AppendInt(b, r.ReplyTo, 10)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = append(b, ',')
		b = wire.AppendString(b, k)
		b = append(b, ':')
		b = wire.AppendString(b, r.Vars[k])
	}
	return append(b, '}'), keys
}

// SendTyping shows the customer that you are typing a reply to the message messageID they sent
// from phone (API function EscribiendoWhatsapp: the name is not in the reference and is
// unverified; override it with WithEndpoint(OpTyping, ...)).
func (c *Client) SendTyping(ctx context.Context, messageID int64, phone string) (_ *Result, err error) {
	if c.observer != nil {
		var end func(int64, error)
		ctx, end = c.startCall(ctx, OpTyping, 0)
		defer func() { end(0, err) }()
	}
	body, err := messageBody(messageID, phone, c.region)
	if err != nil {
		return nil, err
	}
	var r replyHead
	if err := c.call(ctx, OpTyping, body, &r); err != nil {
		return nil, err
	}
	return r.result(), nil
}

// messageBody is the body of a call about a received message: its id and the phone it came
// from. The phone is read as a send reads it, or else taken as the digits the webhook gave
// (inboundPhone): a message from a number newer than this SDK's numbering plans can still be
// answered with a typing indicator and its media downloaded.
func messageBody(messageID int64, raw string, region *phone.RegionData) ([]byte, error) {
	if messageID <= 0 {
		return nil, invalid("MessageID", "must be the positive id of a received message, got %d", messageID)
	}
	p, err := normalizePhoneIn("Phone", raw, region)
	if err != nil {
		var ok bool
		if p, ok = inboundPhone(raw); !ok {
			return nil, err
		}
	}
	return marshal(struct {
		ID    int64  `json:"Idmensaje"`
		Phone string `json:"Telefono"`
		Resp  string `json:"Resp"`
	}{messageID, p, "JSON"})
}

// result reads an accepted reply that carries no data.
func (h *replyHead) result() *Result {
	res, _, _ := h.Res.Int()
	cred, _, _ := h.Cred.Float()
	return &Result{Code: int(res), Credits: cred}
}

// SetAccountStatus changes the WhatsApp account's status text, up to 1024 characters (API
// function CambiarEstadoWhatsapp: the name is not in the reference and is unverified; override it
// with WithEndpoint(OpAccountStatus, ...)). Meta may take seconds or minutes to apply it. Like a
// send, it is not repeated when its outcome is unknown.
func (c *Client) SetAccountStatus(ctx context.Context, status string) (_ *Result, err error) {
	if c.observer != nil {
		var end func(int64, error)
		ctx, end = c.startCall(ctx, OpAccountStatus, 0)
		defer func() { end(0, err) }()
	}
	if err := checkRequired("Status", status, MaxAccountStatusLength); err != nil {
		return nil, err
	}
	body, err := marshal(struct {
		Status string `json:"Estado"`
		Resp   string `json:"Resp"`
	}{status, "JSON"})
	if err != nil {
		return nil, err
	}
	var r replyHead
	if err := c.call(ctx, OpAccountStatus, body, &r); err != nil {
		return nil, err
	}
	return r.result(), nil
}
