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
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

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

func (c *Client) download(ctx context.Context, messageID int64, phone string, w io.Writer) (*MediaInfo, error) {
	body, err := messageBody(messageID, phone)
	if err != nil {
		return nil, err
	}
	var info *MediaInfo
	err = c.do(ctx, OpMediaDownload, body, true, func(ex *exchange) outcome {
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

// mediaReply is a download's JSON reply that carries the file in base64: the file, its MIME type
// and its name are each read from the first of their members that is not empty, in the order
// written here. The reference does not document such a reply; these names are the likeliest.
type mediaReply struct {
	replyHead
	Contenido, Fichero, Archivo, Base64, Datos, Data, File, Media wire.String
	Mimetype, TipoMime, ContentType, TipoContenido, Mime          wire.String
	NombreArchivo, NombreFichero, Filename                        wire.String // Filename is also FileName
}

// The members of mediaReply by kind, for the streaming reader, which holds no other member.
var (
	mediaFileMembers = []string{"Contenido", "Fichero", "Archivo", "Base64", "Datos", "Data", "File", "Media"}
	mediaTypeMembers = []string{"Mimetype", "TipoMime", "ContentType", "TipoContenido", "Mime"}
	mediaNameMembers = []string{"NombreArchivo", "NombreFichero", "Filename"}
)

func isFileMember(key string) bool { return slices.ContainsFunc(mediaFileMembers, equalFold(key)) }

// keptMember reports a member of a base64 reply that is read and kept; any other member is read
// past without being held.
func keptMember(key string) bool {
	return slices.ContainsFunc([]string{"Res", "Cred", "Error"}, equalFold(key)) || isFileMember(key) ||
		slices.ContainsFunc(mediaTypeMembers, equalFold(key)) || slices.ContainsFunc(mediaNameMembers, equalFold(key))
}

func equalFold(key string) func(string) bool {
	return func(name string) bool { return strings.EqualFold(name, key) }
}

// smallValue is the longest member value a media reply's reader holds in memory. A file in
// base64 longer than this is decoded to the writer as it streams.
const smallValue = 64 << 10

// replyKind is what the start of a JSON body says it is.
type replyKind int

const (
	// replyFile: no Res member: the body is the file itself.
	replyFile replyKind = iota
	// replyBase64: Res > 0: the file is in a member, in base64.
	replyBase64
	// replyBase64LateRes: no Res yet, but more than MaxReplyBytes in, a member with a file's
	// name holds a string: taken for a base64 reply whose Res follows (and must).
	replyBase64LateRes
	// replyError: Res <= 0, Res not a number, or not valid JSON before any Res.
	replyError
)

// errPrefixFull is what a prefixRecorder returns once it holds its limit.
var errPrefixFull = errors.New("prefix full")

// prefixRecorder reads up to limit bytes from r and keeps them, so that a body can be read again
// from its first byte: io.MultiReader(bytes.NewReader(buf), r).
type prefixRecorder struct {
	r     io.Reader
	buf   []byte
	limit int
	eof   bool // r ended within the limit: buf is the whole body
}

func (p *prefixRecorder) Read(b []byte) (int, error) {
	room := p.limit - len(p.buf)
	if room <= 0 {
		return 0, errPrefixFull
	}
	if len(b) > room {
		b = b[:room]
	}
	n, err := p.r.Read(b)
	p.buf = append(p.buf, b[:n]...)
	if err == io.EOF {
		p.eof = true
	}
	return n, err
}

// bodyReader remembers the error of a reply body that broke off, so that a failure further up
// can be told from a malformed reply or a failing writer.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// classifyReply reads the start of a JSON body until it knows what the body is: up to the first
// Res member, or the end of the body, or MaxReplyBytes (r returns errPrefixFull there). An error
// is one of reading the body.
func classifyReply(r *bufio.Reader) (replyKind, error) {
	s := &jsonScanner{r: r}
	inFile := false // reading the string of a member with a file's name
	kind, err := func() (replyKind, error) {
		if err := s.begin(); err != nil {
			return replyError, err
		}
		resSeen := false
		for {
			key, ok, err := s.nextKey()
			if err != nil {
				return replyError, err
			}
			if !ok {
				return replyFile, s.end()
			}
			lk := strings.ToLower(key)
			if lk == "res" && !resSeen {
				// The first Res decides how the body is read, as it streams; the outcome is then
				// the last Res's, as in every reply (decodeReply).
				resSeen = true
				raw, complete, err := s.capture(smallValue)
				if err != nil || !complete {
					return replyError, err
				}
				if string(raw) == "null" {
					continue // a null Res is none
				}
				var num wire.Number
				_ = num.UnmarshalJSON(raw)
				if n, ok, err := num.Int(); ok && err == nil && n > 0 {
					return replyBase64, nil
				}
				return replyError, nil
			}
			if c, err := s.peek(); err == nil && c == '"' && isFileMember(lk) {
				inFile = true
			}
			if err := s.skip(); err != nil {
				return replyError, err
			}
			inFile = false
		}
	}()
	var syn *replySyntaxError
	switch {
	case errors.Is(err, errPrefixFull) && inFile:
		return replyBase64LateRes, nil
	case errors.Is(err, errPrefixFull):
		return replyFile, nil
	case errors.As(err, &syn):
		return replyError, nil
	}
	return kind, err
}

// base64File decodes the file of a JSON media reply to w: held in memory while short, decoded
// as it streams once longer than smallValue.
type base64File struct {
	w        io.Writer
	streamed bool   // a long file member was decoded to w while the reply was read
	dataType string // the MIME type of a data URL
	n        int64  // bytes written to w
	head     []byte // the first 512 bytes written, to sniff the type
}

// members are the kept members of a media reply, by lower-cased name, as raw JSON.
type members map[string][]byte

// membersJSON returns the kept members of a reply as one JSON object, for the typed decode of
// a mediaReply.
func membersJSON(m members) []byte {
	b := []byte{'{'}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = wire.AppendString(b, k)
		b = append(b, ':')
		b = append(b, m[k]...)
	}
	return append(b, '}')
}

// scanReply reads a whole JSON reply: it keeps its short kept members (of a name given twice, the
// last, as encoding/json does), and decodes the first long string under a file's name to w as it
// streams.
func (d *base64File) scanReply(r *bufio.Reader) (members, error) {
	s := &jsonScanner{r: r}
	if err := s.begin(); err != nil {
		return nil, err
	}
	m := make(members, 8)
	for {
		key, ok, err := s.nextKey()
		if err != nil {
			return nil, err
		}
		if !ok {
			return m, s.end()
		}
		lk := strings.ToLower(key)
		if !keptMember(lk) {
			if err := s.skip(); err != nil {
				return nil, err
			}
			continue
		}
		if c, err := s.peek(); err == nil && c == '"' && isFileMember(lk) && !d.streamed {
			s.r.Discard(1)
			str := &jsonString{r: s.r}
			start, err := readUpTo(str, smallValue)
			if err != nil {
				return nil, err
			}
			if len(start) <= smallValue {
				m[lk] = quote(start)
				continue
			}
			d.streamed = true
			if err := d.decode(start, str); err != nil {
				return nil, err
			}
			continue
		}
		raw, complete, err := s.capture(smallValue)
		if err != nil {
			return nil, err
		}
		if complete {
			m[lk] = raw
		} else {
			delete(m, lk) // a value too long to hold replaces an earlier one all the same
		}
	}
}

// decode writes the file whose base64 text (or data URL) is start followed by rest.
func (d *base64File) decode(start []byte, rest io.Reader) error {
	if after, ok := bytes.CutPrefix(start, []byte("data:")); ok {
		meta, payload, found := bytes.Cut(after, []byte(","))
		if !found || !bytes.HasSuffix(meta, []byte(";base64")) {
			return errors.New("file is a data URL that is not base64")
		}
		d.dataType = string(bytes.TrimSuffix(meta, []byte(";base64")))
		start = payload
	}
	dec := base64.NewDecoder(base64.StdEncoding, &base64Text{r: io.MultiReader(bytes.NewReader(start), rest)})
	_, err := io.Copy(d, dec)
	var corrupt base64.CorruptInputError
	if errors.As(err, &corrupt) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("file is not valid base64: %v", err)
	}
	return err
}

func (d *base64File) Write(p []byte) (int, error) {
	if len(d.head) < 512 {
		d.head = append(d.head, p[:min(len(p), 512-len(d.head))]...)
	}
	n, err := d.w.Write(p)
	d.n += int64(n)
	return n, err
}

// base64Text turns base64 in any of the standard and URL-safe alphabets, padded or not, with
// white space anywhere, into padded standard base64 for base64.StdEncoding, as it streams. A text
// that mixes the two alphabets, or goes on after its padding, is an error.
type base64Text struct {
	r        io.Reader
	std, url bool  // alphabet seen
	padded   bool  // '=' seen
	n        int64 // base64 characters passed on
	tail     []byte
	eof      bool
	err      error // sticky
}

var (
	errMixedBase64  = errors.New("file is not valid base64: it mixes the standard and URL-safe alphabets")
	errAfterPadding = errors.New("file is not valid base64: text after the padding")
)

// Read passes on what it read before an error, and then the error on every call: the base64
// decoder's io.ReadAtLeast drops an error that comes with enough bytes.
func (t *base64Text) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	for {
		if t.eof {
			if len(t.tail) == 0 {
				return 0, io.EOF
			}
			n := copy(p, t.tail)
			t.tail = t.tail[n:]
			return n, nil
		}
		n, err := t.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			switch c {
			case ' ', '\t', '\r', '\n':
				continue
			}
			if t.padded && c != '=' {
				t.err = errAfterPadding
				return j, t.err
			}
			switch c {
			case '-', '_':
				if t.std {
					t.err = errMixedBase64
					return j, t.err
				}
				t.url = true
				if c == '-' {
					c = '+'
				} else {
					c = '/'
				}
			case '+', '/':
				if t.url {
					t.err = errMixedBase64
					return j, t.err
				}
				t.std = true
			case '=':
				t.padded = true
			}
			p[j] = c
			j++
		}
		t.n += int64(j)
		if err == io.EOF {
			t.eof = true
			switch {
			case t.padded:
			case t.n%4 == 2:
				t.tail = []byte("==")
			case t.n%4 == 3:
				t.tail = []byte("=")
			}
		} else if err != nil {
			t.err = err
			return j, err
		}
		if j > 0 {
			return j, nil
		}
	}
}

