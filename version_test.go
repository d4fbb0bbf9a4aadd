package mensatek

import (
	"os"
	"regexp"
	"testing"
)

// The released version the code reports is the newest version in CHANGELOG.md: releasing means
// moving the Unreleased entries under a new version heading and setting Version to it.
func TestVersionMatchesChangelog(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^## \[(\d+\.\d+\.\d+[^\]]*)\] - \d{4}-\d{2}-\d{2}$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("CHANGELOG.md has no released version heading like '## [1.2.3] - 2026-01-02'")
	}
	if got := string(m[1]); got != Version {
		t.Fatalf("the newest version in CHANGELOG.md is %s, but Version is %s", got, Version)
	}
}
