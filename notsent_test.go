package mensatek

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// operation is one call of the client, with valid arguments.
type operation struct {
	name string
	call func(ctx context.Context, c *Client) error
}

// everyOperation lists a call of each operation the client has, the checked send included.
func everyOperation() []operation {
	return []operation{
		{"send", func(ctx context.Context, c *Client) error {
			_, err := c.SendText(ctx, "34600000001", "hola")
			return err
		}},
		{"checked send", func(ctx context.Context, c *Client) error {
			_, err := c.SendTemplateChecked(ctx, "customer_welcome", goodRecipient("34600000001"))
			return err
		}},
		{"typing", func(ctx context.Context, c *Client) error {
			_, err := c.SendTyping(ctx, 1, "34600000001")
			return err
		}},
		{"media download", func(ctx context.Context, c *Client) error {
			_, err := c.DownloadMedia(ctx, 1, "34600000001")
			return err
		}},
		{"media download to a writer", func(ctx context.Context, c *Client) error {
			_, err := c.DownloadMediaTo(ctx, 1, "34600000001", io.Discard)
			return err
		}},
		{"account status", func(ctx context.Context, c *Client) error {
			_, err := c.SetAccountStatus(ctx, "hola")
			return err
		}},
		{"templates", func(ctx context.Context, c *Client) error {
			_, err := c.Templates(ctx)
			return err
		}},
		{"template variables", func(ctx context.Context, c *Client) error {
			_, err := c.TemplateVariables(ctx, "572863982585983")
			return err
		}},
		{"template by name", func(ctx context.Context, c *Client) error {
			_, err := c.TemplateByName(ctx, "customer_welcome")
			return err
		}},
	}
}

// failurePath is one way a call fails, and which of the two sentinels its error must match:
// ErrNotSent, ErrOutcomeUnknown, or neither (nil).
type failurePath struct {
	name string
	err  func(t *testing.T) error
	want error
	// reached: the API got a request of the call (the server counts it, or the reply is an
	// *APIError); such an error never matches ErrNotSent.
	reached bool
}

// dnsFailing is a client whose every connection fails to resolve the host.
func dnsFailing() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(_ context.Context, network, _ string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "api.mensatek.invalid", IsNotFound: true}}
	}
	return &http.Client{Transport: tr}
}

// roundTrips answers each request with the next function; the last repeats.
type roundTrips []func(*http.Request) (*http.Response, error)

func (rt *roundTrips) RoundTrip(r *http.Request) (*http.Response, error) {
	f := (*rt)[0]
	if len(*rt) > 1 {
		*rt = (*rt)[1:]
	}
	return f(r)
}

