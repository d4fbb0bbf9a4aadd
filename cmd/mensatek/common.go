package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/cli"
)

// usageError is a mistake in the command line: exit code 2.
type usageError = cli.UsageError

// localError is a failure of this machine (a file, a port): exit code 1. The campaign package
// returns a *cli.LocalError, which counts as one.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// The text helpers live in internal/cli, shared with the campaign package.
func usagef(format string, args ...any) error         { return cli.Usagef(format, args...) }
func invalid(field, format string, args ...any) error { return cli.Invalid(field, format, args...) }
func oneLine(err error) string                        { return cli.OneLine(err) }
func sanitize[T ~string](v T) string                  { return cli.Sanitize(v) }
func clipQuote(s string) string                       { return cli.ClipQuote(s) }
func clip(s string) string                            { return cli.Clip(s) }
func boundLine(s string) string                       { return cli.BoundLine(s) }
func plural(n int, word string) string                { return cli.Plural(n, word) }

// replaceCSV replaces the file at path with the rows write writes, atomically (cli.ReplaceCSV).
func replaceCSV(path string, write func(w *csv.Writer)) error {
	return cli.ReplaceCSV(path, func(w *csv.Writer) error { write(w); return nil })
}

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1 // a local failure: a file, a port
	exitUsage       = 2
	exitValidation  = 3
	exitAPI         = 4
	exitNetwork     = 5 // a network failure, or an unknown outcome
	exitInterrupted = 130
)

// sys is what a command gets from its process; tests give their own.
type sys struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string

	// isTerminal reports whether w is a terminal (for the progress bar); nil means never.
	isTerminal func(w io.Writer) bool
	// listening, if set, is called with the address listen or fake serves on, once it does.
	listening func(addr string)
	// batchDone, if set, is called after each batch a campaign sends, with its number from 1.
	batchDone func(n int)
}

func (s *sys) env(key string) string {
	if s.getenv == nil {
		return ""
	}
	return s.getenv(key)
}

func (s *sys) terminal(w io.Writer) bool { return s.isTerminal != nil && s.isTerminal(w) }

// exitCode classifies err. An unknown outcome comes first: it may wrap an *APIError (a 5xx).
func exitCode(err error) int {
	var (
		usage    *usageError
		local    *localError
		cliLocal *cli.LocalError
		verr     *mensatek.ValidationError
		aerr     *mensatek.APIError
		rerr     *mensatek.ResponseError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		return exitUsage
	case errors.Is(err, mensatek.ErrOutcomeUnknown):
		return exitNetwork
	case errors.As(err, &verr), errors.Is(err, mensatek.ErrTemplateNotFound), errors.Is(err, mensatek.ErrTemplateNotApproved):
		return exitValidation
	case errors.As(err, &aerr), errors.As(err, &rerr):
		return exitAPI
	case errors.As(err, &local), errors.As(err, &cliLocal), errors.Is(err, mensatek.ErrConsentSuperseded):
		return exitFailure
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	return exitNetwork
}

// fail prints err as one line on stderr and returns its exit code.
func (s *sys) fail(cmd string, err error) int {
	code := exitCode(err)
	msg := oneLine(err)
	var usage *usageError
	switch {
	case errors.As(err, &usage):
		msg += fmt.Sprintf(" (see 'mensatek %s --help')", cmd)
	case errors.Is(err, mensatek.ErrAuthentication):
		msg += " (check MENSATEK_API_USER and MENSATEK_API_TOKEN, or --user and --token-file)"
	case code == exitInterrupted:
		msg = "interrupted"
	}
	msg = strings.TrimPrefix(msg, cmd+": ") // "mensatek templates: templates: ..."
	fmt.Fprintf(s.stderr, "mensatek %s: %s\n", cmd, boundLine(msg))
	return code
}

// newFlagSet returns a flag set that reports errors to the caller instead of printing them.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("mensatek "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// helpText describes a command for --help.
type helpText struct {
	usage   string // after "Usage: mensatek "
	about   string
	example string
}

// parse parses args with fs, allowing flags after positional arguments ("template 42 --json"),
// and returns the positional ones. done is true when the command must end with code: after
// --help (0) or a mistake (2).
func (s *sys) parse(name string, fs *flag.FlagSet, h helpText, args []string) (pos []string, code int, done bool) {
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			printCommandHelp(s.stdout, fs, h)
			return nil, exitOK, true
		}
		if err != nil {
			return nil, s.fail(name, usagef("%v", err)), true
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, 0, false
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), 0, false
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func printCommandHelp(w io.Writer, fs *flag.FlagSet, h helpText) {
	fmt.Fprintf(w, "Usage: mensatek %s\n\n%s\n\nFlags:\n", h.usage, strings.TrimSpace(h.about))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		arg := dash + f.Name
		if name != "" {
			arg += " " + name
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", arg, usage)
	})
	tw.Flush()
	fmt.Fprintf(w, "\nExample:\n%s\n", indent(strings.TrimSpace(h.example)))
}

