package mensatek

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"time"
)

// The JSON form of a SendRequest is a storage format, for job queues (the outbox module) and
// anything else that keeps a send to make later: it is not what the API receives. It is
// versioned ("v": 1), and every later release reads what an earlier one wrote (see
// testdata/request_json_v1.json). A Message is stored as an envelope naming its Go type, so a
// RawMessage of type TEXTO stays a RawMessage:
//
//	{"v":1,"to":[{"phone":"34600000001","vars":{"1":"Ana"}}],
//	 "message":{"kind":"Template","data":{"Name":"pedido_enviado"}},"reference":"order-42"}
const requestJSONVersion = 1

type sendRequestJSON struct {
	V                int             `json:"v"`
	To               []recipientJSON `json:"to"`
	Message          *messageJSON    `json:"message"`
	ScheduleAt       *time.Time      `json:"schedule_at,omitempty"`
	Reference        string          `json:"reference,omitempty"`
	Report           bool            `json:"report,omitempty"`
	FallbackChannels []string        `json:"fallback_channels,omitempty"`
	FixUTF8          bool            `json:"fix_utf8,omitempty"`
	ExtraData        map[string]any  `json:"extra_data,omitempty"`
	// Whether To, FallbackChannels and ExtraData were empty but not nil, so a round trip keeps
	// the difference (omitempty drops both).
	EmptyTo    bool `json:"empty_to,omitempty"`
	EmptyChans bool `json:"empty_fallback_channels,omitempty"`
	EmptyExtra bool `json:"empty_extra_data,omitempty"`
}

type recipientJSON struct {
	Phone   string            `json:"phone"`
	Name    string            `json:"name,omitempty"`
	Email   string            `json:"email,omitempty"`
	ReplyTo int64             `json:"reply_to,omitempty"`
	Vars    map[string]string `json:"vars,omitempty"`
	// EmptyVars: Vars was empty but not nil.
	EmptyVars bool `json:"empty_vars,omitempty"`
}

// messageJSON is a Message in an envelope: its Go type's name, and its fields as the struct's
// default JSON encoding writes them.
type messageJSON struct {
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data"`
}

// messageKinds maps each envelope kind to a new value of its type.
var messageKinds = map[string]func() Message{
	"Text":            func() Message { return &Text{} },
	"Template":        func() Message { return &Template{} },
	"Image":           func() Message { return &Image{} },
	"Document":        func() Message { return &Document{} },
	"Location":        func() Message { return &Location{} },
	"LocationRequest": func() Message { return &LocationRequest{} },
	"List":            func() Message { return &List{} },
	"ReplyButtons":    func() Message { return &ReplyButtons{} },
	"Reaction":        func() Message { return &Reaction{} },
	"CTAButton":       func() Message { return &CTAButton{} },
	"RawMessage":      func() Message { return &RawMessage{} },
}

// MarshalJSON encodes the request for storage (a job queue, a table), in a versioned form that
// [SendRequest.UnmarshalJSON] reads back exactly: every message type, RawMessage and
// ExtraData values, ScheduleAt (its instant, which is all a send uses), and each recipient's
// variables. It is not the API's wire format. A nil Message is stored as none (Send then
// reports it missing); a nil pointer Message, and values encoding/json cannot encode in
// RawMessage.Data or ExtraData, are errors. Strings are stored as UTF-8: invalid bytes in them
// are stored as U+FFFD, as encoding/json writes them.
func (r SendRequest) MarshalJSON() ([]byte, error) {
	out := sendRequestJSON{
		V:                requestJSONVersion,
		Reference:        r.Reference,
		Report:           r.Report,
		FallbackChannels: r.FallbackChannels,
		FixUTF8:          r.FixUTF8,
		ExtraData:        r.ExtraData,
		EmptyTo:          r.To != nil && len(r.To) == 0,
		EmptyChans:       r.FallbackChannels != nil && len(r.FallbackChannels) == 0,
		EmptyExtra:       r.ExtraData != nil && len(r.ExtraData) == 0,
	}
	if r.To != nil {
		out.To = make([]recipientJSON, len(r.To))
		for i, to := range r.To {
			out.To[i] = recipientJSON{Phone: to.Phone, Name: to.Name, Email: to.Email, ReplyTo: to.ReplyTo,
				Vars: to.Vars, EmptyVars: to.Vars != nil && len(to.Vars) == 0}
		}
	}
	if !r.ScheduleAt.IsZero() {
		t := r.ScheduleAt.Round(0)
		out.ScheduleAt = &t
	}
	if r.Message != nil {
		m, err := marshalMessage(r.Message)
		if err != nil {
			return nil, err
		}
		out.Message = m
	}
	return marshal(out)
}

