package mensatektest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/internal/api"
)

// send answers EnviarWHATSAPP: it checks the request as the service would, counts Enviados and
// NoEnviados, spends the credits and records the send.
func (s *Server) send(f params) []kv {
	fail := func(format string, args ...any) []kv { return invalidFields(s.Credits(), format, args...) }

	tm := strings.TrimSpace(f.text("Tipomensaje"))
	if tm == "" {
		return fail("missing required parameter Tipomensaje")
	}
	typ := mensatek.MessageType(strings.ToUpper(tm))
	if !knownType(typ) {
		return fail("Tipomensaje %q is not one of %s", tm, typeList())
	}

	raw, ok := f.raw("Destinatarios")
	if !ok {
		return fail("missing required parameter Destinatarios")
	}
	list, err := decodeList(raw)
	if err != nil {
		return fail("Destinatarios: %v", err)
	}
	if len(list) == 0 {
		return fail("Destinatarios is empty: give at least one recipient with its Telefono")
	}
	to := make([]mensatek.Recipient, len(list))
	fields := make([]params, len(list))
	for i, e := range list {
		to[i], fields[i], err = decodeRecipient(e)
		if err != nil {
			return fail("Destinatarios[%d]: %v", i, err)
		}
	}

	data := map[string]any{}
	if raw, ok := f.raw("Datosmensaje"); ok {
		var problem string
		if data, problem = decodeData(raw); problem != "" {
			return fail("%s", problem)
		}
	}

	fecha := strings.TrimSpace(f.text("Fecha"))
	if fecha != "" {
		if _, err := time.Parse("2006-01-02 15:04", fecha); err != nil {
			return fail("Fecha %q is not a date in the format YYYY-MM-DD HH:MM (Spain time)", fecha)
		}
	}
	reference := f.text("Referenciausuario")
	report, err := flag(f, "Report")
	if err != nil {
		return fail("%v", err)
	}
	if _, err := flag(f, "Fixutf8"); err != nil {
		return fail("%v", err)
	}
	var channels []string
	if raw, ok := f.raw("Siguientecanal"); ok {
		if channels, err = decodeChannels(raw); err != nil {
			return fail("Siguientecanal: %v", err)
		}
	}

	var template string
	switch typ {
	case mensatek.TypeTemplate:
		template = dataString(data, "Plantilla")
		if template == "" {
			return fail("missing Datosmensaje.Plantilla: the name of the template to send")
		}
	case mensatek.TypeReaction:
		for i, r := range to {
			if r.ReplyTo <= 0 {
				return fail("Destinatarios[%d]: a REACCION needs idMensajeRespondido, the id of the message it reacts to", i)
			}
		}
	}

	var valid []int
	var rejected []string
	for i, r := range to {
		if validPhone(r.Phone) {
			valid = append(valid, i)
		} else {
			rejected = append(rejected, r.Phone)
		}
	}

	s.mu.Lock()
	rule := s.consent
	s.mu.Unlock()
	if rule != nil {
		phones := make([]string, 0, len(valid))
		for _, i := range valid {
			if p, err := mensatek.NormalizePhone(to[i].Phone); err == nil {
				phones = append(phones, p)
			}
		}
		if problem := rule.problem(typ, phones); problem != "" {
			return fail("%s", problem)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if template != "" {
		t, problem := s.templateByName(template)
		if problem != "" {
			return invalidFields(s.credits, "%s", problem)
		}
		for _, i := range valid {
			if problem := missingVariable(t, fields[i]); problem != "" {
				return invalidFields(s.credits, "Destinatarios[%d] (%s): %s", i, to[i].Phone, problem)
			}
		}
	}
	if len(valid) == 0 {
		return invalidFields(s.credits, "no valid recipients: each Telefono needs a valid number in international digits, like 34600000001 (mensatek.NormalizePhone says why one is not)")
	}
	need := roundCredits(s.cost * float64(len(valid)))
	if need > s.credits+1e-9 {
		return errorFields(mensatek.CodeInsufficientCredits,
			fmt.Sprintf("not enough credits: the send needs %s, the account has %s", formatNumber(need), formatNumber(s.credits)), s.credits)
	}
	s.credits = roundCredits(s.credits - need)
	s.lastID++
	s.sent = append(s.sent, SentMessage{
		ID:               s.lastID,
		Type:             typ,
		To:               to,
		Rejected:         rejected,
		Data:             data,
		ScheduledAt:      fecha,
		Reference:        reference,
		Report:           report,
		FallbackChannels: channels,
	})
	return []kv{
		{"Res", strconv.Itoa(len(valid))},
		{"idMensaje", strconv.FormatInt(s.lastID, 10)},
		{"Cred", formatNumber(s.credits)},
		{"Enviados", strconv.Itoa(len(valid))},
		{"NoEnviados", strconv.Itoa(len(rejected))},
	}
}

func typeList() string {
	var names []string
	names = append(names, api.MessageTypes()...)
	return strings.Join(names, ", ")
}

// decodeList reads a JSON array of objects, or a string holding one (as forms and the SDK send
// Destinatarios). A single object is read as a list of one.
func decodeList(raw json.RawMessage) ([]json.RawMessage, error) {
	b, err := embedded(raw)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	switch b[0] {
	case '[':
		var list []json.RawMessage
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("not a valid JSON array: %v", err)
		}
		return list, nil
	case '{':
		if !json.Valid(b) {
			return nil, errors.New("not a valid JSON object")
		}
		return []json.RawMessage{b}, nil
	}
	return nil, fmt.Errorf("expected a JSON array of recipients, got %s", excerpt(b, 40))
}

// decodeData reads Datosmensaje: a JSON object or a string holding one; null, "" and [] are
// no fields. A field given twice, in any case, is refused. problem says what is wrong, or is "".
func decodeData(raw json.RawMessage) (data map[string]any, problem string) {
	b, err := embedded(raw)
	if err != nil {
		return nil, "Datosmensaje is not a JSON object: " + err.Error()
	}
	data = map[string]any{}
	if len(b) == 0 || string(b) == "null" || string(b) == "[]" {
		return data, ""
	}
	ms, err := members(b)
	if err != nil {
		return nil, "Datosmensaje is not a JSON object: " + excerpt(b, 40)
	}
	if _, err := paramsOf(ms, "Datosmensaje", "field"); err != nil {
		return nil, err.Error()
	}
	for _, m := range ms {
		var v any
		if err := json.Unmarshal(m.value, &v); err != nil { // not reached: members validated b
			return nil, fmt.Sprintf("Datosmensaje.%s: %v", m.name, err)
		}
		data[m.name] = v
	}
	return data, ""
}

// decodeRecipient turns one element of Destinatarios into a Recipient, and its fields.
func decodeRecipient(raw json.RawMessage) (mensatek.Recipient, params, error) {
	var r mensatek.Recipient
	ms, err := members(raw)
	if err != nil {
		return r, nil, fmt.Errorf("expected a JSON object, got %s", excerpt(bytes.TrimSpace(raw), 40))
	}
	f, err := paramsOf(ms, "the recipient", "field")
	if err != nil {
		return r, nil, err
	}
	r.Phone = strings.TrimSpace(f.text("Telefono"))
	r.Name = f.text("Nombre")
	r.Email = f.text("Email")
	if r.ReplyTo, _, err = f.integer("idMensajeRespondido"); err != nil {
		return r, nil, fmt.Errorf("idMensajeRespondido: %v", err)
	}
	for _, m := range ms {
		switch strings.ToLower(m.name) {
		case "telefono", "nombre", "email", "idmensajerespondido":
			continue
		}
		if r.Vars == nil {
			r.Vars = make(map[string]string)
		}
		r.Vars[m.name] = textOf(m.value)
	}
	return r, f, nil
}

// decodeChannels reads Siguientecanal: an array of names (nulls skipped), a string holding one,
// or a single name.
func decodeChannels(raw json.RawMessage) ([]string, error) {
	b := bytes.TrimSpace(raw)
	if len(b) > 0 && b[0] == '"' {
		s := strings.TrimSpace(textOf(b))
		if !strings.HasPrefix(s, "[") {
			if s == "" {
				return nil, nil
			}
			return []string{s}, nil
		}
		b = []byte(s)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, errors.New("expected an array of channel names")
	}
	var out []string
	for _, e := range list {
		if name := strings.TrimSpace(textOf(e)); name != "" {
			out = append(out, name)
		}
	}
	return out, nil
}

// flag reads an optional 0/1 parameter.
func flag(f params, name string) (bool, error) {
	v, ok, err := f.integer(name)
	if err != nil || (ok && v != 0 && v != 1) {
		return false, fmt.Errorf("%s must be 0 or 1, not %q", name, f.text(name))
	}
	return v == 1, nil
}

// dataString returns a Datosmensaje field as text, ignoring the case of its name.
func dataString(data map[string]any, name string) string {
	for k, v := range data {
		if strings.EqualFold(k, name) {
			if s, ok := v.(string); ok {
				return strings.TrimSpace(s)
			}
			return ""
		}
	}
	return ""
}

// messageRef reads the Idmensaje and Telefono of typing and media download, or says what is wrong.
func messageRef(f params) (id int64, phone, problem string) {
	id, ok, err := f.integer("Idmensaje")
	switch {
	case err == nil && !ok:
		return 0, "", "missing required parameter Idmensaje"
	case err != nil || id <= 0:
		return 0, "", fmt.Sprintf("Idmensaje %q is not a message id", f.text("Idmensaje"))
	}
	phone = strings.TrimSpace(f.text("Telefono"))
	if phone == "" {
		return 0, "", "missing required parameter Telefono"
	}
	if !validPhone(phone) {
		return 0, "", fmt.Sprintf("Telefono %q is not a valid number in international digits, like 34600000001", phone)
	}
	return id, phone, ""
}

// typing answers the typing indicator: Res 1 for a well-formed request.
func (s *Server) typing(f params) []kv {
	if _, _, problem := messageRef(f); problem != "" {
		return invalidFields(s.Credits(), "%s", problem)
	}
	return []kv{{"Res", "1"}, {"Cred", formatNumber(s.Credits())}}
}

// setAccountStatus answers the account-status change and keeps the status.
func (s *Server) setAccountStatus(f params) []kv {
	status := f.text("Estado")
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.TrimSpace(status) == "" {
		return invalidFields(s.credits, "missing required parameter Estado")
	}
	if n := utf8.RuneCountInString(status); n > mensatek.MaxAccountStatusLength {
		return invalidFields(s.credits, "Estado has %d characters; at most %d are allowed", n, mensatek.MaxAccountStatusLength)
	}
	s.accountStatus = status
	return []kv{{"Res", "1"}, {"Cred", formatNumber(s.credits)}}
}

// downloadMedia answers the file set with AddMedia, or a Res -3 JSON reply.
func (s *Server) downloadMedia(w http.ResponseWriter, f params) {
	id, phone, problem := messageRef(f)
	if problem != "" {
		s.writeError(w, http.StatusOK, mensatek.CodeInvalidRequest, problem)
		return
	}
	s.mu.Lock()
	m, ok := s.media[mediaKey{id, phone}]
	cred := s.credits
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusOK, invalidFields(cred, "no media in message %d from %s", id, phone)...)
		return
	}
	h := w.Header()
	h.Set("Content-Type", m.contentType)
	h.Set("Content-Length", strconv.Itoa(len(m.data)))
	if m.filename != "" {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": m.filename}))
	}
	w.WriteHeader(http.StatusOK)
	w.Write(m.data)
}

// operations lists every operation of the client, with the API function it calls by default.
func operations() []api.Endpoint { return api.Endpoints() }

// knownType reports whether t is one of the ten message types.
func knownType(t mensatek.MessageType) bool { return slices.Contains(api.MessageTypes(), string(t)) }
