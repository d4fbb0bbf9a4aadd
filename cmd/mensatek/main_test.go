package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// syncBuffer is a bytes.Buffer that a server goroutine may write while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// result is what a command run left.
type result struct {
	code           int
	stdout, stderr string
}

// harness runs commands in-process with their own environment and output buffers.
type harness struct {
	t      *testing.T
	env    map[string]string
	stdout *syncBuffer
	stderr *syncBuffer
	sys    *sys
}

func newHarness(t *testing.T, env map[string]string) *harness {
	h := &harness{t: t, env: env}
	h.reset()
	return h
}

// reset gives the next run fresh output buffers; hooks set on h.sys stay.
func (h *harness) reset() {
	h.stdout, h.stderr = &syncBuffer{}, &syncBuffer{}
	if h.sys == nil {
		h.sys = &sys{getenv: func(k string) string { return h.env[k] }}
	}
	h.sys.stdin, h.sys.stdout, h.sys.stderr = strings.NewReader(""), h.stdout, h.stderr
}

// run runs the command line (without "mensatek") and returns its outcome.
func (h *harness) run(ctx context.Context, args ...string) result {
	h.t.Helper()
	code := run(ctx, args, h.sys)
	return result{code: code, stdout: h.stdout.String(), stderr: h.stderr.String()}
}

// newFake starts an in-process fake and returns it with a harness whose environment holds its
// credentials. Commands reach it through --base-url, added by api.
func newFake(t *testing.T) (*mensatektest.Server, *harness) {
	t.Helper()
	srv := mensatektest.NewServer()
	t.Cleanup(srv.Close)
	return srv, newHarness(t, map[string]string{
		"MENSATEK_API_USER":  srv.APIUser,
		"MENSATEK_API_TOKEN": srv.APIToken,
	})
}

// api runs an API command against srv: args[0] is the command, --base-url is added after it.
func (h *harness) api(srv *mensatektest.Server, args ...string) result {
	h.t.Helper()
	return h.apiCtx(context.Background(), srv, args...)
}

// apiCtx is api with a context.
func (h *harness) apiCtx(ctx context.Context, srv *mensatektest.Server, args ...string) result {
	h.t.Helper()
	h.reset()
	full := append([]string{args[0], "--base-url", srv.URL}, args[1:]...)
	return h.run(ctx, full...)
}

// assertFailed checks the exit code and that the error is one line on stderr.
func assertFailed(t *testing.T, r result, code int, contains ...string) {
	t.Helper()
	assert.Equal(t, code, r.code, "exit code; stderr: %s", r.stderr)
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	assert.True(t, strings.HasPrefix(last, "mensatek "), "the error line names the command: %q", last)
	for _, c := range contains {
		assert.Contains(t, last, c)
	}
}

func TestHelp(t *testing.T) {
	h := newHarness(t, nil)
	r := h.run(context.Background(), "--help")
	assert.Equal(t, exitOK, r.code)
	for _, c := range commands() {
		assert.Contains(t, r.stdout, "  "+c.name+" ")
	}
	assert.Contains(t, r.stdout, "Exit codes:")

	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
				h := newHarness(t, nil)
				r := h.run(context.Background(), args...)
				assert.Equal(t, exitOK, r.code, "%v", args)
				assert.Contains(t, r.stdout, "Usage: mensatek "+c.name)
				_, example, _ := strings.Cut(r.stdout, "\nExample:\n")
				assert.Regexp(t, `(?m)^  mensatek `+c.name+`\b`, example)
				assert.Empty(t, r.stderr)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	for _, args := range [][]string{nil, {"bogus"}, {"help", "bogus"}} {
		h := newHarness(t, nil)
		r := h.run(context.Background(), args...)
		assert.Equal(t, exitUsage, r.code, "%v", args)
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
	}
}

func TestNoCredentials(t *testing.T) {
	srv, _ := newFake(t)
	h := newHarness(t, map[string]string{})
	r := h.api(srv, "templates")
	assertFailed(t, r, exitUsage, "no credentials", "MENSATEK_API_USER")
	assert.Zero(t, srv.Calls(mensatek.OpTemplates))
}

// The CLI reads the environment through mensatek.NewClientFromEnvFunc: a missing variable is
// named, and the flags win over the environment.
func TestEnvironmentAsTheLibraryReadsIt(t *testing.T) {
	srv, _ := newFake(t)
	h := newHarness(t, map[string]string{"MENSATEK_API_USER": srv.APIUser})
	r := h.api(srv, "templates")
	assertFailed(t, r, exitUsage, "no credentials: MENSATEK_API_TOKEN is not set", "--token-file")
	assert.NotContains(t, r.stderr, "MENSATEK_API_USER")

	// MENSATEK_BASE_URL alone reaches the fake, as 'mensatek fake' tells users to set it.
	h = newHarness(t, map[string]string{"MENSATEK_API_USER": srv.APIUser, "MENSATEK_API_TOKEN": srv.APIToken, "MENSATEK_BASE_URL": srv.URL})
	r = h.run(context.Background(), "templates")
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "customer_welcome")

	// A refused MENSATEK_BASE_URL is named; --base-url wins over it.
	h.env["MENSATEK_BASE_URL"] = "http://remote.example/v7/"
	h.reset()
	r = h.run(context.Background(), "templates")
	assertFailed(t, r, exitUsage, `MENSATEK_BASE_URL: "http://remote.example/v7/" must be https`)
	assert.NotContains(t, r.stderr, srv.APIToken)
	r = h.api(srv, "templates")
	assert.Equal(t, exitOK, r.code, r.stderr)

	// --user and --token-file win over the environment.
	file := t.TempDir() + "/token"
	require.NoError(t, writeFile(file, srv.APIToken))
	h = newHarness(t, map[string]string{"MENSATEK_API_USER": "someone-else", "MENSATEK_API_TOKEN": "wrong"})
	r = h.api(srv, "templates", "--user", srv.APIUser, "--token-file", file)
	assert.Equal(t, exitOK, r.code, r.stderr)
}

