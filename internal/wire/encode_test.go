package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
