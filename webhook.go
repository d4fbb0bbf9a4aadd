package mensatek

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mensatek-go/mensatek/internal/wire"
)

// DefaultWebhookMaxBodyBytes is the largest webhook body read unless [WithWebhookMaxBodyBytes]
// says otherwise.
const DefaultWebhookMaxBodyBytes = 1 << 20

// ErrInvalidWebhook is matched by every error [ParseWebhook] returns for a body it cannot read.
var ErrInvalidWebhook = errors.New("mensatek: invalid webhook")

// ErrWebhookTooLarge is matched when a webhook body is over the size limit.
var ErrWebhookTooLarge = errors.New("mensatek: webhook body too large")

// Event is one report Mensatek POSTs to your webhook: a status change of a message you sent
// (Direction Outbound) or a message a customer sent you (Direction Inbound).
type Event struct {
	Service     string    // Servicio, "WHATSAPP"
	Direction   Direction // Direccion: Inbound ("INPUT") or Outbound ("OUTPUT")
	Status      int       // Estado, as sent; the reference does not list what the numbers mean
	Phone       string    // Telefono: the customer's phone
	ProfileName string    // NombreDestinatario: the customer's WhatsApp profile name
	Time        time.Time // Fecha, read as Madrid time
	MessageID   int64     // idMensaje: the send's id (Outbound) or the received message's id (Inbound)
	Reference   string    // Referencia: the Reference of the send
	Type        string    // Tipo: the message's type, such as "text"
	// Message is the decoded Mensaje of an inbound message; nil when absent.
	Message *InboundMessage
	// Extra holds every field this SDK does not know, by the name it came with, so nothing the
	// provider sends is lost. Values that are not strings keep their JSON text.
	Extra map[string]string
}

// Key identifies the report for deduplication: the same report delivered twice has the same key.
func (ev *Event) Key() string {
	return strings.Join([]string{ev.Service, string(ev.Direction), strconv.FormatInt(ev.MessageID, 10),
		ev.Phone, strconv.Itoa(ev.Status), ev.Type, ev.Time.UTC().Format(time.RFC3339)}, "|")
}

// InboundMessage is what a customer sent, decoded from the event's Mensaje. WhatsApp's shapes
// are not documented by Mensatek, so both flat ({"type":"text","text":"hi"}) and nested
// ({"type":"text","text":{"body":"hi"}}) forms are read, and Raw always keeps the JSON: a type
// this SDK does not know is delivered with only Type, Text (when there is one) and Raw.
type InboundMessage struct {
	// Type is the message's type: text, image, document, audio, video, sticker, location,
	// contacts, interactive (button_reply, list_reply), button, reaction, or another.
	Type string
	// Text is the message's readable text: the text itself, a media caption, the title of the
	// button or row tapped, a template button's text, or a reaction's emoji.
	Text string
	// Media is set for image, document, audio, video and sticker messages.
	Media *InboundMedia
	// Location is set for a shared location.
	Location *InboundLocation
	// Contacts is set for shared contacts.
	Contacts []InboundContact
	// Reply is set when the customer tapped a reply button or picked a list row.
	Reply *InteractiveReply
	// Button is set when the customer tapped a template's quick-reply button.
	Button *TemplateButtonReply
	// Reaction is set for a reaction to one of your messages.
	Reaction *InboundReaction
	// Context is the id of the message this one answers, when the customer replied to one.
	Context string
	// Raw is Mensaje exactly as received.
	Raw json.RawMessage
}

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
	Kind        string // "button_reply" or "list_reply"
	ID          string // the ReplyButton.ID or ListRow.ID you sent
	Title       string
	Description string // list rows only
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

// ParseWebhook reads one Mensatek webhook request: JSON, application/x-www-form-urlencoded or
// multipart/form-data, with field names in any case and numbers as numbers or strings. It reads
// at most DefaultWebhookMaxBodyBytes. Every error matches [ErrInvalidWebhook] (or
// [ErrWebhookTooLarge]) and names what is wrong; it never panics on bad input.
func ParseWebhook(r *http.Request) (*Event, error) {
	return parseWebhookRequest(r, DefaultWebhookMaxBodyBytes)
}

