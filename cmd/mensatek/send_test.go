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
	"github.com/mensatek-go/mensatek/mensatektest"
)

func TestTemplates(t *testing.T) {
	srv, h := newFake(t)
	r := h.api(srv, "templates")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, []string{"ID", "NAME", "LANGUAGE", "CATEGORY", "STATUS"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{mensatektest.CustomerWelcomeID, "customer_welcome", "es", "MARKETING", "APPROVED"}, strings.Fields(lines[1]))
	assert.Equal(t, []string{mensatektest.AppointmentReminderID, "appointment_reminder", "es", "UTILITY", "PENDING"}, strings.Fields(lines[2]))

	r = h.api(srv, "templates", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var list []templateJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list))
	require.Len(t, list, 2)
	assert.Equal(t, templateJSON{ID: mensatektest.CustomerWelcomeID, Name: "customer_welcome", Language: "es",
		Category: "MARKETING", Status: "APPROVED", Verified: true, ParameterFormat: "POSITIONAL"}, list[0])
	assert.False(t, list[1].Verified)

	srv.FailNext(mensatek.OpTemplates, mensatek.CodeAuthentication, "Usuario incorrecto")
	r = h.api(srv, "templates")
	assertFailed(t, r, exitAPI, "authentication failed", "Usuario incorrecto", "MENSATEK_API_TOKEN")

	r = h.api(srv, "templates", "extra")
	assertFailed(t, r, exitUsage, "unexpected argument")
}

func TestTemplate(t *testing.T) {
	srv, h := newFake(t)
	for _, arg := range []string{mensatektest.CustomerWelcomeID, "customer_welcome"} {
		r := h.api(srv, "template", arg)
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "customer_welcome (id "+mensatektest.CustomerWelcomeID+")")
		assert.Regexp(t, `(?m)^INDEX\s+NAME\s+FIELD\s+WHERE\s+FORMAT\s+EXAMPLE$`, r.stdout)
		assert.Regexp(t, `(?m)^3\s+Header IMAGE\s+Variable_Cabecera_image\s+HEADER\s+URL_IMAGEN\s+https://www.yourdomain.com/img/banner.jpg$`, r.stdout)
		assert.Contains(t, r.stdout, "Campaign CSV header: Telefono,Nombre,Variable_Cabecera_image,Valor-URL-Boton-0")
	}

	// Flags may follow the argument.
	r := h.api(srv, "template", mensatektest.CustomerWelcomeID, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var d templateJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &d))
	require.Len(t, d.Variables, 4)
	assert.Equal(t, variableJSON{Index: 4, Name: "Producto", Field: "Valor-URL-Boton-0", Where: "BUTTONS", Format: "URL",
		Example: "https://www.yourdomain.com/offer/REF123"}, d.Variables[3])

	r = h.api(srv, "template", "999")
	assertFailed(t, r, exitAPI, `template "999" does not exist`)
	r = h.api(srv, "template", "no_such_template")
	assertFailed(t, r, exitValidation, "no template named")
	r = h.api(srv, "template")
	assertFailed(t, r, exitUsage)
}

func TestSendText(t *testing.T) {
	srv, h := newFake(t)
	r := h.api(srv, "send", "--to", "+34 600 000 001", "--text", "Hola 😃", "--reference", "ref-1")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "Message 1 sent to 1 recipient (0 not sent); 999 credits left.\n", r.stdout)
	assert.Empty(t, r.stderr)
	sent := srv.Sent()
	require.Len(t, sent, 1)
	assert.Equal(t, mensatek.TypeText, sent[0].Type)
	assert.Equal(t, "Hola 😃", sent[0].Data["Texto"])
	assert.Equal(t, "34600000001", sent[0].To[0].Phone)
	assert.Equal(t, "ref-1", sent[0].Reference)
	assert.Empty(t, sent[0].ScheduledAt)

	r = h.api(srv, "send", "--to", "34600000001", "--to", "34600000002", "--text", "to both", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var out sendJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	assert.Equal(t, sendJSON{MessageID: 2, Sent: 2, Credits: 997}, out)
}

func TestSendTemplateScheduled(t *testing.T) {
	srv, h := newFake(t)
	r := h.api(srv, "send", "--to", "34600000001", "--template", "customer_welcome",
		"--var", "Nombre=Ana", "--var", "Variable_Cabecera_image=https://example.com/b.jpg",
		"--var", "Valor-URL-Boton-0=https://example.com/o/1?a=b", "--at", "2030-07-01 10:00", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var out sendJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	assert.Equal(t, "2030-07-01 10:00", out.ScheduledAt)
	sent := srv.Sent()
	require.Len(t, sent, 1)
	assert.Equal(t, mensatek.TypeTemplate, sent[0].Type)
	assert.Equal(t, "customer_welcome", sent[0].Data["Plantilla"])
	assert.Equal(t, "2030-07-01 10:00", sent[0].ScheduledAt, "--at is Madrid time, and so is Fecha")
	assert.Equal(t, "Ana", sent[0].To[0].Name)
	assert.Equal(t, "https://example.com/o/1?a=b", sent[0].To[0].Vars["Valor-URL-Boton-0"], "only the first = splits")

	r = h.api(srv, "send", "--to", "34600000001", "--text", "winter", "--at", "2030-01-15 09:05")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "scheduled for 2030-01-15 09:05 (Madrid time)")
	assert.Equal(t, "2030-01-15 09:05", srv.Sent()[1].ScheduledAt)
}

