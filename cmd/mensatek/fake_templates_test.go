package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
)

func writeTemplates(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "templates.json")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// The shape AddTemplate takes: mensatek.TemplateDetails as encoding/json writes it.
const shippedTemplates = `[
  {
    "Name": "order_shipped",
    "Language": "en",
    "Category": "UTILITY",
    "Variables": [
      {"Name": "Nombre", "Field": "Nombre", "Location": "BODY", "Format": "TEXTO"},
      {"Name": "Pedido", "Field": "Pedido", "Location": "BODY", "Format": "TEXTO", "Example": "A-17"},
      {"Name": "Seguimiento", "Field": "Valor-URL-Boton-0", "Location": "BUTTONS", "Format": "URL"}
    ]
  },
  {"ID": "572863982585990", "Name": "winter_sale", "Status": "PENDING"}
]`

// mensatek fake --templates FILE loads extra templates, so processes of any language can send
// them without a custom fake.
func TestFakeTemplatesFile(t *testing.T) {
	h := newHarness(t, nil)
	path := writeTemplates(t, shippedTemplates)
	_, stop := serve(t, h, "fake", "--addr", "127.0.0.1:0", "--user", "ci", "--token", "ci-secret", "--templates", path, "--json")
	var info fakeJSON
	require.NoError(t, json.Unmarshal([]byte(h.stdout.String()), &info))

	client, err := mensatek.NewClient("ci", "ci-secret", mensatek.WithBaseURL(info.URL))
	require.NoError(t, err)
	ctx := context.Background()
	list, err := client.Templates(ctx)
	require.NoError(t, err)
	var names []string
	for _, tpl := range list {
		names = append(names, tpl.Name)
	}
	assert.Equal(t, []string{"customer_welcome", "appointment_reminder", "order_shipped", "winter_sale"}, names)

	d, err := client.TemplateByName(ctx, "order_shipped")
	require.NoError(t, err)
	assert.Equal(t, "en", d.Language)
	assert.True(t, d.Verified, "approved by default, as AddTemplate does")
	require.Len(t, d.Variables, 4, "the phone added as variable 1")
	assert.Equal(t, "Valor-URL-Boton-0", d.Variables[3].Field)

	res, err := client.SendTemplateChecked(ctx, "order_shipped", mensatek.Recipient{Phone: "34600000001", Name: "Ana",
		Vars: map[string]string{"Pedido": "A-17", "Valor-URL-Boton-0": "https://track.example.com/A-17"}})
	require.NoError(t, err)
	assert.Equal(t, int64(1), res.MessageID)
	_, err = client.SendTemplateChecked(ctx, "winter_sale", mensatek.Recipient{Phone: "34600000001"})
	assert.ErrorIs(t, err, mensatek.ErrTemplateNotApproved)
	assert.Equal(t, exitOK, stop().code)

	// Without --json, the templates are listed.
	h = newHarness(t, nil)
	_, stop = serve(t, h, "fake", "--addr", "127.0.0.1:0", "--templates", path)
	assert.Contains(t, h.stdout.String(), "Templates: customer_welcome, appointment_reminder, order_shipped, winter_sale (2 from "+path+")")
	assert.Equal(t, exitOK, stop().code)
}

func TestFakeTemplatesFileErrors(t *testing.T) {
	tests := []struct {
		name, content string
		code          int
		want          []string
	}{
		{"empty", "  \n", exitValidation, []string{"--templates", "is empty"}},
		{"not JSON", "[{\"Name\": \"a\",\n  Name: 1}]", exitValidation, []string{"not valid JSON", "line 2, column 3"}},
		{"cut short", `[{"Name": "a"`, exitValidation, []string{"not valid JSON", "ends early"}},
		{"not a list", `"order_shipped"`, exitValidation, []string{"want a JSON array of templates"}},
		{"no templates", `[]`, exitValidation, []string{"holds no templates"}},
		{"trailing data", `[{"Name": "a"}] [{"Name": "b"}]`, exitValidation, []string{"more than one JSON value"}},
		{"a Spanish field name", `[{"Nombre": "a"}]`, exitValidation, []string{`template 1: unknown field "Nombre"`, "ID, Name, Language"}},
		{"a variable's Spanish field name", `[{"Name": "a", "Variables": [{"Campo": "Pedido"}]}]`, exitValidation,
			[]string{`template 1 (a): Variables[0]: unknown field "Campo"`, "Index, Name, Field, Location, Format, Example"}},
		{"a wrong type", `[{"Name": "a", "Variables": [{"Field": "Pedido", "Index": "2"}]}]`, exitValidation,
			[]string{`template 1 (a): Variables[0].Index: want a number, not a string`}},
		{"no name", `[{"Name": "a"}, {"Language": "es"}]`, exitValidation, []string{"template 2 has no Name"}},
		{"a variable without a name", `[{"Name": "a", "Variables": [{"Format": "TEXTO"}]}]`, exitValidation,
			[]string{"template 1 (a): Variables[0] has neither a Field nor a Name"}},
		{"one Field twice", `[{"Name": "a", "Variables": [{"Field": "Pedido"}, {"Field": "pedido"}]}]`, exitValidation,
			[]string{`template 1 (a): Variables[0] and Variables[1] have the same Field "pedido"`}},
		{"one ID twice", `[{"ID": "7", "Name": "a"}, {"ID": "7", "Name": "b"}]`, exitValidation,
			[]string{`templates 1 and 2 have the same ID "7"`}},
		{"one name and language twice", `[{"Name": "a"}, {"Name": "a", "Language": "es"}]`, exitValidation,
			[]string{`templates 1 and 2 are both a in language es`}},
		{"a template's wrong type", `[{"Name": "a", "Variables": 3}]`, exitValidation, []string{"template 1: Variables: want an array, not a number"}},
		{"not an object", `[3]`, exitValidation, []string{"template 1: want a JSON object, not a number"}},
		{"Verified against Status", `[{"Name": "a", "Status": "PENDING", "Verified": true}]`, exitValidation,
			[]string{"template 1 (a): Verified is true but Status PENDING is not APPROVED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			path := writeTemplates(t, tt.content)
			assertFailed(t, h.run(context.Background(), "fake", "--addr", "127.0.0.1:0", "--templates", path), tt.code, tt.want...)
		})
	}

	h := newHarness(t, nil)
	missing := filepath.Join(t.TempDir(), "nope.json")
	assertFailed(t, h.run(context.Background(), "fake", "--templates", missing), exitUsage, "reading --templates", "nope.json")
}

// The module README's example of a --templates file loads.
func TestReadmeTemplatesFileLoads(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "`mensatek fake --templates FILE` adds")
	require.True(t, ok, "the README documents --templates")
	_, block, ok := strings.Cut(section, "```json\n")
	require.True(t, ok)
	block, _, _ = strings.Cut(block, "```")
	list, err := readTemplates("--templates", writeTemplates(t, block))
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "order_shipped", list[0].Name)
	assert.Len(t, list[0].Variables, 3)
}
