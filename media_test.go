package mensatek

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDownloadMedia(t *testing.T) {
	t.Parallel()
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0, 1, 2, 0xff}, 100)...)
	pdf := []byte("%PDF-1.4 factura")
	// Files longer than the part of a reply held in memory, so their base64 streams.
	big := append([]byte("%PDF-1.7\n"), pseudoRandom(300<<10)...)
	huge := pseudoRandom(MaxReplyBytes + MaxReplyBytes/2)
	longJSON := []byte(`{"lineas":[` + strings.Repeat(`{"sku":"A-1","uds":2},`, MaxReplyBytes/20) + `{}],"Data":"aG9sYQ=="}`)
	tests := []struct {
		name            string
		contentType     string // "-" sends none
		disposition     string
		body            []byte
		wantContentType string
		wantFilename    string
		wantData        []byte
	}{
		{
			name: "binary with file name", contentType: "image/jpeg", disposition: `attachment; filename="foto.jpg"`,
			body: []byte("\xff\xd8\xff jpeg"), wantContentType: "image/jpeg", wantFilename: "foto.jpg", wantData: []byte("\xff\xd8\xff jpeg"),
		},
		{
			name: "file name with a path", contentType: "image/jpeg", disposition: `attachment; filename="../../etc/foto.jpg"`,
			body: []byte("jpeg"), wantContentType: "image/jpeg", wantFilename: "foto.jpg", wantData: []byte("jpeg"),
		},
		{
			name: "file name with a Windows path", contentType: "application/pdf", disposition: `attachment; filename="C:\\Users\\x\\factura.pdf"`,
			body: pdf, wantContentType: "application/pdf", wantFilename: "factura.pdf", wantData: pdf,
		},
		{
			name: "encoded file name", contentType: "application/pdf", disposition: `attachment; filename*=UTF-8''caf%C3%A9%20men%C3%BA.pdf`,
			body: pdf, wantContentType: "application/pdf", wantFilename: "café menú.pdf", wantData: pdf,
		},
		{
			name: "file name dot dot", contentType: "image/png", disposition: `attachment; filename=".."`,
			body: png, wantContentType: "image/png", wantFilename: "", wantData: png,
		},
		{
			name: "inline without file name", contentType: "audio/ogg; codecs=opus", disposition: "inline",
			body: []byte("OggS"), wantContentType: "audio/ogg; codecs=opus", wantData: []byte("OggS"),
		},
		{
			name: "malformed disposition", contentType: "video/mp4", disposition: `attachment; filename="unterminated`,
			body: []byte("mp4"), wantContentType: "video/mp4", wantData: []byte("mp4"),
		},
		{
			name: "no content type: sniffed", contentType: "-",
			body: png, wantContentType: "image/png", wantData: png,
		},
		{
			name: "a text file is a file", contentType: "text/plain; charset=utf-8", disposition: `attachment; filename="nota.txt"`,
			body: []byte("hola mundo"), wantContentType: "text/plain; charset=utf-8", wantFilename: "nota.txt", wantData: []byte("hola mundo"),
		},
		{
			name: "base64 in JSON", contentType: "application/json",
			body:            []byte(`[{"Res":"1","Contenido":"` + base64.StdEncoding.EncodeToString(pdf) + `","Mimetype":"application/pdf","NombreArchivo":"../factura.pdf","Cred":"12000"}]`),
			wantContentType: "application/pdf", wantFilename: "factura.pdf", wantData: pdf,
		},
		{
			name: "base64 data URL in JSON", contentType: "application/json",
			body:            []byte(`{"Res":1,"Fichero":"data:image/png;base64,` + base64.StdEncoding.EncodeToString(png) + `"}`),
			wantContentType: "image/png", wantData: png,
		},
		{
			name: "base64 with line breaks, type sniffed", contentType: "application/json",
			body:            []byte(`{"Res":1,"Base64":"` + wrap(base64.StdEncoding.EncodeToString(png), 76) + `"}`),
			wantContentType: "image/png", wantData: png,
		},
		{
			name: "unpadded URL-safe base64", contentType: "application/json",
			body:            []byte(`{"Res":1,"Data":"` + base64.RawURLEncoding.EncodeToString(png) + `","Mime":"image/png"}`),
			wantContentType: "image/png", wantData: png,
		},
		{
			// Issue 10 item 8: a customer's JSON file is the file, not a malformed reply.
			name: "a customer's JSON file", contentType: "application/json", disposition: `attachment; filename="order.json"`,
			body:            []byte(`{"pedido":1234,"lineas":[{"sku":"A-1","uds":2}],"Contenido":"not base64"}`),
			wantContentType: "application/json", wantFilename: "order.json",
			wantData: []byte(`{"pedido":1234,"lineas":[{"sku":"A-1","uds":2}],"Contenido":"not base64"}`),
		},
		{
			name: "a file name wins over a Res member", contentType: "application/json", disposition: `attachment; filename="res.json"`,
			body:            []byte(`{"Res":-3,"Error":"a customer's test fixture"}`),
			wantContentType: "application/json", wantFilename: "res.json", wantData: []byte(`{"Res":-3,"Error":"a customer's test fixture"}`),
		},
		{
			name: "JSON without Res or file name is the file", contentType: "application/json",
			body:            []byte(`[{"id":1},{"id":2}]`),
			wantContentType: "application/json", wantData: []byte(`[{"id":1},{"id":2}]`),
		},
		{
			name: "JSON without Res, no content type: the file, sniffed", contentType: "-",
			body:            []byte(` {"a":"b"}`),
			wantContentType: "text/plain; charset=utf-8", wantData: []byte(` {"a":"b"}`),
		},
		{
			// Issue 10 item 9: long base64 is decoded as it streams, escapes and all.
			name: "long base64 with PHP's escaped slashes, type and name after the file", contentType: "application/json",
			body:            []byte(`[{"Res":"1","Contenido":"` + strings.ReplaceAll(base64.StdEncoding.EncodeToString(big), "/", `\/`) + `","Mimetype":"application/pdf","NombreArchivo":"a\/b.pdf","Cred":"9"}]`),
			wantContentType: "application/pdf", wantFilename: "b.pdf", wantData: big,
		},
		{
			name: "long unpadded URL-safe base64 with line breaks and spaces, type sniffed", contentType: "application/json",
			body:            []byte(`{"Res":1,"Data":"` + wrap(base64.RawURLEncoding.EncodeToString(big), 76) + ` \t"}`),
			wantContentType: "application/pdf", wantData: big,
		},
		{
			name: "long data URL with \\u escapes", contentType: "application/json",
			body:            []byte(`{"Res":1,"Fichero":"data:image\u002Fpng;base64,` + base64.StdEncoding.EncodeToString(append(png, big...)) + `"}`),
			wantContentType: "image/png", wantData: append(png, big...),
		},
		{
			name: "Res after a long file", contentType: "application/json",
			body:            []byte(`{"Base64":"` + base64.StdEncoding.EncodeToString(big) + `","Res":"1"}`),
			wantContentType: "application/pdf", wantData: big,
		},
		{
			name: "Res after a file longer than MaxReplyBytes", contentType: "application/json",
			body:            []byte(`{"Archivo":"foto.bin","Contenido":"` + base64.StdEncoding.EncodeToString(huge) + `","Res":"1","Mime":"application/octet-stream"}`),
			wantContentType: "application/octet-stream", wantData: huge,
		},
		{
			name: "a short file member before a long one: the long one is the file", contentType: "application/json",
			body:            []byte(`{"Res":1,"Archivo":"foto.jpg","Contenido":"` + base64.StdEncoding.EncodeToString(big) + `"}`),
			wantContentType: "application/pdf", wantData: big,
		},
		{
			name: "a JSON file longer than MaxReplyBytes without Res is the file", contentType: "application/json",
			body:            longJSON,
			wantContentType: "application/json", wantData: longJSON,
		},
		{
			name: "JSON served as text", contentType: "text/plain",
			body:            []byte(` {"Res":1,"Contenido":"aG9sYQ==","Mimetype":"text/plain"}`),
			wantContentType: "text/plain", wantData: []byte("hola"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := setup(t)
			fx.handle("DescargarMultimediaWhatsapp", func(w http.ResponseWriter, r *http.Request) {
				body := testRequest(t, r, "DescargarMultimediaWhatsapp")
				assert.Equal(t, json.Number("1288177432"), body["Idmensaje"])
				assert.Equal(t, "34600000000", body["Telefono"])
				if tt.contentType == "-" {
					w.Header()["Content-Type"] = nil
				} else {
					w.Header().Set("Content-Type", tt.contentType)
				}
				if tt.disposition != "" {
					w.Header().Set("Content-Disposition", tt.disposition)
				}
				w.Write(tt.body)
			})
			m, err := fx.client.DownloadMedia(context.Background(), 1288177432, "+34 600 000 000")
			require.NoError(t, err)
			assert.Equal(t, tt.wantContentType, m.ContentType)
			assert.Equal(t, tt.wantFilename, m.Filename)
			assert.Equal(t, tt.wantData, m.Data)

			// The streaming form gives the same file.
			var buf bytes.Buffer
			info, err := fx.client.DownloadMediaTo(context.Background(), 1288177432, "34600000000", &buf)
			require.NoError(t, err)
			assert.Equal(t, tt.wantData, buf.Bytes())
			assert.Equal(t, MediaInfo{ContentType: tt.wantContentType, Filename: tt.wantFilename, Size: int64(len(tt.wantData))}, *info)
		})
	}
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n])
		b.WriteString(`\r\n`)
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func TestDownloadMediaErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		check       func(t *testing.T, err error)
	}{
		{
			name: "Res -3", status: 200, contentType: "application/json",
			body: `[{"Res":"-3","Error":"El mensaje no tiene multimedia","Cred":"12000"}]`,
			check: func(t *testing.T, err error) {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, APIError{Operation: OpMediaDownload, Code: -3, Message: "El mensaje no tiene multimedia", HTTPStatus: 200}, *apiErr)
				assert.ErrorIs(t, err, ErrInvalidRequest)
			},
		},
		{
			name: "Res -1 as text/html", status: 200, contentType: "text/html",
			body: `{"Res":"-1","Error":"Usuario incorrecto"}`,
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, ErrAuthentication)
			},
		},
		{
			name: "JSON without a file", status: 200, contentType: "application/json",
			body: `{"Res":"1","Cred":"5"}`,
			check: func(t *testing.T, err error) {
				var re *ResponseError
				require.ErrorAs(t, err, &re)
				assert.Contains(t, re.Reason, "no file")
			},
		},
		{
			name: "JSON with bad base64", status: 200, contentType: "application/json",
			body: `{"Res":"1","Contenido":"%%%not base64%%%"}`,
			check: func(t *testing.T, err error) {
				var re *ResponseError
				require.ErrorAs(t, err, &re)
				assert.Contains(t, re.Reason, "base64")
			},
		},
		{
			name: "JSON with a data URL that is not base64", status: 200, contentType: "application/json",
			body: `{"Res":"1","Contenido":"data:text/plain,hola"}`,
			check: func(t *testing.T, err error) {
				var re *ResponseError
				require.ErrorAs(t, err, &re)
			},
		},
		{
			name: "truncated JSON", status: 200, contentType: "application/json",
			body: `{"Res":"1","Contenido":"aG9s`,
			check: func(t *testing.T, err error) {
				var re *ResponseError
				require.ErrorAs(t, err, &re)
			},
		},
		{
			name: "long base64 cut inside the string", status: 200, contentType: "application/json",
			body: `{"Res":"1","Contenido":"` + base64.StdEncoding.EncodeToString(pseudoRandom(200<<10)),
			check: func(t *testing.T, err error) {
				var re *ResponseError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, "reply ends inside a string", re.Reason)
			},
		},
		{
			name: "long base64 then no end of object", status: 200, contentType: "application/json",
			body: `{"Res":"1","Contenido":"` + base64.StdEncoding.EncodeToString(pseudoRandom(200<<10)) + `"`,
			check: func(t *testing.T, err error) {
				var re *ResponseError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, "reply ends early", re.Reason)
			},
		},
		{
			name: "bad character deep in long base64", status: 200, contentType: "application/json",
			body: `{"Res":"1","Contenido":"` + base64.StdEncoding.EncodeToString(pseudoRandom(200<<10)) + `%AAA"}`,
			check: func(t *testing.T, err error) {
				var re *ResponseError
				require.ErrorAs(t, err, &re)
				assert.Contains(t, re.Reason, "not valid base64")
			},
		},
		{
			name: "long base64 mixing alphabets", status: 200, contentType: "application/json",
			body: `{"Res":"1","Contenido":"` + strings.Repeat("ab+/", 20<<10) + `ab-_"}`,
			check: func(t *testing.T, err error) {
				var re *ResponseError
				require.ErrorAs(t, err, &re)
				assert.Contains(t, re.Reason, "mixes the standard and URL-safe alphabets")
			},
		},
		{
			name: "base64 going on after its padding", status: 200, contentType: "application/json",
			body: `{"Res":"1","Contenido":"aGk=aGk="}`,
			check: func(t *testing.T, err error) {
				var re *ResponseError
				require.ErrorAs(t, err, &re)
				assert.Contains(t, re.Reason, "base64")
			},
		},
		{
			name: "bad escape in long base64", status: 200, contentType: "application/json",
			body: `{"Res":"1","Contenido":"` + base64.StdEncoding.EncodeToString(pseudoRandom(200<<10)) + `\x"}`,
			check: func(t *testing.T, err error) {
				var re *ResponseError
				require.ErrorAs(t, err, &re)
				assert.Contains(t, re.Reason, "invalid escape")
			},
		},
		{
			name: "Res -3 after a long file", status: 200, contentType: "application/json",
			body: `{"Contenido":"` + base64.StdEncoding.EncodeToString(pseudoRandom(200<<10)) + `","Res":"-3","Error":"sin multimedia"}`,
			check: func(t *testing.T, err error) {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, -3, apiErr.Code)
				assert.Equal(t, "sin multimedia", apiErr.Message)
			},
		},
		{
			name: "no Res after a file longer than MaxReplyBytes", status: 200, contentType: "application/json",
			body: `{"Contenido":"` + base64.StdEncoding.EncodeToString(pseudoRandom(MaxReplyBytes)) + `","Cred":"5"}`,
			check: func(t *testing.T, err error) {
				var re *ResponseError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, "reply has no Res code", re.Reason)
			},
		},
		{
			name: "Res -3 after a file longer than MaxReplyBytes", status: 200, contentType: "application/json",
			body: `{"Contenido":"` + base64.StdEncoding.EncodeToString(pseudoRandom(MaxReplyBytes)) + `","Res":-3,"Error":"sin multimedia"}`,
			check: func(t *testing.T, err error) {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, -3, apiErr.Code)
			},
		},
		{
			name: "404 HTML page", status: 404, contentType: "text/html",
			body: `<html><body><h1>Not Found</h1></body></html>`,
			check: func(t *testing.T, err error) {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, 404, apiErr.HTTPStatus)
				assert.Contains(t, err.Error(), "404")
				assert.Contains(t, err.Error(), "Not Found")
			},
		},
		{
			name: "500 with a binary type", status: 500, contentType: "image/jpeg",
			body: "\xff\xd8\xff",
			check: func(t *testing.T, err error) {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, 500, apiErr.HTTPStatus)
			},
		},
		{
			name: "401 without a body", status: 401, contentType: "text/plain",
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, ErrAuthentication)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := setup(t)
			fx.handle("DescargarMultimediaWhatsapp", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			m, err := fx.client.DownloadMedia(context.Background(), 5, "34600000001")
			require.Error(t, err)
			assert.Nil(t, m)
			assert.NotErrorIs(t, err, ErrOutcomeUnknown, "a download can be repeated")
			tt.check(t, err)

			var buf bytes.Buffer
			info, err := fx.client.DownloadMediaTo(context.Background(), 5, "34600000001", &buf)
			require.Error(t, err)
			assert.Nil(t, info)
			tt.check(t, err)
		})
	}
}

