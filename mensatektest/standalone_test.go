package mensatektest_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

func TestNewServerAtFixedCredentials(t *testing.T) {
	t.Parallel()
	srv, err := mensatektest.NewServerAt("127.0.0.1:0", mensatektest.WithCredentials("ci-user", "ci-token"))
	require.NoError(t, err)
	defer srv.Close()

	assert.Equal(t, "ci-user", srv.APIUser)
	assert.Equal(t, "ci-token", srv.APIToken)
	assert.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), srv.URL)
	assert.True(t, strings.HasSuffix(srv.URL, "/v7/"), srv.URL)

	ctx := context.Background()
	client, err := mensatek.NewClient("ci-user", "ci-token", mensatek.WithBaseURL(srv.URL))
	require.NoError(t, err)
	list, err := client.Templates(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 2)
	res, err := client.SendText(ctx, "34600000001", "hola")
	require.NoError(t, err)
	assert.Equal(t, int64(1), res.MessageID)
	require.Len(t, srv.Sent(), 1, "the standalone server records sends like NewServer's")

	wrong, err := mensatek.NewClient("ci-user", "other", mensatek.WithBaseURL(srv.URL))
	require.NoError(t, err)
	_, err = wrong.Templates(ctx)
	assert.True(t, errors.Is(err, mensatek.ErrAuthentication), "got %v", err)
}

func TestNewServerAtRandomCredentials(t *testing.T) {
	t.Parallel()
	srv, err := mensatektest.NewServerAt("127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Close()
	assert.NotEmpty(t, srv.APIUser)
	assert.NotEmpty(t, srv.APIToken)
	_, err = srv.Client().Templates(context.Background())
	require.NoError(t, err)
}

func TestNewServerAtUnspecifiedHost(t *testing.T) {
	t.Parallel()
	srv, err := mensatektest.NewServerAt(":0")
	require.NoError(t, err)
	defer srv.Close()
	assert.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), "a client on this machine can use %s", srv.URL)
	_, err = srv.Client().Templates(context.Background())
	require.NoError(t, err)
}

func TestNewServerAtErrors(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	_, err = mensatektest.NewServerAt(busy.Addr().String())
	assert.Error(t, err, "the address is taken")

	for _, c := range [][2]string{{"", ""}, {"", "token"}, {"user", ""}, {"us:er", "token"}, {"user", "to\nken"}} {
		_, err := mensatektest.NewServerAt("127.0.0.1:0", mensatektest.WithCredentials(c[0], c[1]))
		assert.Error(t, err, "credentials %q", c)
	}
}

func TestNewServerAtClose(t *testing.T) {
	t.Parallel()
	srv, err := mensatektest.NewServerAt("127.0.0.1:0")
	require.NoError(t, err)
	srv.Close()
	_, err = srv.Client().Templates(context.Background())
	assert.Error(t, err, "a closed server answers nothing")
}
