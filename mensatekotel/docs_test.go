package mensatekotel_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every Go block of the guides that show this module is in example_test.go, which go test
// compiles, so a snippet cannot rot.
func TestDocsSnippetsAreCompiled(t *testing.T) {
	examples, err := os.ReadFile("example_test.go")
	require.NoError(t, err)
	for _, doc := range []struct{ file, heading string }{
		{"README.md", "## Use"},
		{"../README.md", "### Tracing and metrics"},
		{"../docs/observability.md", "## 2. Providers and exporters"},
		{"../docs/observability.md", "## 3. Instrument the client and the webhook"},
	} {
		text, err := os.ReadFile(doc.file)
		require.NoError(t, err)
		section := string(text)
		start := strings.Index(section, "\n"+doc.heading+"\n")
		require.GreaterOrEqual(t, start, 0, "%s has no section %q", doc.file, doc.heading)
		section = section[start+1:]
		if end := strings.Index(section[len(doc.heading):], "\n## "); end >= 0 {
			section = section[:len(doc.heading)+end]
		}
		blocks := strings.Split(section, "```go\n")[1:]
		require.NotEmpty(t, blocks, "%s %q has no Go block", doc.file, doc.heading)
		for _, block := range blocks {
			block = block[:strings.Index(block, "```")]
			for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
				if strings.TrimSpace(line) != "" {
					require.Contains(t, string(examples), line, "%s %q: a line that is not in example_test.go", doc.file, doc.heading)
				}
			}
		}
	}
}
