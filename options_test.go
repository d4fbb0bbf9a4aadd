package mensatek

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewClientOptionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  Option
		want string
	}{
		{"nil http client", WithHTTPClient(nil), "nil *http.Client"},
		{"negative timeout", WithTimeout(-time.Second), "negative"},
		{"negative cache TTL", WithTemplateCacheTTL(-time.Second), "negative"},
		{"user agent with CR LF", WithUserAgent("x\r\nAuthorization: y"), "line break"},
		{"user agent with LF", WithUserAgent("x\ny"), "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(testUser, testToken, tt.opt)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	// A nil option is skipped.
	_, err := NewClient(testUser, testToken, nil)
	assert.NoError(t, err)
}

func TestWithBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string // want "" means an error
		wantErr  string
	}{
		{in: "https://api.mensatek.com/v7/", want: "https://api.mensatek.com/v7/"},
		{in: "https://api.mensatek.com/v7", want: "https://api.mensatek.com/v7/"},
		{in: " https://api.mensatek.com/v7 ", want: "https://api.mensatek.com/v7/"},
		{in: "https://proxy.example.com", want: "https://proxy.example.com/"},
		{in: "HTTPS://api.mensatek.com/v7/", want: "https://api.mensatek.com/v7/"},
		{in: "http://localhost:8080/v7", want: "http://localhost:8080/v7/"},
		{in: "http://LOCALHOST/", want: "http://LOCALHOST/"},
		{in: "http://api.localhost/", wantErr: "must be https"}, // proxies do not bypass *.localhost
		{in: "http://127.0.0.1:9/v7/", want: "http://127.0.0.1:9/v7/"},
		{in: "http://127.3.2.1/", want: "http://127.3.2.1/"},
		{in: "http://[::1]:8080/v7/", want: "http://[::1]:8080/v7/"},
		{in: "http://api.mensatek.com/v7/", wantErr: "must be https"},
		{in: "http://localhost.example.com/", wantErr: "must be https"},
		{in: "http://10.0.0.1/", wantErr: "must be https"},
		{in: "http://0.0.0.0/", wantErr: "must be https"},
		{in: "http://[::2]/", wantErr: "must be https"},
		{in: "ftp://api.mensatek.com/v7/", wantErr: "https"},
		{in: "ws://localhost/", wantErr: "https"},
		{in: "https://someone:hunter2pw@api.mensatek.com/v7/", wantErr: "credentials"},
		{in: "https://someone@api.mensatek.com/v7/", wantErr: "credentials"},
		{in: "http://someone:hunter2pw@localhost/", wantErr: "credentials"},
		{in: "https://api.mensatek.com/v7/?Resp=JSON", wantErr: "query"},
		{in: "https://api.mensatek.com/v7/?", wantErr: "query"}, // would send to .../v7/?EnviarWHATSAPP
		{in: "https://api.mensatek.com/v7/#top", wantErr: "fragment"},
		{in: "api.mensatek.com/v7/", wantErr: "no host"},
		{in: "https:///v7/", wantErr: "no host"},
		{in: "", wantErr: "no host"},
		{in: "https://api.mensatek.com/%zz", wantErr: "invalid URL escape"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := NewClient(testUser, testToken, WithBaseURL(tt.in))
			if tt.want == "" {
				require.Error(t, err)
				assert.Nil(t, c)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "hunter2pw")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.BaseURL())
		})
	}
}

func TestBaseURLWithAndWithoutSlash(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{"/v7", "/v7/"} {
		t.Run(suffix, func(t *testing.T) {
			fx := setup(t)
			c := newTestClient(t, fx.server.URL+suffix)
			rec := fx.reply(t, "EnviarWHATSAPP", http.StatusOK, okSendReply)
			_, err := c.SendText(context.Background(), "34600000001", "hola")
			require.NoError(t, err)
			assert.Equal(t, 1, rec.count())
		})
	}
	t.Run("no path", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			assert.Equal(t, "/GetPlantillasWhatsapp", r.URL.Path)
			writeReply(w, 200, `{"Res":1}`)
		}))
		defer srv.Close()
		_, err := newTestClient(t, srv.URL).Templates(context.Background())
		require.NoError(t, err)
	})
}

