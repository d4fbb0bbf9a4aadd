package mensatek

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

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
func (c *Client) Templates(ctx context.Context) (_ []TemplateInfo, err error) {
	if c.observer != nil {
		var end func(int64, error)
		ctx, end = c.startCall(ctx, OpTemplates, 0)
		defer func() { end(0, err) }()
	}
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
func (c *Client) TemplateVariables(ctx context.Context, templateID string) (_ *TemplateDetails, err error) {
	if c.observer != nil {
		var end func(int64, error)
		ctx, end = c.startCall(ctx, OpTemplateVariables, 0)
		defer func() { end(0, err) }()
	}
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
