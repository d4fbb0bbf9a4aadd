package mensatektest

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestExcerpt(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"hola", "hola"},
		{"a\nb\tc\x7f", "a b c "},
		{"\xffx", "\uFFFDx"},
		{strings.Repeat("a", 45), strings.Repeat("a", 40) + "..."},
		{strings.Repeat("é", 30), strings.Repeat("é", 20) + "..."}, // 40 bytes, no rune cut
	}
	for _, tt := range tests {
		if got := excerpt([]byte(tt.in), 40); got != tt.want {
			t.Errorf("excerpt(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIntegerOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int64
		present bool
		err     bool
	}{
		{`12`, 12, true, false},
		{`-3`, -3, true, false},
		{`"12"`, 12, true, false},
		{`" +12 "`, 12, true, false},
		{`12.0`, 12, true, false},
		{`1e3`, 1000, true, false},
		{`true`, 1, true, false},
		{`false`, 0, true, false},
		{`""`, 0, false, false},
		{`"  "`, 0, false, false},
		{`null`, 0, false, false},
		{``, 0, false, false},
		{`12.5`, 0, false, true},
		{`"abc"`, 0, false, true},
		{`[1]`, 0, false, true},
		{`{}`, 0, false, true},
		{`9223372036854775807`, 9223372036854775807, true, false},
		{`9223372036854775808`, 0, false, true},
		{`-9223372036854775809`, 0, false, true},
		{`1e400`, 0, false, true},
	}
	for _, tt := range tests {
		got, present, err := integerOf(json.RawMessage(tt.in))
		if got != tt.want || present != tt.present || (err != nil) != tt.err {
			t.Errorf("integerOf(%s) = %d, %v, %v; want %d, %v, error %v", tt.in, got, present, err, tt.want, tt.present, tt.err)
		}
	}
}

func TestEmbedded(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`{"a":1}`, `{"a":1}`},
		{`"{\"a\":1}"`, `{"a":1}`},
		{`"\"{\\\"a\\\":1}\""`, `{"a":1}`},
		{`"{\\\"a\\\":1}"`, `{"a":1}`}, // escaped once too often
		{`" [1] "`, `[1]`},
		{`""`, ``},
		{`"hola"`, `hola`},
	}
	for _, tt := range tests {
		got, err := embedded(json.RawMessage(tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("embedded(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if _, err := embedded(json.RawMessage(`"unterminated`)); err == nil {
		t.Error("an invalid string is an error")
	}
}

func TestReadParamsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ contentType, body, want string }{
		{"multipart/form-data", "x", "the multipart/form-data body cannot be read"},
		{"multipart/form-data; boundary=b", "--b\r\nnot a part", "the multipart/form-data body cannot be read"},
		{"application/x-www-form-urlencoded", "a=%zz", "the form body cannot be read"},
		{"", "a=%zz", "neither a JSON object nor a form"},
		{"application/json", "hola", "not a valid JSON object"},
		{"application/problem+json", "1", "not a valid JSON object"},
		{"application/json", `[{"a":1}`, "not a valid JSON object"},
		{"application/json", `[1]`, "not a valid JSON object"},
		{"image/png", "x", `unsupported Content-Type "image/png"`},
	}
	for _, tt := range tests {
		_, err := readParams(tt.contentType, []byte(tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("readParams(%q, %q) = %v, want an error containing %q", tt.contentType, tt.body, err, tt.want)
		}
	}
	p, err := readParams("application/json", []byte(" \ufeff "))
	if err != nil || len(p) != 0 {
		t.Errorf("an empty body is no parameters, got %v, %v", p, err)
	}
}

func TestDecodeListShapes(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`null`, `""`, `"null"`} {
		if list, err := decodeList(json.RawMessage(in)); err != nil || len(list) != 0 {
			t.Errorf("decodeList(%s) = %v, %v; want no recipients", in, list, err)
		}
	}
	for _, in := range []string{`"[{"`, `"{\"a\":"`, `true`, `"\"x"`} {
		if _, err := decodeList(json.RawMessage(in)); err == nil {
			t.Errorf("decodeList(%s) is no error", in)
		}
	}
}
