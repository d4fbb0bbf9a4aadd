package mensatek

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/mensatek-go/mensatek/internal/wire"
)

// TemplateInfo describes one message template of the account, as GetPlantillasWhatsapp lists it.
type TemplateInfo struct {
	ID              string           // idPlantilla, for TemplateVariables
	Name            string           // Nombre, for Template{Name: ...}
	Language        string           // Idioma, such as "es"
	Category        TemplateCategory // Categoria: MARKETING, UTILITY or AUTHENTICATION
	Status          TemplateStatus   // Estado in Meta: APPROVED, PENDING, REJECTED, ...
	Verified        bool             // Verificada: approved, so it can be sent
	ParameterFormat ParameterFormat  // FormatoParametros: POSITIONAL ({{1}}) or NAMED ({{Nombre}})
}

// TemplateStatus is a template's state in Meta (Estado). A value the SDK does not list is kept
// as it came.
type TemplateStatus string

// The template states Meta uses.
const (
	TemplateStatusApproved        TemplateStatus = "APPROVED"
	TemplateStatusPending         TemplateStatus = "PENDING"
	TemplateStatusRejected        TemplateStatus = "REJECTED"
	TemplateStatusDisabled        TemplateStatus = "DISABLED"
	TemplateStatusPaused          TemplateStatus = "PAUSED"
	TemplateStatusInAppeal        TemplateStatus = "IN_APPEAL"
	TemplateStatusPendingDeletion TemplateStatus = "PENDING_DELETION"
)

// TemplateCategory is a template's category in Meta (Categoria), which sets its price. A value
// the SDK does not list is kept as it came.
type TemplateCategory string

// The template categories Meta uses.
const (
	TemplateCategoryMarketing      TemplateCategory = "MARKETING"
	TemplateCategoryUtility        TemplateCategory = "UTILITY"
	TemplateCategoryAuthentication TemplateCategory = "AUTHENTICATION"
)

// ParameterFormat says how a template's body names its parameters (FormatoParametros).
type ParameterFormat string

// The parameter formats Meta uses.
const (
	ParameterFormatPositional ParameterFormat = "POSITIONAL" // {{1}}, {{2}}, ...
	ParameterFormatNamed      ParameterFormat = "NAMED"      // {{nombre}}, ...
)

// TemplateDetails is a template with the variables it expects, as GetVariablesPlantillaWhatsapp
// returns them.
type TemplateDetails struct {
	TemplateInfo
	// Variables are sorted by Index; variable 1 is always the recipient's phone.
	Variables []TemplateVariable
}

// TemplateVariable is one value a template needs per recipient.
type TemplateVariable struct {
	Index    int              // the variable's number, from 1
	Name     string           // Nombre, such as "Destinatario" or "Producto"
	Field    string           // Campo: the Recipient.Vars key to set ("Variable_Cabecera_image", ...)
	Location VariableLocation // Donde: HEADER, BODY or BUTTONS; empty for the phone
	Format   VariableFormat   // Formato: TELEFONO, TEXTO, URL, URL_IMAGEN, URL_DOCUMENTO, URL_VIDEO, ...
	Example  string           // Ejemplo: a sample value
}

// VariableLocation is where in a template a variable goes (Donde). A value the SDK does not list
// is kept as it came.
type VariableLocation string

// The parts of a template a variable can fill.
const (
	VariableLocationHeader  VariableLocation = "HEADER"
	VariableLocationBody    VariableLocation = "BODY"
	VariableLocationButtons VariableLocation = "BUTTONS"
)

// Templates lists the account's templates, sorted by ID (API function GetPlantillasWhatsapp).
func (c *Client) Templates(ctx context.Context) ([]TemplateInfo, error) {
	var r templatesReply
	if err := c.call(ctx, OpTemplates, []byte(`{"Resp":"JSON"}`), &r); err != nil {
		return nil, err
	}
	list, err := r.templates()
	if err != nil {
		return nil, &ResponseError{Operation: OpTemplates, HTTPStatus: 200, Reason: err.Error()}
	}
	return list, nil
}

// templatesReply is GetPlantillasWhatsapp's reply.
type templatesReply struct {
	replyHead
	Plantillas wire.Map[templateWire] // by template ID
}