func tooManyRequests(r *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, r.Body)
	return &http.Response{StatusCode: http.StatusTooManyRequests, Status: "429 Too Many Requests", Header: http.Header{},
		Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

func dialRefused(*http.Request) (*http.Response, error) {
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
}

// tlsServer starts a TLS server that a default client does not trust, counting the requests it
// gets (none: every handshake fails).
func tlsServer(t *testing.T, requests *atomic.Int32) string {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		writeReply(w, 200, sendOK)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL + "/v7/"
}

// notSentPaths are the failures for which nothing reached the API.
func notSentPaths() []failurePath {
	var paths []failurePath
	local := func(name string, f func(c *Client) error) {
		paths = append(paths, failurePath{name: "validation: " + name, want: ErrNotSent, err: func(t *testing.T) error {
			fx := setup(t) // no handler: a request that left fails the test
			err := f(fx.client)
			assert.Zero(t, fx.hits.Load())
			var ve *ValidationError
			assert.ErrorAs(t, err, &ve)
			return err
		}})
	}
	ctx := context.Background()
	local("send without recipients", func(c *Client) error {
		_, err := c.Send(ctx, SendRequest{Message: Text{Body: "hola"}})
		return err
	})
	local("send to a malformed phone", func(c *Client) error { _, err := c.SendText(ctx, "12", "hola"); return err })
	local("text over the limit", func(c *Client) error {
		_, err := c.SendText(ctx, "34600000001", strings.Repeat("a", MaxTextLength+1))
		return err
	})
	local("typing without a message id", func(c *Client) error { _, err := c.SendTyping(ctx, 0, "34600000001"); return err })
	local("media download from a malformed phone", func(c *Client) error { _, err := c.DownloadMedia(ctx, 1, "x"); return err })
	local("media download to a nil writer", func(c *Client) error {
		_, err := c.DownloadMediaTo(ctx, 1, "34600000001", nil)
		return err
	})
	local("empty account status", func(c *Client) error { _, err := c.SetAccountStatus(ctx, ""); return err })
	local("template variables without an id", func(c *Client) error { _, err := c.TemplateVariables(ctx, ""); return err })
	local("template by an empty name", func(c *Client) error { _, err := c.TemplateByName(ctx, ""); return err })
	local("checked send with a malformed phone", func(c *Client) error {
		_, err := c.SendTemplateChecked(ctx, "customer_welcome", goodRecipient("12"))
		return err
	})
	local("TemplateDetails.Validate: missing variables", func(*Client) error {
		return refDetails().Validate(Recipient{Phone: "34600000001"})
	})
	paths = append(paths,
		failurePath{name: "validation: checked send with a missing variable", want: ErrNotSent, err: func(t *testing.T) error {
			ts := newTemplateServer(t)
			_, err := ts.client.SendTemplateChecked(ctx, "customer_welcome", Recipient{Phone: "34600000001"})
			assert.Zero(t, ts.sends.Load())
			var problems ValidationErrors
			assert.ErrorAs(t, err, &problems)
			return err
		}},
		failurePath{name: "checked send: template not found", want: ErrNotSent, err: func(t *testing.T) error {
			ts := newTemplateServer(t)
			_, err := ts.client.SendTemplateChecked(ctx, "no_such_template", goodRecipient("34600000001"))
			assert.Zero(t, ts.sends.Load())
			assert.ErrorIs(t, err, ErrTemplateNotFound)
			assert.IsType(t, &TemplateError{}, err, "returned as it was, not wrapped")
			return err
		}},
		failurePath{name: "checked send: template not approved", want: ErrNotSent, err: func(t *testing.T) error {
			ts := newTemplateServer(t)
			_, err := ts.client.SendTemplateChecked(ctx, "appointment_reminder", goodRecipient("34600000001"))
			assert.Zero(t, ts.sends.Load())
			assert.ErrorIs(t, err, ErrTemplateNotApproved)
			return err
		}},
	)

	consent := func(name string, store ContactStore, msg Message, is error) {
		paths = append(paths, failurePath{name: "consent: " + name, want: ErrNotSent, err: func(t *testing.T) error {
			fx := setup(t, WithContacts(store))
			_, err := fx.client.Send(ctx, SendRequest{To: []Recipient{{Phone: "34600000001"}}, Message: msg})
			assert.Zero(t, fx.hits.Load())
			if is != nil {
				assert.ErrorIs(t, err, is)
				var ce *ContactError
				assert.ErrorAs(t, err, &ce)
			}
			return err
		}})
	}
	optedOut := NewMemoryContactStore()
	_ = optedOut.SetOptOut(ctx, "34600000001", true, time.Now(), "test")
	consent("opted out", optedOut, Template{Name: "customer_welcome"}, ErrOptedOut)
	consent("outside the service window", NewMemoryContactStore(), Text{Body: "hola"}, ErrOutsideServiceWindow)
	consent("contact store failed", brokenContacts{}, Text{Body: "hola"}, nil)
	consent("contact store saw the context end", NewMemoryContactStore(), Text{Body: "hola"}, nil)
	paths[len(paths)-1].err = func(t *testing.T) error {
		fx := setup(t, WithContacts(NewMemoryContactStore()))
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := fx.client.SendText(cctx, "34600000001", "hola")
		assert.ErrorIs(t, err, context.Canceled)
		return err
	}

	for _, op := range everyOperation() {
		paths = append(paths,
			failurePath{name: "context cancelled before: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				fx := setup(t)
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				err := op.call(cctx, fx.client)
				assert.ErrorIs(t, err, context.Canceled)
				assert.Zero(t, fx.hits.Load())
				return err
			}},
			failurePath{name: "context expired before: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				fx := setup(t)
				cctx, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
				defer cancel()
				err := op.call(cctx, fx.client)
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				assert.Zero(t, fx.hits.Load())
				return err
			}},
			failurePath{name: "connection refused: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				return op.call(ctx, newTestClient(t, closedPortURL(t), fastRetries()))
			}},
			failurePath{name: "DNS failure: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				c := newTestClient(t, "https://api.mensatek.invalid/v7/", WithHTTPClient(dnsFailing()))
				err := op.call(ctx, c)
				var dnsErr *net.DNSError
				assert.ErrorAs(t, err, &dnsErr)
				return err
			}},
			failurePath{name: "TLS failure: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				var requests atomic.Int32
				err := op.call(ctx, newTestClient(t, tlsServer(t, &requests)))
				assert.Zero(t, requests.Load())
				assert.ErrorContains(t, err, "certificate")
				return err
			}},
			failurePath{name: "connect pending at the timeout: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				var dials atomic.Int32
				fx := setup(t, WithTimeout(20*time.Millisecond), WithHTTPClient(hangingDialer(&dials)))
				err := op.call(ctx, fx.client)
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				assert.Zero(t, fx.hits.Load())
				return err
			}},
			failurePath{name: "limiter refused: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				fx := setup(t, WithLimiter(&countingLimiter{}))
				err := op.call(ctx, fx.client)
				assert.ErrorIs(t, err, errFull)
				assert.Zero(t, fx.hits.Load())
				return err
			}},
			failurePath{name: "limiter turn past the deadline: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				fx := setup(t, WithRateLimit(0.001, 1))
				fx.client.limiter.Wait(ctx) // spend the burst: the next turn is in 1000 s
				cctx, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				err := op.call(cctx, fx.client)
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				assert.Zero(t, fx.hits.Load())
				return err
			}},
			failurePath{name: "auth cooldown: " + op.name, want: ErrNotSent, err: func(t *testing.T) error {
				fx := setup(t, WithAuthCooldown(time.Hour))
				fx.reply(t, "GetPlantillasWhatsapp", 200, `[{"Res":"-1","Error":"Usuario incorrecto"}]`)
				_, err := fx.client.Templates(ctx)
				require.ErrorIs(t, err, ErrAuthentication)
				assert.NotErrorIs(t, err, ErrNotSent, "the API refused this one")
				fx.client.ForgetTemplates()
				err = op.call(ctx, fx.client)
				assert.ErrorIs(t, err, ErrAuthentication)
				assert.Equal(t, int64(1), fx.hits.Load())
				return err
			}},
		)
	}
	paths = append(paths, failurePath{name: "context ended in the wait after a dial failure", want: ErrNotSent, err: func(t *testing.T) error {
		cctx, cancel := context.WithCancel(ctx)
		onRetry := slog.New(handlerFunc(func(r slog.Record) {
			if r.Message == "mensatek retry" {
				cancel()
			}
		}))
		c := newTestClient(t, closedPortURL(t), WithLogger(onRetry),
			WithRetryPolicy(RetryPolicy{MaxRetries: 3, InitialBackoff: time.Hour, MaxBackoff: time.Hour}))
		_, err := c.SendText(cctx, "34600000001", "hola")
		assert.ErrorIs(t, err, context.Canceled)
		return err
	}})
	return paths
}