func parseWebhookRequest(r *http.Request, limit int64) (*Event, error) {
	if r == nil || r.Body == nil {
		return nil, fmt.Errorf("%w: no body", ErrInvalidWebhook)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) || int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", ErrWebhookTooLarge, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading the body: %v", ErrInvalidWebhook, err)
	}
	return ParseWebhookBody(r.Header.Get("Content-Type"), body)
}

// ParseWebhookBody parses a webhook body already read, given its Content-Type; see
// [ParseWebhook].
func ParseWebhookBody(contentType string, body []byte) (*Event, error) {
	mediaType, params, _ := mime.ParseMediaType(contentType)
	var f wire.Fields
	var names map[string]string // lower-cased name -> name as sent, for Extra
	var err error
	trimmed := bytes.TrimLeft(body, " \t\r\n\xef\xbb\xbf")
	looksJSON := len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[')
	switch {
	case mediaType == "application/x-www-form-urlencoded" && looksJSON:
		// JSON labelled as a form (curl -d does this): a form cannot start with '{'.
		f, names, err = jsonFields(body)
	case mediaType == "application/x-www-form-urlencoded":
		f, names, err = formFields(body)
	case mediaType == "multipart/form-data":
		f, names, err = multipartFields(body, params["boundary"])
	case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
		f, names, err = jsonFields(body)
	default:
		// No or another content type: JSON if it looks like JSON, else a form.
		if looksJSON {
			f, names, err = jsonFields(body)
		} else {
			f, names, err = formFields(body)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidWebhook, err)
	}
	return eventFromFields(f, names)
}

func jsonFields(body []byte) (wire.Fields, map[string]string, error) {
	b := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(body), []byte("\xef\xbb\xbf")))
	if len(b) == 0 {
		return nil, nil, errors.New("empty body")
	}
	if b[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(b, &arr); err != nil {
			return nil, nil, fmt.Errorf("body is not valid JSON: %v", err)
		}
		if len(arr) != 1 {
			return nil, nil, fmt.Errorf("body is a JSON array of %d elements, want one object", len(arr))
		}
		b = bytes.TrimSpace(arr[0])
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, nil, errors.New("body is not a JSON object")
	}
	f := make(wire.Fields, 12)
	var names map[string]string
	err := wire.ScanObject(b, func(key string, val []byte) {
		lk := strings.ToLower(key)
		if _, dup := f[lk]; dup {
			return
		}
		f[lk] = val
		if lk != key && !webhookKnown[lk] {
			if names == nil {
				names = make(map[string]string)
			}
			names[lk] = key
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("body is not valid JSON: %v", err)
	}
	return f, names, nil
}

func formFields(body []byte) (wire.Fields, map[string]string, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, nil, fmt.Errorf("body is not a valid form: %v", err)
	}
	f, names := wire.FormFields(vals)
	return f, names, nil
}

func multipartFields(body []byte, boundary string) (wire.Fields, map[string]string, error) {
	if boundary == "" {
		return nil, nil, errors.New("multipart body without a boundary")
	}
	form, err := multipart.NewReader(bytes.NewReader(body), boundary).ReadForm(int64(len(body)) + 1024)
	if err != nil {
		return nil, nil, fmt.Errorf("body is not valid multipart: %v", err)
	}
	defer form.RemoveAll()
	f, names := wire.FormFields(form.Value)
	return f, names, nil
}

// Webhook field names, lower-cased.
var webhookKnown = map[string]bool{
	"servicio": true, "direccion": true, "estado": true, "telefono": true, "nombredestinatario": true,
	"fecha": true, "idmensaje": true, "referencia": true, "tipo": true, "mensaje": true,
}

