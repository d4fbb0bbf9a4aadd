package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/campaign"
	"github.com/mensatek-go/mensatek/mensatektest"
)

func TestOptoutCommand(t *testing.T) {
	h := newHarness(t, nil)
	store := filepath.Join(t.TempDir(), "bajas.csv")
	ctx := context.Background()

	r := h.run(ctx, "optout", "add", "34600000001", "+34 600 000 002", "--contacts", store, "--source", "call-center")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "2 phones opted out.\n", r.stdout)
	// A national number, read in the region as campaign --region reads it (in a store of its
	// own: lifting it here would come within ConsentOrderMargin of the opt-out).
	regional := filepath.Join(t.TempDir(), "regional.csv")
	h.reset()
	r = h.run(ctx, "optout", "add", "600 000 003", "--region", "ES", "--contacts", regional)
	require.Equal(t, exitOK, r.code, r.stderr)
	h.reset()
	r = h.run(ctx, "optout", "list", "--contacts", regional)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "34600000003\t")
	h.reset()
	r = h.run(ctx, "optout", "list", "--contacts", store)
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2)
	assert.True(t, strings.HasPrefix(lines[0], "34600000001\t"))
	assert.True(t, strings.HasSuffix(lines[1], "\tcall-center"))

	// An opt-in must come more than ConsentOrderMargin after the opt-out: it says so.
	h.reset()
	r = h.run(ctx, "optout", "remove", "34600000001", "--contacts", store)
	assertFailed(t, r, exitFailure, "not recorded")
	assert.Contains(t, r.stderr, "more than 2m0s newer")
	// With the opt-out an hour old, it is recorded.
	backdate(t, store, time.Hour)
	h.reset()
	r = h.run(ctx, "optout", "remove", "34600000001", "--contacts", store)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "1 phone opted back in.\n", r.stdout)
	h.reset()
	r = h.run(ctx, "optout", "list", "--contacts", store, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var list []optoutJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list))
	require.Len(t, list, 1)
	assert.Equal(t, "34600000002", list[0].Phone)

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"optout", "add", "34600000001"}, exitUsage, "--contacts is required"},
		{[]string{"optout", "wipe", "--contacts", store}, exitUsage, "unknown action"},
		{[]string{"optout", "add", "--contacts", store}, exitUsage, "add needs at least one phone"},
		{[]string{"optout", "add", "12", "--contacts", store}, exitValidation, "12"},
		{[]string{"optout", "add", "600 000 009", "--contacts", store}, exitValidation, "pass --region"},
		{[]string{"optout", "add", "600 000 009", "--region", "Spain", "--contacts", store}, exitUsage, "--region"},
		{[]string{"optout", "list", "--contacts", "mongodb://x"}, exitUsage, "unknown scheme"},
	} {
		h.reset()
		assertFailed(t, h.run(ctx, tc.args...), tc.code, tc.want)
	}
}

// backdate moves every opt-out of the contacts file path d into the past.
func backdate(t *testing.T, path string, d time.Duration) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	require.NoError(t, err)
	for _, row := range rows[1:] {
		at, err := time.Parse(time.RFC3339, row[1])
		require.NoError(t, err)
		row[1] = at.Add(-d).Format(time.RFC3339)
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	require.NoError(t, w.WriteAll(rows))
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
}

// A list of phones exported from elsewhere, without a header, is a contact store too.
func TestContactsFilePlainList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "unsubscribed.csv")
	require.NoError(t, os.WriteFile(path, []byte("\ufeff+34 600 000 003\r\n0034600000004\r\n\r\n"), 0o600))
	fc, err := loadFileContacts(path)
	require.NoError(t, err)
	got, err := fc.Contacts(context.Background(), []string{"34600000003", "34600000004", "34600000005"})
	require.NoError(t, err)
	assert.True(t, got["34600000003"].OptedOut)
	assert.True(t, got["34600000004"].OptedOut)
	assert.NotContains(t, got, "34600000005")

	require.NoError(t, os.WriteFile(path, []byte("phone\nnot-a-phone\n"), 0o600))
	_, err = loadFileContacts(path)
	require.ErrorContains(t, err, "line 2")
}

