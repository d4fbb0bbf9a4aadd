package mensatek

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mensatek-go/mensatek/internal/wire"
)

// DefaultWebhookMaxBodyBytes is the largest webhook body read unless [WithWebhookMaxBodyBytes]
// says otherwise.
const DefaultWebhookMaxBodyBytes = 1 << 20

// Direction says whether a webhook event is about a message received or sent.
type Direction string

// The two directions of a webhook event (Direccion).
const (
	Inbound  Direction = "INPUT"  // a message a customer sent you
	Outbound Direction = "OUTPUT" // a status change of a message you sent
)

// Event is one report Mensatek POSTs to your webhook: a status change of a message you sent
// (Direction Outbound) or a message a customer sent you (Direction Inbound).
type Event struct {
	Service     string    // Servicio, "WHATSAPP"
	Direction   Direction // Direccion: Inbound ("INPUT") or Outbound ("OUTPUT")
	Status      int       // Estado, as sent; the reference does not list what the numbers mean
	Phone       string    // Telefono: the customer's phone
	ProfileName string    // NombreDestinatario: the customer's WhatsApp profile name
	Time        time.Time // Fecha, read as Madrid time, as sent (a contact store records it bounded: WithWebhookContacts)
	MessageID   int64     // idMensaje: the send's id (Outbound) or the received message's id (Inbound)
	Reference   string    // Referencia: the Reference of the send
	Type        string    // Tipo: the message's type, such as "text"
	// Message is the decoded Mensaje of an inbound message; nil when absent.
	Message *InboundMessage
	// Consent is what the message changed, as a handler with [WithWebhookContacts] read and
	// recorded it before calling your function: ConsentOptedOut for an opt-out keyword, phrase
	// or button (send the confirmation WhatsApp expects), ConsentOptedIn for an opt-in, each only
	// when the store holds that state after the message; empty otherwise (no consent change, a
	// change that lost to a stored change of the other kind, and always without
	// WithWebhookContacts).
	Consent ConsentChange
	// Extra holds the fields this SDK does not know, by the name they came with, so that what
	// the provider adds is not lost. Values that are not strings keep their JSON text. Of
	// unknown names that differ only in case, the one that sorts first in byte order is kept
	// ("COSTE" over "Coste" over "coste"), in JSON and form bodies alike.
	//
	// Extra is bounded, since anyone who can post to the webhook chooses what it holds: a name
	// longer than [MaxExtraNameBytes] or a value longer than [MaxExtraValueBytes] is dropped,
	// and of the rest only the [MaxExtraFields] names that sort first in byte order are kept
	// (at most about 140 KB in all). ExtraDropped counts what was dropped.
	Extra map[string]string
	// ExtraDropped is how many unknown fields were left out of Extra by its limits (case
	// variants of a kept name are not counted: they are the same field).
	ExtraDropped int
}

// Limits of [Event.Extra]. The provider's own fields are a handful of short ones; these leave
// ample room for any it adds, and bound what a hostile body can make the application hold.
const (
	MaxExtraFields     = 64   // unknown fields kept, those whose names sort first
	MaxExtraNameBytes  = 128  // longest name kept
	MaxExtraValueBytes = 2048 // longest value kept, in bytes of its text
)

// maxWebhookFields is the most top-level members (JSON), fields (form) or parts (multipart) a
// webhook body may hold. A report has about 20; a body of more is refused before it is decoded,
// since decoding a megabyte of tiny members costs tens of megabytes of short-lived memory.
const maxWebhookFields = 256

// MaxEventKeyBytes is the longest key [Event.Key] returns, whatever the report holds.
const MaxEventKeyBytes = 256

