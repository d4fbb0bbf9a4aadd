package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// serve runs a long-running command (listen, fake) until the test cancels it, and returns the
// address it bound and a function that stops it and returns its result.
func serve(t *testing.T, h *harness, args ...string) (addr string, stop func() result) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	bound := make(chan string, 1)
	h.sys.listening = func(a string) { bound <- a }
	done := make(chan result, 1)
	go func() { done <- h.run(ctx, args...) }()
	select {
	case addr = <-bound:
	case r := <-done:
		cancel()
		t.Fatalf("%v ended early: %+v", args, r)
	case <-time.After(5 * time.Second):
		cancel()
		t.Fatalf("%v did not start", args)
	}
	var once result
	stopped := false
	stop = func() result {
		if !stopped {
			stopped = true
			cancel()
			once = <-done
		}
		return once
	}
	t.Cleanup(func() { stop() })
	return addr, stop
}

func TestListen(t *testing.T) {
	h := newHarness(t, nil)
	addr, stop := serve(t, h, "listen", "--addr", "127.0.0.1:0", "--user", "hook", "--password", "s3cret")
	url := "http://" + addr + "/"
	ctx := context.Background()

	status, err := mensatektest.DeliverWebhook(ctx, url, mensatektest.StatusChange(17, "34600000001", 2, "promo"),
		mensatektest.WithBasicAuth("hook", "s3cret"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)

	in := mensatektest.InboundText(10573758, "34600000002", "Hola 😃")
	status, err = mensatektest.DeliverWebhook(ctx, url, in, mensatektest.WithBasicAuth("hook", "s3cret"), mensatektest.AsForm())
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)

	// The same report again is answered but printed once; without credentials it is refused.
	status, err = mensatektest.DeliverWebhook(ctx, url, in, mensatektest.WithBasicAuth("hook", "s3cret"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	status, err = mensatektest.DeliverWebhook(ctx, url, mensatektest.InboundText(3, "34600000003", "x"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, status)

	r := stop()
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "Listening for Mensatek webhooks on http://"+addr+"/ (Basic auth required)")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2, r.stdout)

	var out eventJSON
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &out))
	assert.Equal(t, "OUTPUT", out.Direction)
	assert.Equal(t, int64(17), out.MessageID)
	assert.Equal(t, 2, out.Status)
	assert.Equal(t, "34600000001", out.Phone)
	assert.Equal(t, "promo", out.Reference)
	assert.NotEmpty(t, out.Time)
	assert.Nil(t, out.Message)

	var inbound map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &inbound))
	assert.Equal(t, "INPUT", inbound["direction"])
	assert.Equal(t, float64(10573758), inbound["message_id"])
	msg, _ := inbound["message"].(map[string]any)
	require.NotNil(t, msg, lines[1])
	assert.Equal(t, "text", msg["type"])
	assert.Equal(t, "Hola 😃", msg["text"])
	assert.Equal(t, map[string]any{"type": "text", "text": "Hola 😃"}, msg["raw"], "the raw message is kept as JSON")
}