// brokenContacts is a contact store that cannot be read.
type brokenContacts struct{ ContactStore }

func (brokenContacts) Contacts(context.Context, []string) (map[string]Contact, error) {
	return nil, errors.New("connection refused")
}

// reachedPaths are failures after a request of the call reached the API: an unknown outcome for
// a send, an *APIError, or a read that failed.
func reachedPaths() []failurePath {
	var paths []failurePath
	ctx := context.Background()
	mutating := map[string]func(ctx context.Context, c *Client) error{
		"send": func(ctx context.Context, c *Client) error {
			_, err := c.SendText(ctx, "34600000001", "hola")
			return err
		},
		"account status": func(ctx context.Context, c *Client) error {
			_, err := c.SetAccountStatus(ctx, "hola")
			return err
		},
	}
	for _, tt := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"5xx without Res", status(500, `{"Error":"database down"}`)},
		{"truncated reply", status(200, `[{"Res":"1","idMensaje":"12`)},
		{"connection dropped after the request", hangUp},
	} {
		for name, call := range mutating {
			paths = append(paths, failurePath{name: "outcome unknown: " + tt.name + ": " + name, want: ErrOutcomeUnknown, reached: true,
				err: func(t *testing.T) error {
					fx := setup(t)
					fx.handle("EnviarWHATSAPP", tt.handler)
					fx.handle("CambiarEstadoWhatsapp", tt.handler)
					return call(ctx, fx.client)
				}})
		}
	}
	// The context ends once the server has the request: no timing involved.
	for name, call := range mutating {
		paths = append(paths, failurePath{name: "outcome unknown: context ended after the request arrived: " + name, want: ErrOutcomeUnknown,
			reached: true, err: func(t *testing.T) error {
				fx := setup(t)
				cctx, cancel := context.WithCancel(ctx)
				h := func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body)
					cancel()
					<-r.Context().Done()
				}
				fx.handle("EnviarWHATSAPP", h)
				fx.handle("CambiarEstadoWhatsapp", h)
				err := call(cctx, fx.client)
				assert.ErrorIs(t, err, context.Canceled)
				return err
			}})
	}
	paths = append(paths, failurePath{name: "outcome unknown: accepted send with an unreadable field", want: ErrOutcomeUnknown, reached: true,
		err: func(t *testing.T) error {
			fx := setup(t)
			fx.reply(t, "EnviarWHATSAPP", 200, `{"Res":"1","idMensaje":"doce"}`)
			res, err := fx.client.SendText(ctx, "34600000001", "hola")
			assert.NotNil(t, res)
			return err
		}})
	for _, tt := range []struct{ name, body string }{
		{"authentication refused", `{"Res":"-1","Error":"Usuario incorrecto"}`},
		{"no credits", `{"Res":"-2"}`},
		{"data refused", `{"Res":"-3","Error":"Teléfono no válido"}`},
		{"another code", `{"Res":"-7"}`},
	} {
		for _, op := range everyOperation() {
			if op.name == "checked send" {
				continue // its template list is what the API refuses; covered by "template list"
			}
			paths = append(paths, failurePath{name: "API refusal: " + tt.name + ": " + op.name, reached: true, err: func(t *testing.T) error {
				fx := setup(t)
				for _, f := range []string{"EnviarWHATSAPP", "EscribiendoWhatsapp", "DescargarMultimediaWhatsapp", "CambiarEstadoWhatsapp",
					"GetPlantillasWhatsapp", "GetVariablesPlantillaWhatsapp"} {
					fx.reply(t, f, 200, tt.body)
				}
				return op.call(ctx, fx.client)
			}})
		}
	}
	for _, code := range []int{400, 401, 403, 404, 429} {
		paths = append(paths, failurePath{name: "HTTP " + http.StatusText(code) + ": send", reached: true, err: func(t *testing.T) error {
			fx := setup(t)
			fx.reply(t, "EnviarWHATSAPP", code, "no")
			_, err := fx.client.SendText(ctx, "34600000001", "hola")
			return err
		}})
	}
	paths = append(paths,
		failurePath{name: "429 after retries: send", reached: true, err: func(t *testing.T) error {
			fx := setup(t, fastRetries())
			s := &script{answers: []func(http.ResponseWriter, *http.Request){status(429, "")}}
			fx.handle("EnviarWHATSAPP", s.serve)
			_, err := fx.client.SendText(ctx, "34600000001", "hola")
			assert.Equal(t, 3, s.count())
			return err
		}},
		failurePath{name: "429, then a dial failure: send", reached: true, err: func(t *testing.T) error {
			// The last attempt never left, but the first reached the API: not ErrNotSent.
			rt := &roundTrips{tooManyRequests, dialRefused}
			c := newTestClient(t, "https://api.mensatek.com/v7/", WithHTTPClient(&http.Client{Transport: rt}), fastRetries())
			_, err := c.SendText(ctx, "34600000001", "hola")
			assert.ErrorContains(t, err, "connection refused")
			return err
		}},
		failurePath{name: "read: 5xx: templates", reached: true, err: func(t *testing.T) error {
			fx := setup(t)
			fx.reply(t, "GetPlantillasWhatsapp", 503, "down")
			_, err := fx.client.Templates(ctx)
			return err
		}},
		failurePath{name: "read: connection dropped: typing", reached: true, err: func(t *testing.T) error {
			fx := setup(t)
			fx.handle("EscribiendoWhatsapp", hangUp)
			_, err := fx.client.SendTyping(ctx, 1, "34600000001")
			return err
		}},
		failurePath{name: "read: template by name not found", reached: true, err: func(t *testing.T) error {
			// A read the API answered; only a checked send, which did not send, makes it ErrNotSent.
			ts := newTemplateServer(t)
			_, err := ts.client.TemplateByName(ctx, "no_such_template")
			assert.ErrorIs(t, err, ErrTemplateNotFound)
			return err
		}},
		failurePath{name: "checked send: template list refused", reached: true, err: func(t *testing.T) error {
			fx := setup(t)
			fx.reply(t, "GetPlantillasWhatsapp", 200, `[{"Res":"-1","Error":"Usuario incorrecto"}]`)
			_, err := fx.client.SendTemplateChecked(ctx, "customer_welcome", goodRecipient("34600000001"))
			return err
		}},
	)
	return paths
}