// Key identifies the report for deduplication: the same report delivered twice has the same key,
// and reports that differ in Service, Direction, MessageID, Phone, Status, Type or Time have
// different keys. It is the fields joined by '|', such as
// "WHATSAPP|OUTPUT|10573758|34600000000|1|text|2020-12-03T10:14:24Z", and never longer than
// [MaxEventKeyBytes]: a key that would be longer (fields as long as the body limit allows, from
// a hostile or broken sender) keeps its first bytes, cut on a UTF-8 boundary, and ends with
// "|sha256:" and the hex SHA-256 of the whole. A store therefore holds a few hundred bytes per
// report, and no report is refused for the length of its key.
func (ev *Event) Key() string {
	key := strings.Join([]string{ev.Service, string(ev.Direction), strconv.FormatInt(ev.MessageID, 10),
		ev.Phone, strconv.Itoa(ev.Status), ev.Type, ev.Time.UTC().Format(time.RFC3339)}, "|")
	if len(key) <= MaxEventKeyBytes {
		return key
	}
	// A full key always ends with the 'Z' of the UTC time, a hashed one with a hex digit, so a
	// short key can never be mistaken for a hashed one.
	sum := sha256.Sum256([]byte(key))
	const suffix = len("|sha256:") + 2*sha256.Size
	cut := MaxEventKeyBytes - suffix
	for cut > 0 && !utf8.RuneStart(key[cut]) {
		cut--
	}
	return key[:cut] + "|sha256:" + hex.EncodeToString(sum[:])
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
//
// A form body (urlencoded or multipart) is turned into a JSON object of strings and read like a
// JSON body. Field names match without regard to case. Of a field given twice (names that differ
// only in case), the last in a JSON body wins, as in encoding/json; a form has no order, so there
// the name that sorts first in byte order wins ("ESTADO" over "Estado" over "estado"), and so it
// does among unknown fields for [Event.Extra], which keeps a bounded number of them.
//
// Any body is parsed, or refused, in time linear in its size, whatever it holds: names are
// matched through a fold key in a map, never compared pairwise. A body of more than 256 fields
// (members of the JSON object, fields of a form, parts of a multipart body) is refused with
// [ErrInvalidWebhook] before it is decoded: a report has about 20, and a megabyte of tiny
// fields would cost tens of megabytes to decode.
func ParseWebhookBody(contentType string, body []byte) (*Event, error) {
	mediaType, params, _ := mime.ParseMediaType(contentType)
	var obj []byte
	var err error
	trimmed := bytes.TrimLeft(body, " \t\r\n\xef\xbb\xbf")
	looksJSON := len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[')
	switch {
	case mediaType == "application/x-www-form-urlencoded" && looksJSON:
		// JSON labelled as a form (curl -d does this): a form cannot start with '{'.
		obj, err = jsonObject(body)
	case mediaType == "application/x-www-form-urlencoded":
		obj, err = formObject(body)
	case mediaType == "multipart/form-data":
		obj, err = multipartObject(body, params["boundary"])
	case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
		obj, err = jsonObject(body)
	default:
		// No or another content type: JSON if it looks like JSON, else a form.
		if looksJSON {
			obj, err = jsonObject(body)
		} else {
			obj, err = formObject(body)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidWebhook, err)
	}
	return eventFromObject(obj)
}

// jsonObject returns the one JSON object of a body that is an object or an array holding one.
func jsonObject(body []byte) ([]byte, error) {
	b := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(body), []byte("\xef\xbb\xbf")))
	if len(b) == 0 {
		return nil, errors.New("empty body")
	}
	if b[0] == '[' {
		// Counted first: decoding a megabyte of tiny elements would cost tens of megabytes.
		if n := topLevelCommas(b) + 1; n > 1 && json.Valid(b) {
			return nil, fmt.Errorf("body is a JSON array of %d elements, want one object", n)
		}
		var arr []json.RawMessage
		if err := json.Unmarshal(b, &arr); err != nil {
			return nil, fmt.Errorf("body is not valid JSON: %v", err)
		}
		if len(arr) != 1 {
			return nil, fmt.Errorf("body is a JSON array of %d elements, want one object", len(arr))
		}
		b = bytes.TrimSpace(arr[0])
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, errors.New("body is not a JSON object")
	}
	if topLevelCommas(b) >= maxWebhookFields {
		return nil, errTooManyFields
	}
	return b, nil
}

// errTooManyFields refuses a body of more than maxWebhookFields fields (members or parts).
var errTooManyFields = fmt.Errorf("body has more than %d fields; a report has about 20", maxWebhookFields)

