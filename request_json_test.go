package mensatek

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// storedRequests holds a request of every message type, with everything a SendRequest can
// carry somewhere among them. testdata/request_json_v1.json is their JSON as release 0.1 wrote
// it: TestSendRequestJSONFixture reads it, so a later release that cannot read an older job
// fails there.
func storedRequests() []SendRequest {
	madrid := MadridTime()
	to := []Recipient{{Phone: "+34 600 00 00 01", Name: "Ana", Email: "ana@example.com",
		Vars: map[string]string{"Variable_Cabecera_image": "https://example.com/a.png", "1": "Ana 😀", "Valor-URL-Boton-0": "x?y=1&z=<2>"}}}
	return []SendRequest{
		{To: to, Message: Text{Body: "hola *mundo* \"ñ\" \U0001F600\n<b>&</b>", PreviewURL: true}, Reference: "order-1",
			Report: true, FixUTF8: true, FallbackChannels: []string{"SMS", "EMAIL"},
			ScheduleAt: time.Date(2026, 3, 29, 2, 30, 0, 0, time.UTC)},
		{To: to, Message: Template{Name: "pedido_enviado"}, Reference: "order-2",
			ScheduleAt: time.Date(2026, 10, 25, 2, 30, 0, 0, madrid)},
		{To: to, Message: Image{URL: "https://example.com/i.jpg", Caption: "foto"}},
		{To: to, Message: Document{URL: "https://example.com/f.pdf", Filename: "factura.pdf", Caption: "tu factura"}},
		{To: to, Message: Location{Latitude: 40.4168, Longitude: -3.7038, Name: "Sol", Address: "Puerta del Sol, Madrid"}},
		{To: to, Message: LocationRequest{Body: "¿Dónde estás?"}},
		{To: to, Message: List{Header: "Menú", Body: "Elige", Footer: "pie", Button: "Ver", Sections: []ListSection{
			{Title: "A", Rows: []ListRow{{ID: "a1", Title: "Uno", Description: "el primero"}, {ID: "a2", Title: "Dos"}}},
			{Title: "B", Rows: []ListRow{{ID: "b1", Title: "Tres"}}}}}},
		{To: to, Message: ReplyButtons{Header: "h", Body: "¿Sí o no?", Footer: "f", Buttons: []ReplyButton{{ID: "si", Title: "Sí"}, {ID: "no", Title: "No"}}}},
		{To: []Recipient{{Phone: "34600000002", ReplyTo: 987654321012}}, Message: Reaction{Emoji: "👍"}},
		{To: to, Message: CTAButton{Header: "h", Body: "Mira", Footer: "f", Text: "Abrir", URL: "https://example.com/x"}},
		{To: to, Message: RawMessage{Type: TypeText, Data: map[string]any{
			"Texto": "raw", "Big": json.Number("9007199254740993"), "Float": json.Number("0.1"), "Neg": json.Number("-0"),
			"Tiny": json.Number("1e-7"), "Null": nil, "Flag": true,
			"Nested": map[string]any{"list": []any{json.Number("1"), "dos", map[string]any{"tres": false}}},
		}}, ExtraData: map[string]any{"Extra": "x", "N": json.Number("12345678901234567890")}},
		{To: to, Message: RawMessage{Type: "NUEVOTIPO", Data: nil}, ExtraData: map[string]any{}},
	}
}

// sameRequest compares two requests as a round trip must keep them: times by their instant.
func sameRequest(t *testing.T, i int, got, want SendRequest) {
	t.Helper()
	if !got.ScheduleAt.Equal(want.ScheduleAt) {
		t.Errorf("request %d: ScheduleAt %v, want %v", i, got.ScheduleAt, want.ScheduleAt)
	}
	got.ScheduleAt, want.ScheduleAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("request %d: round trip changed it:\n got %#v\nwant %#v", i, got, want)
	}
}

// wireBody is what the API would receive for req.
func wireBody(t *testing.T, req SendRequest) string {
	t.Helper()
	b, err := encodeSend(&req)
	if err != nil {
		t.Fatalf("encodeSend: %v", err)
	}
	return string(b)
}

func TestSendRequestJSONRoundTrip(t *testing.T) {
	kinds := map[string]bool{}
	for i, req := range storedRequests() {
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		var got SendRequest
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("request %d: %v\n%s", i, err, b)
		}
		sameRequest(t, i, got, req)
		if w, g := wireBody(t, req), wireBody(t, got); w != g {
			t.Errorf("request %d: the API would receive\n%s\nafter the round trip, want\n%s", i, g, w)
		}
		var env struct{ Message messageJSON }
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		kinds[env.Message.Kind] = true
	}
	for kind := range messageKinds {
		if !kinds[kind] {
			t.Errorf("no request of kind %s in storedRequests", kind)
		}
	}
}

