package mensatek

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/mensatek-go/mensatek/internal/wire"
)

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
