package mensatek

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"

	"strconv"
	"testing"
)

// Benchmarks compare the SDK with what a user would write by hand, in the same run, against the
// same loopback server. Run them with:
//
//	go test -run '^$' -bench . -benchmem -count 5 . | tee bench.txt && benchstat bench.txt
//
// They never run as timed tests: `go test` without -bench skips them.

func benchServer(tb testing.TB) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `[{"Res":"1","Error":"","idMensaje":"123456789","Cred":"12000","Enviados":"1","NoEnviados":"0"}]`)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// rawSendText is the hand-written baseline: the same request and reply handling with net/http
// and encoding/json, no validation beyond what the reply needs.
func rawSendText(ctx context.Context, hc *http.Client, url, user, token, phone, text string) (int64, error) {
	type recipient struct {
		Telefono string
	}
	dest, _ := json.Marshal([]recipient{{phone}})
	data, _ := json.Marshal(map[string]string{"Texto": text})
	body, _ := json.Marshal(map[string]any{
		"Destinatarios": string(dest), "Tipomensaje": "TEXTO", "Datosmensaje": string(data),
		"Report": 0, "Fixutf8": 0, "Resp": "JSON",
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"EnviarWHATSAPP", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(user, token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out []struct {
		Res, Error, IDMensaje, Cred, Enviados, NoEnviados string
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, err
	}
	if len(out) != 1 || out[0].Res != "1" {
		return 0, fmt.Errorf("bad reply %+v", out)
	}
	return strconv.ParseInt(out[0].IDMensaje, 10, 64)
}

// reportCPU adds a cpu-ns/op metric to b: the CPU time the whole process (client, loopback
// server and runtime) spent per operation since b's timer was last reset. Unlike ns/op, it
// does not grow when other processes compete for the machine's cores, so it compares two
// benchmarks fairly on a busy machine. Call it with the CPU time read right after
// b.ResetTimer.
func reportCPU(b *testing.B, start int64) {
	if now := processCPU(); start >= 0 && now >= 0 && b.N > 0 {
		b.ReportMetric(float64(now-start)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkSendText: the SDK's SendText against the hand-written client, same server, same run.
// sdk-nop-observer measures the hook (WithObserver) with an observer that does nothing; sdk,
// without one, must cost what it cost before the hook existed.
func BenchmarkSendText(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	sdk := func(opts ...Option) func(b *testing.B) {
		return func(b *testing.B) {
			c, err := NewClient("user", "token", append([]Option{WithBaseURL(srv.URL + "/v7/")}, opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			for i := 0; i < b.N; i++ {
				if _, err := c.SendText(ctx, "34600000001", "Hola, tu pedido ha salido"); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		}
	}
	b.Run("sdk", sdk())
	b.Run("sdk-nop-observer", sdk(WithObserver(NopClientObserver{})))
	b.Run("raw", func(b *testing.B) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
		hc := &http.Client{Transport: tr}
		b.ReportAllocs()
		b.ResetTimer()
		cpu := processCPU()
		for i := 0; i < b.N; i++ {
			if _, err := rawSendText(ctx, hc, srv.URL+"/v7/", "user", "token", "34600000001", "Hola, tu pedido ha salido"); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu)
	})
}

// TestSendTextAllocations checks the allocation budget of BenchmarkSendText: a send through the
// SDK allocates at most 10% more than the hand-written net/http client, counted over the same
// loopback exchange (the test server's allocations included, as in the benchmark). It counts
// allocations, not time. Under the race detector sync.Pool drops items at random, so net/http
// and resty allocate buffers they would reuse: the counts say nothing there.
func TestSendTextAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	srv := benchServer(t)
	ctx := context.Background()
	c, err := NewClient("user", "token", WithBaseURL(srv.URL+"/v7/"))
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	hc := &http.Client{Transport: tr}
	sdk := testing.AllocsPerRun(200, func() {
		if _, err := c.SendText(ctx, "34600000001", "Hola, tu pedido ha salido"); err != nil {
			t.Fatal(err)
		}
	})
	raw := testing.AllocsPerRun(200, func() {
		if _, err := rawSendText(ctx, hc, srv.URL+"/v7/", "user", "token", "34600000001", "Hola, tu pedido ha salido"); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("SendText: %.0f allocations, net/http by hand: %.0f (%.2fx)", sdk, raw, sdk/raw)
	if sdk > 1.10*raw {
		t.Fatalf("SendText allocated %.0f times per call, over 1.10x the %.0f of net/http by hand", sdk, raw)
	}
}

// referenceVariablesReply is the reference's GetVariablesPlantillaWhatsapp reply, verbatim.
const referenceVariablesReply = `[{"Res": "1","IdPlantilla": "572863982585983","Nombre": "customer_welcome","Idioma": "es","Categoria": "MARKETING","Estado": "APPROVED","Verificada": "1","FormatoParametros": "POSITIONAL","Total": "4","Variables": "{\n\\\"1\\\": {\n\\\"Nombre\\\": \\\"Destinatario\\\",\n\\\"Campo\\\": \\\"Telefono\\\",\n\\\"Donde\\\": \\\"\\\",\n\\\"Formato\\\": \\\"TELEFONO\\\",\n\\\"Ejemplo\\\": \\\"34600000000\\\"\n},\n\\\"2\\\": {\n\\\"Nombre\\\": \\\"Nombre\\\",\n\\\"Campo\\\": \\\"Nombre\\\",\n\\\"Donde\\\": \\\"BODY\\\",\n\\\"Formato\\\": \\\"TEXTO\\\",\n\\\"Ejemplo\\\": \\\"Sample value\\\"\n},\n\\\"3\\\": {\n\\\"Nombre\\\": \\\"Header IMAGE\\\",\n\\\"Campo\\\": \\\"Variable_Cabecera_image\\\",\n\\\"Donde\\\": \\\"HEADER\\\",\n\\\"Formato\\\": \\\"URL_IMAGEN\\\",\n\\\"Ejemplo\\\": \\\"https://www.yourdomain.com/img/banner.jpg\\\"\n},\n\\\"4\\\": {\n\\\"Nombre\\\": \\\"Producto\\\",\n\\\"Campo\\\": \\\"Valor-URL-Boton-0\\\",\n\\\"Donde\\\": \\\"BUTTONS\\\",\n\\\"Formato\\\": \\\"URL\\\",\n\\\"Ejemplo\\\": \\\"https://www.yourdomain.com/offer/REF123\\\"\n}\n}\n","Error": "Falta parámetro obligatorio","Cred": "12000"}]`

// BenchmarkTemplateVariablesDecode: decoding the reference's reply into TemplateDetails, against
// a hand-written decode (encoding/json into structs, unescaping the nested string twice).
func BenchmarkTemplateVariablesDecode(b *testing.B) {
	body := []byte(referenceVariablesReply)
	c, _ := NewClient("u", "t")
	resp := &http.Response{StatusCode: 200, Header: http.Header{}}
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var r templateVariablesReply
			if _, err := c.decodeReply(OpTemplateVariables, resp, body, nil, &r); err != nil {
				b.Fatal(err)
			}
			d, err := r.details()
			if err != nil || len(d.Variables) != 4 {
				b.Fatal(err)
			}
		}
	})
	b.Run("handwritten", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var out []struct {
				Res, IdPlantilla, Nombre, Idioma, Categoria, Estado, Verificada, FormatoParametros, Variables, Cred string
			}
			if err := json.Unmarshal(body, &out); err != nil || len(out) != 1 {
				b.Fatal(err)
			}
			var inner string
			if err := json.Unmarshal([]byte(`"`+out[0].Variables+`"`), &inner); err != nil {
				// the reference escapes once more than JSON needs: unescape the raw newlines first
				inner = string(bytes.ReplaceAll(bytes.ReplaceAll([]byte(out[0].Variables), []byte(`\"`), []byte(`"`)), []byte(`\\`), []byte(`\`)))
			}
			var vars map[string]struct{ Nombre, Campo, Donde, Formato, Ejemplo string }
			if err := json.Unmarshal([]byte(inner), &vars); err != nil || len(vars) != 4 {
				b.Fatal(err, inner)
			}
		}
	})
}

func campaign(n int) []Recipient {
	to := make([]Recipient, n)
	for i := range to {
		to[i] = Recipient{
			Phone: strconv.Itoa(34600000000 + i),
			Name:  "Cliente " + strconv.Itoa(i),
			Vars: map[string]string{
				"Variable_Cabecera_image": "https://www.yourdomain.com/img/banner.jpg",
				"Valor-URL-Boton-0":       "https://www.yourdomain.com/offer/REF" + strconv.Itoa(i),
			},
		}
	}
	return to
}

// BenchmarkEncodeCampaign10k: building the body of a send to 10,000 recipients, against
// json.Marshal of the same body (the recipients as a map per recipient, then the whole).
func BenchmarkEncodeCampaign10k(b *testing.B) {
	to := campaign(10000)
	req := SendRequest{To: to, Message: Template{Name: "customer_welcome"}, Reference: "campaign"}
	body, err := encodeSend(&req)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for i := 0; i < b.N; i++ {
			r := req
			if _, err := encodeSend(&r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for i := 0; i < b.N; i++ {
			dest := make([]map[string]string, len(to))
			for j, r := range to {
				m := map[string]string{"Telefono": r.Phone, "Nombre": r.Name}
				for k, v := range r.Vars {
					m[k] = v
				}
				dest[j] = m
			}
			d, _ := json.Marshal(dest)
			if _, err := json.Marshal(map[string]any{"Destinatarios": string(d), "Tipomensaje": "PLANTILLA",
				"Datosmensaje": `{"Plantilla":"customer_welcome"}`, "Referenciausuario": "campaign", "Report": 0, "Fixutf8": 0, "Resp": "JSON"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestCampaignEncodingMemory checks the budget of a 10,000-recipient send: the bytes allocated
// to check the request and build the body stay under 3 times the body's size. It counts bytes,
// not time. Under the race detector (how CI runs the tests), sync.Pool drops items at random, so
// the regexps of the phone check allocate on every match: there the budget covers building the
// body from checked phones, and the phone check's own allocations are counted only without it.
func TestCampaignEncodingMemory(t *testing.T) {
	req := SendRequest{To: campaign(10000), Message: Template{Name: "customer_welcome"}}
	phones, err := validateSend(&req, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := encodeValidated(&req, phones)
	if err != nil {
		t.Fatal(err)
	}
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			r := req
			if raceEnabled {
				_, err = encodeValidated(&r, phones)
			} else {
				_, err = encodeSend(&r)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	perOp := res.AllocedBytesPerOp()
	t.Logf("body %d bytes, allocated %d bytes per encode (%.2fx; race detector: %t)", len(body), perOp, float64(perOp)/float64(len(body)), raceEnabled)
	if perOp > 3*int64(len(body)) {
		t.Fatalf("encoding a 10,000-recipient send allocated %d bytes, over 3x the %d-byte body", perOp, len(body))
	}
}

// mediaServer streams size bytes of a fixed pattern as a binary media reply.
func mediaServer(tb testing.TB, size int64) *httptest.Server {
	tb.Helper()
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		for left := size; left > 0; {
			n := int64(len(chunk))
			if left < n {
				n = left
			}
			if _, err := w.Write(chunk[:n]); err != nil {
				return
			}
			left -= n
		}
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// TestStreamingDownloadMemory checks the budget of a 100 MB streamed download: the bytes the
// process allocates while it runs (an upper bound of the heap's growth) stay under 4 MiB. It
// counts bytes, not time.
func TestStreamingDownloadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 100 MB")
	}
	const size = 100 << 20
	srv := mediaServer(t, size)
	c := newTestClient(t, srv.URL+"/v7/")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	info, err := c.DownloadMediaTo(context.Background(), 1, "34600000001", io.Discard)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != size || info.ContentType != "video/mp4" {
		t.Fatalf("got %+v", info)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("streamed %d MiB allocating %d KiB", size>>20, allocated>>10)
	if allocated > 4<<20 {
		t.Fatalf("a 100 MB download allocated %d bytes, over the 4 MiB budget", allocated)
	}
}

// BenchmarkDownloadMedia100MB streams 100 MB through DownloadMediaTo.
func BenchmarkDownloadMedia100MB(b *testing.B) {
	const size = 100 << 20
	srv := mediaServer(b, size)
	c, err := NewClient("u", "t", WithBaseURL(srv.URL+"/v7/"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := c.DownloadMediaTo(context.Background(), 1, "34600000001", io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
