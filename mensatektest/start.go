package mensatektest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Option configures a server made by [Start] or [NewServerAt].
type Option func(*config)

type config struct {
	user, token string
	credentials bool // WithCredentials was given
}

func newConfig(opts []Option) (config, error) {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.credentials {
		if err := checkCredentials(cfg.user, cfg.token); err != nil {
			return config{}, err
		}
	}
	return cfg, nil
}

// WithCredentials makes the server accept user and token instead of random credentials, so
// that code which reads its credentials from its own configuration, or tests written in any
// language, can use fixed ones. Neither may be empty, and user may not contain a colon (HTTP
// Basic auth cannot carry one).
func WithCredentials(user, token string) Option {
	return func(c *config) { c.user, c.token, c.credentials = user, token, true }
}

// Start starts a fake API like [NewServer] for the test t and closes it when the test and its
// subtests end (t.Cleanup), so a test needs no defer:
//
//	srv := mensatektest.Start(t)
//	client := srv.Client()
//
// An invalid option fails the test (t.Fatal).
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg, err := newConfig(opts)
	if err != nil {
		t.Fatal(err)
		return nil // for a testing.TB whose Fatal returns
	}
	s := newServer(cfg)
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.ts.URL + basePath
	t.Cleanup(s.Close)
	return s
}