// replySyntaxError is JSON that is not valid.
type replySyntaxError struct{ msg string }

func (e *replySyntaxError) Error() string { return e.msg }

func syntaxError(format string, args ...any) error {
	return &replySyntaxError{msg: fmt.Sprintf(format, args...)}
}

var errEndsEarly = &replySyntaxError{msg: "reply ends early"}

// jsonScanner reads the one object of a JSON reply (or of an array holding it first) member by
// member from a stream, without holding any value it is not asked to keep.
type jsonScanner struct {
	r     *bufio.Reader
	array bool // the object is the first element of an array
	first bool // no member read yet
}

// maxDepth bounds the nesting of a value the scanner reads past.
const maxDepth = 1000

// peek returns the next byte that is not white space, without consuming it.
func (s *jsonScanner) peek() (byte, error) {
	for {
		c, err := s.r.ReadByte()
		if err == io.EOF {
			return 0, errEndsEarly
		}
		if err != nil {
			return 0, err
		}
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			s.r.UnreadByte()
			return c, nil
		}
	}
}

func (s *jsonScanner) expect(want byte) error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c != want {
		return syntaxError("reply is not valid JSON: %q where %q belongs", c, want)
	}
	s.r.Discard(1)
	return nil
}

// begin reads up to the first member of the object.
func (s *jsonScanner) begin() error {
	// A UTF-8 byte order mark is not JSON but some PHP servers send one, maybe after white space.
	if _, err := s.peek(); err != nil {
		return err
	}
	if b, _ := s.r.Peek(3); string(b) == "\xef\xbb\xbf" {
		s.r.Discard(3)
	}
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c == '[' {
		s.r.Discard(1)
		s.array = true
		if c, err = s.peek(); err != nil {
			return err
		}
	}
	if c != '{' {
		return syntaxError("reply is not a JSON object")
	}
	s.r.Discard(1)
	s.first = true
	return nil
}