func TestSendMedia(t *testing.T) {
	srv, h := newFake(t)
	r := h.api(srv, "send", "--to", "34600000001", "--image", "https://example.com/sofa.jpg", "--caption", "Your sofa")
	require.Equal(t, exitOK, r.code, r.stderr)
	r = h.api(srv, "send", "--to", "34600000001", "--document", "https://example.com/i.pdf", "--filename", "invoice.pdf")
	require.Equal(t, exitOK, r.code, r.stderr)
	r = h.api(srv, "send", "--to", "34600000001", "--location", "40.4168,-3.7038")
	require.Equal(t, exitOK, r.code, r.stderr)

	sent := srv.Sent()
	require.Len(t, sent, 3)
	assert.Equal(t, mensatek.TypeImage, sent[0].Type)
	assert.Equal(t, map[string]any{"URL": "https://example.com/sofa.jpg", "Texto": "Your sofa"}, sent[0].Data)
	assert.Equal(t, mensatek.TypeDocument, sent[1].Type)
	assert.Equal(t, map[string]any{"URL": "https://example.com/i.pdf", "NombreArchivo": "invoice.pdf"}, sent[1].Data)
	assert.Equal(t, mensatek.TypeLocation, sent[2].Type)
	assert.Equal(t, 40.4168, sent[2].Data["Latitud"])
	assert.Equal(t, -3.7038, sent[2].Data["Longitud"])
}

func TestSendUsageErrors(t *testing.T) {
	srv, h := newFake(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--text", "hi"}, "--to is required"},
		{[]string{"--to", "34600000001"}, "give one of"},
		{[]string{"--to", "34600000001", "--text", "hi", "--image", "https://example.com/a.jpg"}, "only one of --text, --image"},
		{[]string{"--to", "34600000001", "--text", "hi", "--var", "a=b"}, "--var goes with --template"},
		{[]string{"--to", "34600000001", "--text", "hi", "--caption", "c"}, "--caption goes with"},
		{[]string{"--to", "34600000001", "--image", "https://example.com/a.jpg", "--filename", "f"}, "--filename goes with --document"},
		{[]string{"--to", "34600000001", "--template", "customer_welcome", "--var", "novalue"}, "FIELD=VALUE"},
		{[]string{"--to", "34600000001", "--template", "customer_welcome", "--var", "Telefono=1"}, "--to"},
		{[]string{"--to", "34600000001", "--location", "40.4"}, "LAT,LON"},
		{[]string{"--to", "34600000001", "--text", "hi", "--at", "tomorrow"}, "YYYY-MM-DD HH:MM"},
		{[]string{"--to", "34600000001", "--text", "hi", "--bogus"}, "not defined"},
		{[]string{"--to", "34600000001", "--text", "hi", "extra"}, "unexpected argument"},
	} {
		r := h.api(srv, append([]string{"send"}, c.args...)...)
		assertFailed(t, r, exitUsage, c.want, "--help")
		assert.Empty(t, r.stdout)
	}
	assert.Zero(t, srv.Calls(mensatek.OpSend), "no usage error sends anything")
}

func TestSendValidationErrors(t *testing.T) {
	srv, h := newFake(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--to", "123", "--text", "hi"}, "To[0].Phone"},
		{[]string{"--to", "34600000001", "--text", strings.Repeat("a", mensatek.MaxTextLength+1)}, "Body"},
		{[]string{"--to", "34600000001", "--image", "not-a-url"}, "URL"},
		{[]string{"--to", "34600000001", "--location", "91,0"}, "atitude"},
		{[]string{"--to", "34600000001", "--text", "hi", "--at", "2001-01-01 10:00"}, "in the past"},
		{[]string{"--to", "34600000001", "--template", "customer_welcome", "--var", "Nombre=Ana"}, "Variable_Cabecera_image"},
		{[]string{"--to", "34600000001", "--template", "appointment_reminder", "--var", "Nombre=Ana", "--var", "Fecha_cita=mañana"}, "not approved"},
	} {
		r := h.api(srv, append([]string{"send"}, c.args...)...)
		assertFailed(t, r, exitValidation, c.want)
	}
	assert.Zero(t, srv.Calls(mensatek.OpSend), "a local validation error sends nothing")
}