func eventFromFields(f wire.Fields, names map[string]string) (*Event, error) {
	if len(f) == 0 {
		return nil, fmt.Errorf("%w: no fields", ErrInvalidWebhook)
	}
	known := 0
	for k := range f {
		if webhookKnown[k] {
			known++
		}
	}
	if known == 0 {
		return nil, fmt.Errorf("%w: none of the webhook fields (Servicio, Direccion, Estado, Telefono, idMensaje, ...) is present", ErrInvalidWebhook)
	}
	// Names are written lower-case: Fields keys are, and a lower-case name costs no allocation.
	ev := &Event{}
	ev.Service, _ = f.String("servicio")
	dir, _ := f.String("direccion")
	ev.Direction = Direction(strings.ToUpper(strings.TrimSpace(dir)))
	st, _, err := f.Int("estado")
	if err != nil {
		return nil, fmt.Errorf("%w: Estado: %v", ErrInvalidWebhook, err)
	}
	if st > 1<<31-1 || st < -1<<31 {
		return nil, fmt.Errorf("%w: Estado: %d is out of range", ErrInvalidWebhook, st)
	}
	ev.Status = int(st)
	ev.Phone, _ = f.String("telefono")
	ev.ProfileName, _ = f.String("nombredestinatario")
	if ev.MessageID, _, err = f.Int("idmensaje"); err != nil {
		return nil, fmt.Errorf("%w: idMensaje: %v", ErrInvalidWebhook, err)
	}
	ev.Reference, _ = f.String("referencia")
	ev.Type, _ = f.String("tipo")
	if s, ok := f.String("fecha"); ok && strings.TrimSpace(s) != "" {
		t, err := parseWebhookTime(s)
		if err != nil {
			return nil, fmt.Errorf("%w: Fecha: %v", ErrInvalidWebhook, err)
		}
		ev.Time = t
	}
	if raw, ok := f.Raw("mensaje"); ok {
		msg, err := parseInbound(raw, ev.Type)
		if err != nil {
			return nil, fmt.Errorf("%w: Mensaje: %v", ErrInvalidWebhook, err)
		}
		ev.Message = msg
	}
	for k, v := range f {
		if webhookKnown[k] {
			continue
		}
		if ev.Extra == nil {
			ev.Extra = make(map[string]string)
		}
		name := k
		if n, ok := names[k]; ok {
			name = n
		}
		ev.Extra[name] = wire.Text(v)
	}
	return ev, nil
}

var webhookTimeLayouts = []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04"}

// parseWebhookTime reads Fecha as Madrid wall-clock time; a time with its own zone keeps it.
func parseWebhookTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range webhookTimeLayouts {
		if t, err := time.ParseInLocation(layout, s, madridLoc); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date like 2020-12-03 11:14:24", wire.Excerpt([]byte(s), 40))
}

// parseInbound decodes Mensaje: a string holding JSON, a JSON object, or plain text.
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
			typ := eventType
			if typ == "" {
				typ = "text"
			}
			return &InboundMessage{Type: typ, Text: s, Raw: json.RawMessage(wire.AppendString(nil, s))}, nil
		}
		body = []byte(t)
	}
	if len(body) == 0 || body[0] != '{' {
		return &InboundMessage{Type: eventType, Text: wire.Text(body), Raw: append(json.RawMessage(nil), raw...)}, nil
	}
	f, err := wire.DecodeObject(body)
	if err != nil {
		return nil, err
	}
	m := &InboundMessage{Raw: append(json.RawMessage(nil), body...)}
	m.Type, _ = f.String("type")
	if m.Type == "" {
		m.Type = eventType
	}
	m.Type = strings.ToLower(strings.TrimSpace(m.Type))
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
		p := part(f, m.Type)
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
	case "interactive", "button_reply", "list_reply":
		p := f
		kind := m.Type
		if m.Type == "interactive" {
			p = part(f, "interactive")
			kind = strings.ToLower(str(p, "type"))
		}
		q := p
		if kind == "button_reply" || kind == "list_reply" {
			q = part(p, kind)
		} else if _, ok := p.Raw("button_reply"); ok {
			kind, q = "button_reply", part(p, "button_reply")
		} else if _, ok := p.Raw("list_reply"); ok {
			kind, q = "list_reply", part(p, "list_reply")
		}
		m.Reply = &InteractiveReply{Kind: kind, ID: str(q, "id"), Title: str(q, "title"), Description: str(q, "description")}
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

// WebhookOption configures [NewWebhookHandler].
type WebhookOption func(*webhookConfig)

type webhookConfig struct {
	user, password []byte
	auth           bool
	maxBody        int64
	dedup          DedupStore
	lease          time.Duration
	logger         *slog.Logger
}

