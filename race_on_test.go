//go:build race

package mensatek

// raceEnabled: the race detector makes sync.Pool drop items at random, so code that reuses
// pooled buffers (regexp's matchers, used by every phone check) allocates on every call, and
// allocation budgets do not hold.
const raceEnabled = true
