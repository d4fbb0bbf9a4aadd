package mensatek

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

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

// MaxMediaBytes is the largest file [Client.DownloadMedia] holds in memory (WhatsApp's own limit
// for documents is 100 MB). [Client.DownloadMediaTo] has no limit: it streams.
const MaxMediaBytes = 128 << 20

// DownloadMedia downloads the file a customer sent in message messageID from phone, into memory
// (API function DescargarMultimediaWhatsapp: the name is not in the reference and is unverified;
// override it with WithEndpoint(OpMediaDownload, ...)). A file larger than MaxMediaBytes is an
// error; use [Client.DownloadMediaTo] to stream large files.
//
// A successful (2xx) reply is the file itself when its Content-Disposition names a file, when it
// is not JSON, or when it is JSON without a Res member: a customer's order.json is a file, not a
// malformed reply. Otherwise it is the API's JSON reply: Res <= 0 is an [*APIError], and Res > 0
// carries the file in base64 (standard or URL-safe, padded or not, or a data URL), decoded as it
// arrives. A reply that is not 2xx is always an error. The Res member is looked for in the first
// MaxReplyBytes of a JSON body; a body longer than that with no Res there is the file, unless a
// string under a file member's name (Contenido, Fichero, ...) is being read at that point: then it
// is taken for the API's reply, whose Res must follow.
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
// [Client.DownloadMedia], which says how a reply is read). A file in base64 is decoded as it
// streams too: the memory used does not grow with the file. The client's timeout bounds each wait
// for data, not the whole copy; bound the whole with ctx.
//
// On an error, w may hold part of the file: the bytes that arrived (decoded, for base64) before
// the body broke off, turned out malformed, or, for a base64 reply whose Res follows the file,
// before that Res refused it. A download that returns no error wrote the whole file.
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

func (c *Client) download(ctx context.Context, messageID int64, phone string, w io.Writer) (_ *MediaInfo, err error) {
	if c.observer != nil {
		var end func(int64, error)
		ctx, end = c.startCall(ctx, OpMediaDownload, 0)
		defer func() { end(0, err) }()
	}
	body, err := messageBody(messageID, phone, c.region)
	if err != nil {
		return nil, err
	}
	var info *MediaInfo
	err = c.do(ctx, OpMediaDownload, fixedBody(body), true, func(ex *exchange) outcome {
		cw := &countingWriter{w: w}
		i, res, cut, err := c.readMedia(ex, cw)
		info = i
		return outcome{res: res, cut: cut, delivered: cw.n > 0, err: err}
	})
	return info, err
}

// countingWriter counts the bytes that reach w, and remembers w's first error.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// readMedia copies a file to w, or reads the API's JSON reply: an error (Res <= 0) or a file in
// base64, decoded as it arrives (see DownloadMedia for the rule that tells them apart).
// cut reports a reply whose body broke off.
func (c *Client) readMedia(ex *exchange, w io.Writer) (info *MediaInfo, res int, cut bool, err error) {
	resp := ex.resp
	defer resp.Body.Close()
	body := &bodyReader{r: resp.Body}
	br := bufio.NewReaderSize(body, 4096)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		res, cut, err := c.replyError(resp, br)
		return nil, res, cut, err
	}
	ct := resp.Header.Get("Content-Type")
	mediaType, _, _ := mime.ParseMediaType(ct)
	info = &MediaInfo{ContentType: ct, Filename: dispositionFilename(resp.Header.Get("Content-Disposition"))}
	var file io.Reader = br
	var head []byte // the file's start, when it is already read
	if info.Filename == "" && isJSONReply(mediaType, br) {
		// Read as much as it takes to find a Res member, at most MaxReplyBytes, then start over
		// from the first byte with what was read.
		rec := &prefixRecorder{r: br, limit: MaxReplyBytes}
		kind, err := classifyReply(bufio.NewReaderSize(rec, 4096))
		replay := io.MultiReader(bytes.NewReader(rec.buf), br)
		switch {
		case err != nil:
			return nil, 0, true, c.cutError(ex, 0, err)
		case kind == replyBase64 || kind == replyBase64LateRes:
			return c.readBase64Reply(ex, body, replay, rec.buf, w)
		case kind == replyFile && (!rec.eof || isJSONFile(rec.buf)):
			file, head = replay, rec.buf
		default:
			res, cut, err := c.replyError(resp, replay)
			return nil, res, cut, err
		}
	}
	if info.ContentType == "" {
		if head == nil {
			head, _ = br.Peek(512)
		}
		info.ContentType = http.DetectContentType(head)
	}
	n, err := io.Copy(w, file)
	info.Size = n
	if err != nil {
		if errors.Is(err, errMediaTooLarge) {
			io.CopyN(io.Discard, br, drainLimit)
			return nil, 0, false, fmt.Errorf("mensatek: %s: %w", OpMediaDownload, err)
		}
		return nil, 0, true, c.cutError(ex, n, err)
	}
	if resp.ContentLength > 0 && n != resp.ContentLength {
		return nil, 0, true, fmt.Errorf("mensatek: %s: got %d of %d bytes", OpMediaDownload, n, resp.ContentLength)
	}
	return info, 1, false, nil
}