func marshalMessage(m Message) (*messageJSON, error) {
	v := reflect.ValueOf(m)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, fmt.Errorf("mensatek: SendRequest.MarshalJSON: Message is a nil %T", m)
		}
		v = v.Elem()
	}
	kind := v.Type().Name()
	if v.Type().PkgPath() != reflect.TypeFor[Text]().PkgPath() || messageKinds[kind] == nil {
		return nil, fmt.Errorf("mensatek: SendRequest.MarshalJSON: unknown message type %T", m)
	}
	data, err := marshal(v.Interface())
	if err != nil {
		return nil, fmt.Errorf("mensatek: SendRequest.MarshalJSON: %s: %w", kind, err)
	}
	return &messageJSON{Kind: kind, Data: data}, nil
}

// UnmarshalJSON reads a request [SendRequest.MarshalJSON] wrote, by this release or an
// earlier one. It is strict: an unknown field, message kind or format version is an error, so a
// request is never read (and sent) as less than it says. Numbers in RawMessage.Data and
// ExtraData are read as [json.Number], so they are sent with the digits they were written
// with. The message is a value (Text, not *Text), whatever was stored. JSON null leaves r as
// it is, as encoding/json does.
func (r *SendRequest) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil // as encoding/json leaves a value it reads null into
	}
	var in sendRequestJSON
	if err := decodeStrict(b, &in); err != nil {
		return fmt.Errorf("mensatek: reading a stored SendRequest: %w", err)
	}
	if in.V != requestJSONVersion {
		return fmt.Errorf("mensatek: reading a stored SendRequest: format version %d, this release reads %d", in.V, requestJSONVersion)
	}
	out := SendRequest{
		Reference:        in.Reference,
		Report:           in.Report,
		FallbackChannels: in.FallbackChannels,
		FixUTF8:          in.FixUTF8,
		ExtraData:        in.ExtraData,
	}
	if in.To != nil {
		out.To = make([]Recipient, len(in.To))
		for i, to := range in.To {
			out.To[i] = Recipient{Phone: to.Phone, Name: to.Name, Email: to.Email, ReplyTo: to.ReplyTo, Vars: to.Vars}
			if to.EmptyVars && to.Vars == nil {
				out.To[i].Vars = map[string]string{}
			}
		}
	} else if in.EmptyTo {
		out.To = []Recipient{}
	}
	if in.EmptyChans && out.FallbackChannels == nil {
		out.FallbackChannels = []string{}
	}
	if in.EmptyExtra && out.ExtraData == nil {
		out.ExtraData = map[string]any{}
	}
	if in.ScheduleAt != nil {
		out.ScheduleAt = *in.ScheduleAt
	}
	if in.Message != nil {
		newMsg := messageKinds[in.Message.Kind]
		if newMsg == nil {
			return fmt.Errorf("mensatek: reading a stored SendRequest: unknown message kind %q", in.Message.Kind)
		}
		p := newMsg()
		if err := decodeStrict(in.Message.Data, p); err != nil {
			return fmt.Errorf("mensatek: reading a stored SendRequest: message %s: %w", in.Message.Kind, err)
		}
		out.Message = reflect.ValueOf(p).Elem().Interface().(Message)
	}
	*r = out
	return nil
}

// decodeStrict decodes one JSON value into v: unknown fields and trailing data are errors, and
// numbers in interface values are json.Number.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON value")
	}
	return nil
}
