package wire

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reply is a reply struct as the SDK declares them: lenient members, some renamed.
type reply struct {
	Res       Number
	Error     String
	Cred      Number
	IDMensaje Number `json:"idMensaje"`
	Msgid     Number
	Nombre    String
}

func TestDecodeReply(t *testing.T) {
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
			var r reply
			err := DecodeReply([]byte(tt.body), &r)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantRes, r.Res.text)
		})
	}
}

func TestDecodeReplyEmptyIsErrEmpty(t *testing.T) {
	assert.ErrorIs(t, DecodeReply(nil, &reply{}), ErrEmpty)
}

func TestDecodeReplyIgnoresCase(t *testing.T) {
	var r reply
	require.NoError(t, DecodeReply([]byte(`{"RES":"5","cred":"1,5","IdMensaje":"77","ERROR":"x","msgID":"3"}`), &r))
	res, ok, err := r.Res.Int()
	require.NoError(t, err)
	assert.True(t, ok)
	assert.EqualValues(t, 5, res)
	cred, ok, err := r.Cred.Float()
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, 1.5, cred)
	id, _, _ := r.IDMensaje.Int()
	assert.EqualValues(t, 77, id)
	old, _, _ := r.Msgid.Int()
	assert.EqualValues(t, 3, old)
	assert.Equal(t, String("x"), r.Error)
	assert.False(t, r.Nombre != "")
}

// A name given twice, in any case, keeps its last value (encoding/json's rule); null changes
// nothing, as for encoding/json's own strings and numbers.
func TestDecodeReplyDuplicateKeyKeepsLast(t *testing.T) {
	var r reply
	require.NoError(t, DecodeReply([]byte(`[{"Res":"1","RES":"2","rEs":"3","res":"4","Error":"a","error":null}]`), &r))
	assert.Equal(t, "4", r.Res.text)
	assert.Equal(t, String("a"), r.Error)
}

// One member that cannot be read leaves the others readable.
func TestDecodeReplyKeepsReadingPastABadMember(t *testing.T) {
	var r reply
	require.NoError(t, DecodeReply([]byte(`{"Res":"1","idMensaje":"abc","Cred":{"x":1},"Error":[1,2],"Nombre":12}`), &r))
	res, ok, err := r.Res.Int()
	assert.True(t, ok)
	assert.NoError(t, err)
	assert.EqualValues(t, 1, res)
	_, _, err = r.IDMensaje.Int()
	assert.ErrorContains(t, err, "not a number")
	_, _, err = r.Cred.Float()
	assert.ErrorContains(t, err, "not a number")
	assert.Equal(t, String("[1,2]"), r.Error, "an array keeps its JSON text")
	assert.Equal(t, String("12"), r.Nombre, "a number is text as written")
}

// number decodes raw as a member, the way every Number is decoded.
func number(t *testing.T, raw string) Number {
	t.Helper()
	var v struct{ N Number }
	require.NoError(t, json.Unmarshal([]byte(`{"N":`+raw+`}`), &v))
	return v.N
}

func TestNumberInt(t *testing.T) {
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
			got, ok, err := number(t, tt.raw).Int()
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

func TestNumberFloat(t *testing.T) {
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
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			n := number(t, tt.raw)
			got, ok, err := n.Float()
			if tt.wantErr {
				assert.Error(t, err)
				assert.False(t, ok)
				assert.True(t, n.IsSet())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.wantOK, n.IsSet())
			assert.InDelta(t, tt.want, got, 1e-9)
		})
	}
}

func TestNumberErrorsAreShort(t *testing.T) {
	_, _, err := number(t, `"`+strings.Repeat("x", 5000)+`"`).Float()
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 200)
	_, _, err = number(t, `{"a":"`+strings.Repeat("x", 5000)+`"}`).Int()
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 200)
}

func TestString(t *testing.T) {
	for raw, want := range map[string]string{
		`"hola"`: "hola", `12`: "12", `-1.5e3`: "-1.5e3", `true`: "true", `null`: "",
		`"\uD83D\uDE01 \u00f1"`: "😁 ñ", `"a\"b"`: `a"b`, `{"a": 1}`: `{"a": 1}`, "\"\xff\"": "\uFFFD",
	} {
		var v struct{ S String }
		require.NoError(t, json.Unmarshal([]byte(`{"S":`+raw+`}`), &v), raw)
		assert.Equal(t, String(want), v.S, raw)
	}
	assert.Equal(t, "b", First("", "b", "c"))
	assert.Equal(t, "", First())
}

// Replies may carry emoji as UTF-16 escapes; they decode to the character.
func TestReplySurrogatePairs(t *testing.T) {
	var r reply
	require.NoError(t, DecodeReply([]byte(`[{"Res":"1","Error":"Listo \uD83D\uDE01 \ud83d\ude03","Nombre":"Pérez"}]`), &r))
	assert.Equal(t, String("Listo 😁 😃"), r.Error)
	assert.Equal(t, String("Pérez"), r.Nombre)
}

