package campaign

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/fakeapi"
	"github.com/mensatek-go/mensatek/mensatektest"
)

// phone returns the phone of row i+1 (data row i, from 1).
func phone(i int) string { return fmt.Sprintf("346%08d", i) }

// writeRows writes n valid rows of customer_welcome and returns the file's path.
func writeRows(t testing.TB, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "recipients.csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	w := csv.NewWriter(f)
	w.Write([]string{"Telefono", "Nombre", "Variable_Cabecera_image", "Valor-URL-Boton-0"})
	for i := 1; i <= n; i++ {
		w.Write([]string{phone(i), fmt.Sprintf("Name %d", i), "https://example.com/banner.jpg", fmt.Sprintf("https://example.com/offer/%d", i)})
	}
	w.Flush()
	require.NoError(t, w.Error())
	return path
}

// normalize checks phones as the core does, without a region.
func normalize(raw string) (string, string) {
	p, err := mensatek.NormalizePhone(raw)
	if err != nil {
		return "", err.Error()
	}
	return p, ""
}

// options returns the options of a campaign of file through client.
func options(client *mensatek.Client, file string) Options {
	return Options{
		Client:    client,
		Template:  "customer_welcome",
		File:      file,
		Normalize: normalize,
		Results:   strings.TrimSuffix(file, ".csv") + ".results.csv",
	}
}

// sentPhones lists the phones the fake accepted, and fails on any sent twice.
func sentPhones(t *testing.T, srv *mensatektest.Server) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range srv.Sent() {
		for _, r := range m.To {
			assert.False(t, seen[r.Phone], "%s sent twice", r.Phone)
			seen[r.Phone] = true
		}
	}
	return seen
}

// lastStatus reads a results file: each row's last status.
func lastStatus(t *testing.T, path string) map[int]string {
	t.Helper()
	out := map[int]string{}
	require.NoError(t, eachLine(path, func(_ int, rec record) { out[rec.row] = rec.status }))
	return out
}

// Run is called without any flag: batches in parallel send every row once, and the summary
// says so in ranges.
func TestRunParallel(t *testing.T) {
	srv := mensatektest.NewServer()
	defer srv.Close()
	path := writeRows(t, 900) // the fake has credits for 1000
	o := options(srv.Client(), path)
	o.Batch, o.Parallel = 7, 8
	var events int
	o.Events.Batch = func(Batch) { events++ } // one at a time: no lock needed
	sum, err := Run(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, "2-901", sum.Sent.String())
	assert.Equal(t, 900, sum.Sent.Len())
	assert.Equal(t, 129, sum.Batches)
	assert.Equal(t, "1-129", sum.MessageIDs.format(","))
	assert.Equal(t, 129, events)
	assert.Zero(t, sum.NotSent.Len()+sum.Unknown.Len()+sum.Failed.Len())
	assert.Len(t, sentPhones(t, srv), 900)
	st := lastStatus(t, o.Results)
	assert.Len(t, st, 900)
	for row, s := range st {
		assert.Equal(t, StatusSent, s, "row %d", row)
	}
}

// A batch refused while others are in flight stops the campaign after them; --resume sends
// the rest, each row once.
func TestRunParallelFailureThenResume(t *testing.T) {
	srv := mensatektest.NewServer()
	defer srv.Close()
	path := writeRows(t, 300)
	o := options(srv.Client(), path)
	o.Batch, o.Parallel = 10, 4
	o.Events.Batch = func(b Batch) {
		if b.N == 3 {
			srv.FailNext(mensatek.OpSend, mensatek.CodeInsufficientCredits, "Sin créditos")
		}
	}
	sum, err := Run(context.Background(), o)
	require.ErrorIs(t, err, mensatek.ErrInsufficientCredits)
	assert.Equal(t, 10, sum.Failed.Len(), "one batch refused")
	assert.Zero(t, sum.Unknown.Len())
	assert.Equal(t, 300, sum.Sent.Len()+sum.Failed.Len()+sum.NotSent.Len())
	assert.Greater(t, sum.NotSent.Len(), 0, "no batch starts after the failure")

	o.Resume, o.Events = true, Events{}
	sum, err = Run(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, 300-sum.AlreadySent.Len(), sum.Sent.Len())
	assert.Len(t, sentPhones(t, srv), 300, "every row once")
}

// A batch whose outcome is unknown is recorded so and never resent, also among batches in
// parallel.
func TestRunParallelOutcomeUnknown(t *testing.T) {
	srv := mensatektest.NewServer()
	defer srv.Close()
	path := writeRows(t, 200)
	o := options(srv.Client(), path)
	o.Batch, o.Parallel = 10, 4
	o.Events.Batch = func(b Batch) {
		if b.N == 2 {
			srv.DropNext(mensatek.OpSend)
		}
	}
	sum, err := Run(context.Background(), o)
	require.ErrorIs(t, err, mensatek.ErrOutcomeUnknown)
	require.Equal(t, 10, sum.Unknown.Len())
	unknown := sum.Unknown

	o.Resume, o.Events = true, Events{}
	sum, err = Run(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, unknown.String(), sum.WasUnknown.String())
	got := sentPhones(t, srv)
	unknown.Each(func(row int) bool {
		assert.False(t, got[phone(row-1)], "row %d, of unknown outcome, was sent again", row)
		return true
	})
	assert.Len(t, got, 190)
}

// BenchmarkRunParallel sends 20,000 rows in batches of 100 through an API that takes 50 ms a
// call, one batch at a time and eight: eight must be at least 4x faster.
//
//	go test -run '^$' -bench RunParallel -benchtime 1x ./cmd/mensatek/internal/campaign
func BenchmarkRunParallel(b *testing.B) {
	srv := fakeapi.New()
	defer srv.Close()
	srv.Latency = 50e6
	path := writeRows(b, 20000)
	client, err := mensatek.NewClient("user", "token", mensatek.WithBaseURL(srv.BaseURL()))
	require.NoError(b, err)
	for _, parallel := range []int{1, 8} {
		b.Run(fmt.Sprintf("parallel=%d", parallel), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				o := options(client, path)
				o.Results = filepath.Join(b.TempDir(), fmt.Sprintf("results-%d.csv", i))
				o.Parallel = parallel
				sum, err := Run(context.Background(), o)
				require.NoError(b, err)
				require.Equal(b, 20000, sum.Sent.Len())
			}
			b.ReportMetric(float64(20000*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// countingLimiter counts the waits of the client's rate limiter.
type countingLimiter struct {
	mu sync.Mutex
	n  int
}

func (l *countingLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	return ctx.Err()
}

// Batches in parallel each wait for the client's rate limiter.
func TestRunParallelWaitsForTheLimiter(t *testing.T) {
	srv := mensatektest.NewServer()
	defer srv.Close()
	lim := &countingLimiter{}
	o := options(srv.Client(mensatek.WithLimiter(lim)), writeRows(t, 100))
	o.Batch, o.Parallel = 10, 4
	sum, err := Run(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, 10, sum.Batches)
	calls := srv.Calls(mensatek.OpTemplates) + srv.Calls(mensatek.OpTemplateVariables) + srv.Calls(mensatek.OpSend)
	assert.Equal(t, 10, srv.Calls(mensatek.OpSend))
	assert.Equal(t, calls, lim.n, "one wait a call")
}