func TestCampaignSkipsOptedOut(t *testing.T) {
	srv, h := newFake(t)
	path := goodCSV(t, 5)
	store := filepath.Join(t.TempDir(), "bajas.csv")
	r := h.run(context.Background(), "optout", "add", phone(2), phone(4), "--contacts", store)
	require.Equal(t, exitOK, r.code, r.stderr)

	r = h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--batch", "2", "--contacts", store)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, []string{phone(1), phone(3), phone(5)}, sentPhones(srv), "the fake saw no request for them")
	assert.Contains(t, r.stderr, "Skipping 2 rows whose customer opted out (3, 5).")
	assert.Contains(t, r.stdout, "Skipped, the customer opted out: rows 3, 5.")
	st, _ := statuses(t, resultsOf(path))
	assert.Equal(t, campaign.StatusOptedOut, st[3])
	assert.Equal(t, campaign.StatusOptedOut, st[5])
	assert.Equal(t, campaign.StatusSent, st[2])

	// The customer opts back in; --resume checks the opted-out rows again and sends them.
	h.reset()
	backdate(t, store, time.Hour) // an opt-in comes more than ConsentOrderMargin after the opt-out
	r = h.run(context.Background(), "optout", "remove", phone(2), "--contacts", store)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--contacts", store, "--resume", resultsOf(path))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, []string{phone(1), phone(3), phone(5), phone(2)}, sentPhones(srv))
	st, _ = statuses(t, resultsOf(path))
	assert.Equal(t, campaign.StatusSent, st[3])
	assert.Equal(t, campaign.StatusOptedOut, st[5])
}

// A customer who opts out while the campaign runs is skipped in the batches still to send.
func TestCampaignHonoursOptOutsDuringTheRun(t *testing.T) {
	srv, h := newFake(t)
	path := goodCSV(t, 6)
	store := filepath.Join(t.TempDir(), "bajas.csv")
	h.sys.batchDone = func(n int) {
		if n == 1 { // after the first batch, phones 4 and 5 write BAJA
			fc, err := loadFileContacts(store)
			require.NoError(t, err)
			for _, p := range []string{phone(4), phone(5), phone(6)} {
				require.NoError(t, fc.SetOptOut(context.Background(), p, true, time.Now(), "keyword:BAJA"))
			}
		}
	}
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--batch", "3", "--contacts", store, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, phones(1, 3), sentPhones(srv))
	var sum campaign.Summary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum))
	assert.Equal(t, "5-7", sum.OptedOut.String())
	assert.Equal(t, "2-4", sum.Sent.String())
}

// listen --contacts records BAJA; a campaign with the same store then skips that customer.
func TestListenRecordsOptOuts(t *testing.T) {
	srv, h := newFake(t)
	store := filepath.Join(t.TempDir(), "bajas.csv")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	h.sys.listening = func(addr string) { ready <- addr }
	done := make(chan result, 1)
	go func() {
		done <- h.run(ctx, "listen", "--addr", "127.0.0.1:0", "--contacts", store, "--user", "hook", "--password", "s3cret")
	}()
	addr := <-ready

	status, err := mensatektest.DeliverWebhook(ctx, "http://"+addr+"/", mensatektest.InboundText(7, phone(1), "Baja."),
		mensatektest.WithBasicAuth("hook", "s3cret"))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	cancel()
	r := <-done
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"consent":"opted_out"`)

	fc, err := loadFileContacts(store)
	require.NoError(t, err)
	out, err := fc.OptedOut(context.Background())
	require.NoError(t, err)
	require.Len(t, out, 1)
	assert.Equal(t, phone(1), out[0].Phone)
	assert.Equal(t, "keyword:BAJA", out[0].ConsentSource)

	path := goodCSV(t, 2)
	h2 := newHarness(t, map[string]string{"MENSATEK_API_USER": srv.APIUser, "MENSATEK_API_TOKEN": srv.APIToken, "MENSATEK_CONTACTS": store})
	r = h2.api(srv, "campaign", "--template", "customer_welcome", "--csv", path)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, []string{phone(2)}, sentPhones(srv))
	var _ mensatek.ContactStore = fc
}

// A phone listed twice keeps its newest row; a time no store keeps names its line.
func TestContactsFileRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bajas.csv")
	require.NoError(t, os.WriteFile(path, []byte("phone,opted_out_at,source\n34600000001,2026-01-02T00:00:00Z,new\n34600000001,2026-01-01T00:00:00Z,old\n"), 0o600))
	fc, err := loadFileContacts(path)
	require.NoError(t, err)
	got, err := fc.Contacts(context.Background(), []string{"34600000001"})
	require.NoError(t, err)
	assert.Equal(t, "new", got["34600000001"].ConsentSource)

	require.NoError(t, os.WriteFile(path, []byte("34600000001,2300-01-01T00:00:00Z,future\n"), 0o600))
	_, err = loadFileContacts(path)
	require.ErrorContains(t, err, "line 1")
	require.ErrorContains(t, err, "after now")
}
