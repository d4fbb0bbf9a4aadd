package mensatek

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// problemsOf returns the fields of a Validate error, and its problems by field.
func problemsOf(t *testing.T, err error) ([]string, map[string]string) {
	t.Helper()
	var verrs ValidationErrors
	require.ErrorAs(t, err, &verrs)
	var fields []string
	reasons := map[string]string{}
	for _, ve := range verrs {
		fields = append(fields, ve.Field)
		reasons[ve.Field] = ve.Reason
	}
	return fields, reasons
}

// A Vars key the template does not have is refused, naming the key, with a "did you mean" when
// one is close; it used to be sent silently.
func TestTemplateValidateUnknownVariables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		mod        func(r *Recipient)
		wantFields []string
		field      string // the problem checked below
		contains   []string
		lacks      string
	}{
		{"a separator typo of a Campo", func(r *Recipient) {
			r.Vars["Valor_URL_Boton_0"] = r.Vars["Valor-URL-Boton-0"]
			delete(r.Vars, "Valor-URL-Boton-0")
		}, []string{"To[0].Vars[Valor-URL-Boton-0]", "To[0].Vars[Valor_URL_Boton_0]"},
			"To[0].Vars[Valor_URL_Boton_0]", []string{`template "customer_welcome" has no variable "Valor_URL_Boton_0"`, `did you mean "Valor-URL-Boton-0"?`}, ""},
		{"a letter missing", func(r *Recipient) {
			r.Vars["Variable_Cabecera_imag"] = r.Vars["Variable_Cabecera_image"]
			delete(r.Vars, "Variable_Cabecera_image")
		}, []string{"To[0].Vars[Variable_Cabecera_image]", "To[0].Vars[Variable_Cabecera_imag]"},
			"To[0].Vars[Variable_Cabecera_imag]", []string{`did you mean "Variable_Cabecera_image"?`}, ""},
		{"a display name misspelt", func(r *Recipient) { r.Vars["Produto"] = "https://x.example/p" },
			[]string{"To[0].Vars[Produto]"}, "To[0].Vars[Produto]", []string{`did you mean "Valor-URL-Boton-0" (Producto)?`}, ""},
		{"an extra variable", func(r *Recipient) { r.Vars["Cupon"] = "AB12" },
			[]string{"To[0].Vars[Cupon]"}, "To[0].Vars[Cupon]",
			[]string{`has no variable "Cupon"`, "its variables are Nombre, Variable_Cabecera_image (Header IMAGE), Valor-URL-Boton-0 (Producto)"}, "did you mean"},
		{"the phone by its display name", func(r *Recipient) { r.Vars["Destinatario"] = "34600000009" },
			[]string{"To[0].Vars[Destinatario]"}, "To[0].Vars[Destinatario]", []string{"variable 1 (Destinatario) is the recipient's phone: set Recipient.Phone"}, ""},
		{"one variable by Campo and by Nombre", func(r *Recipient) { r.Vars["producto"] = "https://x.example/p" },
			[]string{"To[0].Vars[producto]"}, "To[0].Vars[producto]", []string{`gives variable 4 (Producto) a second time: it is also in Vars[Valor-URL-Boton-0]`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goodRecipient("34600000001")
			tt.mod(&r)
			fields, reasons := problemsOf(t, refDetails().Validate(r))
			assert.Equal(t, tt.wantFields, fields)
			for _, c := range tt.contains {
				assert.Contains(t, reasons[tt.field], c)
			}
			if tt.lacks != "" {
				assert.NotContains(t, reasons[tt.field], tt.lacks)
			}
			// ValidateRecipient finds the same, relative to the recipient.
			fields, _ = problemsOf(t, refDetails().ValidateRecipient(r))
			assert.Contains(t, fields, tt.field[len("To[0]."):])
		})
	}

	// The recipient's own fields are never unknown, whatever the template.
	r := goodRecipient("34600000001")
	r.Name = ""
	r.Vars["nombre"], r.Vars["Email"] = "Ana", "ana@example.com"
	assert.NoError(t, refDetails().Validate(r))
}

