package mensatektest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mensatek-go/mensatek"
)

// Webhook is one report as Mensatek POSTs it to a webhook, for testing your handler. Build one
// with [InboundText], [InboundImage], [InboundButtonReply] or [StatusChange], change any field,
// and deliver it with [DeliverWebhook], or encode it yourself with [Webhook.JSON] and
// [Webhook.Form].
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
	img := map[string]any{"id": mediaID, "mime_type": mimeType}
	if caption != "" {
		img["caption"] = caption
	}
	return inbound(messageID, phone, "image", map[string]any{"type": "image", "image": img})
}

// InboundButtonReply is a customer tapping one of your mensatek.ReplyButtons.
func InboundButtonReply(messageID int64, phone, buttonID, title string) Webhook {
	return inbound(messageID, phone, "interactive", map[string]any{
		"type": "interactive",
		"interactive": map[string]any{
			"type":         "button_reply",
			"button_reply": map[string]any{"id": buttonID, "title": title},
		},
	})
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
}

// WithBasicAuth sends the report with HTTP Basic credentials, as the panel can be set to.
func WithBasicAuth(user, password string) DeliverOption {
	return func(c *deliverConfig) { c.user, c.password, c.auth = user, password, true }
}

// AsForm sends the report form-encoded instead of as JSON.
func AsForm() DeliverOption { return func(c *deliverConfig) { c.form = true } }

// WithDeliveryClient sends through hc instead of http.DefaultClient.
func WithDeliveryClient(hc *http.Client) DeliverOption {
	return func(c *deliverConfig) { c.client = hc }
}

// DeliverWebhook POSTs the report to url the way Mensatek would and returns the HTTP status your
// handler answered. An error means no status came back.
func DeliverWebhook(ctx context.Context, url string, w Webhook, opts ...DeliverOption) (int, error) {
	cfg := deliverConfig{client: http.DefaultClient}
	for _, o := range opts {
		o(&cfg)
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