// WithWebhookBasicAuth requires HTTP Basic credentials, as configured in the panel; they are
// compared in constant time, and a request without them gets 401.
func WithWebhookBasicAuth(user, password string) WebhookOption {
	return func(c *webhookConfig) {
		u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
		c.user, c.password, c.auth = u[:], p[:], true
	}
}

// WithWebhookMaxBodyBytes sets the largest body read (default 1 MiB); a larger one gets 413.
func WithWebhookMaxBodyBytes(n int64) WebhookOption {
	return func(c *webhookConfig) {
		if n > 0 {
			c.maxBody = n
		}
	}
}

// WithWebhookDeduplication sets where the handler records which reports are being handled and
// which were handled, so that a report delivered many times reaches your function once. The
// default is an in-memory store (see [NewMemoryDedupStore]), which is enough for one instance;
// several replicas need one store they share (the redisstore and pgstore modules). nil turns
// deduplication off: every delivery then calls your function.
func WithWebhookDeduplication(store DedupStore) WebhookOption {
	return func(c *webhookConfig) { c.dedup = store }
}

// DefaultWebhookLease is how long one delivery holds a report unless [WithWebhookLease] says
// otherwise. One minute is far longer than a webhook request should take (the provider stops
// waiting long before, and your function should hand slow work to a queue), so a live holder
// is never overtaken; and it is short enough that a report whose holder died (a crash, an OOM
// kill, a deploy) is handled by a redelivery about a minute later.
const DefaultWebhookLease = time.Minute

// WithWebhookLease sets how long one delivery holds a report while your function runs (default
// [DefaultWebhookLease]); any positive duration, shorter than a second included. Deliveries of
// the report meanwhile get 503 with Retry-After; once the lease has run out, a holder that
// never finished is presumed dead and the next delivery handles the report. Your function's
// context ends with the lease, so a takeover does not overlap a run that honours it. Make it
// longer than your function can take. A duration <= 0 is ignored.
func WithWebhookLease(d time.Duration) WebhookOption {
	return func(c *webhookConfig) {
		if d > 0 {
			c.lease = d
		}
	}
}

// WithWebhookLogger sets where the handler logs failures of your function (default
// slog.Default()). Credentials and message contents are never logged.
func WithWebhookLogger(l *slog.Logger) WebhookOption {
	return func(c *webhookConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// NewWebhookHandler returns an http.Handler for the URL you configure in the panel. For each
// report it calls fn with the typed event and answers:
//   - 200 once fn returned nil, or at once, without calling fn, for a report already handled
//     (deduplication, [WithWebhookDeduplication]);
//   - 400 with a short reason for a body it cannot parse;
//   - 401 (with WWW-Authenticate) without the Basic credentials of [WithWebhookBasicAuth];
//   - 405 (with Allow: POST) for any method but POST;
//   - 413 for a body over the limit ([WithWebhookMaxBodyBytes]);
//   - 500 with a generic text when fn returns an error or panics, or the dedup store fails, so
//     the provider delivers the report again; the detail goes to the logger only;
//   - 503 with Retry-After (the seconds left of the lease, at least 1), without calling fn, while
//     another delivery of the same report is being handled ([WithWebhookLease]): if that one
//     fails, the provider's next delivery is handled; if it succeeds, the next is answered 200.
//
// Keep fn fast (hand slow work to a queue) and idempotent: a holder whose lease ran out, or a
// crash between fn's work and the store's record of it, can make a report run twice.
func NewWebhookHandler(fn func(ctx context.Context, ev *Event) error, opts ...WebhookOption) http.Handler {
	cfg := webhookConfig{maxBody: DefaultWebhookMaxBodyBytes, dedup: NewMemoryDedupStore(0, 0), lease: DefaultWebhookLease}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	return &webhookHandler{fn: fn, cfg: cfg}
}

type webhookHandler struct {
	fn  func(ctx context.Context, ev *Event) error
	cfg webhookConfig
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if h.cfg.auth && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="mensatek webhook", charset="UTF-8"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.maxBody)
	ev, err := parseWebhookRequest(r, h.cfg.maxBody)
	if err != nil {
		if errors.Is(err, ErrWebhookTooLarge) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, strings.TrimPrefix(err.Error(), "mensatek: "), http.StatusBadRequest)
		return
	}
	if h.cfg.dedup == nil {
		h.handle(r.Context(), w, ev)
		return
	}
	h.handleOnce(r.Context(), w, ev)
}