// nextKey reads the name of the next member and the colon after it; ok is false at the end of
// the object.
func (s *jsonScanner) nextKey() (key string, ok bool, err error) {
	c, err := s.peek()
	if err != nil {
		return "", false, err
	}
	if c == '}' {
		s.r.Discard(1)
		return "", false, nil
	}
	if !s.first {
		if c != ',' {
			return "", false, syntaxError("reply is not valid JSON: %q after a member", c)
		}
		s.r.Discard(1)
		if c, err = s.peek(); err != nil {
			return "", false, err
		}
	}
	s.first = false
	if c != '"' {
		return "", false, syntaxError("reply is not valid JSON: %q where a member name belongs", c)
	}
	s.r.Discard(1)
	str := &jsonString{r: s.r}
	name, err := readUpTo(str, 64) // no member that matters has a longer name
	if err == nil && len(name) > 64 {
		name = nil
		_, err = io.Copy(io.Discard, str)
	}
	if err != nil {
		return "", false, err
	}
	return string(name), true, s.expect(':')
}

// end reads what follows the object: the rest of an array holding it, then nothing.
func (s *jsonScanner) end() error {
	if s.array {
		for {
			c, err := s.peek()
			if err != nil {
				return err
			}
			s.r.Discard(1)
			if c == ']' {
				break
			}
			if c != ',' {
				return syntaxError("reply is not valid JSON: %q in the array", c)
			}
			if err := s.skip(); err != nil {
				return err
			}
		}
	}
	switch _, err := s.peek(); err {
	case errEndsEarly:
		return nil
	case nil:
		return syntaxError("reply is not valid JSON: more after its end")
	default:
		return err
	}
}

