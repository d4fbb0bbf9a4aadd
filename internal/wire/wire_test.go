package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestObject(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantRes string // Res as text; "" when an error is expected
		wantErr string
	}{
		{name: "object", body: `{"Res":"10","Cred":"12000"}`, wantRes: "10"},
		{name: "one-element array", body: `[{"Res":"1"}]`, wantRes: "1"},
		{name: "array keeps the first object", body: `[{"Res":"1"},{"Res":"2"}]`, wantRes: "1"},
		{name: "surrounding white space", body: " \r\n\t[ {\"Res\": -3} ]\n", wantRes: "-3"},
		{name: "BOM", body: "\xef\xbb\xbf{\"Res\":\"1\"}", wantRes: "1"},
		{name: "BOM then a line break", body: "\xef\xbb\xbf\r\n[{\"Res\":\"1\"}]", wantRes: "1"},
		{name: "empty array", body: `[]`, wantErr: "empty JSON array"},
		{name: "empty body", body: ``, wantErr: "empty reply"},
		{name: "only white space", body: " \n\t ", wantErr: "empty reply"},
		{name: "only a BOM", body: "\xef\xbb\xbf", wantErr: "empty reply"},
		{name: "null", body: `null`, wantErr: "not a JSON object"},
		{name: "array of null", body: `[null]`, wantErr: "null"},
		{name: "array of a number", body: `[1]`, wantErr: "not a valid JSON object"},
		{name: "a number", body: `12`, wantErr: "not a JSON object"},
		{name: "a string", body: `"Res=1"`, wantErr: "not a JSON object"},
		{name: "HTML", body: `<html><body>Bad Gateway</body></html>`, wantErr: "not a JSON object"},
		{name: "plain text", body: `Res=1&Cred=12`, wantErr: "not a JSON object"},
		{name: "truncated object", body: `{"Res":"1","Cred":`, wantErr: "not a valid JSON object"},
		{name: "truncated array", body: `[{"Res":"1"}`, wantErr: "not valid JSON"},
		{name: "trailing garbage", body: `{"Res":"1"} x`, wantErr: "not a valid JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Object([]byte(tt.body))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Nil(t, f)
				return
			}
			require.NoError(t, err)
			got, ok := f.String("Res")
			assert.True(t, ok)
			assert.Equal(t, tt.wantRes, got)
		})
	}
}

func TestObjectEmptyIsErrEmpty(t *testing.T) {
	_, err := Object(nil)
	assert.ErrorIs(t, err, ErrEmpty)
}

func TestFieldsIgnoreCase(t *testing.T) {
	f, err := Object([]byte(`{"RES":"5","cred":"1,5","IdMensaje":"77","ERROR":"x"}`))
	require.NoError(t, err)

	res, ok, err := f.Int("Res")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.EqualValues(t, 5, res)

	cred, ok, err := f.Float("CRED")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, 1.5, cred)

	id, ok, err := f.Int("idMensaje", "Msgid")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.EqualValues(t, 77, id)

	msg, ok := f.String("error")
	assert.True(t, ok)
	assert.Equal(t, "x", msg)

	_, ok = f.String("Missing")
	assert.False(t, ok)
}

func TestFieldsFirstNamePresentWins(t *testing.T) {
	f, err := Object([]byte(`{"Msgid":"2","idMensaje":null,"IdMensaje2":"3"}`))
	require.NoError(t, err)
	// idMensaje is null, so the next name is used.
	id, ok, err := f.Int("idMensaje", "Msgid")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.EqualValues(t, 2, id)
}

// A key repeated in another case keeps its first value, whatever the order Go's maps iterate in.
func TestFieldsDuplicateKeyKeepsFirst(t *testing.T) {
	for i := 0; i < 50; i++ {
		f, err := DecodeObject([]byte(`{"Res":"1","RES":"2","rEs":"3","res":"4"}`))
		require.NoError(t, err)
		got, _ := f.String("res")
		require.Equal(t, "1", got, "iteration %d", i)
		assert.Len(t, f, 1)
	}
}

