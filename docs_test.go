package mensatek_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// docFiles are the Markdown files a reader moves between: the README, the guides in docs/ and
// the modules' READMEs.
func docFiles(t *testing.T) []string {
	t.Helper()
	guides, err := filepath.Glob("docs/*.md")
	require.NoError(t, err)
	files := append([]string{"README.md"}, guides...)
	for _, m := range []string{"redisstore", "pgstore", "cmd/mensatek", "outbox", "mensatekotel"} {
		files = append(files, filepath.Join(m, "README.md"))
	}
	return files
}

// inRepository skips a test that reads the other modules' files when they are not there (the
// core's module zip holds none of them).
func inRepository(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("redisstore/go.mod"); err != nil {
		t.Skip("not in the repository: the other modules' files are not here")
	}
}

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`^#{1,6} (.+)$`)
)

// proseLines returns the lines of a Markdown text outside fenced code blocks.
func proseLines(text string) []string {
	var out []string
	code := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			code = !code
			continue
		}
		if !code {
			out = append(out, line)
		}
	}
	return out
}

// anchors returns the heading anchors GitHub makes for a Markdown text: lower case, spaces to
// hyphens, punctuation dropped, and -1, -2... for repeats.
func anchors(text string) map[string]bool {
	set := map[string]bool{}
	seen := map[string]int{}
	for _, line := range proseLines(text) {
		m := mdHeading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			seen[a]++
			a = a + "-" + strconv.Itoa(n)
		} else {
			seen[a] = 1
		}
		set[a] = true
	}
	return set
}

// Every relative link of the README, the guides, the modules' READMEs and the changelog leads to a file that
// exists, and every #anchor to a heading of its file, so moving a section cannot strand a link.
func TestDocsLinksResolve(t *testing.T) {
	t.Parallel()
	inRepository(t)
	texts := map[string]string{}
	read := func(path string) (string, bool) {
		if s, ok := texts[path]; ok {
			return s, true
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", false
		}
		texts[path] = string(b)
		return string(b), true
	}
	links := 0
	for _, file := range append(docFiles(t), "CHANGELOG.md") {
		text, ok := read(file)
		require.True(t, ok, "%s is missing", file)
		for _, line := range proseLines(text) {
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				links++
				path, anchor, _ := strings.Cut(target, "#")
				dest := file
				if path != "" {
					dest = filepath.Join(filepath.Dir(file), path)
					if _, err := os.Stat(dest); err != nil {
						t.Errorf("%s: the link %q leads to no file", file, target)
						continue
					}
				}
				if anchor == "" {
					continue
				}
				destText, ok := read(dest)
				if !ok || !anchors(destText)[anchor] {
					t.Errorf("%s: the link %q leads to no heading of %s", file, target, dest)
				}
			}
		}
	}
	assert.Greater(t, links, 50, "the links were not found")
}
