package mensatektest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mensatek-go/mensatek"
)

// Webhook is one report as Mensatek POSTs it to a webhook, for testing your handler. Build one
// with a builder, one for each kind of inbound message the SDK decodes ([InboundText],
// [InboundImage], [InboundDocument], [InboundAudio], [InboundVoice], [InboundVideo],
// [InboundSticker], [InboundLocation], [InboundContacts], [InboundButtonReply],
// [InboundListReply], [InboundTemplateButton], [InboundReaction], [InboundFlowReply],
// [InboundUnknown]) and for status changes ([StatusChange]); change any field, and deliver it
// with [DeliverWebhook], or encode it yourself with [Webhook.JSON] and [Webhook.Form].
//
// Inbound messages carry Mensaje in WhatsApp's nested shape ({"type":"image","image":{...}}),
// the one WhatsApp's Cloud API uses.
type Webhook struct {
	Service     string             // Servicio; "WHATSAPP"
	Direction   mensatek.Direction // Direccion
	Status      int                // Estado
	Phone       string             // Telefono
	ProfileName string             // NombreDestinatario
	Time        time.Time          // Fecha, sent as Madrid time "2006-01-02 15:04:05"
	MessageID   int64              // idMensaje
	Reference   string             // Referencia
	Type        string             // Tipo
	// Message is Mensaje, sent as a string holding this value's JSON; nil sends no Mensaje.
	Message map[string]any
}

// InboundText is a text a customer sent.
func InboundText(messageID int64, phone, text string) Webhook {
	return inbound(messageID, phone, "text", map[string]any{"type": "text", "text": text})
}

// InboundImage is an image a customer sent, with WhatsApp's media id, its MIME type and a caption.
func InboundImage(messageID int64, phone, mediaID, mimeType, caption string) Webhook {
	return inboundMedia(messageID, phone, "image", media(mediaID, mimeType, caption))
}

// InboundDocument is a document a customer sent, with WhatsApp's media id, its MIME type, its
// file name and a caption.
func InboundDocument(messageID int64, phone, mediaID, mimeType, filename, caption string) Webhook {
	doc := media(mediaID, mimeType, caption)
	if filename != "" {
		doc["filename"] = filename
	}
	return inboundMedia(messageID, phone, "document", doc)
}

// InboundAudio is an audio file a customer sent, with WhatsApp's media id and its MIME type.
// For a voice note recorded in WhatsApp, use [InboundVoice].
func InboundAudio(messageID int64, phone, mediaID, mimeType string) Webhook {
	return inboundMedia(messageID, phone, "audio", media(mediaID, mimeType, ""))
}

// InboundVoice is a voice note a customer recorded: an audio message with "voice": true, as
// WhatsApp sends it (mimeType is usually "audio/ogg; codecs=opus").
func InboundVoice(messageID int64, phone, mediaID, mimeType string) Webhook {
	a := media(mediaID, mimeType, "")
	a["voice"] = true
	return inboundMedia(messageID, phone, "audio", a)
}

// InboundVideo is a video a customer sent, with WhatsApp's media id, its MIME type and a caption.
func InboundVideo(messageID int64, phone, mediaID, mimeType, caption string) Webhook {
	return inboundMedia(messageID, phone, "video", media(mediaID, mimeType, caption))
}

// InboundSticker is a sticker a customer sent (mimeType is usually "image/webp"); animated says
// whether it moves.
func InboundSticker(messageID int64, phone, mediaID, mimeType string, animated bool) Webhook {
	st := media(mediaID, mimeType, "")
	st["animated"] = animated
	return inboundMedia(messageID, phone, "sticker", st)
}

func media(id, mimeType, caption string) map[string]any {
	m := map[string]any{"id": id, "mime_type": mimeType}
	if caption != "" {
		m["caption"] = caption
	}
	return m
}

func inboundMedia(messageID int64, phone, typ string, m map[string]any) Webhook {
	return inbound(messageID, phone, typ, map[string]any{"type": typ, typ: m})
}

// InboundLocation is a location a customer shared; name and address may be empty (a pin dropped
// on the map has neither).
func InboundLocation(messageID int64, phone string, latitude, longitude float64, name, address string) Webhook {
	loc := map[string]any{"latitude": latitude, "longitude": longitude}
	if name != "" {
		loc["name"] = name
	}
	if address != "" {
		loc["address"] = address
	}
	return inbound(messageID, phone, "location", map[string]any{"type": "location", "location": loc})
}

