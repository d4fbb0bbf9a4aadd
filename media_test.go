package mensatek

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

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

// TestBase64DownloadMemory checks that a 100 MB file sent in base64 inside a JSON reply streams
// like a binary one: the bytes the process allocates while DownloadMediaTo runs (an upper bound
// of the heap's growth, server included) stay under 4 MiB. It counts bytes, not time.
func TestBase64DownloadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 100 MB")
	}
	raw := pseudoRandom(3 << 14) // 48 KiB: its base64 has no padding, so copies concatenate
	chunk := []byte(base64.StdEncoding.EncodeToString(raw))
	const copies = 2048 // 96 MiB, 100.7 MB
	want := sha256.New()
	for range copies {
		want.Write(raw)
	}
	fx := setup(t)
	fx.handle("DescargarMultimediaWhatsapp", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[{"Res":"1","Cred":"12000","Mimetype":"video/mp4","Contenido":"`)
		for range copies {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		io.WriteString(w, `","NombreArchivo":"video.mp4"}]`)
	})
	got := sha256.New()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	info, err := fx.client.DownloadMediaTo(context.Background(), 1, "34600000001", got)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.Equal(t, MediaInfo{ContentType: "video/mp4", Filename: "video.mp4", Size: copies * int64(len(raw))}, *info)
	assert.Equal(t, want.Sum(nil), got.Sum(nil))
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("decoded %d MiB of base64 allocating %d KiB", copies*len(raw)>>20, allocated>>10)
	assert.LessOrEqual(t, allocated, uint64(4<<20), "a 100 MB base64 download must add at most 4 MiB to the heap")
}

// A base64 reply whose connection breaks is a transport failure, not a malformed reply, and
// what reached the writer is not reported as a file.
func TestDownloadMediaBase64Cut(t *testing.T) {
	t.Parallel()
	b64 := base64.StdEncoding.EncodeToString(pseudoRandom(300 << 10))
	fx := setup(t)
	fx.handle("DescargarMultimediaWhatsapp", func(w http.ResponseWriter, r *http.Request) {
		body := `{"Res":"1","Contenido":"` + b64 + `"}`
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		io.WriteString(w, body[:len(body)/2]) // then the handler returns: the connection is cut
	})
	var buf bytes.Buffer
	info, err := fx.client.DownloadMediaTo(context.Background(), 1, "34600000001", &buf)
	require.Error(t, err)
	assert.Nil(t, info)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Contains(t, err.Error(), "download cut after")
	var re *ResponseError
	assert.False(t, errors.As(err, &re), "a cut body is not a malformed reply: %v", err)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)

	m, err := fx.client.DownloadMedia(context.Background(), 1, "34600000001")
	require.Error(t, err)
	assert.Nil(t, m)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

// The writer's own error comes back as it is.
func TestDownloadMediaBase64WriterFails(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.handle("DescargarMultimediaWhatsapp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"Res":"1","Contenido":"`+base64.StdEncoding.EncodeToString(pseudoRandom(300<<10))+`"}`)
	})
	diskFull := errors.New("disk full")
	_, err := fx.client.DownloadMediaTo(context.Background(), 1, "34600000001", failingWriter{diskFull})
	assert.ErrorIs(t, err, diskFull)
	var re *ResponseError
	assert.False(t, errors.As(err, &re))
}

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

// oldBase64Decode is how the file of a JSON reply was decoded before it was streamed: the whole
// text, white space removed, tried in the four alphabets. The streaming decoder must accept
// exactly what it accepted, and give the same bytes.
func oldBase64Decode(content string) ([]byte, error) {
	content = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, content)
	var data []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if data, err = enc.DecodeString(content); err == nil {
			break
		}
	}
	return data, err
}

// FuzzBase64Text checks the streaming base64 decoder against oldBase64Decode, fed in pieces.
func FuzzBase64Text(f *testing.F) {
	for _, seed := range []string{
		"aGk=", "aGk", "aG9sYQ==", "aG9sYQ", "+/+/", "-_-_", "+/-_", "aGk=aGk=", "a", "ab=", "aGk=\r\n",
		" a G 9\tsYQ", "YWJj", "====", "YQ=\n=", "=", "", "000=++++", "00==-_",
	} {
		f.Add(seed, uint8(3))
	}
	f.Fuzz(func(t *testing.T, text string, piece uint8) {
		want, wantErr := oldBase64Decode(text)
		var r io.Reader = strings.NewReader(text)
		if piece%2 == 1 {
			r = iotest.OneByteReader(r)
		}
		var buf bytes.Buffer
		d := &base64File{w: &buf}
		err := d.decode(nil, r)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: streaming error %v, whole-text error %v", text, err, wantErr)
		}
		if err == nil && !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("%q: streaming %x, whole text %x", text, buf.Bytes(), want)
		}
	})
}

