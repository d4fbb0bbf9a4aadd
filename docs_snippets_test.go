package mensatek_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// snippetImports are the packages the documentation's Go blocks use, by the name they use.
var snippetImports = map[string]string{
	"assert":       "github.com/stretchr/testify/assert",
	"context":      "context",
	"errors":       "errors",
	"fmt":          "fmt",
	"http":         "net/http",
	"httpmock":     "github.com/jarcoal/httpmock",
	"httptest":     "net/http/httptest",
	"io":           "io",
	"log":          "log",
	"mensatek":     "github.com/mensatek-go/mensatek",
	"mensatekotel": "github.com/mensatek-go/mensatek/mensatekotel",
	"mensatektest": "github.com/mensatek-go/mensatek/mensatektest",
	"mock":         "github.com/stretchr/testify/mock",
	"os":           "os",
	"pgstore":      "github.com/mensatek-go/mensatek/pgstore",
	"pgxpool":      "github.com/jackc/pgx/v5/pgxpool",
	"redis":        "github.com/redis/go-redis/v9",
	"redisstore":   "github.com/mensatek-go/mensatek/redisstore",
	"require":      "github.com/stretchr/testify/require",
	"slog":         "log/slog",
	"strings":      "strings",
	"testing":      "testing",
	"time":         "time",
	"url":          "net/url",
}

// snippetPrelude declares, in every generated package, the names the documentation's fragments
// take as given: the reader's context, client, credentials, logger, stores and their own code.
// Package-level, so a fragment that declares its own (client, err := ...) shadows them.
const snippetPrelude = `
var (
	ctx                         context.Context
	client                      *mensatek.Client
	user, token                 string
	apiUser, apiToken           string
	webhookUser, webhookPassword string
	phone, body                 string
	logger                      *slog.Logger
	ev                          *mensatek.Event
	rdb                         *redis.Client
	pool                        *pgxpool.Pool
	t                           *testing.T
	to                          []mensatek.Recipient
	u                           string
	recipients                  []mensatek.Recipient
	store, orders, queue, inbox yourCode
)

// yourCode stands for the reader's own code that a fragment calls.
type yourCode struct{}

func (yourCode) UpdateStatus(context.Context, ...any) error { return nil }
func (yourCode) Answer(context.Context, ...any) error       { return nil }
func (yourCode) Push(context.Context, ...any) error         { return nil }
func (yourCode) Save(context.Context, ...any) error         { return nil }

// otelhttp stands for go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp, which no
// module of the workspace requires.
var otelhttp otelhttpStandIn

type otelhttpStandIn struct{}

func (otelhttpStandIn) NewTransport(rt http.RoundTripper) http.RoundTripper { return rt }

var (
	_ = ctx
	_ = fmt.Sprint
	_ = errors.New
	_ = time.Second
	_ = os.Getenv
	_ = url.Parse
)
`

// snippetExtras declare, in the package of a fragment that uses the name without declaring it,
// what the reader's own program or the text around the fragment provides.
var snippetExtras = map[string]string{
	"handle":        "func handle(ctx context.Context, ev *mensatek.Event) error { return nil }",
	"SendWelcome":   "func SendWelcome(ctx context.Context, c *mensatek.Client, phone, name string) error { return nil }",
	"confirmOptOut": "func confirmOptOut(ctx context.Context, phone string) error { return nil }",
	"alertOps":      "func alertOps(msg string) {}",
	"msg":           "var msg mensatek.Message",
	"srv":           "var srv *mensatektest.Server",
	"handler":       "var handler http.Handler",
	"NotifyShipped": "func NotifyShipped(ctx context.Context, s TextSender, phone, order string) (int64, error) { return 0, nil }",
}

// preludeImports are the imports snippetPrelude needs itself.
var preludeImports = []string{"context", "errors", "fmt", "http", "mensatek", "os", "pgxpool", "redis", "slog", "testing", "time", "url"}

// docSnippet is one Go block of a Markdown file.
type docSnippet struct {
	file string
	line int
	code string
}

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// docSnippets returns the Go blocks of the README, the guides and the stores' READMEs, except
// docs/observability.md's, which mensatekotel's TestDocsSnippetsAreCompiled checks against its
// examples.
func docSnippets(t *testing.T) []docSnippet {
	t.Helper()
	var out []docSnippet
	for _, file := range docFiles(t) {
		switch file {
		case "docs/observability.md", filepath.Join("outbox", "README.md"), filepath.Join("mensatekotel", "README.md"):
			continue // compiled by their modules' tests
		}
		text, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, m := range goBlock.FindAllSubmatchIndex(text, -1) {
			out = append(out, docSnippet{
				file: file,
				line: bytes.Count(text[:m[0]], []byte("\n")) + 1,
				code: string(text[m[2]:m[3]]),
			})
		}
	}
	return out
}

