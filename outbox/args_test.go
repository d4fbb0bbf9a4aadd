package outbox_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/outbox"
)

// A job's args round-trip; args that cannot be read decode without an error (the worker
// retries the job, marked as not sent) and cannot be written back.
func TestSendArgsJSON(t *testing.T) {
	in := text("ref-1", "hola")
	in.Request.To[0].Vars = map[string]string{"1": "x"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `{"request":{"v":1,`) {
		t.Errorf("args %s", b)
	}
	var out outbox.SendArgs
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Request.Reference != "ref-1" || out.Request.Message != (mensatek.Text{Body: "hola"}) || out.Request.To[0].Vars["1"] != "x" {
		t.Errorf("read back %+v", out.Request)
	}
	for _, bad := range []string{`{}`, `{"request":{"v":2}}`, `{"request":"x"}`, `[]`, `{"request":{"v":1,"to":null,"message":{"kind":"Video","data":{}}}}`} {
		var a outbox.SendArgs
		if err := json.Unmarshal([]byte(bad), &a); err != nil {
			t.Errorf("%s: %v, want no error", bad, err)
		}
		if _, err := json.Marshal(a); err == nil {
			t.Errorf("%s: written back without an error", bad)
		}
	}
}