// capture reads a value and returns it as raw JSON when it is at most max bytes long (complete);
// a longer value, or an object or array, is read past.
func (s *jsonScanner) capture(max int) (raw []byte, complete bool, err error) {
	c, err := s.peek()
	if err != nil {
		return nil, false, err
	}
	switch c {
	case '"':
		s.r.Discard(1)
		str := &jsonString{r: s.r}
		b, err := readUpTo(str, max)
		if err == nil && len(b) > max {
			_, err = io.Copy(io.Discard, str)
			return nil, false, err
		}
		return quote(b), err == nil, err
	case '{', '[':
		return nil, false, s.skip()
	}
	lit, err := s.literal()
	return lit, err == nil, err
}

// skip reads past a value.
func (s *jsonScanner) skip() error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c != '{' && c != '[' && c != '"' {
		_, err := s.literal()
		return err
	}
	var closers []byte
	for {
		c, err := s.r.ReadByte()
		if err == io.EOF {
			return errEndsEarly
		}
		if err != nil {
			return err
		}
		switch c {
		case '"':
			if _, err := io.Copy(io.Discard, &jsonString{r: s.r}); err != nil {
				return err
			}
		case '{':
			closers = append(closers, '}')
		case '[':
			closers = append(closers, ']')
		case '}', ']':
			if len(closers) == 0 || closers[len(closers)-1] != c {
				return syntaxError("reply is not valid JSON: unexpected %q", c)
			}
			closers = closers[:len(closers)-1]
		case ' ', '\t', '\r', '\n', ',', ':':
		default:
			if !isLiteralByte(c) {
				return syntaxError("reply is not valid JSON: unexpected %q", c)
			}
		}
		if len(closers) == 0 {
			return nil
		}
		if len(closers) > maxDepth {
			return syntaxError("reply is not valid JSON: nested deeper than %d", maxDepth)
		}
	}
}

func isLiteralByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '+' || c == '.'
}

// literal reads a number, true, false or null.
func (s *jsonScanner) literal() ([]byte, error) {
	var lit []byte
	for {
		c, err := s.r.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if !isLiteralByte(c) {
			s.r.UnreadByte()
			break
		}
		if len(lit) == 1024 {
			return nil, syntaxError("reply is not valid JSON: a value over 1024 bytes")
		}
		lit = append(lit, c)
	}
	if !json.Valid(lit) {
		if len(lit) == 0 {
			c, _ := s.peek()
			return nil, syntaxError("reply is not valid JSON: unexpected %q", c)
		}
		return nil, syntaxError("reply is not valid JSON: %q", wire.Excerpt(lit, 40))
	}
	return lit, nil
}