func TestInt(t *testing.T) {
	tests := []struct {
		raw     string
		want    int64
		wantOK  bool
		wantErr bool
	}{
		{raw: `10`, want: 10, wantOK: true},
		{raw: `-3`, want: -3, wantOK: true},
		{raw: `"10"`, want: 10, wantOK: true},
		{raw: `" 10 "`, want: 10, wantOK: true},
		{raw: `"-1"`, want: -1, wantOK: true},
		{raw: `"+7"`, want: 7, wantOK: true},
		{raw: `"123456789"`, want: 123456789, wantOK: true},
		{raw: `12000.0`, want: 12000, wantOK: true},
		{raw: `"12000,0"`, want: 12000, wantOK: true},
		{raw: `"1.234.567"`, want: 1234567, wantOK: true},
		{raw: `"1,234,567"`, want: 1234567, wantOK: true},
		{raw: `"12.345,00"`, want: 12345, wantOK: true},
		{raw: `1e3`, want: 1000, wantOK: true},
		{raw: `"9223372036854775807"`, want: math.MaxInt64, wantOK: true},
		{raw: `true`, want: 1, wantOK: true},
		{raw: `false`, want: 0, wantOK: true},
		{raw: `null`},
		{raw: `""`},
		{raw: `"  "`},
		{raw: `12.5`, wantErr: true},
		{raw: `"12,5"`, wantErr: true},
		{raw: `"abc"`, wantErr: true},
		{raw: `"1-2"`, wantErr: true},
		{raw: `"9223372036854775808"`, wantErr: true}, // 2^63 does not fit
		{raw: `"1e19"`, wantErr: true},
		{raw: `"-1e19"`, wantErr: true},
		{raw: `"NaN"`, wantErr: true},
		{raw: `"Inf"`, wantErr: true},
		{raw: `{}`, wantErr: true},
		{raw: `[1]`, wantErr: true},
		{raw: `"\u0031\u0030"`, want: 10, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, ok, err := Int(json.RawMessage(tt.raw))
			if tt.wantErr {
				assert.Error(t, err)
				assert.False(t, ok)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFloat(t *testing.T) {
	tests := []struct {
		raw     string
		want    float64
		wantOK  bool
		wantErr bool
	}{
		{raw: `12000`, want: 12000, wantOK: true},
		{raw: `"12000"`, want: 12000, wantOK: true},
		{raw: `12.5`, want: 12.5, wantOK: true},
		{raw: `"12.5"`, want: 12.5, wantOK: true},
		{raw: `"12,5"`, want: 12.5, wantOK: true},
		{raw: `"12.345,67"`, want: 12345.67, wantOK: true},
		{raw: `"12,345.67"`, want: 12345.67, wantOK: true},
		{raw: `"1.234.567"`, want: 1234567, wantOK: true},
		{raw: `"1,234,567"`, want: 1234567, wantOK: true},
		{raw: `"1.234.567,89"`, want: 1234567.89, wantOK: true},
		{raw: `"-0,5"`, want: -0.5, wantOK: true},
		{raw: `"0"`, want: 0, wantOK: true},
		{raw: `1.5e2`, want: 150, wantOK: true},
		{raw: `null`},
		{raw: `""`},
		{raw: `"abc"`, wantErr: true},
		{raw: `"12,5 €"`, wantErr: true},
		{raw: `"--1"`, wantErr: true},
		{raw: `"NaN"`, wantErr: true},
		{raw: `"Infinity"`, wantErr: true},
		{raw: `"1e999"`, wantErr: true},
		{raw: `"1.2,3.4"`, wantErr: true},
		{raw: `{"a":1}`, wantErr: true},
		{raw: `nope`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, ok, err := Float(json.RawMessage(tt.raw))
			if tt.wantErr {
				assert.Error(t, err)
				assert.False(t, ok)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantOK, ok)
			assert.InDelta(t, tt.want, got, 1e-9)
		})
	}
}

func TestNumberErrorsAreShort(t *testing.T) {
	long := `"` + strings.Repeat("x", 5000) + `"`
	_, _, err := Float(json.RawMessage(long))
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 200)
}

func TestEmbeddedObject(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want map[string]string // key -> the "Nombre" of the value, or its raw JSON text
	}{
		{
			name: "object",
			raw:  `{"1":{"Nombre":"a"},"2":{"Nombre":"b"}}`,
			want: map[string]string{"1": "a", "2": "b"},
		},
		{
			name: "string holding JSON",
			raw:  `"{\"1\":{\"Nombre\":\"a\"}}"`,
			want: map[string]string{"1": "a"},
		},
		{
			name: "string holding JSON with line breaks",
			raw:  `"{\n\"1\": {\n\"Nombre\": \"a\"\n}\n}\n"`,
			want: map[string]string{"1": "a"},
		},
		{
			// The reference's GetVariablesPlantillaWhatsapp example, verbatim.
			name: "reference's doubly escaped Variables",
			raw:  refVariables,
			want: map[string]string{"1": "Destinatario", "2": "Nombre", "3": "Header IMAGE", "4": "Producto"},
		},
		{
			// The reference's GetPlantillasWhatsapp example, verbatim.
			name: "reference's doubly escaped Plantillas",
			raw:  refPlantillas,
			want: map[string]string{"572863982585983": "customer_welcome", "572863982585984": "appointment_reminder"},
		},
		{
			name: "doubly escaped with an escaped surrogate pair",
			raw:  `"{\\\"1\\\": {\\\"Nombre\\\": \\\"hola \\uD83D\\uDE01\\\"}}"`,
			want: map[string]string{"1": "hola 😁"},
		},
		{
			name: "array keyed from 1",
			raw:  `[{"Nombre":"a"},{"Nombre":"b"}]`,
			want: map[string]string{"1": "a", "2": "b"},
		},
		{name: "empty string", raw: `""`, want: map[string]string{}},
		{name: "blank string", raw: `"  \n "`, want: map[string]string{}},
		{name: "null", raw: `null`, want: map[string]string{}},
		{name: "empty array", raw: `[]`, want: map[string]string{}},
		{name: "string holding an empty array", raw: `"[]"`, want: map[string]string{}},
		{name: "empty object", raw: `{}`, want: map[string]string{}},
		{name: "string holding an empty object", raw: `"{}"`, want: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := EmbeddedObject(json.RawMessage(tt.raw))
			require.NoError(t, err)
			require.NotNil(t, m)
			got := make(map[string]string, len(m))
			for k, v := range m {
				f, err := DecodeObject(v)
				require.NoError(t, err, "value of %q: %s", k, v)
				got[k], _ = f.String("Nombre")
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestEmbeddedObjectReferenceFields(t *testing.T) {
	m, err := EmbeddedObject(json.RawMessage(refVariables))
	require.NoError(t, err)
	f, err := DecodeObject(m["3"])
	require.NoError(t, err)
	for name, want := range map[string]string{
		"Nombre":  "Header IMAGE",
		"Campo":   "Variable_Cabecera_image",
		"Donde":   "HEADER",
		"Formato": "URL_IMAGEN",
		"Ejemplo": "https://www.yourdomain.com/img/banner.jpg",
	} {
		got, ok := f.String(name)
		assert.True(t, ok, name)
		assert.Equal(t, want, got, name)
	}
	f, err = DecodeObject(m["1"])
	require.NoError(t, err)
	donde, ok := f.String("Donde")
	assert.True(t, ok)
	assert.Equal(t, "", donde)

	m, err = EmbeddedObject(json.RawMessage(refPlantillas))
	require.NoError(t, err)
	f, err = DecodeObject(m["572863982585984"])
	require.NoError(t, err)
	v, ok, err := f.Int("Verificada")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.EqualValues(t, 0, v)
}

func TestEmbeddedObjectErrors(t *testing.T) {
	for _, raw := range []string{
		`12`,
		`true`,
		`"not json"`,
		`"12"`,
		`"\"x\""`,
		`"{\"1\":"`,
		`{"1":`,
		`[1,`,
		`"\"\\\"{}\\\"\""`, // a string in a string in a string
	} {
		t.Run(raw, func(t *testing.T) {
			m, err := EmbeddedObject(json.RawMessage(raw))
			assert.Error(t, err)
			assert.Nil(t, m)
		})
	}
}

func TestText(t *testing.T) {
	assert.Equal(t, "hola", Text(json.RawMessage(`"hola"`)))
	assert.Equal(t, "12", Text(json.RawMessage(`12`)))
	assert.Equal(t, "true", Text(json.RawMessage(`true`)))
	assert.Equal(t, "", Text(json.RawMessage(`null`)))
	assert.Equal(t, "", Text(nil))
	assert.Equal(t, "😁 ñ", Text(json.RawMessage(`"\uD83D\uDE01 \u00f1"`)))
}

// Replies may carry emoji as UTF-16 escapes; they decode to the character.
func TestReplySurrogatePairs(t *testing.T) {
	f, err := Object([]byte(`[{"Res":"1","Error":"Listo \uD83D\uDE01 \ud83d\ude03","Nombre":"Pérez"}]`))
	require.NoError(t, err)
	msg, _ := f.String("Error")
	assert.Equal(t, "Listo 😁 😃", msg)
	name, _ := f.String("Nombre")
	assert.Equal(t, "Pérez", name)
}

func TestExcerpt(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{name: "short", in: "hello", n: 10, want: "hello"},
		{name: "exact", in: "hello", n: 5, want: "hello"},
		{name: "cut", in: "hello world", n: 5, want: "hello..."},
		{name: "control characters", in: "a\nb\tc\x00d\x7f", n: 20, want: "a b c d "},
		{name: "invalid UTF-8", in: "a\xffb", n: 20, want: "a\uFFFDb"},
		{name: "rune split by the cut", in: "ññ", n: 3, want: "ñ..."},
		{name: "emoji kept", in: "ok 😁", n: 20, want: "ok 😁"},
		{name: "empty", in: "", n: 5, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Excerpt([]byte(tt.in), tt.n)
			assert.Equal(t, tt.want, got)
			assert.True(t, utf8.ValidString(got))
		})
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{name: "plain", in: "hola"},
		{name: "empty", in: ""},
		{name: "quotes and backslashes", in: `say "hi" \ C:\path\ \"`},
		{name: "JSON inside", in: `{"Plantilla":"My Template","n":[1,2]}`},
		{name: "line breaks and tabs", in: "a\nb\r\nc\td"},
		{name: "all control characters", in: controlChars()},
		{name: "invalid UTF-8", in: "a\xffb\xc3(c\xed\xa0\x80d"},
		{name: "truncated rune at the end", in: "abc\xe2\x82"},
		{name: "line and paragraph separators", in: "a\u2028b\u2029c"},
		{name: "emoji", in: "👍😁🇪🇸 👨‍👩‍👧"},
		{name: "accents", in: "Pedro Pérez, año, ü, ç"},
		{name: "HTML characters", in: "<b>a & b</b>"},
		{name: "escape text", in: `\uD83D\uDE01`},
		{name: "DEL", in: "a\x7fb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendString([]byte("prefix:"), tt.in)
			require.True(t, bytes.HasPrefix(got, []byte("prefix:")))
			lit := got[len("prefix:"):]
			require.True(t, json.Valid(lit), "not valid JSON: %s", lit)

			var fromUs, fromStd string
			require.NoError(t, json.Unmarshal(lit, &fromUs))
			std, err := json.Marshal(tt.in)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(std, &fromStd))
			assert.Equal(t, fromStd, fromUs, "decodes differently from encoding/json")

			// Nothing that JavaScript or a line-oriented reader would break on is left raw.
			for _, c := range lit {
				assert.GreaterOrEqual(t, c, byte(0x20), "raw control character in %q", lit)
			}
			assert.NotContains(t, string(lit), "\u2028")
			assert.NotContains(t, string(lit), "\u2029")
			assert.True(t, utf8.Valid(lit))
		})
	}
}

func TestAppendStringExactBytes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hola", `"hola"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"a\nb\rc\td", `"a\nb\rc\td"`},
		{"\x00\x1f", `"\u0000\u001f"`},
		{"a\u2028b\u2029", `"a\u2028b\u2029"`},
		{"\xff", `"\ufffd"`},
		{"<&>", `"<&>"`},
		{"😁", `"😁"`},
		{`\uD83D\uDE01`, `"\\uD83D\\uDE01"`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, string(AppendString(nil, tt.in)), "%q", tt.in)
	}
	assert.Equal(t, `{\"a\":1}`, string(AppendEscaped(nil, []byte(`{"a":1}`))))
}