// A name that fits several variables is refused instead of guessed.
func TestTemplateValidateAmbiguousNames(t *testing.T) {
	t.Parallel()
	d := &TemplateDetails{
		TemplateInfo: TemplateInfo{Name: "order", Verified: true},
		Variables: []TemplateVariable{
			{Index: 1, Name: "Destinatario", Field: "Telefono", Format: FormatPhone},
			{Index: 2, Name: "Referencia", Field: "Pedido", Format: FormatText},
			{Index: 3, Name: "Pedido", Field: "Valor-URL-Boton-0", Format: FormatURL},
			{Index: 4, Name: "Fecha", Field: "Variable_1", Format: FormatText},
			{Index: 5, Name: "Fecha", Field: "Variable_2", Format: FormatText},
		},
	}
	good := Recipient{Phone: "34600000001", Vars: map[string]string{
		"Pedido": "A-1", "Valor-URL-Boton-0": "https://x.example/A-1", "Variable_1": "1 May", "Variable_2": "2 May"}}
	fields, reasons := problemsOf(t, d.Validate(good))
	assert.Equal(t, []string{"To[0].Vars[Pedido]"}, fields, "a Campo of one variable and the Nombre of another")
	assert.Contains(t, reasons["To[0].Vars[Pedido]"], `"Pedido" is ambiguous in template "order": the Campo of variable 2 and the Nombre of variable 3`)

	r := Recipient{Phone: "34600000001", Vars: map[string]string{"Referencia": "A-1", "Valor-URL-Boton-0": "https://x.example/A-1", "Fecha": "1 May", "Variable_2": "2 May"}}
	fields, reasons = problemsOf(t, d.Validate(r))
	assert.Equal(t, []string{"To[0].Vars[Variable_1]", "To[0].Vars[Fecha]"}, fields, "the Nombre of two variables")
	assert.Contains(t, reasons["To[0].Vars[Fecha]"], `"Fecha" is ambiguous in template "order": the Nombre of variables 4 and 5; give the Campo`)
}

// A missing name that feeds the variable Nombre is the recipient's Name, not a Vars entry.
func TestTemplateValidateMissingNameIsToName(t *testing.T) {
	t.Parallel()
	r := goodRecipient("34600000001")
	r.Name = ""
	fields, reasons := problemsOf(t, refDetails().Validate(r))
	assert.Equal(t, []string{"To[0].Name"}, fields)
	assert.Contains(t, reasons["To[0].Name"], "missing variable 2 (Nombre, texto)")
	assert.Contains(t, reasons["To[0].Name"], "set Recipient.Name")
	fields, _ = problemsOf(t, refDetails().ValidateRecipient(r))
	assert.Equal(t, []string{"Name"}, fields)
}

// BenchmarkTemplateValidate10k validates a 10,000-recipient campaign of the reference's
// template: keyed by Campo, and with half giving Producto by its display name (sent under its
// Campo, on new maps).
func BenchmarkTemplateValidate10k(b *testing.B) {
	for _, byName := range []bool{false, true} {
		b.Run(map[bool]string{false: "campo", true: "half-by-name"}[byName], func(b *testing.B) {
			d := refDetails()
			to := make([]Recipient, 10000)
			for i := range to {
				to[i] = goodRecipient(fmt.Sprintf("346%08d", i))
				if byName && i%2 == 1 {
					to[i].Vars["Producto"] = to[i].Vars["Valor-URL-Boton-0"]
					delete(to[i].Vars, "Valor-URL-Boton-0")
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.bind(to); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// bind sends the caller's slice when nothing changes, and otherwise a copy whose changed
// recipients have new maps; the recipient's own Name also goes under a Campo that is not Nombre.
func TestTemplateBindCopiesOnlyWhatChanges(t *testing.T) {
	t.Parallel()
	to := []Recipient{goodRecipient("34600000001"), goodRecipient("34600000002")}
	out, err := refDetails().bind(to)
	require.NoError(t, err)
	assert.Same(t, &to[0], &out[0], "nothing to change: the caller's slice")

	d := &TemplateDetails{
		TemplateInfo: TemplateInfo{Name: "t", Verified: true},
		Variables: []TemplateVariable{
			{Index: 1, Name: "Destinatario", Field: "Telefono", Format: FormatPhone},
			{Index: 2, Name: "Nombre", Field: "Variable_Nombre", Format: FormatText},
			{Index: 3, Name: "Pedido", Format: FormatText}, // no Campo: its Nombre is its key
		},
	}
	to = []Recipient{
		{Phone: "34600000001", Name: "Ana", Vars: map[string]string{"pedido": "A-1"}},
		{Phone: "34600000002", Vars: map[string]string{"Variable_Nombre": "Luis", "Pedido": "A-2"}},
	}
	out, err = d.bind(to)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"pedido": "A-1", "Variable_Nombre": "Ana"}, out[0].Vars)
	assert.Equal(t, map[string]string{"pedido": "A-1"}, to[0].Vars, "the caller's map is untouched")
	assert.Equal(t, to[1], out[1])

	// A key of any length costs little: no edit distance past 64 characters.
	long := strings.Repeat("x", 100000)
	_, reasons := problemsOf(t, d.Validate(Recipient{Phone: "34600000001", Name: "Ana", Vars: map[string]string{"Pedido": "A", long: "1"}}))
	assert.Contains(t, reasons["To[0].Vars["+long+"]"], "its variables are Variable_Nombre (Nombre), Pedido")
	assert.Less(t, len(reasons["To[0].Vars["+long+"]"]), 300, "the reason quotes the start of the key")
	assert.Equal(t, -1, nameDistance(long, "Pedido"))
	assert.Equal(t, 0, nameDistance("VALOR url boton 0", "Valor-URL-Boton-0"))
	assert.Equal(t, 1, nameDistance("Pedid", "Pedido"))
	assert.Equal(t, -1, nameDistance("Cupon", "Pedido"))
}
