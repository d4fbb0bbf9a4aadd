package mensatektest

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/mensatek-go/mensatek"
)

// SentMessage is a send the fake accepted (Res > 0), as the request carried it. Its methods
// read it the way the API does, ignoring the case of names, so a test need not index Data.
type SentMessage struct {
	// ID is the idMensaje the fake answered with; IDs start at 1 and increase with each send.
	ID int64
	// Type is the message type (Tipomensaje), upper-cased: mensatek.TypeText, TypeTemplate, ...
	Type mensatek.MessageType
	// To lists every recipient of the request (Destinatarios) in order, including those counted
	// as NoEnviados: Telefono, Nombre, Email and idMensajeRespondido in their own fields, any
	// other field in Vars (by the name it was sent with, its value as text).
	To []mensatek.Recipient
	// Rejected lists the phones counted as NoEnviados, in order: those that are not a valid
	// number in international digits, as mensatek.NormalizePhone reads them.
	Rejected []string
	// Data is Datosmensaje as decoded by encoding/json (numbers are float64), never nil.
	Data map[string]any
	// ScheduledAt is Fecha as it was sent ("2006-01-02 15:04", Madrid time); empty sends now.
	ScheduledAt string
	// Reference is Referenciausuario.
	Reference string
	// Report is true when Report was 1.
	Report bool
	// FallbackChannels is Siguientecanal.
	FallbackChannels []string
}

// Template returns the name of the template a template send (mensatek.TypeTemplate) named in
// Datosmensaje's Plantilla, or "" for any other send.
func (m SentMessage) Template() string {
	if m.Type != mensatek.TypeTemplate {
		return ""
	}
	return m.text("Plantilla")
}

// Text returns Datosmensaje's Texto: a text's body, a media caption, or the body of a list,
// reply buttons, a call-to-action button or a location request; "" when there is none.
func (m SentMessage) Text() string { return m.text("Texto") }

// MediaURL returns the URL of an image or a document send, or "" for any other send.
func (m SentMessage) MediaURL() string {
	if !m.isMedia() {
		return ""
	}
	return m.text("URL")
}

// Caption returns the caption (Texto) of an image or a document send, or "" for any other send.
func (m SentMessage) Caption() string {
	if !m.isMedia() {
		return ""
	}
	return m.text("Texto")
}

// Filename returns the file name (NombreArchivo) of a document send, or "" for any other send.
func (m SentMessage) Filename() string {
	if m.Type != mensatek.TypeDocument {
		return ""
	}
	return m.text("NombreArchivo")
}

// Emoji returns the emoji of a reaction send, or "" for any other send.
func (m SentMessage) Emoji() string {
	if m.Type != mensatek.TypeReaction {
		return ""
	}
	return m.text("Emoji")
}

// Field returns the Datosmensaje field name, found without regard to case, as encoding/json
// decoded it (a string, float64, bool, []any, map[string]any or nil). The fake refuses a send
// that gives one name twice in different case, so at most one field matches.
func (m SentMessage) Field(name string) (any, bool) {
	for k, v := range m.Data {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func (m SentMessage) text(name string) string {
	v, _ := m.Field(name)
	s, _ := v.(string)
	return s
}

func (m SentMessage) isMedia() bool {
	return m.Type == mensatek.TypeImage || m.Type == mensatek.TypeDocument
}

// Phones returns the phone of every recipient, in order, including rejected ones.
func (m SentMessage) Phones() []string {
	out := make([]string, len(m.To))
	for i, r := range m.To {
		out[i] = r.Phone
	}
	return out
}

// Recipient returns the first recipient whose phone has the same digits as phone ("+34 600
// 000 001" finds 34600000001).
func (m SentMessage) Recipient(phone string) (mensatek.Recipient, bool) {
	i := m.index(phone)
	if i < 0 {
		return mensatek.Recipient{}, false
	}
	return m.To[i], true
}

// Var returns the variable name of recipient i (its index in To) without regard to case, the
// way the API finds a template's variable by its Campo: Telefono, Nombre, Email and
// idMensajeRespondido are the recipient's own fields, any other name one of its Vars. It
// returns "" when i is out of range or the recipient has no such variable; use [SentMessage.LookupVar]
// to tell an empty value from a missing one.
func (m SentMessage) Var(i int, name string) string {
	v, _ := m.LookupVar(i, name)
	return v
}

// VarFor is [SentMessage.Var] for the first recipient whose phone has the same digits as phone.
func (m SentMessage) VarFor(phone, name string) string {
	v, _ := m.LookupVar(m.index(phone), name)
	return v
}

// LookupVar is [SentMessage.Var] that also reports whether recipient i has the variable.
func (m SentMessage) LookupVar(i int, name string) (string, bool) {
	if i < 0 || i >= len(m.To) {
		return "", false
	}
	r := m.To[i]
	switch strings.ToLower(name) {
	case "telefono":
		return r.Phone, r.Phone != ""
	case "nombre":
		return r.Name, r.Name != ""
	case "email":
		return r.Email, r.Email != ""
	case "idmensajerespondido":
		if r.ReplyTo == 0 {
			return "", false
		}
		return strconv.FormatInt(r.ReplyTo, 10), true
	}
	for k, v := range r.Vars {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// index returns the index in To of the first recipient with phone's digits, or -1.
func (m SentMessage) index(phone string) int {
	want := digits(phone)
	if want == "" {
		return -1
	}
	return slices.IndexFunc(m.To, func(r mensatek.Recipient) bool { return digits(r.Phone) == want })
}

func (m SentMessage) clone() SentMessage {
	c := m
	c.To = make([]mensatek.Recipient, len(m.To))
	for i, r := range m.To {
		r.Vars = maps.Clone(r.Vars)
		c.To[i] = r
	}
	c.Rejected = slices.Clone(m.Rejected)
	c.Data, _ = cloneValue(m.Data).(map[string]any)
	if c.Data == nil {
		c.Data = map[string]any{}
	}
	c.FallbackChannels = slices.Clone(m.FallbackChannels)
	return c
}

// cloneValue deep-copies a value decoded by encoding/json.
func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = cloneValue(e)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			a[i] = cloneValue(e)
		}
		return a
	}
	return v
}