// Every failure path the SDK has: ErrNotSent matches exactly those for which nothing reached the
// API, ErrOutcomeUnknown those after which a send may have happened; never both, and never an
// error the API answered.
func TestErrNotSentAndOutcomeUnknownAreExclusive(t *testing.T) {
	t.Parallel()
	for _, p := range append(notSentPaths(), reachedPaths()...) {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			err := p.err(t)
			require.Error(t, err)
			notSent, unknown := errors.Is(err, ErrNotSent), errors.Is(err, ErrOutcomeUnknown)
			assert.False(t, notSent && unknown, "both sentinels: %v", err)
			assert.Equal(t, p.want == ErrNotSent, notSent, "errors.Is(err, ErrNotSent): %v", err)
			assert.Equal(t, p.want == ErrOutcomeUnknown, unknown, "errors.Is(err, ErrOutcomeUnknown): %v", err)
			var apiErr *APIError
			if errors.As(err, &apiErr) {
				var cooling *authCooldownError
				assert.True(t, !notSent || errors.As(err, &cooling),
					"an *APIError is an answer of the API, never ErrNotSent (the cooldown only quotes an earlier one): %v", err)
			}
			if p.reached {
				assert.False(t, notSent)
			}
		})
	}
}

// The sentinel and the types that match it, alone.
func TestErrNotSentTypes(t *testing.T) {
	t.Parallel()
	assert.ErrorIs(t, &ValidationError{Field: "To", Reason: "x"}, ErrNotSent)
	assert.ErrorIs(t, ValidationErrors{{Field: "To[0].Phone"}, {Field: "To[1].Phone"}}, ErrNotSent)
	assert.ErrorIs(t, &ContactError{Phone: "34600000001", err: ErrOptedOut}, ErrNotSent)
	assert.ErrorIs(t, &ContactError{Phone: "34600000001", err: ErrOutsideServiceWindow}, ErrNotSent)
	for _, err := range []error{
		&APIError{Operation: OpSend, HTTPStatus: 429},
		&APIError{Operation: OpSend, Code: CodeInvalidRequest},
		&ResponseError{Operation: OpTemplates, HTTPStatus: 200, Reason: "empty"},
		&outcomeError{op: OpSend, cause: errors.New("EOF")},
	} {
		assert.NotErrorIs(t, err, ErrNotSent)
	}
	// A template error matches only from a checked send.
	assert.NotErrorIs(t, &TemplateError{Name: "x", err: ErrTemplateNotFound}, ErrNotSent)
	assert.ErrorIs(t, &TemplateError{Name: "x", err: ErrTemplateNotFound, checkedSend: true}, ErrNotSent)

	// The marker reads as what it marks, and keeps every match of it.
	inner := &TemplateError{Name: "x", err: ErrTemplateNotFound}
	err := markNotSent(inner)
	assert.Equal(t, inner.Error(), err.Error())
	assert.ErrorIs(t, err, ErrNotSent)
	assert.ErrorIs(t, err, ErrTemplateNotFound)
	var te *TemplateError
	require.ErrorAs(t, err, &te)
	assert.Same(t, inner, te)
	assert.Equal(t, "mensatek: not sent: nothing reached the API", ErrNotSent.Error())
}

// A joined consent refusal keeps its per-recipient errors and matches ErrNotSent once.
func TestErrNotSentConsentJoin(t *testing.T) {
	t.Parallel()
	store := NewMemoryContactStore()
	ctx := context.Background()
	require.NoError(t, store.SetOptOut(ctx, "34600000001", true, time.Now(), "test"))
	fx := setup(t, WithContacts(store))
	_, err := fx.client.Send(ctx, SendRequest{To: []Recipient{{Phone: "34600000001"}, {Phone: "34600000002"}}, Message: Text{Body: "hola"}})
	require.ErrorIs(t, err, ErrNotSent)
	assert.ErrorIs(t, err, ErrOptedOut)
	assert.ErrorIs(t, err, ErrOutsideServiceWindow)
	assert.Equal(t, 2, strings.Count(err.Error(), "not sent to"))
}