// snippetSource makes a Go file of a snippet: declarations (a block that starts with func, type
// or var) stay at package level, anything else is the body of a function returning error.
func snippetSource(s docSnippet) string {
	extras := ""
	for name, decl := range snippetExtras {
		declared := regexp.MustCompile(`(?m)^(func|type|var) ` + name + `\b|\b` + name + ` :?=`)
		if regexp.MustCompile(`\b`+name+`\b`).MatchString(s.code) && !declared.MatchString(s.code) {
			extras += decl + "\n"
		}
	}
	uses := map[string]bool{}
	for _, name := range preludeImports {
		uses[name] = true
	}
	for name := range snippetImports {
		if regexp.MustCompile(`\b` + name + `\.`).MatchString(s.code + extras) {
			uses[name] = true
		}
	}
	var names []string
	for name := range uses {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "// %s:%d\n\npackage snippet\n\nimport (\n", s.file, s.line)
	for _, name := range names {
		fmt.Fprintf(&b, "\t%s %q\n", name, snippetImports[name])
	}
	b.WriteString(")\n" + snippetPrelude + "\n" + extras + "\n")
	// Line directives make the compiler's errors name the Markdown file and line.
	if regexp.MustCompile(`^(func|type|var) `).MatchString(s.code) {
		fmt.Fprintf(&b, "//line %s:%d\n%s", s.file, s.line+1, s.code)
	} else {
		fmt.Fprintf(&b, "func snippet() error {\n//line %s:%d\n%s\treturn nil\n}\n", s.file, s.line+1, s.code)
	}
	return b.String()
}

// tolerated are the compiler's complaints a fragment may cause without being wrong: a fragment
// shows how a value is made, not what the reader's program does with it next.
var tolerated = regexp.MustCompile(`declared and not used|is not used|imported and not used`)

// Every Go block of the README, the guides and the stores' READMEs compiles: each becomes a
// package of a throwaway module in a workspace with this repository's modules, and one go build
// type-checks them all. A renamed function, a changed signature or a field that no longer exists
// fails here, naming the Markdown file and line.
func TestDocsGoSnippetsCompile(t *testing.T) {
	t.Parallel()
	inRepository(t)
	if testing.Short() {
		t.Skip("builds the documentation's snippets with the go command")
	}
	root, err := os.Getwd()
	require.NoError(t, err)
	snippets := docSnippets(t)
	require.Greater(t, len(snippets), 30, "the documentation's Go blocks were not found")

	dir := t.TempDir()
	mod := filepath.Join(dir, "snippets")
	require.NoError(t, os.MkdirAll(mod, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module snippets\n\ngo 1.26.0\n"), 0o644))
	for i, s := range snippets {
		pkg := filepath.Join(mod, fmt.Sprintf("s%02d", i))
		require.NoError(t, os.MkdirAll(pkg, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(pkg, "snippet.go"), []byte(snippetSource(s)), 0o644))
	}
	// The repository's workspace, with its paths made absolute, plus the snippets' module.
	work, err := os.ReadFile("go.work")
	require.NoError(t, err)
	ws := regexp.MustCompile(`(?m)(^\s+|=> )\.(/[^\s]*)?$`).ReplaceAllStringFunc(string(work), func(m string) string {
		i := strings.Index(m, ".")
		return m[:i] + filepath.Join(root, m[i+1:])
	})
	ws = strings.Replace(ws, "use (\n", "use (\n\t./snippets\n", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.work"), []byte(ws), 0o644))
	if sum, err := os.ReadFile("go.work.sum"); err == nil {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "go.work.sum"), sum, 0o644))
	}

	cmd := exec.Command("go", "build", "-gcflags=-e", "./...")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(dir, "go.work"), "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	var problems []string
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" || strings.HasPrefix(line, "#") || tolerated.MatchString(line) {
			continue
		}
		problems = append(problems, line)
	}
	if len(problems) > 0 {
		t.Fatalf("documentation snippets that do not compile:\n%s", strings.Join(problems, "\n"))
	}
}