// encoding/json with SetEscapeHTML(false) writes the same bytes, except for \b and \f, which it
// writes in their short form.
func TestAppendStringMatchesEncoder(t *testing.T) {
	for _, s := range []string{"hola", "a\"b\\c\n\r\t", "\x01\x1f", "a\u2028b\u2029c", "\xffx", "<a href=\"x\">&</a>", "😁 ñ"} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		require.NoError(t, enc.Encode(s))
		assert.Equal(t, strings.TrimSuffix(buf.String(), "\n"), string(AppendString(nil, s)), "%q", s)
	}
}

func TestAppendValueMatchesEncoder(t *testing.T) {
	values := []any{
		nil, "x<&>", true, 7, int64(-3), 40.4168, -3.7038, 1e-7, 1e22, 0.0,
		map[string]any{"b": 1, "a": []map[string]any{{"Id": "r1", "Titulo": "One"}}, "c": []any{"x", 2.5, false}},
		[]string{"via", "encoding/json"}, struct{ A int }{1},
	}
	for _, v := range values {
		got, err := AppendValue(nil, v)
		require.NoError(t, err, "%#v", v)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		require.NoError(t, enc.Encode(v))
		if _, ok := v.(struct{ A int }); ok {
			assert.JSONEq(t, buf.String(), string(got))
			continue
		}
		assert.Equal(t, strings.TrimSuffix(buf.String(), "\n"), string(got), "%#v", v)
	}
	_, err := AppendValue(nil, map[string]any{"x": math.NaN()})
	assert.Error(t, err)
}