// topLevelCommas counts the commas between the members of the object, or the elements of the
// array, that b starts with, without decoding it: b is not checked to be valid JSON (the decode
// that follows does that), so for JSON that is not valid the count means nothing.
func topLevelCommas(b []byte) int {
	n, depth, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++ // whatever is escaped neither ends the string nor starts another
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return n
			}
		case ',':
			if depth == 1 {
				n++
			}
		}
	}
	return n
}

// formObject and multipartObject are the one adapter from a form to the JSON decode.
func formObject(body []byte) ([]byte, error) {
	// Counted as url.ParseQuery counts (which has a limit of its own, 10,000 fields, only from
	// Go 1.24.12 and 1.25.6 on), before anything is allocated.
	if bytes.Count(body, []byte("&")) >= maxWebhookFields {
		return nil, errTooManyFields
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("body is not a valid form: %v", err)
	}
	return wire.FormObject(vals), nil
}

func multipartObject(body []byte, boundary string) ([]byte, error) {
	if boundary == "" {
		return nil, errors.New("multipart body without a boundary")
	}
	// Every part starts with the boundary, and the body ends with it; that the boundary appears
	// elsewhere (which a sender avoids) can only make the count too high.
	if bytes.Count(body, []byte("--"+boundary))-1 > maxWebhookFields {
		return nil, errTooManyFields
	}
	form, err := multipart.NewReader(bytes.NewReader(body), boundary).ReadForm(int64(len(body)) + 1024)
	if err != nil {
		return nil, fmt.Errorf("body is not valid multipart: %v", err)
	}
	defer form.RemoveAll()
	return wire.FormObject(form.Value), nil
}

// webhookBody is a webhook report as Mensatek sends it.
type webhookBody struct {
	Servicio           wire.String
	Direccion          wire.String
	Estado             wire.Number
	Telefono           wire.String
	NombreDestinatario wire.String
	Fecha              wire.String
	IDMensaje          wire.Number `json:"idMensaje"`
	Referencia         wire.String
	Tipo               wire.String
	Mensaje            json.RawMessage // a string holding JSON, an object, or plain text
}

// webhookFieldKeys are the fold keys ([wire.FoldKey]) of webhookBody's member names; a member
// whose name folds to another goes to Event.Extra.
var webhookFieldKeys = func() map[string]bool {
	m := make(map[string]bool)
	for _, f := range []string{"Servicio", "Direccion", "Estado", "Telefono", "NombreDestinatario",
		"Fecha", "idMensaje", "Referencia", "Tipo", "Mensaje"} {
		m[wire.FoldKey(f)] = true
	}
	return m
}()

// webhookExtra is what webhookMembers read of a body.
type webhookExtra struct {
	total, known int // members, and how many of them are webhook fields
	extra        map[string]string
	dropped      int
}

// webhookMembers reads every member of obj: how many there are, how many are webhook fields,
// and the others with their values as text, for Event.Extra, within its limits. Members have no
// order once in a map, so of unknown names that differ only in case, the one that sorts first
// in byte order is kept, as in a form. The time taken is linear in the size of obj: names are
// grouped by fold key in a map, and the names kept are chosen without sorting them all.
func webhookMembers(obj []byte) (webhookExtra, error) {
	var values map[string]wire.String
	if err := json.Unmarshal(obj, &values); err != nil {
		return webhookExtra{}, err
	}
	r := webhookExtra{total: len(values)}
	unknown := make(map[string]string) // fold key -> the name that sorts first
	for name := range values {
		k := wire.FoldKey(name)
		if webhookFieldKeys[k] {
			r.known++
			continue
		}
		if kept, ok := unknown[k]; !ok || name < kept {
			unknown[k] = name
		}
	}
	// The MaxExtraFields names that sort first, in order: a bounded insertion, so the cost is
	// linear in the number of names (members come in random map order).
	first := make([]string, 0, MaxExtraFields)
	for _, name := range unknown {
		if len(name) > MaxExtraNameBytes || len(values[name]) > MaxExtraValueBytes {
			r.dropped++
			continue
		}
		if len(first) == MaxExtraFields {
			r.dropped++
			if name > first[len(first)-1] {
				continue
			}
			first = first[:len(first)-1]
		}
		i, _ := slices.BinarySearch(first, name)
		first = slices.Insert(first, i, name)
	}
	if len(first) > 0 {
		r.extra = make(map[string]string, len(first))
		for _, name := range first {
			r.extra[name] = string(values[name])
		}
	}
	return r, nil
}

