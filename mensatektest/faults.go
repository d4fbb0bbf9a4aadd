package mensatektest

import (
	"fmt"
	"time"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/internal/api"
)

type faultKind int

const (
	faultRes   faultKind = iota + 1 // answer a JSON reply with a given Res and Error
	faultHTTP                       // answer a given HTTP status and body
	faultDelay                      // wait, then answer normally
	faultDrop                       // close the connection without answering
)

type fault struct {
	kind   faultKind
	res    int
	text   string // Error text, or HTTP body
	status int
	delay  time.Duration
}

// FailNext makes the next call of op answer a normal JSON reply with Res res and Error
// errText (and the current Cred), without processing the request: for example
// FailNext(mensatek.OpSend, mensatek.CodeInsufficientCredits, "not enough credits").
func (s *Server) FailNext(op mensatek.Operation, res int, errText string) {
	s.queue(op, fault{kind: faultRes, res: res, text: errText})
}

// FailNextHTTP makes the next call of op answer HTTP status with body as it is (as
// application/json if it starts with '{' or '[', else text/plain), without processing the
// request.
func (s *Server) FailNextHTTP(op mensatek.Operation, status int, body string) {
	if status < 100 || status > 999 {
		panic(fmt.Sprintf("mensatektest: FailNextHTTP: invalid HTTP status %d", status))
	}
	s.queue(op, fault{kind: faultHTTP, status: status, text: body})
}

// DelayNext makes the next call of op wait d before it is processed and answered normally.
// If the client gives up during the wait (its timeout or context), the call is abandoned and
// nothing is recorded.
func (s *Server) DelayNext(op mensatek.Operation, d time.Duration) {
	s.queue(op, fault{kind: faultDelay, delay: d})
}

// DropNext makes the fake read the next request of op whole, then close the connection
// without answering and without processing it (nothing is sent or recorded). For a send, the
// client cannot know whether the message went out: the SDK reports mensatek.ErrOutcomeUnknown.
func (s *Server) DropNext(op mensatek.Operation) {
	s.queue(op, fault{kind: faultDrop})
}

// Calls returns how many requests of op reached the fake since it started or since
// [Server.Reset], whatever their outcome (refused, failed by a fault, dropped).
func (s *Server) Calls(op mensatek.Operation) int {
	mustKnow(op)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

func (s *Server) queue(op mensatek.Operation, f fault) {
	mustKnow(op)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[op] = append(s.faults[op], f)
}

// arrive counts a call of op and takes its next fault, if any.
func (s *Server) arrive(op mensatek.Operation) (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	q := s.faults[op]
	if len(q) == 0 {
		return fault{}, false
	}
	f := q[0]
	q[0] = fault{}
	s.faults[op] = q[1:]
	return f, true
}

// finish counts a call of op whose handling has ended.
func (s *Server) finish(op mensatek.Operation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finished[op]++
}

func mustKnow(op mensatek.Operation) {
	if _, ok := api.DefaultFunction(string(op)); !ok {
		panic(fmt.Sprintf("mensatektest: unknown operation %q", op))
	}
}