func controlChars() string {
	var b strings.Builder
	for c := 0; c < 0x20; c++ {
		b.WriteByte(byte(c))
	}
	return b.String()
}

func FuzzObject(f *testing.F) {
	for _, s := range []string{`{"Res":"1"}`, `[{"Res":-3,"Error":"x"}]`, `[]`, "\xef\xbb\xbf{}", `{"Res":"12.345,67"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fields, err := Object(b)
		if err != nil {
			return
		}
		fields.Int("Res")
		fields.Float("Cred")
		fields.String("Error")
		if raw, ok := fields.Raw("Plantillas"); ok {
			EmbeddedObject(raw)
		}
	})
}

func FuzzEmbeddedObject(f *testing.F) {
	f.Add([]byte(refPlantillas))
	f.Add([]byte(refVariables))
	f.Add([]byte(`"{\"1\":{}}"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		EmbeddedObject(b)
	})
}

// The reference's examples: the values of Plantillas (GetPlantillasWhatsapp) and Variables
// (GetVariablesPlantillaWhatsapp), as JSON string literals, from the replies in the repository's
// testdata/reference.
var (
	refPlantillas = referenceField("templates.json", "Plantillas")
	refVariables  = referenceField("template_variables.json", "Variables")
)

// referenceField reads one field of one of the reference's example replies, as raw JSON.
func referenceField(file, field string) string {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "reference", file))
	if err != nil {
		panic(err)
	}
	var reply []map[string]json.RawMessage
	if err := json.Unmarshal(b, &reply); err != nil || len(reply) != 1 {
		panic(fmt.Sprintf("%s: %v", file, err))
	}
	return string(reply[0][field])
}

