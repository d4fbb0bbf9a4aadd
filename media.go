package mensatek

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/mensatek-go/mensatek/internal/wire"
)

// Media is a file a customer sent, read whole into memory by [Client.DownloadMedia].
type Media struct {
	ContentType string // MIME type, such as "image/jpeg"
	Filename    string // from Content-Disposition or the reply; may be empty
	Data        []byte
}

// MediaInfo describes a file that [Client.DownloadMediaTo] copied.
type MediaInfo struct {
	ContentType string // MIME type, such as "image/jpeg"
	Filename    string // from Content-Disposition or the reply; may be empty
	Size        int64  // bytes written
}

// MaxMediaBytes is the largest file [Client.DownloadMedia] holds in memory, and the largest JSON
// reply with a base64 file either download reads (WhatsApp's own limit for documents is 100 MB).
const MaxMediaBytes = 128 << 20

// DownloadMedia downloads the file a customer sent in message messageID from phone, into memory
// (API function DescargarMultimediaWhatsapp: the name is not in the reference and is unverified;
// override it with WithEndpoint(OpMediaDownload, ...)). A file larger than MaxMediaBytes is an
// error; use [Client.DownloadMediaTo] to stream large files.
//
// A successful (2xx) reply is the file itself when its Content-Disposition names a file, when it
// is not JSON, or when it is JSON without a Res member: a customer's order.json is a file, not a
// malformed reply. Otherwise it is the API's JSON reply: Res <= 0 is an [*APIError], and Res > 0
// carries the file in base64. A reply that is not 2xx is always an error.
func (c *Client) DownloadMedia(ctx context.Context, messageID int64, phone string) (*Media, error) {
	var buf bytes.Buffer
	info, err := c.download(ctx, messageID, phone, &limitWriter{w: &buf, n: MaxMediaBytes})
	if err != nil {
		return nil, err
	}
	return &Media{ContentType: info.ContentType, Filename: info.Filename, Data: buf.Bytes()}, nil
}

// DownloadMediaTo streams the file a customer sent in message messageID from phone to w, so a
// large video never sits in memory (API function DescargarMultimediaWhatsapp, as
// [Client.DownloadMedia]). The client's timeout bounds each wait for data, not the whole copy;
// bound the whole with ctx. If it fails part way, w may hold part of the file.
func (c *Client) DownloadMediaTo(ctx context.Context, messageID int64, phone string, w io.Writer) (*MediaInfo, error) {
	if w == nil {
		return nil, invalid("Writer", "is nil")
	}
	return c.download(ctx, messageID, phone, w)
}

type limitWriter struct {
	w io.Writer
	n int64
}

var errMediaTooLarge = fmt.Errorf("file larger than %d bytes; use DownloadMediaTo to stream it", MaxMediaBytes)

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, errMediaTooLarge
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