// cutError reports a download whose body broke off after n bytes reached the writer, naming the
// timeout when it was one.
func (c *Client) cutError(ex *exchange, n int64, err error) error {
	if ctxErr := context.Cause(ex.ctx); ctxErr != nil {
		err = ctxErr
	}
	return fmt.Errorf("mensatek: %s: download cut after %d bytes: %w", OpMediaDownload, n, err)
}

// replyError reads a reply that carries an error (a status other than 2xx, a Res <= 0, JSON that
// is not valid) whole, up to MaxReplyBytes, and returns that error.
func (c *Client) replyError(resp *http.Response, r io.Reader) (res int, cut bool, err error) {
	data, readErr := readLimited(io.NopCloser(r), MaxReplyBytes)
	cut = readErr != nil && !errors.Is(readErr, errTooLarge)
	res, err = c.decodeReply(OpMediaDownload, resp, data, readErr, &replyHead{})
	if err == nil { // not expected: never take such a reply for a file
		err = &ResponseError{Operation: OpMediaDownload, HTTPStatus: resp.StatusCode, Reason: "reply carries no file", Excerpt: wire.Excerpt(data, 200)}
	}
	return res, cut, err
}

// readBase64Reply decodes the file of a JSON reply with Res > 0 from r (the whole body; head is
// its start, for error messages) to w as it streams. The reply's other members are then read
// like any reply's, for its code and credits.
func (c *Client) readBase64Reply(ex *exchange, body *bodyReader, r io.Reader, head []byte, w io.Writer) (*MediaInfo, int, bool, error) {
	resp := ex.resp
	ew := &countingWriter{w: w}
	d := &base64File{w: ew}
	fail := func(err error) (*MediaInfo, int, bool, error) {
		switch {
		case body.err != nil:
			return nil, 0, true, c.cutError(ex, d.n, body.err)
		case ew.err != nil:
			return nil, 0, false, fmt.Errorf("mensatek: %s: %w", OpMediaDownload, ew.err)
		}
		return nil, 0, false, &ResponseError{Operation: OpMediaDownload, HTTPStatus: resp.StatusCode, Reason: err.Error(), Excerpt: wire.Excerpt(head, 200)}
	}
	f, err := d.scanReply(bufio.NewReaderSize(r, 32<<10))
	if err != nil {
		return fail(err)
	}
	var reply mediaReply
	res, err := c.decodeReply(OpMediaDownload, resp, membersJSON(f), nil, &reply)
	if err != nil {
		return nil, res, false, err
	}
	if !d.streamed {
		content := wire.First(reply.Contenido, reply.Fichero, reply.Archivo, reply.Base64, reply.Datos, reply.Data, reply.File, reply.Media)
		if content == "" {
			return nil, res, false, &ResponseError{Operation: OpMediaDownload, HTTPStatus: resp.StatusCode, Reason: "reply carries no file", Excerpt: wire.Excerpt(head, 200)}
		}
		if err := d.decode([]byte(content), bytes.NewReader(nil)); err != nil {
			return fail(err)
		}
	}
	info := &MediaInfo{Size: d.n}
	info.ContentType = wire.First(reply.Mimetype, reply.TipoMime, reply.ContentType, reply.TipoContenido, reply.Mime)
	info.Filename = wire.First(reply.NombreArchivo, reply.NombreFichero, reply.Filename)
	if info.ContentType == "" {
		info.ContentType = d.dataType
	}
	if info.ContentType == "" {
		info.ContentType = http.DetectContentType(d.head)
	}
	info.Filename = baseName(info.Filename)
	return info, res, false, nil
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
	var reply struct{ Res json.RawMessage }
	if err := wire.DecodeReply(data, &reply); err != nil {
		b := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(data), []byte("\xef\xbb\xbf")))
		return len(b) > 0 && (b[0] == '{' || b[0] == '[') && json.Valid(b)
	}
	return len(reply.Res) == 0 || string(reply.Res) == "null"
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