// FuzzAppendString compares the hand-written string encoder with encoding/json: the same text
// comes back when either is decoded (invalid UTF-8 becoming U+FFFD in both), and the bytes are
// escaped the same way for []byte and string input.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "hola", "José \"Pepe\" <a&b>", "a\\b\n\r\t\x00\x1f\x7f", "\u2028\u2029", "😁 \xff\xfe mixed \xc3", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ours := AppendString(nil, s)
		if !json.Valid(ours) {
			t.Fatalf("AppendString(%q) = %s: not valid JSON", s, ours)
		}
		var got string
		if err := json.Unmarshal(ours, &got); err != nil {
			t.Fatal(err)
		}
		theirs, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var want string
		if err := json.Unmarshal(theirs, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("AppendString(%q) decodes to %q; encoding/json's to %q", s, got, want)
		}
		if esc := AppendEscaped(nil, []byte(s)); !bytes.Equal(esc, ours[1:len(ours)-1]) {
			t.Fatalf("AppendEscaped(%q) = %s; AppendString gives %s", s, esc, ours)
		}
		// Embedded twice, as Destinatarios and Datosmensaje are: decoding twice gives it back.
		outer := AppendString(nil, string(ours))
		var inner string
		if err := json.Unmarshal(outer, &inner); err != nil || inner != string(ours) {
			t.Fatalf("embedding %s as a string: %q, %v", ours, inner, err)
		}
	})
}