// InboundContacts is one or more contact cards a customer shared, each written from the Name,
// Phones and Emails of a mensatek.InboundContact the way WhatsApp writes a card (its Raw is not
// used).
func InboundContacts(messageID int64, phone string, contacts ...mensatek.InboundContact) Webhook {
	cards := make([]any, 0, len(contacts))
	for _, c := range contacts {
		card := map[string]any{"name": map[string]any{"formatted_name": c.Name, "first_name": c.Name}}
		if len(c.Phones) > 0 {
			phones := make([]any, len(c.Phones))
			for i, p := range c.Phones {
				phones[i] = map[string]any{"phone": p, "type": "CELL"}
			}
			card["phones"] = phones
		}
		if len(c.Emails) > 0 {
			emails := make([]any, len(c.Emails))
			for i, e := range c.Emails {
				emails[i] = map[string]any{"email": e, "type": "WORK"}
			}
			card["emails"] = emails
		}
		cards = append(cards, card)
	}
	return inbound(messageID, phone, "contacts", map[string]any{"type": "contacts", "contacts": cards})
}

// InboundButtonReply is a customer tapping one of your mensatek.ReplyButtons.
func InboundButtonReply(messageID int64, phone, buttonID, title string) Webhook {
	return interactive(messageID, phone, "button_reply", map[string]any{"id": buttonID, "title": title})
}

// InboundListReply is a customer picking a row of your mensatek.List: the row's ID, title and
// description (which may be empty).
func InboundListReply(messageID int64, phone, rowID, title, description string) Webhook {
	row := map[string]any{"id": rowID, "title": title}
	if description != "" {
		row["description"] = description
	}
	return interactive(messageID, phone, "list_reply", row)
}

// InboundFlowReply is a customer completing a WhatsApp Flow (an interactive nfm_reply). response
// is the flow's answers, encoded with encoding/json and sent the way WhatsApp sends them: as
// response_json, a string holding that JSON (pass a json.RawMessage to send JSON text as it
// is). The flow's name is "flow" and its body "Sent", as WhatsApp writes them. It panics if
// response cannot be encoded, like a test helper given a bad argument.
func InboundFlowReply(messageID int64, phone string, response any) Webhook {
	b, err := json.Marshal(response)
	if err != nil {
		panic("mensatektest: InboundFlowReply: encoding response: " + err.Error())
	}
	return interactive(messageID, phone, "nfm_reply", map[string]any{"name": "flow", "body": "Sent", "response_json": string(b)})
}

func interactive(messageID int64, phone, kind string, reply map[string]any) Webhook {
	return inbound(messageID, phone, "interactive", map[string]any{
		"type":        "interactive",
		"interactive": map[string]any{"type": kind, kind: reply},
	})
}

// InboundTemplateButton is a customer tapping a quick-reply button of a template you sent: the
// button's payload and its text.
func InboundTemplateButton(messageID int64, phone, payload, text string) Webhook {
	return inbound(messageID, phone, "button", map[string]any{
		"type": "button", "button": map[string]any{"payload": payload, "text": text},
	})
}

// InboundReaction is a customer reacting with emoji to one of your messages, reactedTo being
// WhatsApp's id of that message ("wamid...."). An empty emoji is a reaction removed.
func InboundReaction(messageID int64, phone, reactedTo, emoji string) Webhook {
	return inbound(messageID, phone, "reaction", map[string]any{
		"type": "reaction", "reaction": map[string]any{"message_id": reactedTo, "emoji": emoji},
	})
}

// InboundUnknown is a message of a type the SDK does not decode (such as "order", "system" or
// "unsupported"): Mensaje is fields with "type" set to typ. The SDK delivers it with its Type,
// any text it carries and its raw JSON.
func InboundUnknown(messageID int64, phone, typ string, fields map[string]any) Webhook {
	msg := make(map[string]any, len(fields)+1)
	for k, v := range fields {
		msg[k] = v
	}
	msg["type"] = typ
	return inbound(messageID, phone, typ, msg)
}

// ReplyingTo returns a copy of w whose message answers the message with WhatsApp's id
// messageID ("wamid...."), as when a customer swipes to reply: Mensaje gets a context.
// A report without a message is returned as it is.
func (w Webhook) ReplyingTo(messageID string) Webhook {
	if w.Message == nil {
		return w
	}
	msg := make(map[string]any, len(w.Message)+1)
	for k, v := range w.Message {
		msg[k] = v
	}
	msg["context"] = map[string]any{"id": messageID}
	w.Message = msg
	return w
}

// StatusChange is a status change of a message you sent: messageID is the send's idMensaje and
// reference its Reference. The reference does not say what each status number means.
func StatusChange(messageID int64, phone string, status int, reference string) Webhook {
	return Webhook{
		Service: "WHATSAPP", Direction: mensatek.Outbound, Status: status, Phone: phone,
		Time: now(), MessageID: messageID, Reference: reference, Type: "text",
	}
}