func TestWithEndpoint(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	c := newTestClient(t, fx.server.URL+"/v7/",
		WithEndpoint(OpTyping, "SetTypingWhatsapp"),
		WithEndpoint(OpSend, "EnviarWHATSAPP2"))
	assert.Equal(t, "SetTypingWhatsapp", c.Endpoint(OpTyping))
	assert.Equal(t, "EnviarWHATSAPP2", c.Endpoint(OpSend))
	assert.Equal(t, "GetPlantillasWhatsapp", c.Endpoint(OpTemplates))

	typing := fx.reply(t, "SetTypingWhatsapp", http.StatusOK, okReply)
	send := fx.reply(t, "EnviarWHATSAPP2", http.StatusOK, okSendReply)
	_, err := c.SendTyping(context.Background(), 5, "34600000001")
	require.NoError(t, err)
	_, err = c.SendText(context.Background(), "34600000001", "hola")
	require.NoError(t, err)
	assert.Equal(t, 1, typing.count())
	assert.Equal(t, 1, send.count())
}

func TestWithEndpointInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		op       Operation
		function string
		want     string
	}{
		{"nope", "EnviarWHATSAPP", "unknown operation"},
		{"", "EnviarWHATSAPP", "unknown operation"},
		{OpSend, "", "invalid function name"},
		{OpSend, "a/b", "invalid function name"},
		{OpSend, "../admin", "invalid function name"},
		{OpSend, "a?b=1", "invalid function name"},
		{OpSend, "a#b", "invalid function name"},
		{OpSend, "a b", "invalid function name"},
		{OpSend, "a%2Fb", "invalid function name"},
		{OpSend, "a\r\nb", "invalid function name"},
	}
	for _, tt := range tests {
		c, err := NewClient(testUser, testToken, WithEndpoint(tt.op, tt.function))
		require.Error(t, err, "%q %q", tt.op, tt.function)
		assert.Nil(t, c)
		assert.Contains(t, err.Error(), tt.want)
	}
}

func TestWithUserAgent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts []Option
		want string
	}{
		{"default", nil, "mensatek-go/" + Version},
		{"custom", []Option{WithUserAgent("shop-backend/2.1")}, "shop-backend/2.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fx := setup(t, tt.opts...)
			fx.handle("GetPlantillasWhatsapp", func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, tt.want, r.Header.Get("User-Agent"))
				writeReply(w, 200, `{"Res":1}`)
			})
			_, err := fx.client.Templates(context.Background())
			require.NoError(t, err)
		})
	}
}

func TestWithTimeout(t *testing.T) {
	t.Parallel()
	// Long enough that the request is surely written before it fires, even under -race on a
	// loaded machine: the send is then an unknown outcome, not a request that never left.
	fx := setup(t, WithTimeout(time.Second))
	fx.handle("GetPlantillasWhatsapp", slowHandler(t))
	fx.handle("EnviarWHATSAPP", slowHandler(t))

	start := time.Now()
	_, err := fx.client.Templates(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "call took longer than 1s (WithTimeout): context deadline exceeded")
	assert.NotErrorIs(t, err, ErrOutcomeUnknown, "a read has no outcome to be unsure of")
	assert.Less(t, time.Since(start), 5*time.Second)

	// The send's request was written before the timeout: it may have been sent.
	_, err = fx.client.SendText(context.Background(), "34600000001", "hola")
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, ErrOutcomeUnknown)
}