// templateWire is a template as GetPlantillasWhatsapp lists it and GetVariablesPlantillaWhatsapp
// describes it.
type templateWire struct {
	IDPlantilla       wire.String `json:"IdPlantilla"`
	Nombre            wire.String
	Idioma            wire.String
	Categoria         wire.String
	Estado            wire.String
	FormatoParametros wire.String
	Verificada        wire.Number
}

func (r *templatesReply) templates() ([]TemplateInfo, error) {
	if r.Plantillas.Err != nil {
		return nil, fmt.Errorf("field Plantillas: %w", r.Plantillas.Err)
	}
	list := make([]TemplateInfo, 0, len(r.Plantillas.Value))
	for id, tw := range r.Plantillas.Value {
		t, err := tw.info()
		if err != nil {
			return nil, fmt.Errorf("field Plantillas[%s]: %w", wire.Excerpt([]byte(id), 40), err)
		}
		t.ID = id
		list = append(list, t)
	}
	sort.Slice(list, func(i, j int) bool { return idLess(list[i].ID, list[j].ID) })
	return list, nil
}

func (tw *templateWire) info() (TemplateInfo, error) {
	t := TemplateInfo{
		ID:              string(tw.IDPlantilla),
		Name:            string(tw.Nombre),
		Language:        string(tw.Idioma),
		Category:        TemplateCategory(tw.Categoria),
		Status:          TemplateStatus(tw.Estado),
		ParameterFormat: ParameterFormat(tw.FormatoParametros),
	}
	v, ok, err := tw.Verificada.Int()
	if err != nil {
		return t, fmt.Errorf("field Verificada: %w", err)
	}
	t.Verified = v == 1 || (!ok && strings.EqualFold(string(t.Status), string(TemplateStatusApproved)))
	return t, nil
}

// idLess orders numeric IDs by value and others as text.
func idLess(a, b string) bool {
	if allDigits(a) && allDigits(b) {
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(a) != len(b) {
			return len(a) < len(b)
		}
	}
	return a < b
}

// TemplateVariables returns a template and the variables each recipient must carry, sorted by
// Index (API function GetVariablesPlantillaWhatsapp). templateID is the ID [Client.Templates]
// lists.
func (c *Client) TemplateVariables(ctx context.Context, templateID string) (*TemplateDetails, error) {
	if strings.TrimSpace(templateID) == "" {
		return nil, invalid("TemplateID", "is required")
	}
	body, err := marshal(struct {
		ID   string `json:"Idplantilla"`
		Resp string `json:"Resp"`
	}{templateID, "JSON"})
	if err != nil {
		return nil, err
	}
	var r templateVariablesReply
	if err := c.call(ctx, OpTemplateVariables, body, &r); err != nil {
		return nil, err
	}
	d, err := r.details()
	if err != nil {
		return nil, &ResponseError{Operation: OpTemplateVariables, HTTPStatus: 200, Reason: err.Error()}
	}
	if d.ID == "" {
		d.ID = templateID
	}
	return d, nil
}

// templateVariablesReply is GetVariablesPlantillaWhatsapp's reply: the template's members and
// its variables, by number.
type templateVariablesReply struct {
	replyHead
	templateWire
	Variables wire.Map[variableWire]
}

// variableWire is one template variable as GetVariablesPlantillaWhatsapp describes it.
type variableWire struct {
	Nombre  wire.String
	Campo   wire.String
	Donde   wire.String
	Formato wire.String
	Ejemplo wire.String
}

func (r *templateVariablesReply) details() (*TemplateDetails, error) {
	info, err := r.info()
	if err != nil {
		return nil, err
	}
	if r.Variables.Err != nil {
		return nil, fmt.Errorf("field Variables: %w", r.Variables.Err)
	}
	d := &TemplateDetails{TemplateInfo: info, Variables: make([]TemplateVariable, 0, len(r.Variables.Value))}
	for key, v := range r.Variables.Value {
		idx, err := strconv.Atoi(strings.TrimSpace(key))
		if err != nil || idx < 1 {
			return nil, fmt.Errorf("field Variables: key %q is not a variable number", wire.Excerpt([]byte(key), 40))
		}
		d.Variables = append(d.Variables, TemplateVariable{
			Index:    idx,
			Name:     string(v.Nombre),
			Field:    string(v.Campo),
			Location: VariableLocation(v.Donde),
			Format:   VariableFormat(v.Formato),
			Example:  string(v.Ejemplo),
		})
	}
	sort.Slice(d.Variables, func(i, j int) bool { return d.Variables[i].Index < d.Variables[j].Index })
	return d, nil
}

