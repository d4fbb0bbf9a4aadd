package mensatek

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// The environment variables [NewClientFromEnv] reads, the same the mensatek command reads and
// `mensatek fake` prints.
const (
	EnvAPIUser  = "MENSATEK_API_USER"  // the API user (required)
	EnvAPIToken = "MENSATEK_API_TOKEN" // the API token (required)
	EnvBaseURL  = "MENSATEK_BASE_URL"  // another address, as WithBaseURL takes it (optional)
)

// NewClientFromEnv returns a client configured as the mensatek command is: the credentials from
// MENSATEK_API_USER and MENSATEK_API_TOKEN, and, when MENSATEK_BASE_URL is set, the address from
// it (checked as [WithBaseURL] checks it), such as the one `mensatek fake` prints. opts apply as
// in [NewClient], and an explicit option wins over the environment: a WithBaseURL in opts is
// used whatever MENSATEK_BASE_URL says. A variable that is missing, empty or only spaces is an
// error naming it; no error shows the token.
func NewClientFromEnv(opts ...Option) (*Client, error) {
	return NewClientFromEnvFunc(os.Getenv, opts...)
}

// NewClientFromEnvFunc is [NewClientFromEnv] reading the variables through getenv instead of
// [os.Getenv]: for tests that run in parallel (t.Setenv forbids it), and for programs whose
// configuration lives elsewhere.
func NewClientFromEnvFunc(getenv func(key string) string, opts ...Option) (*Client, error) {
	if getenv == nil {
		return nil, errors.New("mensatek: NewClientFromEnvFunc: nil getenv")
	}
	user, token := getenv(EnvAPIUser), getenv(EnvAPIToken)
	var missing []string
	for _, v := range []struct{ name, value string }{{EnvAPIUser, user}, {EnvAPIToken, token}} {
		if strings.TrimSpace(v.value) == "" {
			missing = append(missing, v.name)
		}
	}
	switch len(missing) {
	case 1:
		return nil, fmt.Errorf("mensatek: NewClientFromEnv: no credentials: %s is not set", missing[0])
	case 2:
		return nil, fmt.Errorf("mensatek: NewClientFromEnv: no credentials: %s and %s are not set", missing[0], missing[1])
	}
	all := append(make([]Option, 0, len(opts)+1), opts...)
	if base := getenv(EnvBaseURL); strings.TrimSpace(base) != "" {
		all = append(all, envBaseURL(base)) // last, so it sees whether an option set the address
	}
	return NewClient(user, token, all...)
}

// envBaseURL sets the address from MENSATEK_BASE_URL unless an option set one.
func envBaseURL(raw string) Option {
	return func(c *config) error {
		if c.baseURLSet {
			return nil
		}
		norm, err := checkBaseURL(raw)
		if err != nil {
			return fmt.Errorf("mensatek: NewClientFromEnv: %s: %s", EnvBaseURL, strings.TrimPrefix(err.Error(), "mensatek: WithBaseURL: "))
		}
		c.baseURL = norm
		return nil
	}
}