// countingHasher hashes what it is given and says when the first MiB has arrived.
type countingHasher struct {
	h         hash.Hash
	n         int64
	oneMiB    chan struct{}
	signalled bool
}

func (c *countingHasher) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if !c.signalled && c.n >= 1<<20 {
		c.signalled = true
		close(c.oneMiB)
	}
	return c.h.Write(p)
}

// DownloadMediaTo streams: the first megabytes reach the writer while the server is still
// holding back the rest, so the file is never whole in memory.
func TestDownloadMediaToStreams(t *testing.T) {
	t.Parallel()
	const size = 8 << 20
	file := make([]byte, size)
	for i := range file {
		file[i] = byte(i*7 + i>>11)
	}
	want := sha256.Sum256(file)

	w := &countingHasher{h: sha256.New(), oneMiB: make(chan struct{})}

	fx := setup(t, WithTimeout(10*time.Second))
	fx.handle("DescargarMultimediaWhatsapp", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "video/mp4")
		rw.Header().Set("Content-Disposition", `attachment; filename="video.mp4"`)
		rw.Header().Set("Content-Length", fmt.Sprint(size))
		half := size / 2
		rw.Write(file[:half])
		rw.(http.Flusher).Flush()
		select {
		case <-w.oneMiB:
		case <-time.After(5 * time.Second):
			t.Error("the client did not pass on the first MiB before the whole file arrived")
		}
		rw.Write(file[half:])
	})

	info, err := fx.client.DownloadMediaTo(context.Background(), 5, "34600000001", w)
	require.NoError(t, err)
	assert.Equal(t, MediaInfo{ContentType: "video/mp4", Filename: "video.mp4", Size: size}, *info)
	assert.Equal(t, want[:], w.h.Sum(nil))
}