// VariableFormat is the kind of value a template variable takes (Formato). A value the SDK does
// not list is kept as it came, and checked as text.
type VariableFormat string

// The variable formats the API names. Any other format is checked as text.
const (
	FormatPhone    VariableFormat = "TELEFONO"
	FormatText     VariableFormat = "TEXTO"
	FormatURL      VariableFormat = "URL"
	FormatImageURL VariableFormat = "URL_IMAGEN"
	FormatDocURL   VariableFormat = "URL_DOCUMENTO"
	FormatVideoURL VariableFormat = "URL_VIDEO"
)

// Validate checks that the template can be sent to these recipients: it is approved, there is at
// least one recipient, and each recipient carries every variable (by its Field, or else its Name;
// variable 1 is the phone) with a value that fits its Format: a valid phone for TELEFONO, an
// absolute http(s) URL for URL, URL_IMAGEN, URL_DOCUMENTO and URL_VIDEO, non-empty text otherwise
// that WhatsApp accepts in a template (no line break, no tab, no more than 4 spaces in a row:
// Meta refuses such a send after the API took it, so a spreadsheet cell with a line break in a
// name is caught here, before anything is spent).
//
// A template that is not approved is a [*TemplateError] matching [ErrTemplateNotApproved]. The
// recipients' problems are [ValidationErrors], every one a *ValidationError naming the recipient
// and variable ("To[3].Vars[Nombre]"), in order.
func (d *TemplateDetails) Validate(to ...Recipient) error {
	if d == nil {
		return invalid("Template", "no template details")
	}
	if !d.Verified {
		return &TemplateError{Name: d.Name, Status: d.Status, err: ErrTemplateNotApproved}
	}
	if len(to) == 0 {
		return invalid("To", "at least one recipient is required")
	}
	var errs ValidationErrors
	for i, r := range to {
		errs = d.appendRecipientErrors(errs, fmt.Sprintf("To[%d].", i), r)
	}
	return errs.orNil()
}

// ValidateRecipient checks one recipient's variables as [TemplateDetails.Validate] does, without
// the approval check, so a caller can sort good rows from bad ones. Its problems are
// [ValidationErrors] with paths relative to the recipient ("Vars[Nombre]").
func (d *TemplateDetails) ValidateRecipient(r Recipient) error {
	if d == nil {
		return invalid("Template", "no template details")
	}
	return d.appendRecipientErrors(nil, "", r).orNil()
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func (d *TemplateDetails) appendRecipientErrors(errs ValidationErrors, prefix string, r Recipient) ValidationErrors {
	if _, err := normalizePhone(prefix+"Phone", r.Phone); err != nil {
		errs = appendValidation(errs, err)
	}
	for _, v := range d.Variables {
		field, value, found := lookupVar(v, r)
		if field == "Phone" {
			continue // checked above
		}
		path := prefix + field
		if !found || strings.TrimSpace(value) == "" {
			key := v.Field
			if key == "" {
				key = v.Name
			}
			reason := fmt.Sprintf("missing variable %d (%s, %s)", v.Index, v.Name, strings.ToLower(orNone(string(v.Format))))
			if v.Example != "" {
				reason += fmt.Sprintf("; for example %q", v.Example)
			}
			errs = append(errs, &ValidationError{Field: prefix + "Vars[" + key + "]", Reason: reason})
			continue
		}
		switch VariableFormat(strings.ToUpper(string(v.Format))) {
		case FormatPhone:
			if _, err := normalizePhone(path, value); err != nil {
				errs = appendValidation(errs, err)
			}
		case FormatURL, FormatImageURL, FormatDocURL, FormatVideoURL:
			if err := checkURL(path, value); err != nil {
				errs = appendValidation(errs, err)
			}
		default:
			if reason := metaTextProblem(value); reason != "" {
				errs = append(errs, &ValidationError{Field: path, Reason: reason})
			}
		}
	}
	return errs
}

// appendValidation adds the *ValidationError err holds (the local checks return nothing else).
func appendValidation(errs ValidationErrors, err error) ValidationErrors {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		ve = &ValidationError{Reason: err.Error()}
	}
	return append(errs, ve)
}