func TestSendAPIError(t *testing.T) {
	srv, h := newFake(t)
	srv.FailNext(mensatek.OpSend, mensatek.CodeInsufficientCredits, "Sin créditos")
	r := h.api(srv, "send", "--to", "34600000001", "--text", "hi")
	assertFailed(t, r, exitAPI, "not enough credits", "Sin créditos")
	assert.Empty(t, r.stdout)
}

func TestSendOutcomeUnknown(t *testing.T) {
	srv, h := newFake(t)
	srv.DropNext(mensatek.OpSend)
	r := h.api(srv, "send", "--to", "34600000001", "--text", "hi")
	assertFailed(t, r, exitNetwork, "outcome unknown")
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
}

func TestSendNetworkError(t *testing.T) {
	srv, h := newFake(t)
	url := srv.URL
	srv.Close()
	h.reset()
	r := h.run(context.Background(), "send", "--base-url", url, "--to", "34600000001", "--text", "hi")
	assertFailed(t, r, exitNetwork)
}

func TestTyping(t *testing.T) {
	srv, h := newFake(t)
	r := h.api(srv, "typing", "--id", "10573758", "--to", "34600000001")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "Typing indicator shown for message 10573758 from 34600000001; 1000 credits left.\n", r.stdout)
	assert.Equal(t, 1, srv.Calls(mensatek.OpTyping))

	r = h.api(srv, "typing", "--id", "10573758", "--to", "34600000001", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.JSONEq(t, `{"code":1,"credits":1000}`, r.stdout)

	assertFailed(t, h.api(srv, "typing", "--to", "34600000001"), exitUsage, "--id is required")
	assertFailed(t, h.api(srv, "typing", "--id", "x", "--to", "34600000001"), exitUsage, "invalid value")
	assertFailed(t, h.api(srv, "typing", "--id", "1"), exitUsage, "--to is required")
	assertFailed(t, h.api(srv, "typing", "--id", "1", "--to", "12"), exitValidation)
}

func TestStatus(t *testing.T) {
	srv, h := newFake(t)
	r := h.api(srv, "status", "Abierto de 9 a 20 · Open 9-20")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Account status set")
	assert.Equal(t, "Abierto de 9 a 20 · Open 9-20", srv.AccountStatus())

	r = h.api(srv, "status", "--json", "Closed")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.JSONEq(t, `{"code":1,"credits":1000}`, r.stdout)
	assert.Equal(t, "Closed", srv.AccountStatus())

	assertFailed(t, h.api(srv, "status"), exitUsage, "one argument")
	assertFailed(t, h.api(srv, "status", "a", "b"), exitUsage, "one argument")
	assertFailed(t, h.api(srv, "status", strings.Repeat("x", mensatek.MaxAccountStatusLength+1)), exitValidation)
	srv.DropNext(mensatek.OpAccountStatus)
	assertFailed(t, h.api(srv, "status", "Open"), exitNetwork, "outcome unknown")
}

func TestMedia(t *testing.T) {
	srv, h := newFake(t)
	data := []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("pixels", 10000))
	srv.AddMediaFile(10573758, "34600000001", "photo.png", "image/png", data)
	dir := t.TempDir()
	out := filepath.Join(dir, "photo.png")

	r := h.api(srv, "media", "--id", "10573758", "--from", "+34 600 000 001", "-o", out)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "Saved "+out+": 60008 bytes, image/png, sent as \"photo.png\".\n", r.stdout)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, data, got)

	r = h.api(srv, "media", "--id", "10573758", "--from", "34600000001", "--output", filepath.Join(dir, "again.png"), "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var info mediaJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &info))
	assert.Equal(t, mediaJSON{File: filepath.Join(dir, "again.png"), Bytes: int64(len(data)), ContentType: "image/png", Filename: "photo.png"}, info)

	r = h.api(srv, "media", "--id", "10573758", "--from", "34600000001", "-o", "-")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, string(data), r.stdout)

	// A failed download leaves no file behind, not even a partial one.
	r = h.api(srv, "media", "--id", "1", "--from", "34600000001", "-o", filepath.Join(dir, "missing.png"))
	assertFailed(t, r, exitAPI, "no media in message 1")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"photo.png", "again.png"}, names)

	assertFailed(t, h.api(srv, "media", "--id", "1", "--from", "34600000001"), exitUsage, "-o FILE is required")
	assertFailed(t, h.api(srv, "media", "--id", "1", "--from", "34600000001", "-o", "-", "--json"), exitUsage)
	assertFailed(t, h.api(srv, "media", "--id", "10573758", "--from", "34600000001", "-o", filepath.Join(dir, "no", "such", "dir")), exitFailure)
}
