package mensatek

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/mensatek-go/mensatek/internal/wire"
)

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
