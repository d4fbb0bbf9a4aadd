package mensatek

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzJSONString checks the streaming string reader against encoding/json: same text, same
// verdict, wherever the reader's buffer boundaries fall.
func FuzzJSONString(f *testing.F) {
	for _, seed := range []string{
		`"abc"`, `"a\/b\n\r\t\"\\\b\f"`, `"\u00e9\ud83d\ude01 ok"`, `"\ud800x"`, `"\ud800\u0041"`,
		`"\udc00"`, `"unterminated`, `"bad \x escape"`, "\"ctl \x01\"", `"\u12"`, `"` + strings.Repeat(`aG9sYQ==\/`, 10) + `" trailing`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, lit []byte) {
		if len(lit) == 0 || lit[0] != '"' {
			lit = append([]byte{'"'}, lit...)
		}
		r := bufio.NewReaderSize(bytes.NewReader(lit[1:]), 16) // small: escapes straddle refills
		got, err := io.ReadAll(&jsonString{r: r})
		rest, _ := io.ReadAll(r)
		read := lit[:len(lit)-len(rest)]
		var want string
		wantErr := json.Unmarshal(read, &want)
		if !utf8.Valid(read) {
			return // encoding/json replaces bad UTF-8; jsonString passes it on
		}
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: jsonString error %v, encoding/json error %v", read, err, wantErr)
		}
		if err == nil && string(got) != want {
			t.Fatalf("%q: jsonString %q, encoding/json %q", read, got, want)
		}
	})
}
