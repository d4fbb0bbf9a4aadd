package mensatektest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"mime/multipart"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The fake reads requests with encoding/json, net/url and mime/multipart only, never with the
// SDK's own decoding code: a bug shared by the client and the fake would hide from both.

// params are a request's parameters by lower-cased name, so that lookups ignore case as the API
// does. Each value is JSON; a form's values are JSON strings, so JSON bodies and forms read the
// same way.
type params map[string]json.RawMessage

// raw returns the parameter name, absent when missing or null.
func (p params) raw(name string) (json.RawMessage, bool) {
	v, ok := p[strings.ToLower(name)]
	if !ok || isNull(v) {
		return nil, false
	}
	return v, true
}

// text returns the parameter name as text: a string's value, anything else as written.
func (p params) text(name string) string {
	v, _ := p.raw(name)
	return textOf(v)
}

// integer returns the parameter name as a whole number, written as a JSON number or a string
// (true and false are 1 and 0); absent, null and "" are (0, false, nil).
func (p params) integer(name string) (int64, bool, error) {
	v, _ := p.raw(name)
	return integerOf(v)
}

// member is one name and value of a JSON object, as sent.
type member struct {
	name  string
	value json.RawMessage
}

var errNotObject = errors.New("not a JSON object")

// members returns the members of the JSON object b in order, duplicates included, so that
// callers can refuse a name given twice (encoding/json would keep the last one silently).
func members(b []byte) ([]member, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, errNotObject
	}
	if !json.Valid(b) {
		var v any
		return nil, fmt.Errorf("invalid JSON: %v", json.Unmarshal(b, &v))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		ms = append(ms, member{name, v})
	}
	return ms, nil
}

// paramsOf indexes ms by lower-cased name, refusing a name given twice in any case: the API
// ignores case, so the fake cannot know which one the service would take. where and kind name
// them in the error ("Datosmensaje", "field").
func paramsOf(ms []member, where, kind string) (params, error) {
	p := make(params, len(ms))
	first := make(map[string]string, len(ms))
	for _, m := range ms {
		lk := strings.ToLower(m.name)
		if prev, dup := first[lk]; dup {
			return nil, duplicate(where, kind, prev, m.name)
		}
		first[lk] = m.name
		p[lk] = m.value
	}
	return p, nil
}

func duplicate(where, kind, first, second string) error {
	if first == second {
		return fmt.Errorf("%s gives %s %s twice", where, kind, first)
	}
	return fmt.Errorf("%s has %s and %s, the same %s to the API, which ignores case in names", where, first, second, kind)
}

// readParams reads the parameters of a JSON, form-encoded or multipart body.
func readParams(contentType string, body []byte) (params, error) {
	mediaType, mediaParams, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(body), []byte("\xef\xbb\xbf")))
	switch {
	case mediaType == "multipart/form-data":
		form, err := multipart.NewReader(bytes.NewReader(body), mediaParams["boundary"]).ReadForm(maxBodyBytes)
		if err != nil {
			return nil, fmt.Errorf("the multipart/form-data body cannot be read: %v", err)
		}
		defer form.RemoveAll()
		return formParams(form.Value)
	case mediaType == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("the form body cannot be read: %v", err)
		}
		return formParams(vals)
	case len(trimmed) == 0:
		return params{}, nil
	case trimmed[0] == '{' || trimmed[0] == '[':
		return jsonParams(trimmed)
	case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
		return nil, errors.New("the body is not a valid JSON object")
	case mediaType == "" || mediaType == "text/plain":
		vals, err := url.ParseQuery(string(trimmed))
		if err != nil {
			return nil, errors.New("the body is neither a JSON object nor a form")
		}
		return formParams(vals)
	}
	return nil, fmt.Errorf("unsupported Content-Type %q; send application/json or application/x-www-form-urlencoded", mediaType)
}

