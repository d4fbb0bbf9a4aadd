package wire

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flatReply is a flat reply as the SDK declares them: lenient members, some renamed.
type flatReply struct {
	Res     Number
	Error   String
	ID      Number `json:"idMensaje"`
	Sent    Number `json:"Enviados"`
	Comment String `json:"nota"`
}

func (r *flatReply) Member(name Name) json.Unmarshaler {
	switch string(name.Bytes()) {
	case "res":
		return &r.Res
	case "error":
		return &r.Error
	case "idmensaje":
		return &r.ID
	case "enviados":
		return &r.Sent
	case "nota":
		return &r.Comment
	}
	return nil
}

// viaJSON is flatReply without Member: DecodeReply gives it to encoding/json.
type viaJSON struct{ flatReply }

func (*viaJSON) Member() {} // hides flatReply's Member: viaJSON is not a Flat

// decodeBoth decodes b through the scanner (when it takes b) and through encoding/json, and
// fails the test when their results differ.
func decodeBoth(t *testing.T, b []byte) (took bool) {
	t.Helper()
	var flat flatReply
	took = decodeFlat(trimJSON(b), &flat)
	var viaJ viaJSON
	jerr := DecodeReply(b, &viaJ)
	if !took {
		assert.Equal(t, flatReply{}, flat, "the scanner changed the struct although it gave up on %q", b)
		return false
	}
	if jerr != nil {
		t.Fatalf("the scanner took %q, which encoding/json refuses: %v", b, jerr)
	}
	if !reflect.DeepEqual(flat, viaJ.flatReply) {
		t.Fatalf("%q: the scanner read %+v, encoding/json %+v", b, flat, viaJ.flatReply)
	}
	return true
}

func TestDecodeFlatMatchesEncodingJSON(t *testing.T) {
	var _ Flat = (*flatReply)(nil)
	_, isFlat := any(&viaJSON{}).(Flat)
	require.False(t, isFlat)
	taken := []string{
		`[{"Res":"1","Error":"","idMensaje":"123456789","Cred":"12000","Enviados":"1","NoEnviados":"0"}]`,
		`{"Res":-3,"Error":"Falta parámetro obligatorio"}`,
		" \r\n[ { \"res\" : 1.5e3 , \"ERROR\":null,\"IdMensaje\":true } ] \n",
		`{}`, `[{}]`,
		`{"Res":"1","Res":"2"}`,                      // the last wins
		`{"Error":"a\"b\\c\/d\u00e9\ud83d\ude00\n"}`, // escapes
		"{\"Error\":\"\xff\xfe\"}",                   // invalid UTF-8 becomes U+FFFD
		`{"nota":"x","Nota":"y"}`,
		`{"Res":-0.0E-0,"Enviados":false,"otro":"skipped","x":12}`,
		`{"` + strings.Repeat("a", 200) + `":"a long unknown name"}`,
		`{"Res":"1","ID":"7"}`, // a Go field name that has a tag is not its JSON name
	}
	for _, s := range taken {
		assert.True(t, decodeBoth(t, []byte(s)), "the scanner should take %q", s)
	}
	given := []string{
		`[{"Res":"1"},{"Res":"2"}]`,  // more elements: encoding/json checks them
		`[{"Res":"1"}`, `{"Res":"1"`, // cut
		`{"Res":{"a":1}}`, `{"Res":[1]}`, // nesting
		`{"R\u0065s":"1"}`, // an escaped name
		`{"Reſ":"1"}`,      // a name that is not ASCII
		`{"Res":01}`, `{"Res":1.}`, `{"Res":.5}`, `{"Res":1e}`, `{"Res":-}`, `{"Res":+1}`,
		`{"Res":tru}`, `{"Res":nul}`, `{"Res":"\x"}`, `{"Res":"\u12"}`, "{\"Res\":\"a\tb\"}",
		`{"Res":"1",}`, `{"Res" "1"}`, `{,}`, `{"Res":"1"} x`, `[{"Res":"1"}] ]`, `[[{"Res":1}]]`,
		`null`, `"text"`, `[]`, `[null]`,
	}
	for _, s := range given {
		assert.False(t, decodeBoth(t, []byte(s)), "the scanner should give %q to encoding/json", s)
	}
	var many strings.Builder
	many.WriteString("{")
	for i := range maxFlatMembers + 1 {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(`"Res":1`)
	}
	many.WriteString("}")
	assert.False(t, decodeBoth(t, []byte(many.String())), "more known members than the scanner holds")
}

func TestDecodeFlatAllocatesNothing(t *testing.T) {
	b := []byte(`[{"Res":"1","Error":"","idMensaje":"123456789","Cred":"12000","Enviados":"1","NoEnviados":"0"}]`)
	var r flatReply
	allocs := testing.AllocsPerRun(100, func() {
		if !decodeFlat(b, &r) {
			t.Fatal("not taken")
		}
	})
	// The values' own copies (strings of the Number and String fields) are all that allocates.
	assert.LessOrEqual(t, allocs, 4.0)
}

// FuzzDecodeFlat: whatever the scanner takes, encoding/json reads the same way.
func FuzzDecodeFlat(f *testing.F) {
	for _, s := range []string{
		`[{"Res":"1","Error":"","idMensaje":"123456789","Cred":"12000","Enviados":"1","NoEnviados":"0"}]`,
		`{"Res":-3,"Error":"x\u00e9","nota":null}`, `[{"res":1e5,"ENVIADOS":true}]`, `{}`, `[{"a":[1]}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { decodeBoth(t, b) })
}

func BenchmarkDecodeReplyFlat(b *testing.B) {
	body := []byte(`[{"Res":"1","Error":"","idMensaje":"123456789","Cred":"12000","Enviados":"1","NoEnviados":"0"}]`)
	b.Run("flat", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var r flatReply
			if err := DecodeReply(body, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var r viaJSON
			if err := DecodeReply(body, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