func inbound(messageID int64, phone, typ string, msg map[string]any) Webhook {
	return Webhook{
		Service: "WHATSAPP", Direction: mensatek.Inbound, Status: 8, Phone: phone, ProfileName: "Customer",
		Time: now(), MessageID: messageID, Type: typ, Message: msg,
	}
}

func now() time.Time { return time.Now().Truncate(time.Second) }

// fields returns the report's wire fields in the reference's order, every value a string as the
// provider sends them.
func (w Webhook) fields() ([][2]string, error) {
	at := ""
	if !w.Time.IsZero() {
		at = w.Time.In(mensatek.MadridTime()).Format("2006-01-02 15:04:05")
	}
	f := [][2]string{
		{"Servicio", w.Service},
		{"Direccion", string(w.Direction)},
		{"Estado", strconv.Itoa(w.Status)},
		{"Telefono", w.Phone},
		{"NombreDestinatario", w.ProfileName},
		{"Fecha", at},
		{"idMensaje", strconv.FormatInt(w.MessageID, 10)},
		{"Referencia", w.Reference},
		{"Tipo", w.Type},
	}
	if w.Message != nil {
		m, err := json.Marshal(w.Message)
		if err != nil {
			return nil, fmt.Errorf("mensatektest: encoding Mensaje: %w", err)
		}
		f = append(f, [2]string{"Mensaje", string(m)})
	}
	return f, nil
}

// JSON returns the report as a JSON body, like the reference's example: every value a string,
// Mensaje a string holding JSON.
func (w Webhook) JSON() ([]byte, error) {
	f, err := w.fields()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("{")
	for i, kv := range f {
		if i > 0 {
			b.WriteString(",")
		}
		k, _ := json.Marshal(kv[0])
		v, _ := json.Marshal(kv[1])
		b.Write(k)
		b.WriteString(":")
		b.Write(v)
	}
	b.WriteString("}")
	return b.Bytes(), nil
}

// Form returns the report as form values (application/x-www-form-urlencoded).
func (w Webhook) Form() (url.Values, error) {
	f, err := w.fields()
	if err != nil {
		return nil, err
	}
	v := make(url.Values, len(f))
	for _, kv := range f {
		v.Set(kv[0], kv[1])
	}
	return v, nil
}

// DeliverOption changes how [DeliverWebhook] sends a report.
type DeliverOption func(*deliverConfig)

type deliverConfig struct {
	user, password string
	auth, form     bool
	client         *http.Client
	clientSet      bool // WithDeliveryClient was given
}

// WithBasicAuth sends the report with HTTP Basic credentials, as the panel can be set to.
func WithBasicAuth(user, password string) DeliverOption {
	return func(c *deliverConfig) { c.user, c.password, c.auth = user, password, true }
}

// AsForm sends the report form-encoded instead of as JSON.
func AsForm() DeliverOption { return func(c *deliverConfig) { c.form = true } }

// WithDeliveryClient sends through hc instead of a connection of the delivery's own.
func WithDeliveryClient(hc *http.Client) DeliverOption {
	return func(c *deliverConfig) { c.client, c.clientSet = hc, true }
}

// DeliverWebhook POSTs the report to url the way Mensatek would and returns the HTTP status your
// handler answered. An error means no status came back.
//
// Each delivery uses a connection of its own, closed when it ends (unless [WithDeliveryClient]
// gives a client), never http.DefaultTransport's idle ones: an httptest.Server closed by another
// test in parallel closes those, and a POST on one fails ("CloseIdleConnections called").
func DeliverWebhook(ctx context.Context, url string, w Webhook, opts ...DeliverOption) (int, error) {
	var cfg deliverConfig
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.clientSet && cfg.client == nil {
		return 0, errors.New("mensatektest: WithDeliveryClient: nil *http.Client")
	}
	if cfg.client == nil {
		tr := &http.Transport{DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		cfg.client = &http.Client{Transport: tr}
	}
	var body []byte
	contentType := "application/json"
	if cfg.form {
		v, err := w.Form()
		if err != nil {
			return 0, err
		}
		body, contentType = []byte(v.Encode()), "application/x-www-form-urlencoded"
	} else {
		b, err := w.JSON()
		if err != nil {
			return 0, err
		}
		body = b
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("mensatektest: DeliverWebhook: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "mensatektest-webhook")
	if cfg.auth {
		req.SetBasicAuth(cfg.user, cfg.password)
	}
	resp, err := cfg.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("mensatektest: DeliverWebhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}
