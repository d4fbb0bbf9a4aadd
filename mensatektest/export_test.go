package mensatektest

import "github.com/mensatek-go/mensatek"

// Finished returns how many calls of op the fake has finished handling (answered, refused,
// dropped or abandoned) since it started or since Reset: a test that proves something did not
// happen waits for it instead of sleeping.
func (s *Server) Finished(op mensatek.Operation) int {
	mustKnow(op)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finished[op]
}