// FuzzMediaReply reads any 2xx body as a media reply: never a panic, and never a success that
// does not match what reached the writer.
func FuzzMediaReply(f *testing.F) {
	for _, seed := range []string{
		`[{"Res":"1","Contenido":"aG9sYQ==","Mimetype":"text/plain","NombreArchivo":"../a.txt","Cred":"1"}]`,
		`{"Res":1,"Fichero":"data:image/png;base64,iVBORw0KGgo="}`, `{"Data":"aGk","Res":"1"}`,
		`{"Res":-3,"Error":"x"}`, `{"pedido":1,"lineas":[{"a":[1,2,{"b":null}]}]}`, `[1,2]`, `{"Res":"1"}`,
		`{"Res":"1","Contenido":"aGk=",}`, "\xef\xbb\xbf {\"Res\":1,\"Base64\":\"aGk=\"}", `{"Res":null,"res":1}`,
		`{"Res":"1","Contenido":"aG\u0039sYQ\u003d\u003d"}`, `{"Res":"1","Contenido":"aGk=`, ``, `<html>`,
		// Malformed replies, each a different way for the streaming reader to stop.
		`{"Res":1 "Contenido":"aGk="}`, `{"Res":1,"Contenido":"aGk="`, `{"Res":1,"Contenido":"aGk="]`, `{"Res":1,}`,
		`{"Res":tru,"Contenido":"aGk="}`, `{"Res":1,"Contenido":"aGk=\x"}`, `{"Res":1,"Contenido":"aGk=\u12"}`,
		`{"Res":1,"Contenido":"\ud83d\ude01"}`, `{"Res":1,"Extra":{"a":[1,{"b":"\"}"}]},"Contenido":"aGk="}`,
		`{"Res":1,"Extra":[[[[[[[[[[]]]]]]]]]],"Contenido":"aGk="}`, `{"Res":1,"Contenido":"aGk="} trailing`,
		`{1:2}`, `{"Res":1,"Contenido":12}`, `{"Res":1,"Contenido":null,"Data":"aGk="}`, `{"Res":-1e3,"Error":"x"}`,
		`{"Res":"1","Contenido":"data:image/png,notbase64"}`, `{"Res":"1","Contenido":"a`, `{"Res":"1","Conte`,
		`{"Res":1,"Extra":"` + strings.Repeat("x", 70<<10) + `","Contenido":"aGk="}`,
		`{"Res":1,"Contenido":"` + strings.Repeat("QUJD", 20<<10) + `"}`, `{"Res":1,"Error":"` + strings.Repeat("e", 70<<10) + `"}`,
		`{"pedido":{"lineas":[1,2,3]},"total":12.5,"ok":true,"nada":null}`, `[{"Res":"1","Contenido":"aGk="},{"Res":"2"}]`,
	} {
		f.Add("application/json", []byte(seed))
	}
	f.Add("text/plain", []byte(` {"Res":1,"Contenido":"aGk="}`))
	f.Add("", []byte(`{"a":"b"}`))
	c, err := NewClient("u", "t")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		resp := &http.Response{
			StatusCode: 200, Header: http.Header{"Content-Type": {contentType}},
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: -1,
		}
		var buf bytes.Buffer
		ex := &exchange{resp: resp, ctx: context.Background(), done: func() {}}
		info, _, cut, err := c.readMedia(ex, &buf)
		switch {
		case err == nil && info == nil:
			t.Fatal("no file and no error")
		case err == nil && info.Size != int64(buf.Len()):
			t.Fatalf("reported %d bytes, wrote %d", info.Size, buf.Len())
		case err != nil && info != nil:
			t.Fatal("a file with an error")
		case cut:
			t.Fatalf("a body read whole reported as cut: %v", err)
		}
		if err != nil {
			_ = err.Error()
		}
	})
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
