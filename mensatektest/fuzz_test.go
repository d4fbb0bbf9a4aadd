package mensatektest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzServeHTTP sends the fake any body under any content type: it never panics, and always
// answers a JSON array holding one object whose values are strings, with a Res.
func FuzzServeHTTP(f *testing.F) {
	f.Add(uint8(0), "application/json", []byte(`{"Destinatarios":"[{\"Telefono\":\"34600000001\",\"Nombre\":\"Ana\"}]","Tipomensaje":"TEXTO","Datosmensaje":"{\"Texto\":\"hola\"}","Report":0,"Resp":"JSON"}`))
	f.Add(uint8(0), "application/json", []byte(`[{"Destinatarios":[{"Telefono":"34600000001","idMensajeRespondido":"1e3"}],"Tipomensaje":"REACCION","Datosmensaje":{"Emoji":"x","emoji":"y"}}]`))
	f.Add(uint8(0), "application/json", []byte(`{"Destinatarios":"\"[{\\\"Telefono\\\":\\\"34600000001\\\"}]\"","Tipomensaje":"PLANTILLA","Datosmensaje":"{\\\"Plantilla\\\":\\\"customer_welcome\\\"}"}`))
	f.Add(uint8(0), "application/x-www-form-urlencoded", []byte("Destinatarios=%5B%7B%22Telefono%22%3A%2234600000001%22%7D%5D&Tipomensaje=TEXTO&tipomensaje=x&Siguientecanal=%5B%22SMS%22%2Cnull%5D"))
	f.Add(uint8(1), "", []byte(`{"Idmensaje":"9223372036854775808","Telefono":"34600000000"}`))
	f.Add(uint8(2), "text/plain", []byte("Idmensaje=1&Telefono=34600000000"))
	f.Add(uint8(3), "application/json", []byte(`{"Estado":"\ud83d"}`))
	f.Add(uint8(5), "multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"Idplantilla\"\r\n\r\n572863982585983\r\n--x--\r\n"))
	ops := operations()
	f.Fuzz(func(t *testing.T, op uint8, contentType string, body []byte) {
		s := newServer(config{})
		fn := ops[int(op)%len(ops)].Function
		req := httptest.NewRequest(http.MethodPost, basePath+fn, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.SetBasicAuth(s.APIUser, s.APIToken)
		rec := httptest.NewRecorder()
		s.serveHTTP(rec, req)

		var reply []map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || len(reply) != 1 {
			t.Fatalf("reply %q is not a JSON array of one object (%v)", rec.Body.Bytes(), err)
		}
		for k, v := range reply[0] {
			if _, ok := v.(string); !ok {
				t.Fatalf("reply field %s is %T, not a string: %s", k, v, rec.Body.Bytes())
			}
		}
		if _, ok := reply[0]["Res"]; !ok {
			t.Fatalf("reply without Res: %s", rec.Body.Bytes())
		}
	})
}