// readUpTo reads r to its end, or to max+1 bytes: a longer result says r goes on.
func readUpTo(r io.Reader, max int) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, int64(max)+1))
}

func quote(b []byte) []byte {
	return append(wire.AppendEscaped([]byte{'"'}, b), '"')
}

// jsonString reads the text of a JSON string literal from r, whose opening quote is read, with
// its escapes decoded; it stops after the closing quote (io.EOF). A string cut short, a control
// character or a bad escape is a *replySyntaxError. Bytes that are not UTF-8 pass through.
type jsonString struct {
	r    *bufio.Reader
	done bool
	err  error  // sticky: a reader above may drop an error that comes with bytes
	pend []byte // decoded bytes of an escape not yet returned
	buf  [utf8.UTFMax]byte
}

func (j *jsonString) Read(p []byte) (n int, err error) {
	if j.err != nil {
		return 0, j.err
	}
	defer func() { j.err = err }()
	for n < len(p) {
		if len(j.pend) > 0 {
			k := copy(p[n:], j.pend)
			j.pend = j.pend[k:]
			n += k
			continue
		}
		if j.done {
			break
		}
		if j.r.Buffered() == 0 {
			if n > 0 {
				break // return what is here before waiting for more
			}
			if _, err := j.r.Peek(1); err != nil {
				if err == io.EOF {
					err = syntaxError("reply ends inside a string")
				}
				return 0, err
			}
		}
		chunk, _ := j.r.Peek(min(j.r.Buffered(), len(p)-n))
		i := 0
		for i < len(chunk) && chunk[i] != '"' && chunk[i] != '\\' && chunk[i] >= 0x20 {
			i++
		}
		n += copy(p[n:], chunk[:i])
		if i == len(chunk) {
			j.r.Discard(i)
			continue
		}
		c := chunk[i]
		j.r.Discard(i)
		switch {
		case c == '"':
			j.r.Discard(1)
			j.done = true
		case c == '\\':
			if err := j.escape(); err != nil {
				return n, err
			}
		default:
			return n, syntaxError("reply is not valid JSON: control character %q in a string", c)
		}
	}
	if n == 0 && j.done {
		return 0, io.EOF
	}
	return n, nil
}

// escape decodes the escape at the reader into pend.
func (j *jsonString) escape() error {
	b, err := j.r.Peek(2)
	if err != nil {
		return endsInString(err)
	}
	var c byte
	switch b[1] {
	case '"', '\\', '/':
		c = b[1]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		r, err := j.unicode()
		if err != nil {
			return err
		}
		j.pend = utf8.AppendRune(j.buf[:0], r)
		return nil
	default:
		return syntaxError("reply is not valid JSON: invalid escape %q in a string", b)
	}
	j.r.Discard(2)
	j.buf[0] = c
	j.pend = j.buf[:1]
	return nil
}

// unicode decodes a \uXXXX escape, or a pair of them for a surrogate pair; a lone surrogate is
// U+FFFD, as encoding/json decodes it.
func (j *jsonString) unicode() (rune, error) {
	b, err := j.r.Peek(6)
	if err != nil {
		return 0, endsInString(err)
	}
	r, ok := hexRune(b[2:6])
	if !ok {
		return 0, syntaxError("reply is not valid JSON: invalid escape %q in a string", b)
	}
	j.r.Discard(6)
	if !utf16.IsSurrogate(r) {
		return r, nil
	}
	if b, err := j.r.Peek(6); err == nil && b[0] == '\\' && b[1] == 'u' {
		if r2, ok := hexRune(b[2:6]); ok {
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				j.r.Discard(6)
				return d, nil
			}
		}
	}
	return utf8.RuneError, nil
}

func endsInString(err error) error {
	if err == io.EOF {
		return syntaxError("reply ends inside a string")
	}
	return err
}

func hexRune(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
