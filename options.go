package mensatek

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mensatek-go/mensatek/internal/phone"
)

// Option configures a [Client] in [NewClient]. An option that is given an invalid value makes
// NewClient return an error.
type Option func(*config) error

type config struct {
	baseURL      string
	baseURLSet   bool // by WithBaseURL: it wins over MENSATEK_BASE_URL in NewClientFromEnv
	httpClient   *http.Client
	timeout      time.Duration
	endpoints    map[Operation]string
	logger       *slog.Logger
	userAgent    string
	templateTTL  time.Duration
	retry        RetryPolicy
	authCooldown time.Duration
	limiter      Limiter
	contacts     ContactStore
	contactCfg   *contactConfig
	region       *phone.RegionData
	observer     ClientObserver
}

// WithBaseURL points the client at another address, with or without a trailing slash. It must be
// https; plain http is accepted only for loopback hosts (localhost, 127.0.0.0/8, ::1), for tests.
func WithBaseURL(u string) Option {
	return func(c *config) error {
		norm, err := checkBaseURL(u)
		if err != nil {
			return err
		}
		c.baseURL, c.baseURLSet = norm, true
		return nil
	}
}

// WithHTTPClient makes the client send its requests through hc: your timeouts, proxy, transport
// or tracing (an otelhttp RoundTripper), or httpmock (httpmock.ActivateNonDefault(hc) works before
// or after NewClient). The client never changes hc's settings, except that a nil Transport is set
// to a default one; its timeout still applies through [WithTimeout].
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("mensatek: WithHTTPClient: nil *http.Client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithTimeout bounds each call as a whole, from its first request to the end of its last reply,
// with retries, their waits, the rate limiter's waits and the consent reads of [WithContacts]
// included (default 30 s; 0 means no bound but the context's). To bound each attempt as well, set [RetryPolicy.AttemptTimeout]. A media
// download is the exception: there WithTimeout bounds each wait for data, so a large file is not
// cut off while it flows. A call cut short fails with an error matching
// [context.DeadlineExceeded] (and [ErrOutcomeUnknown] for a send that may have left).
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("mensatek: WithTimeout: negative duration %v", d)
		}
		c.timeout = d
		return nil
	}
}

// WithEndpoint overrides the API function name an operation calls, for example if the live API
// names the typing function differently from the defaults listed at [OpSend].
func WithEndpoint(op Operation, function string) Option {
	return func(c *config) error {
		if _, ok := defaultEndpoint(op); !ok {
			return fmt.Errorf("mensatek: WithEndpoint: unknown operation %q", op)
		}
		if function == "" || strings.ContainsAny(function, "/?#% \t\r\n") {
			return fmt.Errorf("mensatek: WithEndpoint: invalid function name %q", function)
		}
		c.endpoints[op] = function
		return nil
	}
}

// WithLogger logs to l, at debug level, one record per attempt of a call ("mensatek call":
// operation, function, HTTP status, Res, duration, and the error if any) and one per retry
// ("mensatek retry", with the wait). Credentials and message contents are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// WithUserAgent sets the User-Agent header (default "mensatek-go/" + [Version]).
func WithUserAgent(ua string) Option {
	return func(c *config) error {
		if strings.ContainsAny(ua, "\r\n") {
			return errors.New("mensatek: WithUserAgent: line break in user agent")
		}
		c.userAgent = ua
		return nil
	}
}

// WithTemplateCacheTTL sets how long [Client.SendChecked] and [Client.TemplateByName] keep the
// template list and each template's variables before asking the API again (default 10 minutes;
// 0 turns the cache off). Concurrent fetches of the same thing are merged into one request
// either way.
func WithTemplateCacheTTL(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("mensatek: WithTemplateCacheTTL: negative duration %v", d)
		}
		c.templateTTL = d
		return nil
	}
}

// WithDefaultRegion makes the client read national numbers as numbers of region, an ISO 3166-1
// two-letter code such as "ES" (any case): a recipient "600 123 456" is then sent to
// 34600123456, as [NormalizePhoneIn] reads it. Without it, every phone must carry its country
// prefix ("+34 600 123 456", "0034600123456", "34600123456"), and a national number is a
// *ValidationError, never a guess: "600 123 456" read internationally is a number in Malaysia.
// An unknown region makes NewClient fail; "" means none.
func WithDefaultRegion(region string) Option {
	return func(c *config) error {
		if strings.TrimSpace(region) == "" {
			c.region = nil
			return nil
		}
		r := phone.Region(region)
		if r == nil {
			return fmt.Errorf("mensatek: WithDefaultRegion: %s is not a region libphonenumber knows; give a two-letter country code, such as \"ES\"", clipPhone(region))
		}
		c.region = r
		return nil
	}
}

func checkBaseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("mensatek: WithBaseURL: %w", err)
	}
	if u.User != nil {
		return "", errors.New("mensatek: WithBaseURL: credentials in the URL; pass them to NewClient")
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("mensatek: WithBaseURL: %q has no host", raw)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", fmt.Errorf("mensatek: WithBaseURL: %q has a query or fragment", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", fmt.Errorf("mensatek: WithBaseURL: %q must be https (plain http only for loopback hosts)", raw)
		}
	default:
		return "", fmt.Errorf("mensatek: WithBaseURL: %q must be an https URL", raw)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawPath = ""
	return u.String(), nil
}

func isLoopback(host string) bool {
	// Only the exact name and loopback IPs: Go's proxy rules bypass just these, so a name like
	// x.localhost could send the credentials in clear text through HTTP_PROXY.
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
