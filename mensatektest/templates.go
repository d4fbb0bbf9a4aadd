package mensatektest

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mensatek-go/mensatek"
)

// IDs of the templates every new [Server] knows, from the reference's examples.
const (
	// CustomerWelcomeID is customer_welcome: es, MARKETING, APPROVED, POSITIONAL, with the
	// variables Telefono, Nombre, Variable_Cabecera_image (an image URL) and Valor-URL-Boton-0
	// (a URL).
	CustomerWelcomeID = "572863982585983"
	// AppointmentReminderID is appointment_reminder: es, UTILITY, PENDING (not approved, so a
	// send is refused), POSITIONAL, with the variables Telefono, Nombre and Fecha_cita.
	AppointmentReminderID = "572863982585984"
)

func phoneVariable() mensatek.TemplateVariable {
	return mensatek.TemplateVariable{Index: 1, Name: "Destinatario", Field: "Telefono", Format: mensatek.FormatPhone, Example: "34600000000"}
}

// referenceTemplates returns the templates of the reference's GetPlantillasWhatsapp example,
// with the variables of its GetVariablesPlantillaWhatsapp example.
func referenceTemplates() []mensatek.TemplateDetails {
	return []mensatek.TemplateDetails{
		{
			TemplateInfo: mensatek.TemplateInfo{ID: CustomerWelcomeID, Name: "customer_welcome", Language: "es",
				Category: "MARKETING", Status: "APPROVED", Verified: true, ParameterFormat: "POSITIONAL"},
			Variables: []mensatek.TemplateVariable{
				phoneVariable(),
				{Index: 2, Name: "Nombre", Field: "Nombre", Location: "BODY", Format: mensatek.FormatText, Example: "Sample value"},
				{Index: 3, Name: "Header IMAGE", Field: "Variable_Cabecera_image", Location: "HEADER", Format: mensatek.FormatImageURL,
					Example: "https://www.yourdomain.com/img/banner.jpg"},
				{Index: 4, Name: "Producto", Field: "Valor-URL-Boton-0", Location: "BUTTONS", Format: mensatek.FormatURL,
					Example: "https://www.yourdomain.com/offer/REF123"},
			},
		},
		{
			TemplateInfo: mensatek.TemplateInfo{ID: AppointmentReminderID, Name: "appointment_reminder", Language: "es",
				Category: "UTILITY", Status: "PENDING", Verified: false, ParameterFormat: "POSITIONAL"},
			Variables: []mensatek.TemplateVariable{
				phoneVariable(),
				{Index: 2, Name: "Nombre", Field: "Nombre", Location: "BODY", Format: mensatek.FormatText, Example: "Ana"},
				{Index: 3, Name: "Fecha cita", Field: "Fecha_cita", Location: "BODY", Format: mensatek.FormatText, Example: "15/05/2025 10:30"},
			},
		},
	}
}

// AddTemplate adds a template, or replaces the one with the same ID, and returns its ID. An
// empty ID gets a new numeric one. Empty fields get defaults: Language "es", Category
// "UTILITY", ParameterFormat "POSITIONAL", Status "APPROVED"; Verified is set from Status (true
// only for APPROVED), as the API reports it. Variables are numbered 1, 2, ... in the order of
// their Index (those without one last, in order), and the recipient's phone (Campo Telefono) is
// added as variable 1 when missing. A client's checked sends cache the templates
// (mensatek.WithTemplateCacheTTL): add them before its first call, or call its
// ForgetTemplates after.
func (s *Server) AddTemplate(t mensatek.TemplateDetails) string {
	t = withDefaults(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.ID == "" {
		highest := int64(572863982585984)
		for id := range s.templates {
			if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > highest {
				highest = n
			}
		}
		t.ID = strconv.FormatInt(highest+1, 10)
	}
	s.templates[t.ID] = t
	return t.ID
}

// withDefaults gives t what AddTemplate promises: its variables numbered, with the phone as
// variable 1, default language, category, parameter format and status, Verified set from Status.
// The caller's Variables are not modified.
func withDefaults(t mensatek.TemplateDetails) mensatek.TemplateDetails {
	vars := slices.Clone(t.Variables)
	sort.SliceStable(vars, func(i, j int) bool {
		a, b := vars[i].Index, vars[j].Index
		if a == 0 || b == 0 {
			return a != 0 && b == 0
		}
		return a < b
	})
	if !slices.ContainsFunc(vars, isPhoneVariable) {
		vars = append([]mensatek.TemplateVariable{phoneVariable()}, vars...)
	}
	for i := range vars {
		vars[i].Index = i + 1
	}
	t.Variables = vars
	if t.Language == "" {
		t.Language = "es"
	}
	if t.Category == "" {
		t.Category = "UTILITY"
	}
	if t.ParameterFormat == "" {
		t.ParameterFormat = "POSITIONAL"
	}
	if t.Status == "" {
		t.Status = "APPROVED"
	}
	t.Verified = strings.EqualFold(string(t.Status), "APPROVED")
	return t
}

func isPhoneVariable(v mensatek.TemplateVariable) bool {
	return strings.EqualFold(v.Field, "Telefono")
}

// sortedTemplates returns the templates by ID, numerically. The caller holds s.mu.
func (s *Server) sortedTemplates() []mensatek.TemplateDetails {
	list := make([]mensatek.TemplateDetails, 0, len(s.templates))
	for _, t := range s.templates {
		list = append(list, t)
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i].ID, list[j].ID
		if len(a) != len(b) {
			return len(a) < len(b)
		}
		return a < b
	})
	return list
}

