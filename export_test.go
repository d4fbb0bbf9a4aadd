package mensatek

import "time"

// SetMemoryDedupClock makes s read the time from now, for tests in package mensatek_test.
func SetMemoryDedupClock(s *MemoryDedupStore, now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// MemoryDedupOrderLen is how many state changes s keeps in its order queue.
func MemoryDedupOrderLen(s *MemoryDedupStore) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order) - s.head
}

// NormalizeKeyword is normalizeKeyword, for tests in package mensatek_test.
var NormalizeKeyword = normalizeKeyword

// ReadConsent reads m with the default keywords, for benchmarks in package mensatek_test.
func ReadConsent(m *InboundMessage) (ConsentChange, string) {
	return readConsent(m, newKeywordSet(defaultOptOutKeywords), newKeywordSet(defaultOptInKeywords))
}

// WithContactClock sets the clock the service window is measured with (default time.Now), for
// tests in package mensatek_test.
func WithContactClock(now func() time.Time) ContactOption {
	return func(c *contactConfig) error { c.now = now; return nil }
}