func TestListenPretty(t *testing.T) {
	h := newHarness(t, map[string]string{})
	addr, stop := serve(t, h, "listen", "--addr", "127.0.0.1:0", "--pretty", "--no-auth")
	url := "http://" + addr + "/"
	ctx := context.Background()
	for _, w := range []mensatektest.Webhook{
		mensatektest.InboundButtonReply(5, "34600000001", "yes", "Yes"),
		mensatektest.InboundText(6, "34600000001", "line one\n\x1b[31mred"),
	} {
		status, err := mensatektest.DeliverWebhook(ctx, url, w)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
	}
	r := stop()
	assert.Equal(t, exitOK, r.code)
	assert.Contains(t, r.stderr, "no auth (--no-auth): anyone can post")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2, r.stdout)
	assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  in   from 34600000001 \(Customer\)  message 5  status 8  interactive button_reply id="yes" "Yes"$`, lines[0])
	assert.Contains(t, lines[1], `text "line one\n\x1b[31mred"`, "text is quoted: no terminal escapes get through")
}

func TestListenErrors(t *testing.T) {
	h := newHarness(t, nil)
	r := h.run(context.Background(), "listen", "--user", "hook")
	assertFailed(t, r, exitUsage, "both --user and --password")
	// No credentials is a choice to make explicitly: anyone could post a BAJA or an ALTA.
	h.reset()
	r = h.run(context.Background(), "listen", "--addr", "127.0.0.1:0")
	assertFailed(t, r, exitUsage, "no credentials: give --user and --password (or MENSATEK_WEBHOOK_USER and MENSATEK_WEBHOOK_PASSWORD), or --no-auth")
	h.reset()
	r = h.run(context.Background(), "listen", "--user", "hook", "--password", "s3cret", "--no-auth")
	assertFailed(t, r, exitUsage, "--no-auth")
	h.reset()
	r = h.run(context.Background(), "listen", "--user", "ho:ok", "--password", "s3cret")
	assertFailed(t, r, exitUsage, "colon")

	addr, _ := serve(t, newHarness(t, nil), "listen", "--addr", "127.0.0.1:0", "--no-auth")
	h.reset()
	r = h.run(context.Background(), "listen", "--addr", addr, "--no-auth")
	assertFailed(t, r, exitFailure, "address already in use")
}

func TestFake(t *testing.T) {
	h := newHarness(t, nil)
	addr, stop := serve(t, h, "fake", "--addr", "127.0.0.1:0", "--user", "ci", "--token", "ci-secret", "--credits", "50", "--json")
	var info fakeJSON
	require.NoError(t, json.Unmarshal([]byte(h.stdout.String()), &info))
	assert.Equal(t, fakeJSON{URL: "http://" + addr + "/v7/", User: "ci", Token: "ci-secret", Addr: addr, Credits: 50}, info)

	// A client of the SDK, and the command itself, use it.
	client, err := mensatek.NewClient("ci", "ci-secret", mensatek.WithBaseURL(info.URL))
	require.NoError(t, err)
	list, err := client.Templates(context.Background())
	require.NoError(t, err)
	assert.Len(t, list, 2)

	cli := newHarness(t, map[string]string{"MENSATEK_API_USER": "ci", "MENSATEK_API_TOKEN": "ci-secret", "MENSATEK_BASE_URL": info.URL})
	r := cli.run(context.Background(), "send", "--to", "34600000001", "--text", "hola")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "Message 1 sent to 1 recipient (0 not sent); 49 credits left.\n", r.stdout)

	r = stop()
	assert.Equal(t, exitOK, r.code, r.stderr)
	_, err = client.Templates(context.Background())
	assert.Error(t, err, "stopped")
}

func TestFakeText(t *testing.T) {
	h := newHarness(t, nil)
	addr, stop := serve(t, h, "fake", "--addr", "127.0.0.1:0")
	out := h.stdout.String()
	assert.Contains(t, out, "Fake Mensatek API at http://"+addr+"/v7/")
	assert.Contains(t, out, "export MENSATEK_BASE_URL=http://"+addr+"/v7/ MENSATEK_API_USER=test-")
	assert.Contains(t, out, "mensatek.NewClientFromEnv() reads the same variables")
	assert.Equal(t, exitOK, stop().code)
}

func TestFakeErrors(t *testing.T) {
	h := newHarness(t, nil)
	assertFailed(t, h.run(context.Background(), "fake", "--user", "only"), exitUsage, "both --user and --token")
	h.reset()
	assertFailed(t, h.run(context.Background(), "fake", "--user", "a:b", "--token", "t"), exitUsage, "colon")
	h.reset()
	assertFailed(t, h.run(context.Background(), "fake", "--addr", "256.0.0.1:99999"), exitFailure)
}

func TestShellQuote(t *testing.T) {
	assert.Equal(t, "test-abc", shellQuote("test-abc"))
	assert.Equal(t, `'it'\''s'`, shellQuote("it's"))
	assert.Equal(t, "''", shellQuote(""))
}