// metaTextProblem says why Meta would refuse value as a template's text parameter: it may hold
// no line break or tab, nor more than four spaces in a row. "" means none.
func metaTextProblem(value string) string {
	spaces := 0
	for i, r := range value {
		switch r {
		case '\n', '\r', '\v', '\f', '\u0085', '\u2028', '\u2029':
			return fmt.Sprintf("has a line break at byte %d; WhatsApp refuses line breaks in a template's variables", i)
		case '\t':
			return fmt.Sprintf("has a tab at byte %d; WhatsApp refuses tabs in a template's variables", i)
		case ' ':
			if spaces++; spaces > 4 {
				return fmt.Sprintf("has more than 4 spaces in a row at byte %d; WhatsApp refuses them in a template's variables", i-4)
			}
		default:
			spaces = 0
		}
	}
	return ""
}

// lookupVar finds the recipient's value for v: by Field, then by Name; the phone, name and email
// come from the recipient's own fields. field is the Go path of where it was (or should be) found.
func lookupVar(v TemplateVariable, r Recipient) (field, value string, found bool) {
	if v.Index == 1 || strings.EqualFold(v.Field, fieldPhone) {
		return "Phone", r.Phone, r.Phone != ""
	}
	for _, key := range []string{v.Field, v.Name} {
		if key == "" {
			continue
		}
		switch {
		case strings.EqualFold(key, fieldName) && r.Name != "":
			return "Name", r.Name, true
		case strings.EqualFold(key, fieldEmail) && r.Email != "":
			return "Email", r.Email, true
		}
		if val, ok := r.Vars[key]; ok {
			return "Vars[" + key + "]", val, true
		}
		for k, val := range r.Vars {
			if strings.EqualFold(k, key) {
				return "Vars[" + k + "]", val, true
			}
		}
	}
	return "", "", false
}

// templateCache keeps the template list and details for a while, for checked sends. Concurrent
// fetches of the same thing are merged: however many goroutines find the cache cold, one request
// goes out and all of them share its answer.
type templateCache struct {
	ttl    time.Duration
	flight singleflight.Group

	mu      sync.Mutex
	gen     uint64 // bumped by ForgetTemplates: a fetch begun before it is not kept
	list    []TemplateInfo
	listAt  time.Time
	details map[string]cachedDetails
}

type cachedDetails struct {
	d  *TemplateDetails
	at time.Time
}

func newTemplateCache(ttl time.Duration) *templateCache {
	return &templateCache{ttl: ttl, details: make(map[string]cachedDetails)}
}

func (tc *templateCache) fresh(at time.Time) bool {
	return tc.ttl > 0 && !at.IsZero() && time.Since(at) < tc.ttl
}

func copyDetails(d *TemplateDetails) *TemplateDetails {
	cp := *d
	cp.Variables = append([]TemplateVariable(nil), d.Variables...)
	return &cp
}

// ForgetTemplates empties the template cache that checked sends use, for example after a
// template was approved in the panel. A fetch already under way is not kept.
func (c *Client) ForgetTemplates() {
	tc := c.templates
	tc.mu.Lock()
	tc.gen++
	tc.list, tc.listAt = nil, time.Time{}
	clear(tc.details)
	tc.mu.Unlock()
}

// share runs fetch once for every caller that asks for key at the same time, and waits for it
// within ctx. The fetch runs on a context that keeps ctx's values but not its end, so a caller
// that gives up does not fail the others (WithTimeout still bounds it); a failed fetch is
// returned to every waiting caller and never kept.
func (tc *templateCache) share(ctx context.Context, key string, fetch func(ctx context.Context) (any, error)) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mensatek: template cache: not sent: %w", ctxError(ctx, err))
	}
	shared := context.WithoutCancel(ctx)
	ch := tc.flight.DoChan(key, func() (any, error) { return fetch(shared) })
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("mensatek: waiting for the template cache: %w", ctxError(ctx, ctx.Err()))
	}
}