func TestTokenFileAndSecrecy(t *testing.T) {
	srv, _ := newFake(t)
	file := t.TempDir() + "/token"
	require.NoError(t, writeFile(file, srv.APIToken+"\n"))
	h := newHarness(t, map[string]string{})
	r := h.api(srv, "templates", "--user", srv.APIUser, "--token-file", file)
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "customer_welcome")

	// A wrong token is an API error, and neither token appears anywhere.
	require.NoError(t, writeFile(file, "wrong-token"))
	r = h.api(srv, "send", "--user", srv.APIUser, "--token-file", file, "--to", "34600000001", "--text", "hola")
	assertFailed(t, r, exitAPI, "authentication failed")
	for _, secret := range []string{srv.APIToken, "wrong-token"} {
		assert.NotContains(t, r.stdout+r.stderr, secret)
	}

	r = h.api(srv, "templates", "--user", srv.APIUser, "--token-file", t.TempDir()+"/missing")
	assertFailed(t, r, exitUsage, "--token-file")
}

func TestVersion(t *testing.T) {
	h := newHarness(t, nil)
	r := h.run(context.Background(), "version")
	assert.Equal(t, exitOK, r.code)
	assert.Contains(t, r.stdout, "SDK "+mensatek.Version)
	h.reset()
	r = h.run(context.Background(), "version", "--json")
	assert.Contains(t, r.stdout, `"sdk":"`+mensatek.Version+`"`)
}

func TestExitCode(t *testing.T) {
	apiErr := &mensatek.APIError{Operation: mensatek.OpSend, Code: -2, Message: "no credits", HTTPStatus: 200}
	for _, c := range []struct {
		err  error
		code int
	}{
		{nil, exitOK},
		{usagef("x"), exitUsage},
		{&mensatek.ValidationError{Field: "To", Reason: "x"}, exitValidation},
		{errors.Join(&mensatek.ValidationError{Field: "a"}, &mensatek.ValidationError{Field: "b"}), exitValidation},
		{apiErr, exitAPI},
		{fmt.Errorf("wrapped: %w", apiErr), exitAPI},
		{&mensatek.ResponseError{Operation: mensatek.OpSend}, exitAPI},
		{fmt.Errorf("%w: %w", mensatek.ErrOutcomeUnknown, apiErr), exitNetwork},
		{errors.New("dial tcp: connection refused"), exitNetwork},
		{&localError{errors.New("disk full")}, exitFailure},
		{context.Canceled, exitInterrupted},
	} {
		assert.Equal(t, c.code, exitCode(c.err), "%v", c.err)
	}
}

func TestOneLine(t *testing.T) {
	err := errors.Join(errors.New("mensatek: invalid To[0].Phone: bad"), errors.New("mensatek: invalid To[1].Phone: worse\x1b[2J"))
	assert.Equal(t, "invalid To[0].Phone: bad; invalid To[1].Phone: worse?[2J", oneLine(err))
}

func TestParseInterspersed(t *testing.T) {
	fs := newFlagSet("x")
	j := fs.Bool("json", false, "")
	h := newHarness(t, nil)
	pos, _, done := h.sys.parse("x", fs, helpText{}, []string{"42", "--json", "--", "--not-a-flag"})
	require.False(t, done)
	assert.True(t, *j)
	assert.Equal(t, []string{"42", "--not-a-flag"}, pos)
}

func TestParseAt(t *testing.T) {
	now := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	summer, err := parseAt("2030-07-01 10:00", now)
	require.NoError(t, err)
	assert.True(t, summer.Equal(time.Date(2030, 7, 1, 8, 0, 0, 0, time.UTC)), "CEST is UTC+2: %v", summer)
	winter, err := parseAt(" 2030-01-15  10:00 ", now)
	require.NoError(t, err)
	assert.True(t, winter.Equal(time.Date(2030, 1, 15, 9, 0, 0, 0, time.UTC)), "CET is UTC+1: %v", winter)

	_, err = parseAt("2030-03-31 02:30", now) // the clocks jump from 02:00 to 03:00
	assert.Equal(t, exitValidation, exitCode(err), "%v", err)
	_, err = parseAt("2028-12-31 10:00", now)
	assert.Equal(t, exitValidation, exitCode(err), "in the past: %v", err)
	_, err = parseAt("01/07/2030 10:00", now)
	assert.Equal(t, exitUsage, exitCode(err), "%v", err)
}

func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o600)
}
