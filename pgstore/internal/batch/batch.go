// Package batch splits a list of keys into distinct batches, for the pgstore stores that look many
// keys up in one round trip. Each store module has its own copy: a module imports no internal
// package of another, so that each release of it builds against any core of its major version.
package batch

// Distinct calls fn with the distinct strings of keys, in their first order, size at a time at
// the most, and stops at the first error.
func Distinct(keys []string, size int, fn func(batch []string) error) error {
	if size < 1 {
		size = 1
	}
	seen := make(map[string]bool, len(keys))
	batch := make([]string, 0, min(len(keys), size))
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		batch = append(batch, k)
		if len(batch) == size {
			if err := fn(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}