// handleOnce runs fn for ev under a claim of its key: see [DedupStore].
func (h *webhookHandler) handleOnce(ctx context.Context, w http.ResponseWriter, ev *Event) {
	key, token := ev.Key(), newClaimToken()
	c, err := h.cfg.dedup.Claim(ctx, key, token, h.cfg.lease)
	if err != nil {
		h.cfg.logger.ErrorContext(ctx, "mensatek webhook: dedup store failed", "error", err, "message_id", ev.MessageID)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	switch c.Status {
	case ClaimDone:
		w.WriteHeader(http.StatusOK)
		return
	case ClaimInProgress:
		secs := int64((c.Remaining + time.Second - 1) / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		http.Error(w, "this report is being handled; deliver it again later", http.StatusServiceUnavailable)
		return
	case ClaimAcquired:
	default:
		h.cfg.logger.ErrorContext(ctx, "mensatek webhook: dedup store answered an unknown state", "state", c.Status.String(), "message_id", ev.MessageID)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// After fn, the store is told the outcome even if the request's context has ended, within
	// a bound of its own so a hung store cannot hold the request forever.
	after, cancelAfter := context.WithTimeout(context.WithoutCancel(ctx), storeOutcomeTimeout)
	defer cancelAfter()
	fnCtx, cancel := context.WithTimeout(ctx, h.cfg.lease)
	err = func() error {
		defer func() {
			if p := recover(); p != nil { // http.ErrAbortHandler, passed on by call
				_ = h.cfg.dedup.Release(after, key, token)
				panic(p)
			}
		}()
		return h.call(fnCtx, ev)
	}()
	cancel()
	if err != nil {
		if rerr := h.cfg.dedup.Release(after, key, token); rerr != nil {
			// The claim stays until its lease runs out; the report is delivered again after that.
			h.cfg.logger.ErrorContext(ctx, "mensatek webhook: dedup store release failed", "error", rerr, "message_id", ev.MessageID)
		}
		h.fail(ctx, w, ev, err)
		return
	}
	if cerr := h.cfg.dedup.Complete(after, key); cerr != nil {
		// fn succeeded, so the report was handled: answer 200. Only a redelivery after the lease
		// would run fn again.
		h.cfg.logger.ErrorContext(ctx, "mensatek webhook: dedup store complete failed", "error", cerr, "message_id", ev.MessageID)
	}
	w.WriteHeader(http.StatusOK)
}

// handle runs fn for ev without deduplication.
func (h *webhookHandler) handle(ctx context.Context, w http.ResponseWriter, ev *Event) {
	if err := h.call(ctx, ev); err != nil {
		h.fail(ctx, w, ev, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *webhookHandler) fail(ctx context.Context, w http.ResponseWriter, ev *Event, err error) {
	h.cfg.logger.ErrorContext(ctx, "mensatek webhook: handler failed", "error", err,
		"message_id", ev.MessageID, "direction", string(ev.Direction), "status", ev.Status)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// storeOutcomeTimeout bounds the store call that records fn's outcome.
const storeOutcomeTimeout = 30 * time.Second

// newClaimToken returns a random token that tells this delivery's claim from any other's.
func newClaimToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; a counter keeps tokens unique here.
		return "n" + strconv.FormatUint(tokenSeq.Add(1), 10)
	}
	return hex.EncodeToString(b[:])
}

var tokenSeq atomic.Uint64

// call runs fn, turning a panic into an error.
func (h *webhookHandler) call(ctx context.Context, ev *Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	if h.fn == nil {
		return nil
	}
	return h.fn(ctx, ev)
}

func (h *webhookHandler) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	uok := subtle.ConstantTimeCompare(u[:], h.cfg.user)
	pok := subtle.ConstantTimeCompare(p[:], h.cfg.password)
	return uok&pok == 1
}
