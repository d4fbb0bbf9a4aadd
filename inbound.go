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
	// Contacts is set for shared contacts: every card, unless there are more than 256 (then
	// none; Raw holds them).
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

// maxInboundItems is the most contact cards of a message, and phones or emails of a card,
// decoded into typed parts. People share a few; a list of more is left to Raw, undecoded.
const maxInboundItems = 256

// tooManyItems reports whether raw is a JSON array of more than maxInboundItems elements.
func tooManyItems(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '[' && topLevelCommas(raw) >= maxInboundItems
}

// InboundContact is one contact card a customer shared.
type InboundContact struct {
	Name   string   // formatted name
	Phones []string // as written on the card; none if it has more than 256 (Raw holds them)
	Emails []string // likewise
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

// inboundWire is Mensaje, read in both shapes WhatsApp uses. In the nested shape a part is an
// object under its type's name ({"type":"image","image":{"id":...}}); in the flat shape the
// part's members sit beside "type" ({"type":"image","id":...}), where the embedded partWire
// reads them. "text" and "voice" are a part in one shape and a plain value in the other.
type inboundWire struct {
	partWire
	Type        wire.String                    `json:"type"`
	Context     wire.ObjectOr[partWire]        `json:"context"` // {"id": ...} or {"message_id": ...}
	Text        wire.ObjectOr[partWire]        `json:"text"`    // "hi", or {"body": "hi"}
	Voice       wire.ObjectOr[partWire]        `json:"voice"`   // a voice note's part, or a media part's flag
	Image       wire.ObjectOr[partWire]        `json:"image"`
	Document    wire.ObjectOr[partWire]        `json:"document"`
	Audio       wire.ObjectOr[partWire]        `json:"audio"`
	Video       wire.ObjectOr[partWire]        `json:"video"`
	Sticker     wire.ObjectOr[partWire]        `json:"sticker"`
	Location    wire.ObjectOr[partWire]        `json:"location"`
	ButtonReply wire.ObjectOr[partWire]        `json:"button_reply"`
	ListReply   wire.ObjectOr[partWire]        `json:"list_reply"`
	Button      wire.ObjectOr[partWire]        `json:"button"`
	Reaction    wire.ObjectOr[partWire]        `json:"reaction"`
	Interactive wire.ObjectOr[interactiveWire] `json:"interactive"`
	Contacts    json.RawMessage                `json:"contacts"`
}

// partWire holds the members of every kind of part: a message of one kind uses a few of them.
type partWire struct {
	ID          wire.String `json:"id"`
	MediaID     wire.String `json:"media_id"`
	MimeType    wire.String `json:"mime_type"`
	Mimetype    wire.String `json:"mimetype"`
	Caption     wire.String `json:"caption"`
	Filename    wire.String `json:"filename"`
	FileName    wire.String `json:"file_name"`
	SHA256      wire.String `json:"sha256"`
	Animated    wire.String `json:"animated"`
	Voice       wire.String `json:"voice"`
	Latitude    wire.Number `json:"latitude"`
	Lat         wire.Number `json:"lat"`
	Longitude   wire.Number `json:"longitude"`
	Lng         wire.Number `json:"lng"`
	Lon         wire.Number `json:"lon"`
	Name        wire.String `json:"name"`
	Address     wire.String `json:"address"`
	URL         wire.String `json:"url"`
	Title       wire.String `json:"title"`
	Description wire.String `json:"description"`
	Payload     wire.String `json:"payload"`
	Text        wire.String `json:"text"`
	Body        wire.String `json:"body"`
	Emoji       wire.String `json:"emoji"`
	MessageID   wire.String `json:"message_id"`
}

// interactiveWire is the "interactive" object: a reply button, a list row or a completed flow.
type interactiveWire struct {
	Type        wire.String
	ButtonReply wire.ObjectOr[partWire] `json:"button_reply"`
	ListReply   wire.ObjectOr[partWire] `json:"list_reply"`
	NfmReply    wire.ObjectOr[flowWire] `json:"nfm_reply"`
}

// flowWire is a completed WhatsApp Flow; response_json arrives as a string holding JSON.
type flowWire struct {
	Name         wire.String
	Body         wire.String
	ResponseJSON json.RawMessage `json:"response_json"`
}

// contactWire is one shared contact card; its name is text or {"formatted_name": ...}, its
// phones and emails text or objects.
type contactWire struct {
	Name   wire.ObjectOr[contactItem]
	Phones json.RawMessage
	Emails json.RawMessage
}

type contactItem struct {
	FormattedName wire.String `json:"formatted_name"`
	FirstName     wire.String `json:"first_name"`
	Phone         wire.String `json:"phone"`
	WaID          wire.String `json:"wa_id"`
	Email         wire.String `json:"email"`
}

// parseInbound decodes Mensaje: a string holding JSON, a JSON object, or plain text.
func parseInbound(raw json.RawMessage, eventType string) (*InboundMessage, error) {
	raw = bytes.TrimSpace(raw)
	var w inboundWire
	var body []byte
	switch {
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("invalid string: %v", err)
		}
		t := strings.TrimSpace(s)
		if t == "" {
			return nil, nil
		}
		body = []byte(t)
		if t[0] != '{' || json.Unmarshal(body, &w) != nil {
			// Plain text, or JSON we cannot read: deliver it as text, never refuse it.
			typ := InboundType(eventType)
			if typ == "" {
				typ = InboundTypeText
			}
			return &InboundMessage{Type: typ, Text: s, Raw: json.RawMessage(wire.AppendString(nil, s))}, nil
		}
	case len(raw) > 0 && raw[0] == '{':
		body = append([]byte(nil), raw...)
		if err := json.Unmarshal(body, &w); err != nil {
			return nil, err
		}
	default:
		var text wire.String
		if len(raw) > 0 {
			_ = text.UnmarshalJSON(raw)
		}
		return &InboundMessage{Type: InboundType(eventType), Text: string(text), Raw: append(json.RawMessage(nil), raw...)}, nil
	}
	m := &InboundMessage{Raw: body}
	typ := string(w.Type)
	if typ == "" {
		typ = eventType
	}
	m.Type = InboundType(strings.ToLower(strings.TrimSpace(typ)))
	if c := w.Context.Object; c != nil {
		m.Context = wire.First(c.ID, c.MessageID)
	}
	w.decode(m)
	return m, nil
}

