package main

import (
	"context"
	"fmt"
	"net/url"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// fakeJSON is the line fake prints with --json, for programs that start it.
type fakeJSON struct {
	URL     string  `json:"url"`
	User    string  `json:"user"`
	Token   string  `json:"token"`
	Addr    string  `json:"addr"`
	Credits float64 `json:"credits"`
}

func runFake(ctx context.Context, args []string, s *sys) int {
	const name = "fake"
	fs := newFlagSet(name)
	addr := fs.String("addr", "127.0.0.1:8080", "`address` to listen on (:8080 for every interface; 127.0.0.1:0 picks a free port)")
	user := fs.String("user", "", "API `user` the fake accepts (default: random)")
	token := fs.String("token", "", "API `token` the fake accepts (default: random)")
	creds := fs.Float64("credits", mensatektest.DefaultCredits, "the account's starting credits")
	jsonOut := fs.Bool("json", false, "print the address and credentials as one JSON line")
	templatesPath := fs.String("templates", "", "JSON `file` of extra templates, in the shape mensatektest's AddTemplate takes (see --help)")
	pos, code, done := s.parse(name, fs, helpText{
		usage: "fake [--addr 127.0.0.1:8080] [--user U --token T] [flags]",
		about: `Runs a fake of the Mensatek API (package mensatektest) until Ctrl-C, and prints its URL and
the credentials it accepts, so that tests in any language can use it. It behaves like the
service: it checks Basic auth, refuses bad parameters with Res -3, numbers sends, spends
credits, and knows the templates customer_welcome (approved) and appointment_reminder (not
approved). Its state lives in memory and is lost when it stops. Fixed --user and --token let
a test suite hard-code them.

--templates adds templates from a JSON array in the shape mensatektest's AddTemplate takes
(mensatek.TemplateDetails as encoding/json writes it), with its defaults: Language es,
Category UTILITY, Status APPROVED, the phone added as variable 1:
  [{"Name": "order_shipped", "Language": "en", "Variables": [
     {"Name": "Pedido", "Field": "Pedido", "Location": "BODY", "Format": "TEXTO"}]}]
A template with the ID of another replaces it.`,
		example: `mensatek fake --addr 127.0.0.1:8080 --user ci --token ci-secret
mensatek fake --addr 127.0.0.1:0 --json     # {"url":"http://127.0.0.1:41234/v7/","user":...}
mensatek fake --templates testdata/templates.json`,
	}, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return s.fail(name, usagef("unexpected argument %q", pos[0]))
	}
	var opts []mensatektest.Option
	switch {
	case *user != "" && *token != "":
		opts = append(opts, mensatektest.WithCredentials(*user, *token))
	case *user != "" || *token != "":
		return s.fail(name, usagef("give both --user and --token, or neither"))
	}
	if *creds < 0 {
		return s.fail(name, usagef("--credits cannot be negative"))
	}
	var extra []mensatek.TemplateDetails
	if *templatesPath != "" {
		var err error
		if extra, err = readTemplates("--templates", *templatesPath); err != nil {
			return s.fail(name, err)
		}
	}
	srv, err := mensatektest.NewServerAt(*addr, opts...)
	if err != nil {
		if strings.Contains(err.Error(), "WithCredentials") {
			return s.fail(name, usagef("%s", strings.TrimPrefix(err.Error(), "mensatektest: WithCredentials: ")))
		}
		return s.fail(name, &localError{fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "mensatektest: "))})
	}
	defer srv.Close()
	srv.SetCredits(*creds)
	loaded := templateNames(srv, extra)
	u, _ := url.Parse(srv.URL)
	if *jsonOut {
		if err := writeJSON(s.stdout, fakeJSON{URL: srv.URL, User: srv.APIUser, Token: srv.APIToken, Addr: u.Host, Credits: *creds}); err != nil {
			return s.output(name, err)
		}
	} else {
		fmt.Fprintf(s.stdout, `Fake Mensatek API at %s (Ctrl-C stops it)
  API user:  %s
  API token: %s
In another shell:
  export MENSATEK_BASE_URL=%s MENSATEK_API_USER=%s MENSATEK_API_TOKEN=%s
then run mensatek commands; in Go, mensatek.NewClientFromEnv() reads the same variables.
`, srv.URL, srv.APIUser, srv.APIToken, srv.URL, shellQuote(srv.APIUser), shellQuote(srv.APIToken))
		if len(extra) > 0 {
			fmt.Fprintf(s.stdout, "Templates: %s (%d from %s)\n", strings.Join(loaded, ", "), len(extra), *templatesPath)
		}
	}
	if s.listening != nil {
		s.listening(u.Host)
	}
	<-ctx.Done()
	return exitOK
}

// templateNames adds extra to srv and returns the names of every template it knows: the
// reference's (less those extra replaced by ID), then extra's, in order.
func templateNames(srv *mensatektest.Server, extra []mensatek.TemplateDetails) []string {
	ids := map[string]bool{}
	for _, t := range extra {
		ids[srv.AddTemplate(t)] = true
	}
	var names []string
	for _, t := range mensatektest.ReferenceTemplates() {
		if !ids[t.ID] {
			names = append(names, t.Name)
		}
	}
	for _, t := range extra {
		names = append(names, t.Name)
	}
	return names
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.,:/@+=", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// versionJSON is the --json output of version.
type versionJSON struct {
	Command string `json:"command"`
	SDK     string `json:"sdk"`
	Go      string `json:"go"`
}

func runVersion(_ context.Context, args []string, s *sys) int {
	const name = "version"
	fs := newFlagSet(name)
	jsonOut := fs.Bool("json", false, "print a JSON object")
	pos, code, done := s.parse(name, fs, helpText{
		usage:   "version [--json]",
		about:   "Prints the command's version, the SDK's, and the Go version it was built with.",
		example: "mensatek version",
	}, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return s.fail(name, usagef("unexpected argument %q", pos[0]))
	}
	v := versionJSON{Command: "(devel)", SDK: mensatek.Version, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v.Command = bi.Main.Version
	}
	if *jsonOut {
		return s.output(name, writeJSON(s.stdout, v))
	}
	_, err := fmt.Fprintf(s.stdout, "mensatek %s (SDK %s, %s)\n", v.Command, v.SDK, v.Go)
	return s.output(name, err)
}
