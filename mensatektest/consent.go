package mensatektest

import (
	"context"
	"fmt"
	"time"

	"github.com/mensatek-go/mensatek"
)

// consentRule is what EnforceConsent turned on.
type consentRule struct {
	store  mensatek.ContactStore
	window time.Duration
	now    func() time.Time
}

// EnforceConsent makes the fake refuse, with Res -3 and an Error naming the recipient, a send to
// a recipient that store records as opted out, or a message other than a template to a
// recipient who has not written within window (0: no window check). Off by default: whether the
// live API enforces either rule is not known (Meta refuses a message outside the window after
// the API took it), so turn it on to test how your code handles such a refusal, or to check that
// your client-side checks ([mensatek.WithContacts]) catch everything first. A nil store turns
// it off again.
func (s *Server) EnforceConsent(store mensatek.ContactStore, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if store == nil {
		s.consent = nil
		return
	}
	s.consent = &consentRule{store: store, window: window, now: time.Now}
}

// consentProblem says why rule refuses a send of typ to the phones, or "".
func (rule *consentRule) problem(typ mensatek.MessageType, phones []string) string {
	known, err := rule.store.Contacts(context.Background(), phones)
	if err != nil {
		return fmt.Sprintf("contact store: %v", err)
	}
	now := rule.now()
	for _, p := range phones {
		c := known[p]
		if c.OptedOut {
			return fmt.Sprintf("recipient %s opted out", p)
		}
		if typ != mensatek.TypeTemplate && rule.window > 0 &&
			(c.LastInbound.IsZero() || now.Sub(c.LastInbound) >= rule.window) {
			return fmt.Sprintf("recipient %s is outside the %v customer-service window: only templates can be sent", p, rule.window)
		}
	}
	return ""
}