func (c *Client) cachedTemplates(ctx context.Context) ([]TemplateInfo, error) {
	tc := c.templates
	tc.mu.Lock()
	if tc.fresh(tc.listAt) {
		list := tc.list
		tc.mu.Unlock()
		return list, nil
	}
	gen := tc.gen
	tc.mu.Unlock()
	v, err := tc.share(ctx, "list@"+strconv.FormatUint(gen, 10), func(ctx context.Context) (any, error) {
		// A fetch that ended between our look at the cache and this one filled it.
		tc.mu.Lock()
		if tc.fresh(tc.listAt) && tc.gen == gen {
			list := tc.list
			tc.mu.Unlock()
			return list, nil
		}
		tc.mu.Unlock()
		list, err := c.Templates(ctx)
		if err != nil {
			return nil, err
		}
		tc.mu.Lock()
		if tc.gen == gen {
			tc.list, tc.listAt = list, time.Now()
		}
		tc.mu.Unlock()
		return list, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]TemplateInfo), nil
}

func (c *Client) cachedDetails(ctx context.Context, id string) (*TemplateDetails, error) {
	tc := c.templates
	tc.mu.Lock()
	if e, ok := tc.details[id]; ok && tc.fresh(e.at) {
		tc.mu.Unlock()
		return copyDetails(e.d), nil
	}
	gen := tc.gen
	tc.mu.Unlock()
	v, err := tc.share(ctx, "vars@"+strconv.FormatUint(gen, 10)+":"+id, func(ctx context.Context) (any, error) {
		tc.mu.Lock()
		if e, ok := tc.details[id]; ok && tc.fresh(e.at) && tc.gen == gen {
			tc.mu.Unlock()
			return e.d, nil
		}
		tc.mu.Unlock()
		d, err := c.TemplateVariables(ctx, id)
		if err != nil {
			return nil, err
		}
		if tc.ttl > 0 {
			tc.mu.Lock()
			if tc.gen == gen {
				tc.details[id] = cachedDetails{d: copyDetails(d), at: time.Now()}
			}
			tc.mu.Unlock()
		}
		return d, nil
	})
	if err != nil {
		return nil, err
	}
	return copyDetails(v.(*TemplateDetails)), nil // each caller may change its own
}

// TemplateByName finds the template called name and returns it with its variables (API
// functions GetPlantillasWhatsapp and GetVariablesPlantillaWhatsapp), through a cache kept for
// WithTemplateCacheTTL. When several templates share the name (one per language), an approved
// one is preferred. An unknown name is a [*TemplateError] matching [ErrTemplateNotFound] and
// listing the names there are.
func (c *Client) TemplateByName(ctx context.Context, name string) (*TemplateDetails, error) {
	if err := checkRequired("Message.Name", name, MaxTemplateNameLength); err != nil {
		return nil, err
	}
	list, err := c.cachedTemplates(ctx)
	if err != nil {
		return nil, err
	}
	var best *TemplateInfo
	for i := range list {
		t := &list[i]
		if t.Name != name {
			continue
		}
		if best == nil || (t.Verified && !best.Verified) {
			best = t
		}
	}
	if best == nil {
		names := make([]string, 0, len(list))
		for _, t := range list {
			names = append(names, t.Name)
		}
		sort.Strings(names)
		return nil, &TemplateError{Name: name, Available: names, err: ErrTemplateNotFound}
	}
	return c.cachedDetails(ctx, best.ID)
}

// SendChecked sends like [Client.Send], but first checks a [Template] message against the
// template's variables ([Client.TemplateByName], then [TemplateDetails.Validate]), so a campaign
// that would fail fails before it costs anything: a missing or malformed variable with
// [ValidationErrors], an unknown template with [ErrTemplateNotFound], one not approved with
// [ErrTemplateNotApproved]. Other message types are sent as by Send.
func (c *Client) SendChecked(ctx context.Context, req SendRequest) (*SendResult, error) {
	var name string
	switch m := req.Message.(type) {
	case Template:
		name = m.Name
	case *Template:
		if m != nil {
			name = m.Name
		}
	default:
		return c.Send(ctx, req)
	}
	if _, err := validateSend(&req); err != nil {
		return nil, err
	}
	d, err := c.TemplateByName(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := d.Validate(req.To...); err != nil {
		return nil, err
	}
	return c.Send(ctx, req)
}

// SendTemplateChecked sends the template called name to the recipients after checking their
// variables against it, as [Client.SendChecked] does.
func (c *Client) SendTemplateChecked(ctx context.Context, name string, to ...Recipient) (*SendResult, error) {
	return c.SendChecked(ctx, SendRequest{To: to, Message: Template{Name: name}})
}
