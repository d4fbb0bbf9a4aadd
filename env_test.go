package mensatek

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setEnv sets the three variables NewClientFromEnv reads; "" unsets one (as empty).
func setEnv(t *testing.T, user, token, base string) {
	t.Setenv(EnvAPIUser, user)
	t.Setenv(EnvAPIToken, token)
	t.Setenv(EnvBaseURL, base)
}

// The environment the CLI reads, and `mensatek fake` prints, makes a working client.
func TestNewClientFromEnv(t *testing.T) {
	fx := setup(t)
	calls := fx.reply(t, "GetPlantillasWhatsapp", 200, refTemplatesReply) // checks the Basic auth
	setEnv(t, testUser, testToken, fx.server.URL+"/v7")

	c, err := NewClientFromEnv(WithRetryPolicy(RetryPolicy{}))
	require.NoError(t, err)
	assert.Equal(t, fx.server.URL+"/v7/", c.BaseURL())
	list, err := c.Templates(context.Background())
	require.NoError(t, err)
	assert.Len(t, list, 2)
	assert.Equal(t, 1, calls.count())

	// Without MENSATEK_BASE_URL, the API's address.
	setEnv(t, testUser, testToken, "")
	c, err = NewClientFromEnv()
	require.NoError(t, err)
	assert.Equal(t, DefaultBaseURL, c.BaseURL())
}

// An explicit WithBaseURL wins over the environment, even over a value that would be refused.
func TestNewClientFromEnvOptionsWin(t *testing.T) {
	for _, env := range []string{"https://elsewhere.example/v7/", "http://not-loopback.example/", "::bad"} {
		setEnv(t, testUser, testToken, env)
		c, err := NewClientFromEnv(WithBaseURL("http://127.0.0.1:8080/v7"))
		require.NoError(t, err, env)
		assert.Equal(t, "http://127.0.0.1:8080/v7/", c.BaseURL())
	}
	// Options before and after the one that sets the address apply as in NewClient.
	setEnv(t, testUser, testToken, "https://elsewhere.example/v7/")
	c, err := NewClientFromEnv(WithEndpoint(OpSend, "EnviarWA"), nil)
	require.NoError(t, err)
	assert.Equal(t, "EnviarWA", c.Endpoint(OpSend))
	assert.Equal(t, "https://elsewhere.example/v7/", c.BaseURL())
	_, err = NewClientFromEnv(WithTimeout(-1))
	assert.ErrorContains(t, err, "WithTimeout")
}

func TestNewClientFromEnvMissing(t *testing.T) {
	tests := []struct {
		user, token string
		want        string
	}{
		{"", testToken, "mensatek: NewClientFromEnv: no credentials: MENSATEK_API_USER is not set"},
		{testUser, "", "mensatek: NewClientFromEnv: no credentials: MENSATEK_API_TOKEN is not set"},
		{" ", "\t", "mensatek: NewClientFromEnv: no credentials: MENSATEK_API_USER and MENSATEK_API_TOKEN are not set"},
	}
	for _, tt := range tests {
		setEnv(t, tt.user, tt.token, "")
		c, err := NewClientFromEnv()
		assert.Nil(t, c)
		require.EqualError(t, err, tt.want)
	}
}

// A refused MENSATEK_BASE_URL is named, and the error never shows the token.
func TestNewClientFromEnvBadBaseURL(t *testing.T) {
	setEnv(t, testUser, testToken, "http://api.mensatek.example/v7/")
	_, err := NewClientFromEnv()
	require.Error(t, err)
	assert.Equal(t, `mensatek: NewClientFromEnv: MENSATEK_BASE_URL: "http://api.mensatek.example/v7/" must be https (plain http only for loopback hosts)`, err.Error())

	setEnv(t, testUser, testToken, "https://"+testUser+":"+testToken+"@api.mensatek.example/v7/")
	_, err = NewClientFromEnv()
	require.ErrorContains(t, err, "MENSATEK_BASE_URL: credentials in the URL")
	for _, s := range []string{testToken, testAuth[len("Basic "):]} {
		assert.NotContains(t, err.Error(), s)
		assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), s)
	}
}

// NewClientFromEnvFunc reads through the function it is given: tests that run in parallel, and
// programs whose configuration is not in the process environment.
func TestNewClientFromEnvFunc(t *testing.T) {
	t.Parallel()
	env := map[string]string{EnvAPIUser: testUser, EnvAPIToken: testToken, EnvBaseURL: "http://localhost:9/v7/"}
	var asked []string
	c, err := NewClientFromEnvFunc(func(k string) string { asked = append(asked, k); return env[k] })
	require.NoError(t, err)
	assert.Equal(t, "http://localhost:9/v7/", c.BaseURL())
	assert.ElementsMatch(t, []string{EnvAPIUser, EnvAPIToken, EnvBaseURL}, asked)

	_, err = NewClientFromEnvFunc(func(string) string { return "" })
	assert.EqualError(t, err, "mensatek: NewClientFromEnv: no credentials: MENSATEK_API_USER and MENSATEK_API_TOKEN are not set")
	_, err = NewClientFromEnvFunc(nil)
	assert.EqualError(t, err, "mensatek: NewClientFromEnvFunc: nil getenv")
}
