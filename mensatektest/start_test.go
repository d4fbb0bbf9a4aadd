package mensatektest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/mensatektest"
)

func TestStartClosesWithTheTest(t *testing.T) {
	t.Parallel()
	var srv *mensatektest.Server
	var client *mensatek.Client
	t.Run("inner", func(t *testing.T) {
		srv = mensatektest.Start(t)
		client = srv.Client(mensatek.WithRetryPolicy(mensatek.RetryPolicy{}))
		_, err := client.SendText(context.Background(), "34600000001", "hola")
		require.NoError(t, err)
		require.Len(t, srv.Sent(), 1)
	})
	// The subtest has ended, so its cleanup closed the server.
	_, err := client.Templates(context.Background())
	require.Error(t, err, "a server is closed when the test that started it ends")
	assert.Len(t, srv.Sent(), 1, "what it recorded is still there to inspect")
}

func TestStartWithCredentials(t *testing.T) {
	t.Parallel()
	srv := mensatektest.Start(t, mensatektest.WithCredentials("app-user", "app-token"))
	assert.Equal(t, "app-user", srv.APIUser)
	assert.Equal(t, "app-token", srv.APIToken)
	c, err := mensatek.NewClient("app-user", "app-token", mensatek.WithBaseURL(srv.URL))
	require.NoError(t, err)
	_, err = c.Templates(context.Background())
	require.NoError(t, err)

	wrong, err := mensatek.NewClient("app-user", "other", mensatek.WithBaseURL(srv.URL))
	require.NoError(t, err)
	_, err = wrong.Templates(context.Background())
	require.ErrorIs(t, err, mensatek.ErrAuthentication)
}

// fatalTB records Fatal instead of ending the goroutine, to test what Start does with a bad
// option. Methods it does not override panic (nil embedded interface): Start must not use them.
type fatalTB struct {
	testing.TB
	fatal    []any
	cleanups int
}

func (f *fatalTB) Helper()           {}
func (f *fatalTB) Fatal(args ...any) { f.fatal = args }
func (f *fatalTB) Cleanup(func())    { f.cleanups++ }

func TestStartFailsTheTestOnABadOption(t *testing.T) {
	t.Parallel()
	tb := &fatalTB{}
	srv := mensatektest.Start(tb, mensatektest.WithCredentials("us:er", "token"))
	assert.Nil(t, srv)
	assert.Zero(t, tb.cleanups, "no server was started")
	require.Len(t, tb.fatal, 1)
	assert.Contains(t, tb.fatal[0].(error).Error(), "may not contain a colon")
}