// Values the typed tests above do not hold: Go numbers in RawMessage.Data and ExtraData come back
// as json.Number (the same digits on the wire), pointers as values, nil and empty apart.
func TestSendRequestJSONValues(t *testing.T) {
	req := SendRequest{
		To:      []Recipient{{Phone: "34600000001", Vars: map[string]string{}}, {Phone: "34600000002"}},
		Message: &Text{Body: "puntero"},
		ExtraData: map[string]any{"i": 7, "i64": int64(math.MaxInt64), "f": 1.5, "small": 1e-9, "big": 1e300,
			"rows": []map[string]any{{"Id": "1"}}, "s": []string{"a"}},
		FallbackChannels: []string{},
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var got SendRequest
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if w, g := wireBody(t, req), wireBody(t, got); w != g {
		t.Errorf("the API would receive\n%s\nafter the round trip, want\n%s", g, w)
	}
	if got.Message != (Text{Body: "puntero"}) {
		t.Errorf("Message %#v, want the Text value", got.Message)
	}
	if got.To[0].Vars == nil || got.To[1].Vars != nil || got.FallbackChannels == nil || got.ExtraData["i64"] != json.Number("9223372036854775807") {
		t.Errorf("round trip lost nil/empty or digits: %#v", got)
	}
	// A zero request round-trips to a zero request.
	var zero SendRequest
	if b, err = json.Marshal(SendRequest{}); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &zero); err != nil || !reflect.DeepEqual(zero, SendRequest{}) {
		t.Errorf("zero request: %#v, %v (%s)", zero, err, b)
	}
}

func TestSendRequestJSONErrors(t *testing.T) {
	var nilText *Text
	if _, err := json.Marshal(SendRequest{Message: nilText}); err == nil {
		t.Error("a nil *Text message encoded")
	}
	if _, err := json.Marshal(SendRequest{Message: RawMessage{Type: "X", Data: map[string]any{"c": make(chan int)}}}); err == nil {
		t.Error("a channel in RawMessage.Data encoded")
	}
	for _, in := range []string{
		`{"v":2,"to":null,"message":null}`,
		`{"v":1,"to":null,"message":{"kind":"Video","data":{}}}`,
		`{"v":1,"to":null,"message":{"kind":"Text","data":{"Body":"x","Colour":"red"}}}`,
		`{"v":1,"to":null,"message":null,"priority":1}`,
		`{"v":1,"to":[{"phone":"1","extra":1}],"message":null}`,
		`{"v":1,"to":null,"message":null} {}`,
		`{"v":1,"to":null,"message":{"kind":"Text","data":"x"}}`,
		`{"v":1,"to":null,"message":null,"schedule_at":"mañana"}`,
		`[]`, `null`, ``,
	} {
		var r SendRequest
		if err := json.Unmarshal([]byte(in), &r); err == nil && in != `null` {
			t.Errorf("%s: read as %#v, want an error", in, r)
		}
	}
}

// A job written by an earlier release is read by this one: the fixture holds storedRequests as
// release 0.1 wrote them. This release must read it into the same requests; when it also
// writes them differently, the format changed: add a fixture for the new version and keep
// reading this one.
func TestSendRequestJSONFixture(t *testing.T) {
	data, err := os.ReadFile("testdata/request_json_v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var stored []json.RawMessage
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatal(err)
	}
	want := storedRequests()
	if len(stored) != len(want) {
		t.Fatalf("fixture holds %d requests, want %d", len(stored), len(want))
	}
	for i, raw := range stored {
		var got SendRequest
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		sameRequest(t, i, got, want[i])
		again, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			t.Fatal(err)
		}
		if string(again) != compact.String() {
			t.Errorf("request %d: this release writes\n%s\nrelease 0.1 wrote\n%s", i, again, compact.String())
		}
	}
}

// The encoding a fixture holds, one request per line, for writing a new fixture.
func TestSendRequestJSONPrintFixture(t *testing.T) {
	if os.Getenv("MENSATEK_PRINT_FIXTURE") == "" {
		t.Skip("set MENSATEK_PRINT_FIXTURE=1 to print the fixture")
	}
	var lines []string
	for _, req := range storedRequests() {
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, "  "+string(b))
	}
	os.Stdout.WriteString("[\n" + strings.Join(lines, ",\n") + "\n]\n")
}

// FuzzSendRequestJSON reads arbitrary stored requests: never a panic, and whatever is read is
// written and read back to the same request, and the same bytes the second time.
func FuzzSendRequestJSON(f *testing.F) {
	for _, req := range storedRequests() {
		b, err := json.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"to":[],"message":{"kind":"RawMessage","data":{"Type":"X","Data":{"a":[1e400]}}}}`))
	f.Add([]byte(`{"v":1,"to":null,"message":null,"empty_to":true,"empty_extra_data":true,"extra_data":{"a":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var first SendRequest
		if err := json.Unmarshal(data, &first); err != nil {
			return
		}
		b1, err := json.Marshal(first)
		if err != nil {
			return // a number encoding/json reads but cannot write back, such as 1e400 in a map
		}
		var second SendRequest
		if err := json.Unmarshal(b1, &second); err != nil {
			t.Fatalf("cannot read what was written: %v\n%s", err, b1)
		}
		b2, err := json.Marshal(second)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("second write differs (%v):\n%s\n%s", err, b1, b2)
		}
		sameRequest(t, 0, second, first)
	})
}