// flat returns the message's own members as a part (the flat shape).
func (w *inboundWire) flat() partWire {
	p := w.partWire
	p.Text, p.Voice = w.Text.Text, w.Voice.Text
	return p
}

// part returns the object nested under the type's name (the nested shape), or else the message
// itself (the flat shape).
func (w *inboundWire) part(nested wire.ObjectOr[partWire]) partWire {
	if nested.Object != nil {
		return *nested.Object
	}
	return w.flat()
}

// media returns the nested part of a media message of type t.
func (w *inboundWire) media(t InboundType) wire.ObjectOr[partWire] {
	switch t {
	case InboundTypeImage:
		return w.Image
	case InboundTypeDocument:
		return w.Document
	case InboundTypeAudio:
		return w.Audio
	case InboundTypeVideo:
		return w.Video
	case InboundTypeSticker:
		return w.Sticker
	}
	return w.Voice
}

func interactiveReply(kind ReplyKind, p partWire) *InteractiveReply {
	return &InteractiveReply{Kind: kind, ID: string(p.ID), Title: string(p.Title), Description: string(p.Description)}
}

func (w *inboundWire) decode(m *InboundMessage) {
	switch m.Type {
	case "text":
		if t := w.Text.Object; t != nil {
			m.Text = wire.First(t.Body, t.Text)
		} else {
			m.Text = wire.First(w.Text.Text, w.Body)
		}
	case "image", "document", "audio", "video", "sticker", "voice":
		p := w.part(w.media(m.Type))
		m.Media = &InboundMedia{
			ID:       wire.First(p.ID, p.MediaID),
			MimeType: wire.First(p.MimeType, p.Mimetype),
			Caption:  string(p.Caption),
			Filename: baseName(wire.First(p.Filename, p.FileName)),
			SHA256:   string(p.SHA256),
			Animated: isTrue(p.Animated),
			Voice:    isTrue(p.Voice),
		}
		m.Text = m.Media.Caption
	case "location":
		p := w.part(w.Location)
		loc := &InboundLocation{Name: string(p.Name), Address: string(p.Address), URL: string(p.URL)}
		loc.Latitude, _, _ = firstNumber(p.Latitude, p.Lat).Float()
		loc.Longitude, _, _ = firstNumber(p.Longitude, p.Lng, p.Lon).Float()
		m.Location = loc
		m.Text = loc.Name
	case "contacts":
		var list []json.RawMessage
		if tooManyItems(w.Contacts) {
			break // counted first: decoding each card of a megabyte of them costs hundreds of MB
		}
		if json.Unmarshal(w.Contacts, &list) == nil {
			for _, c := range list {
				m.Contacts = append(m.Contacts, decodeContact(c))
			}
		}
	case "interactive":
		// Only a reply whose object is there: WhatsApp also sends "interactive" with no
		// interactive object (with an "unsupported" error), and that is no reply at all.
		in := w.Interactive.Object
		if in == nil {
			break
		}
		kind := strings.ToLower(string(in.Type))
		if kind == "" {
			switch {
			case in.ButtonReply.Object != nil:
				kind = "button_reply"
			case in.ListReply.Object != nil:
				kind = "list_reply"
			case in.NfmReply.Object != nil:
				kind = "nfm_reply"
			}
		}
		switch q := in.ButtonReply.Object; kind {
		case "list_reply":
			q = in.ListReply.Object
			fallthrough
		case "button_reply":
			if q != nil {
				m.Reply = interactiveReply(ReplyKind(kind), *q)
				m.Text = m.Reply.Title
			}
		case "nfm_reply":
			if q := in.NfmReply.Object; q != nil {
				m.Flow = &FlowReply{Name: string(q.Name), Body: string(q.Body), ResponseJSON: embeddedJSON(q.ResponseJSON)}
				m.Text = m.Flow.Body
			}
		}
	case "button_reply":
		// The flat form: the message itself is the reply.
		m.Reply = interactiveReply(ReplyKindButton, w.part(w.ButtonReply))
		m.Text = m.Reply.Title
	case "list_reply":
		m.Reply = interactiveReply(ReplyKindList, w.part(w.ListReply))
		m.Text = m.Reply.Title
	case "button":
		p := w.part(w.Button)
		m.Button = &TemplateButtonReply{Payload: string(p.Payload), Text: string(p.Text)}
		m.Text = m.Button.Text
	case "reaction":
		p := w.part(w.Reaction)
		m.Reaction = &InboundReaction{Emoji: string(p.Emoji), MessageID: wire.First(p.MessageID, p.ID)}
		m.Text = m.Reaction.Emoji
	default:
		// Unknown type: keep a text if there is one; Raw has the rest.
		if t := w.Text.Object; t != nil {
			m.Text = string(t.Body)
		} else {
			m.Text = wire.First(w.Text.Text, w.Body, w.Caption)
		}
	}
}