func eventFromObject(obj []byte) (*Event, error) {
	var w webhookBody
	var extra map[string]string
	var dropped int
	// Most reports hold only webhook fields and are small: then one strict decode reads them
	// all. Anything else (an unknown field, JSON that is not valid) takes the full path, which
	// reads the unknown fields for Extra and says what is wrong; so does a large body, which
	// usually has many unknown fields: the strict decode would read it all (making an error
	// for each unknown field) only to fail.
	if !decodeKnownOnly(obj, &w) {
		w = webhookBody{}
		if err := json.Unmarshal(obj, &w); err != nil {
			return nil, fmt.Errorf("%w: body is not valid JSON: %v", ErrInvalidWebhook, err)
		}
		members, err := webhookMembers(obj)
		if err != nil {
			return nil, fmt.Errorf("%w: body is not valid JSON: %v", ErrInvalidWebhook, err)
		}
		if members.total == 0 {
			return nil, fmt.Errorf("%w: no fields", ErrInvalidWebhook)
		}
		if members.known == 0 {
			return nil, fmt.Errorf("%w: none of the webhook fields (Servicio, Direccion, Estado, Telefono, idMensaje, ...) is present", ErrInvalidWebhook)
		}
		extra, dropped = members.extra, members.dropped
	} else if len(bytes.TrimSpace(obj[1:len(obj)-1])) == 0 {
		return nil, fmt.Errorf("%w: no fields", ErrInvalidWebhook)
	}
	ev := &Event{
		Service:      string(w.Servicio),
		Direction:    Direction(strings.ToUpper(strings.TrimSpace(string(w.Direccion)))),
		Phone:        string(w.Telefono),
		ProfileName:  string(w.NombreDestinatario),
		Reference:    string(w.Referencia),
		Type:         string(w.Tipo),
		Extra:        extra,
		ExtraDropped: dropped,
	}
	st, _, err := w.Estado.Int()
	if err != nil {
		return nil, fmt.Errorf("%w: Estado: %v", ErrInvalidWebhook, err)
	}
	if st > 1<<31-1 || st < -1<<31 {
		return nil, fmt.Errorf("%w: Estado: %d is out of range", ErrInvalidWebhook, st)
	}
	ev.Status = int(st)
	if ev.MessageID, _, err = w.IDMensaje.Int(); err != nil {
		return nil, fmt.Errorf("%w: idMensaje: %v", ErrInvalidWebhook, err)
	}
	if s := string(w.Fecha); strings.TrimSpace(s) != "" {
		t, err := parseWebhookTime(s)
		if err != nil {
			return nil, fmt.Errorf("%w: Fecha: %v", ErrInvalidWebhook, err)
		}
		ev.Time = t
	}
	if len(w.Mensaje) > 0 && string(w.Mensaje) != "null" {
		msg, err := parseInbound(w.Mensaje, ev.Type)
		if err != nil {
			return nil, fmt.Errorf("%w: Mensaje: %v", ErrInvalidWebhook, err)
		}
		ev.Message = msg
	}
	return ev, nil
}

// strictDecodeMax is the largest body the strict decode is tried on. A report of webhook
// fields only is a few hundred bytes, a few KB with a long inbound text.
const strictDecodeMax = 16 << 10

// decodeKnownOnly decodes obj into w if it is small and holds only webhook fields.
func decodeKnownOnly(obj []byte, w *webhookBody) bool {
	if len(obj) > strictDecodeMax {
		return false
	}
	strict := json.NewDecoder(bytes.NewReader(obj))
	strict.DisallowUnknownFields()
	return strict.Decode(w) == nil && !strict.More()
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
