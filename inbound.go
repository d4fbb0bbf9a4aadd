package mensatek

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mensatek-go/mensatek/internal/wire"
)

// InboundMessage is what a customer sent, decoded from the event's Mensaje. WhatsApp's shapes
// are not documented by Mensatek, so both flat ({"type":"text","text":"hi"}) and nested
// ({"type":"text","text":{"body":"hi"}}) forms are read, and Raw always keeps the JSON: a type
// this SDK does not know is delivered with only Type, Text (when there is one) and Raw.
type InboundMessage struct {
	// Type is the message's type, lower case: one of the InboundType constants, or another
	// type as WhatsApp named it.
	Type InboundType
	// Text is the message's readable text: the text itself, a media caption, the title of the
	// button or row tapped, a completed flow's body, a template button's text, or a reaction's
	// emoji.
	Text string
	// Media is set for image, document, audio, video and sticker messages.
	Media *InboundMedia
	// Location is set for a shared location.
	Location *InboundLocation
	// Contacts is set for shared contacts.
	Contacts []InboundContact
	// Reply is set when the customer tapped a reply button or picked a list row, and only
	// then: an interactive message without a button_reply or list_reply object has none.
	Reply *InteractiveReply
	// Flow is set when the customer completed a WhatsApp Flow (interactive nfm_reply).
	Flow *FlowReply
	// Button is set when the customer tapped a template's quick-reply button.
	Button *TemplateButtonReply
	// Reaction is set for a reaction to one of your messages.
	Reaction *InboundReaction
	// Context is the id of the message this one answers, when the customer replied to one.
	Context string
	// Raw is Mensaje exactly as received.
	Raw json.RawMessage
}

// InboundType is the type of a message a customer sent, as WhatsApp names it, lower case. A type
// the SDK does not list is kept as it came (and its message still delivered, with Raw).
type InboundType string

// The inbound message types the SDK decodes into typed parts.
const (
	InboundTypeText        InboundType = "text"
	InboundTypeImage       InboundType = "image"
	InboundTypeDocument    InboundType = "document"
	InboundTypeAudio       InboundType = "audio"
	InboundTypeVideo       InboundType = "video"
	InboundTypeSticker     InboundType = "sticker"
	InboundTypeVoice       InboundType = "voice"
	InboundTypeLocation    InboundType = "location"
	InboundTypeContacts    InboundType = "contacts"
	InboundTypeInteractive InboundType = "interactive"  // a reply button, a list row or a completed flow
	InboundTypeButtonReply InboundType = "button_reply" // the flat form of a reply button
	InboundTypeListReply   InboundType = "list_reply"   // the flat form of a list row
	InboundTypeButton      InboundType = "button"       // a template's quick-reply button
	InboundTypeReaction    InboundType = "reaction"
)

// ReplyKind says what a customer chose in an interactive message.
type ReplyKind string

// The kinds of interactive reply.
const (
	ReplyKindButton ReplyKind = "button_reply" // one of your ReplyButtons
	ReplyKindList   ReplyKind = "list_reply"   // a row of your List
)

// InboundMedia is a file a customer sent; download it with [Client.DownloadMedia] and the
// event's MessageID and Phone.
type InboundMedia struct {
	ID       string // WhatsApp's media id
	MimeType string // such as "image/jpeg"
	Caption  string
	Filename string // documents only
	SHA256   string
	Animated bool // stickers
	Voice    bool // voice notes
}

// InboundLocation is a location a customer shared.
type InboundLocation struct {
	Latitude, Longitude float64
	Name, Address, URL  string
}

// InboundContact is one contact card a customer shared.
type InboundContact struct {
	Name   string   // formatted name
	Phones []string // as written on the card
	Emails []string
	Raw    json.RawMessage
}

// InteractiveReply is the reply button or list row a customer chose.
type InteractiveReply struct {
	Kind        ReplyKind // ReplyKindButton or ReplyKindList
	ID          string    // the ReplyButton.ID or ListRow.ID you sent
	Title       string
	Description string // list rows only
}

