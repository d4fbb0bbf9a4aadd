package mensatektest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// NewServerAt starts a fake API like [NewServer], but listening on addr ("127.0.0.1:8080",
// ":8080", or "127.0.0.1:0" for any free port) instead of a random loopback port: for running
// the fake as a process of its own, as the mensatek command's fake does, that programs in any
// language can call. Close it when done.
//
// Its URL names the address it listens on, except that an unspecified host ("", "0.0.0.0",
// "::") is written as 127.0.0.1: the Go client accepts plain http only for loopback hosts.
func NewServerAt(addr string, opts ...Option) (*Server, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mensatektest: %w", err)
	}

	s := newServer(cfg)
	ts := &httptest.Server{
		Listener: l,
		Config:   &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 30 * time.Second},
	}
	ts.Start()
	s.ts = ts
	s.URL = "http://" + urlHost(l.Addr()) + basePath
	return s, nil
}

func checkCredentials(user, token string) error {
	switch {
	case user == "" || token == "":
		return errors.New("mensatektest: WithCredentials: the user and the token must both be set")
	case strings.Contains(user, ":"):
		return errors.New("mensatektest: WithCredentials: the user may not contain a colon")
	case strings.ContainsFunc(user+token, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return errors.New("mensatektest: WithCredentials: the credentials may not contain control characters")
	}
	return nil
}

// urlHost returns the host:port a client on this machine uses to reach a listener on a.
func urlHost(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}
