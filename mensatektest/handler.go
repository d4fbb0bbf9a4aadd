package mensatektest

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mensatek-go/mensatek"
)

// basePath is where the API's functions live, as in https://api.mensatek.com/v7/EnviarWHATSAPP.
const basePath = "/v7/"

// maxBodyBytes bounds a request body; the API's requests are small.
const maxBodyBytes = 8 << 20

// kv is one field of a reply; replies keep the reference's field order.
type kv struct{ k, v string }

// serveHTTP routes a request by its function name, applies the operation's next fault, checks
// the method, credentials, body and Resp, then lets the operation answer.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	fn, ok := strings.CutPrefix(r.URL.Path, basePath)
	fn = strings.TrimSuffix(fn, "/")
	if !ok || fn == "" || strings.Contains(fn, "/") {
		s.writeError(w, http.StatusNotFound, mensatek.CodeInvalidRequest,
			fmt.Sprintf("no API function at %q; the API answers at %s<function>", r.URL.Path, basePath))
		return
	}
	op, ok := s.functions[strings.ToLower(fn)]
	if !ok {
		s.writeError(w, http.StatusNotFound, mensatek.CodeInvalidRequest,
			fmt.Sprintf("unknown API function %q; the fake answers %s", fn, s.functionList()))
		return
	}
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	defer s.finish(op)

	if f, ok := s.arrive(op); ok {
		switch f.kind {
		case faultRes:
			s.writeError(w, http.StatusOK, f.res, f.text)
			return
		case faultHTTP:
			ct := "text/plain; charset=utf-8"
			if t := strings.TrimSpace(f.text); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
				ct = "application/json; charset=utf-8"
			}
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(f.status)
			io.WriteString(w, f.text)
			return
		case faultDrop:
			drop(w)
			return
		case faultDelay:
			if !s.wait(r, f.delay) {
				drop(w) // the client gave up, or the server is closing: nothing is processed
				return
			}
		}
	}

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.writeError(w, http.StatusMethodNotAllowed, mensatek.CodeInvalidRequest,
			fmt.Sprintf("method %s is not allowed; the API answers POST only", r.Method))
		return
	}
	if msg := s.checkAuth(r); msg != "" {
		// Nothing of the account, not even its balance, is told to a stranger.
		writeJSON(w, http.StatusOK, kv{"Res", strconv.Itoa(mensatek.CodeAuthentication)}, kv{"Error", msg})
		return
	}
	if readErr != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(readErr, &tooLarge) {
			s.writeError(w, http.StatusRequestEntityTooLarge, mensatek.CodeInvalidRequest,
				fmt.Sprintf("request body larger than %d bytes", maxBodyBytes))
			return
		}
		s.writeError(w, http.StatusBadRequest, mensatek.CodeInvalidRequest, "reading the request body failed: "+readErr.Error())
		return
	}
	f, err := readParams(r.Header.Get("Content-Type"), body)
	if err != nil {
		s.writeError(w, http.StatusOK, mensatek.CodeInvalidRequest, err.Error())
		return
	}
	resp := f.text("Resp")
	switch strings.ToUpper(strings.TrimSpace(resp)) {
	case "", "JSON":
	case "TXT", "XML":
		s.writeError(w, http.StatusOK, mensatek.CodeInvalidRequest,
			fmt.Sprintf("Resp=%s is not supported by the fake (mensatektest); send Resp=JSON", strings.ToUpper(strings.TrimSpace(resp))))
		return
	default:
		s.writeError(w, http.StatusOK, mensatek.CodeInvalidRequest, fmt.Sprintf("Resp must be TXT, JSON or XML, not %q", resp))
		return
	}

	switch op {
	case mensatek.OpSend:
		writeJSON(w, http.StatusOK, s.send(f)...)
	case mensatek.OpTyping:
		writeJSON(w, http.StatusOK, s.typing(f)...)
	case mensatek.OpAccountStatus:
		writeJSON(w, http.StatusOK, s.setAccountStatus(f)...)
	case mensatek.OpTemplates:
		writeJSON(w, http.StatusOK, s.listTemplates()...)
	case mensatek.OpTemplateVariables:
		writeJSON(w, http.StatusOK, s.templateVariables(f)...)
	case mensatek.OpMediaDownload:
		s.downloadMedia(w, f)
	}
}

// functionList names the functions the fake answers, for an error text.
func (s *Server) functionList() string {
	names := make([]string, 0, len(s.functions))
	for _, e := range operations() {
		names = append(names, e.Function)
	}
	return strings.Join(names, ", ")
}

// wait sleeps d unless the client gives up or the server closes first; it reports whether the
// whole delay passed.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closing:
		return false
	}
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// Not reachable with httptest's HTTP/1.1 server; abort the response the way net/http allows.
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// checkAuth returns why the request's Basic credentials are refused, or "".
func (s *Server) checkAuth(r *http.Request) string {
	user, token, ok := r.BasicAuth()
	if !ok {
		return "authentication failed: missing Basic authentication (Authorization: Basic base64(APIUser:APIToken))"
	}
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(s.user)) == 1
	tokenOK := subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) == 1
	if !userOK || !tokenOK {
		return "authentication failed: wrong API user or API token"
	}
	return ""
}

// writeJSON answers a one-element JSON array holding fields, in order, all as strings.
func writeJSON(w http.ResponseWriter, status int, fields ...kv) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(encodeReply(fields))
}

// encodeReply writes a reply as the API does: a one-element JSON array holding fields, in
// order, all as strings.
func encodeReply(fields []kv) []byte {
	b := make([]byte, 0, 256)
	b = append(b, "[{"...)
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.k)
		b = append(b, ':')
		b = appendString(b, f.v)
	}
	return append(b, "}]"...)
}

// writeError answers Res res with the Error text and the current balance.
func (s *Server) writeError(w http.ResponseWriter, status, res int, text string) {
	writeJSON(w, status, errorFields(res, text, s.Credits())...)
}

func errorFields(res int, text string, credits float64) []kv {
	return []kv{{"Res", strconv.Itoa(res)}, {"Error", text}, {"Cred", formatNumber(credits)}}
}

func invalidFields(credits float64, format string, args ...any) []kv {
	return errorFields(mensatek.CodeInvalidRequest, fmt.Sprintf(format, args...), credits)
}

// formatNumber writes a balance the shortest way: "1000", "999.5".
func formatNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// roundCredits keeps balances free of binary noise (0.1 + 0.2).
func roundCredits(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// validPhone reports whether phone is what the service sends to: a valid number, by the rule
// the client checks recipients with (mensatek.NormalizePhone, so the two cannot disagree), in
// the international digits the client sends.
func validPhone(phone string) bool {
	if phone == "" {
		return false
	}
	for i := 0; i < len(phone); i++ {
		if phone[i] < '0' || phone[i] > '9' {
			return false
		}
	}
	_, err := mensatek.NormalizePhone(phone)
	return err == nil
}