// FlowReply is a WhatsApp Flow the customer completed (an interactive nfm_reply).
type FlowReply struct {
	Name string // the flow's name as WhatsApp sends it, usually "flow"
	Body string // the text shown in the chat, such as "Sent"
	// ResponseJSON is the flow's answers as JSON (WhatsApp's response_json, which arrives as a
	// string holding JSON): decode it into your own struct. nil when absent or not JSON.
	ResponseJSON json.RawMessage
}

// TemplateButtonReply is a template's quick-reply button the customer tapped.
type TemplateButtonReply struct {
	Payload string
	Text    string
}

// InboundReaction is an emoji reaction to one of your messages.
type InboundReaction struct {
	Emoji     string // empty when the customer removed the reaction
	MessageID string // the message reacted to
}

func parseInbound(raw json.RawMessage, eventType string) (*InboundMessage, error) {
	raw = bytes.TrimSpace(raw)
	body := raw
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("invalid string: %v", err)
		}
		t := strings.TrimSpace(s)
		if t == "" {
			return nil, nil
		}
		if !strings.HasPrefix(t, "{") || !json.Valid([]byte(t)) {
			// Plain text, or JSON we cannot read: deliver it as text, never refuse it.
			typ := InboundType(eventType)
			if typ == "" {
				typ = InboundTypeText
			}
			return &InboundMessage{Type: typ, Text: s, Raw: json.RawMessage(wire.AppendString(nil, s))}, nil
		}
		body = []byte(t)
	}
	if len(body) == 0 || body[0] != '{' {
		return &InboundMessage{Type: InboundType(eventType), Text: wire.Text(body), Raw: append(json.RawMessage(nil), raw...)}, nil
	}
	f, err := wire.DecodeObject(body)
	if err != nil {
		return nil, err
	}
	m := &InboundMessage{Raw: append(json.RawMessage(nil), body...)}
	typ := str(f, "type")
	if typ == "" {
		typ = eventType
	}
	m.Type = InboundType(strings.ToLower(strings.TrimSpace(typ)))
	if ctx, ok := f.Raw("context"); ok {
		if cf, err := wire.DecodeObject(ctx); err == nil {
			m.Context, _ = cf.String("id", "message_id")
		}
	}
	decodeInbound(m, f)
	return m, nil
}

// part returns the object nested under key (the nested form), or the message itself (flat).
func part(f wire.Fields, key string) wire.Fields {
	if raw, ok := f.Raw(key); ok {
		raw = bytes.TrimSpace(raw)
		if len(raw) > 0 && raw[0] == '{' {
			if p, err := wire.DecodeObject(raw); err == nil {
				return p
			}
		}
	}
	return f
}