// jsonParams reads a JSON object, or an array holding one.
func jsonParams(b []byte) (params, error) {
	if b[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(b, &arr); err != nil {
			return nil, errors.New("the body is not a valid JSON object")
		}
		if len(arr) != 1 {
			return nil, fmt.Errorf("the body is a JSON array of %d elements; send one JSON object", len(arr))
		}
		b = arr[0]
	}
	ms, err := members(b)
	if err != nil {
		return nil, errors.New("the body is not a valid JSON object")
	}
	return paramsOf(ms, "the request", "parameter")
}

// formParams turns form values into params, refusing a parameter given twice, with the same
// name or in another case.
func formParams(vals map[string][]string) (params, error) {
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	slices.Sort(names) // the same error whatever the map's order
	ms := make([]member, 0, len(names))
	for _, k := range names {
		switch n := len(vals[k]); {
		case n == 0:
			continue
		case n > 1:
			return nil, fmt.Errorf("the request gives parameter %s %d times", k, n)
		}
		v, err := json.Marshal(vals[k][0])
		if err != nil { // a string always encodes
			return nil, err
		}
		ms = append(ms, member{k, v})
	}
	return paramsOf(ms, "the request", "parameter")
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// textOf returns a JSON value as text: a string's value, null as "", anything else as written.
func textOf(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

// integerOf reads a whole number written as a JSON number or a string ("12", " 12 ", "12.0",
// "1e3"); true and false are 1 and 0; null and "" are (0, false, nil).
func integerOf(raw json.RawMessage) (int64, bool, error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return 0, false, nil
	}
	s := string(raw)
	switch {
	case raw[0] == '"':
		s = strings.TrimSpace(textOf(raw))
		if s == "" {
			return 0, false, nil
		}
	case s == "true":
		return 1, true, nil
	case s == "false":
		return 0, true, nil
	case raw[0] != '-' && (raw[0] < '0' || raw[0] > '9'):
		return 0, false, fmt.Errorf("%s is not a number", excerpt(raw, 40))
	}
	v, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64)
	switch {
	case err == nil:
		return v, true, nil
	case errors.Is(err, strconv.ErrRange):
		return 0, false, fmt.Errorf("%q is out of range", excerpt([]byte(s), 40))
	}
	f, err := strconv.ParseFloat(s, 64)
	// 1<<63 is the first value an int64 cannot hold.
	if err != nil || f != math.Trunc(f) || f >= 1<<63 || f < math.MinInt64 {
		return 0, false, fmt.Errorf("%q is not a whole number", excerpt([]byte(s), 40))
	}
	return int64(f), true, nil
}

// embedded returns the JSON a parameter holds: the value itself, or the text of a string that
// holds JSON (as forms and the SDK send Destinatarios and Datosmensaje), up to three strings
// deep. A string escaped once more than needed ({\"a\":1} once decoded) is read too.
func embedded(raw json.RawMessage) ([]byte, error) {
	b := bytes.TrimSpace(raw)
	for i := 0; i < 3 && len(b) > 0 && b[0] == '"'; i++ {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("invalid JSON string: %v", err)
		}
		inner := bytes.TrimSpace([]byte(s))
		if len(inner) > 0 && !json.Valid(inner) {
			// Read the text as the inside of a JSON string literal, undoing one escaping too many.
			var u string
			quoted := append(append([]byte{'"'}, inner...), '"')
			if json.Unmarshal(quoted, &u) == nil {
				inner = bytes.TrimSpace([]byte(u))
			}
		}
		b = inner
	}
	return b, nil
}

// excerpt returns at most n bytes of b as printable text for an error message, marking a cut
// with "...".
func excerpt(b []byte, n int) string {
	var sb strings.Builder
	for i, r := range string(b) {
		if i >= n {
			sb.WriteString("...")
			break
		}
		switch {
		case r == utf8.RuneError:
			sb.WriteRune('\uFFFD')
		case r < 0x20 || r == 0x7f:
			sb.WriteByte(' ')
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// appendString appends s as a JSON string. Unlike json.Marshal it leaves <, > and & as they
// are, so that replies read like the reference's examples.
func appendString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}