// WithTimeout bounds each wait for data of a download, not the whole copy. The margins are wide
// (each gap a quarter of the timeout, the whole copy half as long again as the timeout), so a
// loaded machine running -race does not turn a gap into a timeout.
func TestDownloadMediaIdleTimeout(t *testing.T) {
	t.Parallel()
	const gap = 250 * time.Millisecond
	fx := setup(t, WithTimeout(4*gap))
	stall := make(chan struct{})
	t.Cleanup(func() { close(stall) })
	fx.handle("DescargarMultimediaWhatsapp", func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "application/octet-stream")
		if req["Idmensaje"] == float64(2) {
			io.WriteString(w, "chunk 0;")
			w.(http.Flusher).Flush()
			select { // then stop sending
			case <-r.Context().Done():
			case <-stall:
			}
			return
		}
		for i := 0; i < 6; i++ { // 6 gaps: longer in all than the timeout
			fmt.Fprintf(w, "chunk %d;", i)
			w.(http.Flusher).Flush()
			time.Sleep(gap)
		}
	})
	m, err := fx.client.DownloadMedia(context.Background(), 1, "34600000001")
	require.NoError(t, err)
	assert.Equal(t, "chunk 0;chunk 1;chunk 2;chunk 3;chunk 4;chunk 5;", string(m.Data))

	_, err = fx.client.DownloadMedia(context.Background(), 2, "34600000001")
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)
}