// object returns the object nested under key, if there is one.
func object(f wire.Fields, key string) (wire.Fields, bool) {
	raw, ok := f.Raw(key)
	if !ok {
		return nil, false
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	p, err := wire.DecodeObject(raw)
	return p, err == nil
}

func interactiveReply(kind ReplyKind, q wire.Fields) *InteractiveReply {
	return &InteractiveReply{Kind: kind, ID: str(q, "id"), Title: str(q, "title"), Description: str(q, "description")}
}

// embeddedJSON returns a field that is JSON, or a string holding JSON (as WhatsApp sends a Flow's
// response_json), as the JSON itself; nil when absent or not JSON.
func embeddedJSON(f wire.Fields, key string) json.RawMessage {
	raw, ok := f.Raw(key)
	if !ok {
		return nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if len(raw) == 0 || !json.Valid(raw) {
		return nil
	}
	return append(json.RawMessage(nil), raw...)
}

func str(f wire.Fields, names ...string) string {
	s, _ := f.String(names...)
	return s
}

func decodeInbound(m *InboundMessage, f wire.Fields) {
	switch m.Type {
	case "text":
		if raw, ok := f.Raw("text"); ok && len(bytes.TrimSpace(raw)) > 0 && bytes.TrimSpace(raw)[0] == '{' {
			m.Text = str(part(f, "text"), "body", "text")
		} else {
			m.Text = str(f, "text", "body")
		}
	case "image", "document", "audio", "video", "sticker", "voice":
		p := part(f, string(m.Type))
		md := &InboundMedia{
			ID:       str(p, "id", "media_id"),
			MimeType: str(p, "mime_type", "mimetype"),
			Caption:  str(p, "caption"),
			Filename: baseName(str(p, "filename", "file_name")),
			SHA256:   str(p, "sha256"),
		}
		md.Animated, _ = boolField(p, "animated")
		md.Voice, _ = boolField(p, "voice")
		m.Media = md
		m.Text = md.Caption
	case "location":
		p := part(f, "location")
		loc := &InboundLocation{Name: str(p, "name"), Address: str(p, "address"), URL: str(p, "url")}
		loc.Latitude, _, _ = p.Float("latitude", "lat")
		loc.Longitude, _, _ = p.Float("longitude", "lng", "lon")
		m.Location = loc
		m.Text = loc.Name
	case "contacts":
		if raw, ok := f.Raw("contacts"); ok {
			var list []json.RawMessage
			if json.Unmarshal(raw, &list) == nil {
				for _, c := range list {
					m.Contacts = append(m.Contacts, decodeContact(c))
				}
			}
		}
	case "interactive":
		// Only a reply whose object is there: WhatsApp also sends "interactive" with no
		// interactive object (with an "unsupported" error), and that is no reply at all.
		p, ok := object(f, "interactive")
		if !ok {
			break
		}
		kind := strings.ToLower(str(p, "type"))
		if kind == "" {
			for _, k := range []string{"button_reply", "list_reply", "nfm_reply"} {
				if _, ok := object(p, k); ok {
					kind = k
					break
				}
			}
		}
		switch kind {
		case "button_reply", "list_reply":
			if q, ok := object(p, kind); ok {
				m.Reply = interactiveReply(ReplyKind(kind), q)
				m.Text = m.Reply.Title
			}
		case "nfm_reply":
			if q, ok := object(p, kind); ok {
				m.Flow = &FlowReply{Name: str(q, "name"), Body: str(q, "body"), ResponseJSON: embeddedJSON(q, "response_json")}
				m.Text = m.Flow.Body
			}
		}
	case "button_reply", "list_reply":
		// The flat form: the message itself is the reply.
		m.Reply = interactiveReply(ReplyKind(m.Type), part(f, string(m.Type)))
		m.Text = m.Reply.Title
	case "button":
		p := part(f, "button")
		m.Button = &TemplateButtonReply{Payload: str(p, "payload"), Text: str(p, "text")}
		m.Text = m.Button.Text
	case "reaction":
		p := part(f, "reaction")
		m.Reaction = &InboundReaction{Emoji: str(p, "emoji"), MessageID: str(p, "message_id", "id")}
		m.Text = m.Reaction.Emoji
	default:
		// Unknown type: keep a text if there is one; Raw has the rest.
		if raw, ok := f.Raw("text"); ok && len(bytes.TrimSpace(raw)) > 0 && bytes.TrimSpace(raw)[0] == '{' {
			m.Text = str(part(f, "text"), "body")
		} else {
			m.Text = str(f, "text", "body", "caption")
		}
	}
}

func boolField(f wire.Fields, name string) (bool, bool) {
	raw, ok := f.Raw(name)
	if !ok {
		return false, false
	}
	switch strings.ToLower(wire.Text(raw)) {
	case "true", "1", "yes":
		return true, true
	}
	return false, true
}

func decodeContact(raw json.RawMessage) InboundContact {
	c := InboundContact{Raw: append(json.RawMessage(nil), raw...)}
	f, err := wire.DecodeObject(raw)
	if err != nil {
		return c
	}
	if nameRaw, ok := f.Raw("name"); ok {
		nameRaw = bytes.TrimSpace(nameRaw)
		if len(nameRaw) > 0 && nameRaw[0] == '{' {
			c.Name = str(part(f, "name"), "formatted_name", "first_name")
		} else {
			c.Name = wire.Text(nameRaw)
		}
	}
	collect := func(key string, names ...string) []string {
		var out []string
		raw, ok := f.Raw(key)
		if !ok {
			return nil
		}
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return nil
		}
		for _, item := range list {
			item = bytes.TrimSpace(item)
			if len(item) > 0 && item[0] == '{' {
				if pf, err := wire.DecodeObject(item); err == nil {
					if s := str(pf, names...); s != "" {
						out = append(out, s)
					}
				}
			} else if s := wire.Text(item); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	c.Phones = collect("phones", "phone", "wa_id")
	c.Emails = collect("emails", "email")
	return c
}