// embeddedJSON returns a member that is JSON, or a string holding JSON (as WhatsApp sends a
// Flow's response_json), as the JSON itself; nil when absent or not JSON.
func embeddedJSON(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if len(raw) == 0 || string(raw) == "null" || !json.Valid(raw) {
		return nil
	}
	return append(json.RawMessage(nil), raw...)
}

// firstNumber returns the first of nums that is set.
func firstNumber(nums ...wire.Number) wire.Number {
	for _, n := range nums {
		if n.IsSet() {
			return n
		}
	}
	return wire.Number{}
}

func isTrue(s wire.String) bool {
	switch strings.ToLower(string(s)) {
	case "true", "1", "yes":
		return true
	}
	return false
}

func decodeContact(raw json.RawMessage) InboundContact {
	c := InboundContact{Raw: append(json.RawMessage(nil), raw...)}
	var w contactWire
	if json.Unmarshal(raw, &w) != nil {
		return c
	}
	if n := w.Name.Object; n != nil {
		c.Name = wire.First(n.FormattedName, n.FirstName)
	} else {
		c.Name = string(w.Name.Text)
	}
	c.Phones = contactItems(w.Phones, func(it *contactItem) string { return wire.First(it.Phone, it.WaID) })
	c.Emails = contactItems(w.Emails, func(it *contactItem) string { return string(it.Email) })
	return c
}

// contactItems reads a card's list of phones or emails: each is text, or an object read by get.
func contactItems(raw json.RawMessage, get func(*contactItem) string) []string {
	var list []wire.ObjectOr[contactItem]
	if len(raw) == 0 || tooManyItems(raw) || json.Unmarshal(raw, &list) != nil {
		return nil
	}
	var out []string
	for _, item := range list {
		s := string(item.Text)
		if item.Object != nil {
			s = get(item.Object)
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