func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}

// listFlag is a flag that may be repeated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// apiFlags are the flags of every command that calls the API.
type apiFlags struct {
	user      string
	tokenFile string
	baseURL   string
	timeout   time.Duration
}

func addAPIFlags(fs *flag.FlagSet) *apiFlags {
	a := &apiFlags{}
	// The defaults come from the environment after parsing, so that help never shows them.
	fs.StringVar(&a.user, "user", "", "API `user` (default $MENSATEK_API_USER)")
	fs.StringVar(&a.tokenFile, "token-file", "", "read the API token from this `file` (default: $MENSATEK_API_TOKEN)")
	fs.StringVar(&a.baseURL, "base-url", "", "API `URL`, such as the fake's (default $MENSATEK_BASE_URL, else "+mensatek.DefaultBaseURL+")")
	fs.DurationVar(&a.timeout, "timeout", mensatek.DefaultTimeout, "bound each API call to this `duration`")
	return a
}

// client builds the API client as mensatek.NewClientFromEnv does, from the environment, with
// the flags over it: --user and --token-file stand for MENSATEK_API_USER and MENSATEK_API_TOKEN,
// and --base-url is an explicit WithBaseURL, which wins over MENSATEK_BASE_URL.
func (a *apiFlags) client(s *sys, extra ...mensatek.Option) (*mensatek.Client, error) {
	var token string
	if a.tokenFile != "" {
		b, err := os.ReadFile(a.tokenFile)
		if err != nil {
			return nil, usagef("reading --token-file: %v", err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return nil, usagef("--token-file %s is empty", a.tokenFile)
		}
	}
	noCredentials := false
	getenv := func(key string) string {
		v := s.env(key)
		switch {
		case key == mensatek.EnvAPIUser && a.user != "":
			v = a.user
		case key == mensatek.EnvAPIToken && token != "":
			v = token
		}
		if (key == mensatek.EnvAPIUser || key == mensatek.EnvAPIToken) && strings.TrimSpace(v) == "" {
			noCredentials = true
		}
		return v
	}
	opts := []mensatek.Option{
		mensatek.WithTimeout(a.timeout),
		mensatek.WithUserAgent("mensatek-go/" + mensatek.Version + " (cmd/mensatek)"),
	}
	if a.baseURL != "" {
		opts = append(opts, mensatek.WithBaseURL(a.baseURL))
	}
	c, err := mensatek.NewClientFromEnvFunc(getenv, append(opts, extra...)...)
	if err != nil {
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "mensatek: "), "NewClientFromEnv: ")
		if noCredentials {
			msg += ", or pass --user and --token-file"
		}
		return nil, usagef("%s", msg)
	}
	return c, nil
}

// writeJSON writes v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// credits formats a credit balance without trailing zeros.
func credits(c float64) string { return strconv.FormatFloat(c, 'f', -1, 64) }

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

const atLayout = "2006-01-02 15:04"

// parseAt reads --at, a Madrid wall-clock time, and checks that it exists and is in the future.
func parseAt(v string, now time.Time) (time.Time, error) {
	v = strings.Join(strings.Fields(v), " ")
	t, err := time.ParseInLocation(atLayout, v, mensatek.MadridTime())
	if err != nil {
		return time.Time{}, usagef("--at %q: want \"YYYY-MM-DD HH:MM\", Madrid time", v)
	}
	if t.Format(atLayout) != v {
		return time.Time{}, invalid("--at", "%s does not exist in Madrid time (the clocks go forward that night)", v)
	}
	if !t.After(now) {
		return time.Time{}, invalid("--at", "%s is in the past: it is %s in Madrid now", v, now.In(mensatek.MadridTime()).Format(atLayout))
	}
	return t, nil
}