func TestDownloadMediaMultiMegabyte(t *testing.T) {
	t.Parallel()
	file := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16)
	fx := setup(t)
	fx.handle("DescargarMultimediaWhatsapp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/zip")
		w.Write(file)
	})
	m, err := fx.client.DownloadMedia(context.Background(), 1, "34600000001")
	require.NoError(t, err)
	assert.Equal(t, len(file), len(m.Data))
	assert.True(t, bytes.Equal(file, m.Data))
}

// pseudoRandom returns n bytes that do not repeat in any short period, the same on every run.
func pseudoRandom(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// A download takes the one request path of every call: each attempt is logged, a 503 is retried
// under the policy, and an authentication cooldown stops it before it leaves.
func TestDownloadTakesTheOneRequestPath(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var ops []string
	logger := slog.New(handlerFunc(func(r slog.Record) {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "operation" {
				mu.Lock()
				ops = append(ops, r.Message+" "+a.Value.String())
				mu.Unlock()
			}
			return true
		})
	}))
	fx := setup(t, fastRetries(), WithLogger(logger), WithAuthCooldown(time.Hour))
	file := status(200, "GIF89a-bytes", "Content-Disposition", `attachment; filename="a.gif"`)
	s := &script{answers: []func(http.ResponseWriter, *http.Request){status(503, ""), file}}
	fx.handle("DescargarMultimediaWhatsapp", s.serve)
	m, err := fx.client.DownloadMedia(context.Background(), 7, "34600000001")
	require.NoError(t, err)
	assert.Equal(t, "GIF89a-bytes", string(m.Data))
	mu.Lock()
	assert.Equal(t, []string{"mensatek call media_download", "mensatek retry media_download", "mensatek call media_download"}, ops)
	mu.Unlock()

	fx.reply(t, "GetPlantillasWhatsapp", http.StatusOK, `[{"Res":"-1","Error":"Usuario o token incorrecto"}]`)
	_, err = fx.client.Templates(context.Background())
	require.ErrorIs(t, err, ErrAuthentication)
	_, err = fx.client.DownloadMedia(context.Background(), 7, "34600000001")
	require.ErrorIs(t, err, ErrAuthentication)
	assert.Contains(t, err.Error(), "fail fast")
	assert.Equal(t, 2, s.count(), "the download never left during the cooldown")
}
