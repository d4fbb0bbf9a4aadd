package mensatektest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"

	"github.com/mensatek-go/mensatek"
)

// DefaultCredits is the balance a new [Server] starts with.
const DefaultCredits = 1000

// DefaultCostPerMessage is what one message to one recipient costs unless
// [Server.SetCostPerMessage] says otherwise.
const DefaultCostPerMessage = 1

// Server is a fake Mensatek API listening on a loopback address. Make one with [NewServer] and
// Close it when done. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL a client uses, ending in "/v7/" (for mensatek.WithBaseURL).
	URL string
	// APIUser is the API user the fake accepts, random per server. Changing it has no effect.
	APIUser string
	// APIToken is the API token the fake accepts, random per server. Changing it has no effect.
	APIToken string

	ts        *httptest.Server
	user      string // copies of APIUser and APIToken, read by the handler
	token     string
	functions map[string]mensatek.Operation // lower-cased function name -> operation
	closing   chan struct{}
	closeOnce sync.Once

	mu            sync.Mutex
	credits       float64
	cost          float64
	lastID        int64
	sent          []SentMessage
	templates     map[string]mensatek.TemplateDetails // by ID
	media         map[mediaKey]mediaFile
	accountStatus string
	faults        map[mensatek.Operation][]fault
	calls         map[mensatek.Operation]int
	finished      map[mensatek.Operation]int // calls whose handling has ended, for the package's tests
	consent       *consentRule               // nil: consent is not enforced (EnforceConsent)
}

type mediaKey struct {
	id    int64
	phone string
}

type mediaFile struct {
	contentType string
	filename    string
	data        []byte
}

// NewServer starts a fake API with [DefaultCredits], the reference's two example templates
// (customer_welcome, approved, and appointment_reminder, pending) and random credentials.
// Close it when done; in a test, [Start] does that for you.
func NewServer() *Server {
	s := newServer(config{})
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.ts.URL + basePath
	return s
}

// newServer makes a server's state, not yet listening: the caller starts s.ts and sets s.URL.
func newServer(cfg config) *Server {
	s := &Server{
		APIUser:   "test-" + randomHex(6),
		APIToken:  randomHex(20),
		functions: make(map[string]mensatek.Operation),
		closing:   make(chan struct{}),
		credits:   DefaultCredits,
		cost:      DefaultCostPerMessage,
		templates: make(map[string]mensatek.TemplateDetails),
		media:     make(map[mediaKey]mediaFile),
		faults:    make(map[mensatek.Operation][]fault),
		calls:     make(map[mensatek.Operation]int),
		finished:  make(map[mensatek.Operation]int),
	}
	if cfg.credentials {
		s.APIUser, s.APIToken = cfg.user, cfg.token
	}
	s.user, s.token = s.APIUser, s.APIToken
	for _, e := range operations() {
		s.functions[strings.ToLower(e.Function)] = mensatek.Operation(e.Op)
	}
	for _, t := range referenceTemplates() {
		s.templates[t.ID] = t
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("mensatektest: reading random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

// Close stops the server, cutting short any delay injected with [Server.DelayNext], and waits
// for the requests in progress to finish.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.ts.Close()
}

// Client returns a client of the fake: mensatek.NewClient(s.APIUser, s.APIToken,
// mensatek.WithBaseURL(s.URL), opts...). It panics if an option is invalid, like a test helper.
func (s *Server) Client(opts ...mensatek.Option) *mensatek.Client {
	all := append([]mensatek.Option{mensatek.WithBaseURL(s.URL)}, opts...)
	c, err := mensatek.NewClient(s.APIUser, s.APIToken, all...)
	if err != nil {
		panic("mensatektest: Server.Client: " + err.Error())
	}
	return c
}

// Sent returns a copy of every send the fake accepted, in the order it accepted them.
func (s *Server) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SentMessage, len(s.sent))
	for i, m := range s.sent {
		out[i] = m.clone()
	}
	return out
}

// Reset forgets the sends, the call counts and the faults not yet used. Templates, media,
// credits, the account status and the message-ID sequence (IDs are never reused) are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = nil
	clear(s.calls)
	clear(s.finished)
	clear(s.faults)
}

// SetCredits sets the account's balance, which every reply reports as Cred.
func (s *Server) SetCredits(credits float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.credits = credits
}

// Credits returns the account's balance.
func (s *Server) Credits() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.credits
}

// SetCostPerMessage sets what one message to one recipient costs (default
// [DefaultCostPerMessage]); a send costs this times the recipients it is sent to.
func (s *Server) SetCostPerMessage(cost float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cost = cost
}

// AccountStatus returns the last status set with the account-status function, or "".
func (s *Server) AccountStatus() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accountStatus
}

// AddMedia sets what a media download for message messageID from phone returns: data with
// contentType (detected from data when empty). Phone is matched by its digits.
func (s *Server) AddMedia(messageID int64, phone, contentType string, data []byte) {
	s.AddMediaFile(messageID, phone, "", contentType, data)
}

// AddMediaFile is [Server.AddMedia] with a file name, sent in the Content-Disposition header.
func (s *Server) AddMediaFile(messageID int64, phone, filename, contentType string, data []byte) {
	if contentType == "" {
		contentType = http.DetectContentType(data)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.media[mediaKey{messageID, digits(phone)}] = mediaFile{contentType: contentType, filename: filename, data: slices.Clone(data)}
}

// digits keeps the digits of a phone, so "+34 600 000 001" matches "34600000001".
func digits(phone string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, phone)
}
