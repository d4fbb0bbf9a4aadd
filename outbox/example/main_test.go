package main

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mensatek-go/mensatek/internal/testserver"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopAll()
	os.Exit(code)
}

// The example runs end to end against a real PostgreSQL and the fake, twice (its tables exist
// the second time).
func TestExample(t *testing.T) {
	url := testserver.PostgresURL(t)
	for i := 0; i < 2; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var out strings.Builder
		err := run(ctx, url, &out)
		cancel()
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, out.String())
		}
		m := regexp.MustCompile(`sent: reference order-\d+, idMensaje (\d+) \(stored with the order: (\d+)\)`).FindStringSubmatch(out.String())
		if m == nil || m[1] != m[2] {
			t.Errorf("run %d printed:\n%s", i, out.String())
		}
	}
}
