// Package fakeapi is a fake of the three API calls a campaign makes (the template list, a
// template's variables, the send) that keeps nothing per message, so that a test can send a
// million rows through it, with a latency per send and a gate to hold sends in flight. For
// everything else, use mensatektest.
package fakeapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// Server is a running fake. Its templates are mensatektest's reference templates.
type Server struct {
	*httptest.Server
	// Latency is how long each send takes; set it before the first.
	Latency time.Duration
	// Gate, if set, is received from by each send before it answers: a test holds sends in
	// flight by not sending on it.
	Gate chan struct{}
	// Arrived, if set, gets a value when a send arrives (before Gate).
	Arrived chan struct{}
	// Record keeps the phones sent (Phones).
	Record bool

	mu         sync.Mutex
	calls      int
	recipients int
	phones     []string
}

// New starts a fake; Close it.
func New() *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL of the API, for mensatek.WithBaseURL or --base-url.
func (s *Server) BaseURL() string { return s.Server.URL + "/v7/" }

// Sends returns the number of send calls and of recipients they carried.
func (s *Server) Sends() (calls, recipients int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.recipients
}

// Phones returns the phones sent, in order of arrival, when Record is set.
func (s *Server) Phones() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.phones...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	var welcome mensatek.TemplateDetails
	for _, t := range mensatektest.ReferenceTemplates() {
		if t.ID == mensatektest.CustomerWelcomeID {
			welcome = t
		}
	}
	switch strings.ToLower(path.Base(r.URL.Path)) {
	case "getplantillaswhatsapp":
		io.WriteString(w, mensatektest.TemplatesReply(mensatektest.ReferenceTemplates()...))
	case "getvariablesplantillawhatsapp":
		io.WriteString(w, mensatektest.TemplateVariablesReply(welcome))
	case "enviarwhatsapp":
		s.send(w, r)
	default:
		io.WriteString(w, mensatektest.ErrorReply(mensatek.CodeInvalidRequest, "unknown function"))
	}
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	var body struct{ Destinatarios string }
	var to []struct{ Telefono string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || json.Unmarshal([]byte(body.Destinatarios), &to) != nil || len(to) == 0 {
		io.WriteString(w, mensatektest.ErrorReply(mensatek.CodeInvalidRequest, "bad Destinatarios"))
		return
	}
	if s.Arrived != nil {
		s.Arrived <- struct{}{}
	}
	if s.Gate != nil {
		select {
		case <-s.Gate:
		case <-r.Context().Done():
			return
		}
	}
	if s.Latency > 0 {
		t := time.NewTimer(s.Latency) // the API's time to answer
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	s.calls++
	s.recipients += len(to)
	id := int64(s.calls)
	if s.Record {
		for _, p := range to {
			s.phones = append(s.phones, p.Telefono)
		}
	}
	s.mu.Unlock()
	io.WriteString(w, mensatektest.SendReply(mensatek.SendResult{MessageID: id, Sent: len(to), Credits: 1e9}))
}
