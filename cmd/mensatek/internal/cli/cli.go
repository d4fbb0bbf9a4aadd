// Package cli holds what the commands of cmd/mensatek and the packages they run share: the
// kinds of error that decide the exit code, and the text helpers that keep every message one
// bounded line.
package cli

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mensatek-go/mensatek"
)

// UsageError is a mistake in the command line: exit code 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// LocalError is a failure of this machine (a file, a port): exit code 1.
type LocalError struct{ Err error }

func (e *LocalError) Error() string { return e.Err.Error() }
func (e *LocalError) Unwrap() error { return e.Err }

// Invalid is a local validation error (exit code 3) about a flag or an input file.
func Invalid(field, format string, args ...any) error {
	return &mensatek.ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// OneLine writes err on one line: the lines of joined errors are separated by "; " and lose the
// SDK's "mensatek: " prefix, which the command's own prefix replaces.
func OneLine(err error) string {
	var parts []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "mensatek: "))
		if line != "" {
			parts = append(parts, line)
		}
	}
	return Sanitize(strings.Join(parts, "; "))
}

// Sanitize replaces control characters, so that text from the network cannot move the cursor or
// change the terminal.
func Sanitize[T ~string](v T) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, string(v))
}

// ClipAt is the most characters of a value an error message quotes.
const ClipAt = 40

// ClipQuote quotes a value for a message, cut to ClipAt characters; a cut value is followed
// by its length, so that a huge cell never floods the terminal.
func ClipQuote(s string) string {
	end := PrefixLen(s, ClipAt)
	if end == len(s) {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s… (%d characters)", strconv.Quote(s[:end]), utf8.RuneCountInString(s))
}

// Clip cuts a value to ClipAt characters for a message, saying how long it was.
func Clip(s string) string {
	end := PrefixLen(s, ClipAt)
	if end == len(s) {
		return s
	}
	return fmt.Sprintf("%s… (%d characters)", s[:end], utf8.RuneCountInString(s))
}

// MaxLine is the most characters of one line of error output.
const MaxLine = 1000

// BoundLine cuts a line of output to MaxLine characters, saying how long it was.
func BoundLine(s string) string {
	end := PrefixLen(s, MaxLine)
	if end == len(s) {
		return s
	}
	return fmt.Sprintf("%s… (cut: %d characters in all)", s[:end], utf8.RuneCountInString(s))
}

// PrefixLen returns the length in bytes of the first n characters of s.
func PrefixLen(s string, n int) int {
	i := 0
	for ; i < len(s) && n > 0; n-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

// Plural returns "1 row" or "2 rows".
func Plural(n int, word string) string {
	switch {
	case n == 1:
		return fmt.Sprintf("%d %s", n, word)
	case strings.HasSuffix(word, "ch"):
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
