package mensatek

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
	// Consent is what the message said about consent, as a handler with [WithWebhookContacts]
	// read and recorded it before calling your function: ConsentOptedOut for an opt-out keyword
	// (send the confirmation WhatsApp expects), ConsentOptedIn for an opt-in keyword, empty
	// otherwise (and always without WithWebhookContacts).
	Consent ConsentChange
	// Extra holds every field this SDK does not know, by the name it came with, so nothing the
	// provider sends is lost. Values that are not strings keep their JSON text.
	Extra map[string]string
}

// Key identifies the report for deduplication: the same report delivered twice has the same key.
func (ev *Event) Key() string {
	return strings.Join([]string{ev.Service, string(ev.Direction), strconv.FormatInt(ev.MessageID, 10),
		ev.Phone, strconv.Itoa(ev.Status), ev.Type, ev.Time.UTC().Format(time.RFC3339)}, "|")
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