// templateByName finds the template a send names, preferring an approved one, or says why it
// cannot be sent. The caller holds s.mu.
func (s *Server) templateByName(name string) (mensatek.TemplateDetails, string) {
	var found *mensatek.TemplateDetails
	var names []string
	for _, t := range s.sortedTemplates() {
		names = append(names, t.Name)
		if t.Name == name && (found == nil || t.Verified && !found.Verified) {
			found = &t
		}
	}
	switch {
	case found == nil:
		return mensatek.TemplateDetails{}, fmt.Sprintf("template %q does not exist; the account has: %s", name, strings.Join(names, ", "))
	case !found.Verified:
		return mensatek.TemplateDetails{}, fmt.Sprintf("template %q is not approved (status %s); only approved templates can be sent", name, found.Status)
	}
	return *found, ""
}

// missingVariable names the first variable of t the recipient lacks (looked up by Campo, then
// by Nombre, ignoring case), or returns "".
func missingVariable(t mensatek.TemplateDetails, f params) string {
	for _, v := range t.Variables {
		if v.Index == 1 || isPhoneVariable(v) {
			continue // the phone, checked already
		}
		if has(f, v.Field) || has(f, v.Name) {
			continue
		}
		return fmt.Sprintf("missing template variable %d of %q: Campo %q (Nombre %q, %s)", v.Index, t.Name, v.Field, v.Name, v.Format)
	}
	return ""
}

// has reports whether the recipient's fields f hold a non-blank value under name.
func has(f params, name string) bool {
	return name != "" && strings.TrimSpace(f.text(name)) != ""
}

// listTemplates answers GetPlantillasWhatsapp.
func (s *Server) listTemplates() []kv {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(templatesFields(s.sortedTemplates()), kv{"Cred", formatNumber(s.credits)})
}

// templatesFields is GetPlantillasWhatsapp's reply listing list, without Cred.
func templatesFields(list []mensatek.TemplateDetails) []kv {
	b := []byte("{\n")
	for i, t := range list {
		if i > 0 {
			b = append(b, ",\n"...)
		}
		b = appendString(b, t.ID)
		b = append(b, ": {\n"...)
		b = appendMember(b, "Nombre", t.Name, true)
		b = appendMember(b, "Idioma", t.Language, true)
		b = appendMember(b, "Categoria", t.Category, true)
		b = appendMember(b, "Estado", t.Status, true)
		b = append(b, `"Verificada": `...)
		b = append(b, verified(t)...)
		b = append(b, ",\n"...)
		b = appendMember(b, "FormatoParametros", t.ParameterFormat, false)
		b = append(b, '}')
	}
	b = append(b, "\n}\n"...)
	return []kv{
		{"Res", "1"},
		{"Total", strconv.Itoa(len(list))},
		{"Plantillas", overEscape(string(b))},
	}
}

// templateVariables answers GetVariablesPlantillaWhatsapp.
func (s *Server) templateVariables(f params) []kv {
	id := strings.TrimSpace(f.text("Idplantilla"))
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		return invalidFields(s.credits, "missing required parameter Idplantilla")
	}
	t, ok := s.templates[id]
	if !ok {
		return invalidFields(s.credits, "template %q does not exist", id)
	}
	return append(variablesFields(t), kv{"Cred", formatNumber(s.credits)})
}

// variablesFields is GetVariablesPlantillaWhatsapp's reply describing t, without Cred.
func variablesFields(t mensatek.TemplateDetails) []kv {
	b := []byte("{\n")
	for i, v := range t.Variables {
		if i > 0 {
			b = append(b, ",\n"...)
		}
		b = appendString(b, strconv.Itoa(v.Index))
		b = append(b, ": {\n"...)
		b = appendMember(b, "Nombre", v.Name, true)
		b = appendMember(b, "Campo", v.Field, true)
		b = appendMember(b, "Donde", v.Location, true)
		b = appendMember(b, "Formato", v.Format, true)
		b = appendMember(b, "Ejemplo", v.Example, false)
		b = append(b, '}')
	}
	b = append(b, "\n}\n"...)
	return []kv{
		{"Res", "1"},
		{"IdPlantilla", t.ID},
		{"Nombre", t.Name},
		{"Idioma", t.Language},
		{"Categoria", string(t.Category)},
		{"Estado", string(t.Status)},
		{"Verificada", verified(t)},
		{"FormatoParametros", string(t.ParameterFormat)},
		{"Total", strconv.Itoa(len(t.Variables))},
		{"Variables", overEscape(string(b))},
	}
}

func verified(t mensatek.TemplateDetails) string {
	if t.Verified {
		return "1"
	}
	return "0"
}

// appendMember writes `"name": "value"` and a comma (when more follow) and a line break, as
// the reference's examples lay out Plantillas and Variables.
func appendMember[T ~string](b []byte, name string, value T, more bool) []byte {
	b = appendString(b, name)
	b = append(b, ": "...)
	b = appendString(b, string(value))
	if more {
		b = append(b, ',')
	}
	return append(b, '\n')
}

// overEscape escapes JSON text once more than a JSON string needs, the way the reference's
// examples show Plantillas and Variables: `{"id": ...}` is sent as the text `{\"id\": ...}`.
func overEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}