type named struct{ Nombre String }

func TestMap(t *testing.T) {
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
			var v struct{ M Map[named] }
			require.NoError(t, json.Unmarshal([]byte(`{"M":`+tt.raw+`}`), &v))
			require.NoError(t, v.M.Err)
			got := make(map[string]string, len(v.M.Value))
			for k, n := range v.M.Value {
				got[k] = string(n.Nombre)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMapReferenceFields(t *testing.T) {
	type variable struct{ Nombre, Campo, Donde, Formato, Ejemplo String }
	var vars Map[variable]
	require.NoError(t, vars.UnmarshalJSON([]byte(refVariables)))
	require.NoError(t, vars.Err)
	assert.Equal(t, variable{Nombre: "Header IMAGE", Campo: "Variable_Cabecera_image", Donde: "HEADER",
		Formato: "URL_IMAGEN", Ejemplo: "https://www.yourdomain.com/img/banner.jpg"}, vars.Value["3"])
	assert.Equal(t, String(""), vars.Value["1"].Donde)

	var templates Map[struct{ Verificada Number }]
	require.NoError(t, templates.UnmarshalJSON([]byte(refPlantillas)))
	v, ok, err := templates.Value["572863982585984"].Verificada.Int()
	require.NoError(t, err)
	assert.True(t, ok)
	assert.EqualValues(t, 0, v)
}

func TestMapErrors(t *testing.T) {
	for _, raw := range []string{
		`{"1":"x"}`, // a value that is not the element type
		`"\q"`,      // a bad escape
		`"{\\q}"`,   // a bad escape once unescaped
		`"\u12"`,    // a short \u escape
		`"`,
		`[1]`,
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
			var m Map[named]
			require.NoError(t, m.UnmarshalJSON([]byte(raw)), "never an error that would abort the decode")
			assert.Error(t, m.Err)
			assert.Nil(t, m.Value)
		})
	}
}

func TestObjectOr(t *testing.T) {
	type part struct{ Body String }
	var v struct{ A, B, C, D ObjectOr[part] }
	require.NoError(t, json.Unmarshal([]byte(`{"A":"hi","B":{"body":"there"},"C":7,"D":{"body":"x"},"d":"last wins"}`), &v))
	assert.Equal(t, ObjectOr[part]{Text: "hi"}, v.A)
	assert.Equal(t, ObjectOr[part]{Object: &part{Body: "there"}}, v.B)
	assert.Equal(t, ObjectOr[part]{Text: "7"}, v.C)
	assert.Equal(t, ObjectOr[part]{Text: "last wins"}, v.D)
}

// A form becomes a JSON object of strings that decodes as a JSON body does; of names that differ
// only in case, the one that sorts first wins.
func TestFormObject(t *testing.T) {
	vals, err := url.ParseQuery("ESTADO=1&Estado=2&estado=3&Coste=0%2C05&Mensaje=%7B%22type%22%3A%22text%22%7D&n=a&n=b&bad=%FF")
	require.NoError(t, err)
	obj := FormObject(vals)
	require.True(t, json.Valid(obj), "%s", obj)
	var v struct {
		Estado  Number
		Coste   Number
		Mensaje String
		N       String
		Bad     String
	}
	require.NoError(t, json.Unmarshal(obj, &v))
	assert.Equal(t, "1", v.Estado.text, "ESTADO sorts first")
	cost, _, _ := v.Coste.Float()
	assert.Equal(t, 0.05, cost)
	assert.Equal(t, String(`{"type":"text"}`), v.Mensaje)
	assert.Equal(t, String("a"), v.N, "a name's first value")
	assert.Equal(t, String("\uFFFD"), v.Bad)
	assert.Equal(t, `{}`, string(FormObject(nil)))
}

func FuzzDecodeReply(f *testing.F) {
	for _, s := range []string{`{"Res":"1"}`, `[{"Res":-3,"Error":"x"}]`, `[]`, "\xef\xbb\xbf{}", `{"Res":"12.345,67"}`, `[null]`, `[{"Plantillas":"{\"1\":{}}"}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r struct {
			reply
			Plantillas Map[named]
			Part       ObjectOr[named]
		}
		if err := DecodeReply(b, &r); err != nil {
			return
		}
		_, _, _ = r.Res.Int()
		_, _, _ = r.Cred.Float()
	})
}

func FuzzMap(f *testing.F) {
	f.Add([]byte(refPlantillas))
	f.Add([]byte(refVariables))
	f.Add([]byte(`"{\"1\":{}}"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Map[named]
		if err := m.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
		if m.Err != nil && m.Value != nil {
			t.Fatal("a value with an error")
		}
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