// A caller's deadline that comes before WithTimeout's ends the call, and the error says it was
// the caller's; one that comes after leaves WithTimeout in charge.
func TestWithTimeoutAndTheCallersDeadline(t *testing.T) {
	t.Parallel()
	fx := setup(t, WithTimeout(time.Hour))
	fx.handle("GetPlantillasWhatsapp", slowHandler(t))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := fx.client.Templates(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotContains(t, err.Error(), "WithTimeout")

	fx = setup(t, WithTimeout(200*time.Millisecond))
	fx.handle("GetPlantillasWhatsapp", slowHandler(t))
	ctx, cancel = context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	_, err = fx.client.Templates(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "call took longer than 200ms (WithTimeout)")
}

// A timeout while the reply's body is arriving is still a timeout.
func TestWithTimeoutDuringBody(t *testing.T) {
	t.Parallel()
	fx := setup(t, WithTimeout(time.Second))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	stall := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[{"Res":"1",`)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	fx.handle("GetPlantillasWhatsapp", stall)
	fx.handle("EnviarWHATSAPP", stall)

	_, err := fx.client.Templates(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)

	_, err = fx.client.SendText(context.Background(), "34600000001", "hola")
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, ErrOutcomeUnknown)
}

func TestWithLogger(t *testing.T) {
	t.Parallel()
	logger, buf := newLogger(slog.LevelDebug)
	fx := setup(t, WithLogger(logger))
	const (
		body   = "cuerpo-del-mensaje-Jx81"
		status = "estado-de-la-cuenta-Pq42"
	)
	fx.reply(t, "EnviarWHATSAPP", 200, okSendReply)
	fx.reply(t, "EscribiendoWhatsapp", 200, okReply)
	fx.reply(t, "CambiarEstadoWhatsapp", 200, okReply)
	fx.reply(t, "GetPlantillasWhatsapp", 200, `[{"Res":"-1","Error":"Usuario o token incorrecto"}]`)
	fx.handle("DescargarMultimediaWhatsapp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		io.WriteString(w, "jpeg-bytes-Zz93")
	})
	ctx := context.Background()

	steps := []struct {
		op     Operation
		status float64
		res    float64
		fails  bool
		call   func() error
	}{
		{OpSend, 200, 10, false, func() error { _, err := fx.client.SendText(ctx, "34600000001", body); return err }},
		{OpTyping, 200, 1, false, func() error { _, err := fx.client.SendTyping(ctx, 9, "34600000001"); return err }},
		{OpAccountStatus, 200, 1, false, func() error { _, err := fx.client.SetAccountStatus(ctx, status); return err }},
		{OpTemplates, 200, -1, true, func() error { _, err := fx.client.Templates(ctx); return err }},
		{OpMediaDownload, 200, 1, false, func() error { _, err := fx.client.DownloadMedia(ctx, 9, "34600000001"); return err }},
	}
	for i, s := range steps {
		err := s.call()
		assert.Equal(t, s.fails, err != nil, "%s: %v", s.op, err)
		recs := buf.records(t)
		require.Len(t, recs, i+1, "one record per call; after %s", s.op)
		rec := recs[i]
		assert.Equal(t, "DEBUG", rec["level"])
		assert.Equal(t, string(s.op), rec["operation"])
		assert.Equal(t, fx.client.Endpoint(s.op), rec["function"])
		assert.Equal(t, s.status, rec["http_status"])
		assert.Equal(t, s.res, rec["res"])
		assert.Contains(t, rec, "duration")
		_, hasErr := rec["error"]
		assert.Equal(t, s.fails, hasErr)
	}

	// A local validation failure makes no call and no record.
	_, err := fx.client.SendText(ctx, "bad", body)
	require.Error(t, err)
	assert.Len(t, buf.records(t), len(steps))

	out := buf.String()
	for _, secret := range []string{testToken, testUser, testAuth[len("Basic "):], "Basic ", body, status, "jpeg-bytes-Zz93"} {
		assert.NotContains(t, out, secret)
	}
}

func TestWithLoggerAboveDebugIsQuiet(t *testing.T) {
	t.Parallel()
	logger, buf := newLogger(slog.LevelInfo)
	fx := setup(t, WithLogger(logger))
	fx.reply(t, "EnviarWHATSAPP", 200, okSendReply)
	_, err := fx.client.SendText(context.Background(), "34600000001", "hola")
	require.NoError(t, err)
	assert.Empty(t, buf.String())
}