func (c *Client) download(ctx context.Context, messageID int64, phone string, w io.Writer) (*MediaInfo, error) {
	body, err := messageBody(messageID, phone)
	if err != nil {
		return nil, err
	}
	var info *MediaInfo
	err = c.withRetries(ctx, OpMediaDownload, func(ctx context.Context) (attempt, error) {
		start := time.Now()
		ex, a, err := c.post(ctx, OpMediaDownload, body, true)
		if err != nil {
			c.log(ctx, OpMediaDownload, 0, 0, start, err)
			return a, err
		}
		defer ex.done()
		cw := &countingWriter{w: w}
		i, res, cut, err := c.readMedia(ex, cw)
		a.transport = cut
		if cw.n > 0 {
			a = attempt{} // part of the file reached w: a retry would write it twice
		}
		c.log(ctx, OpMediaDownload, ex.resp.StatusCode, res, start, err)
		info = i
		return a, err
	})
	return info, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// readMedia copies a file to w, or decodes the API's JSON reply: an error (Res <= 0) or a file in
// base64. A 2xx reply is the file itself when Content-Disposition names a file, or when it is not
// JSON, or when it is JSON without a Res member; otherwise it is the API's reply.
// cut reports a reply whose body broke off.
func (c *Client) readMedia(ex *exchange, w io.Writer) (info *MediaInfo, res int, cut bool, err error) {
	resp := ex.resp
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 4096)
	ct := resp.Header.Get("Content-Type")
	mediaType, _, _ := mime.ParseMediaType(ct)
	ok2xx := resp.StatusCode >= 200 && resp.StatusCode <= 299
	named := dispositionFilename(resp.Header.Get("Content-Disposition")) != ""
	if !ok2xx || (!named && isJSONReply(mediaType, br)) {
		limit := int64(MaxReplyBytes)
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			limit = MaxMediaBytes * 4 / 3
		}
		data, readErr := readLimited(io.NopCloser(br), limit)
		if errors.Is(readErr, errTooLarge) {
			io.CopyN(io.Discard, resp.Body, drainLimit)
		}
		cut = readErr != nil && !errors.Is(readErr, errTooLarge)
		if ok2xx && readErr == nil && isJSONFile(data) {
			info := &MediaInfo{ContentType: ct, Size: int64(len(data))}
			if ct == "" {
				info.ContentType = http.DetectContentType(data)
			}
			if _, err := w.Write(data); err != nil {
				return nil, 0, false, fmt.Errorf("mensatek: %s: %w", OpMediaDownload, err)
			}
			return info, 1, false, nil
		}
		f, res, err := c.decodeReply(OpMediaDownload, resp, data, readErr)
		if err != nil {
			return nil, res, cut, err
		}
		info, err := writeBase64Media(f, w)
		if err != nil {
			return nil, res, false, &ResponseError{Operation: OpMediaDownload, HTTPStatus: resp.StatusCode, Reason: err.Error(), Excerpt: wire.Excerpt(data, 200)}
		}
		return info, res, false, nil
	}
	info = &MediaInfo{ContentType: ct, Filename: dispositionFilename(resp.Header.Get("Content-Disposition"))}
	if info.ContentType == "" {
		head, _ := br.Peek(512)
		info.ContentType = http.DetectContentType(head)
	}
	n, err := io.Copy(w, br)
	info.Size = n
	if err != nil {
		if errors.Is(err, errMediaTooLarge) {
			io.CopyN(io.Discard, br, drainLimit)
			return nil, 0, false, fmt.Errorf("mensatek: %s: %w", OpMediaDownload, err)
		}
		if ctxErr := context.Cause(ex.ctx); ctxErr != nil {
			return nil, 0, true, fmt.Errorf("mensatek: %s: download cut after %d bytes: %w", OpMediaDownload, n, ctxErr)
		}
		return nil, 0, true, fmt.Errorf("mensatek: %s: download cut after %d bytes: %w", OpMediaDownload, n, err)
	}
	if resp.ContentLength > 0 && n != resp.ContentLength {
		return nil, 0, true, fmt.Errorf("mensatek: %s: got %d of %d bytes", OpMediaDownload, n, resp.ContentLength)
	}
	return info, 1, false, nil
}

// isJSONReply tells a JSON answer from a file: by its content type, or for text and unnamed
// types by its first byte.
func isJSONReply(mediaType string, br *bufio.Reader) bool {
	switch {
	case mediaType == "application/json" || mediaType == "text/json" || strings.HasSuffix(mediaType, "+json"):
		return true
	case mediaType == "" || strings.HasPrefix(mediaType, "text/"):
		head, _ := br.Peek(64)
		head = bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
		return len(head) > 0 && (head[0] == '{' || head[0] == '[')
	}
	return false
}

// isJSONFile reports a body that is valid JSON without a Res member: not the API's reply (every
// reply of the API has one) but a JSON file, such as a customer's order.json.
func isJSONFile(data []byte) bool {
	f, err := wire.Object(data)
	if err != nil {
		b := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(data), []byte("\xef\xbb\xbf")))
		return len(b) > 0 && (b[0] == '{' || b[0] == '[') && json.Valid(b)
	}
	_, hasRes := f.Raw("Res")
	return !hasRes
}

func dispositionFilename(cd string) string {
	if cd == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(cd)
	if err != nil {
		return ""
	}
	return baseName(params["filename"])
}

// baseName keeps only the last element of a file name: a reply must not choose where a caller
// saves the file.
func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if name == "." || name == ".." {
		return ""
	}
	return name
}

// writeBase64Media decodes a file carried in a JSON reply. The reference does not document such a
// reply; the field names accepted here are the likeliest.
func writeBase64Media(f wire.Fields, w io.Writer) (*MediaInfo, error) {
	content, ok := f.String("Contenido", "Fichero", "Archivo", "Base64", "Datos", "Data", "File", "Media")
	if !ok || content == "" {
		return nil, errors.New("reply carries no file")
	}
	info := &MediaInfo{}
	info.ContentType, _ = f.String("Mimetype", "TipoMime", "ContentType", "TipoContenido", "Mime")
	info.Filename, _ = f.String("NombreArchivo", "NombreFichero", "Filename", "FileName")
	if rest, ok := strings.CutPrefix(content, "data:"); ok {
		meta, payload, found := strings.Cut(rest, ",")
		if !found || !strings.HasSuffix(meta, ";base64") {
			return nil, errors.New("file is a data URL that is not base64")
		}
		if info.ContentType == "" {
			info.ContentType = strings.TrimSuffix(meta, ";base64")
		}
		content = payload
	}
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
	if err != nil {
		return nil, fmt.Errorf("file is not valid base64: %v", err)
	}
	if info.ContentType == "" {
		info.ContentType = http.DetectContentType(data)
	}
	info.Filename = baseName(info.Filename)
	n, err := w.Write(data)
	info.Size = int64(n)
	if err != nil {
		return nil, err
	}
	return info, nil
}
