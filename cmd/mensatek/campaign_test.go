package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
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

const csvHeader = "Telefono,Nombre,Variable_Cabecera_image,Valor-URL-Boton-0"

// phone returns the phone of good row i.
func phone(i int) string { return fmt.Sprintf("3460000%04d", i) }

// goodRow is a valid row of customer_welcome.
func goodRow(i int) string {
	return fmt.Sprintf("%s,Name %d,https://example.com/banner.jpg,https://example.com/offer/%d", phone(i), i, i)
}

// writeCSV writes the header and rows to a file in a new directory and returns its path.
func writeCSV(t *testing.T, header string, rows ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "recipients.csv")
	require.NoError(t, os.WriteFile(path, []byte(header+"\n"+strings.Join(rows, "\n")+"\n"), 0o600))
	return path
}

// goodCSV writes n valid rows for phones 1..n.
func goodCSV(t *testing.T, n int) string {
	rows := make([]string, n)
	for i := range rows {
		rows[i] = goodRow(i + 1)
	}
	return writeCSV(t, csvHeader, rows...)
}

// sentPhones lists the phone of every recipient the fake accepted, in order.
func sentPhones(srv *mensatektest.Server) []string {
	var out []string
	for _, m := range srv.Sent() {
		for _, r := range m.To {
			out = append(out, r.Phone)
		}
	}
	return out
}

func phones(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, phone(i))
	}
	return out
}

// statuses reads a results file: each row's status, and how many lines it has.
func statuses(t *testing.T, path string) (map[int]string, int) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	lines, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, lines)
	require.Equal(t, campaign.ResultsHeader, lines[0])
	out := map[int]string{}
	for _, l := range lines[1:] {
		var row int
		_, err := fmt.Sscan(l[0], &row)
		require.NoError(t, err)
		out[row] = l[2]
	}
	return out, len(lines) - 1
}

func resultsOf(csvPath string) string {
	return strings.TrimSuffix(csvPath, ".csv") + ".results.csv"
}

func TestCampaign(t *testing.T) {
	srv, h := newFake(t)
	path := goodCSV(t, 5)
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--batch", "2", "--reference", "promo")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "Read "+path+": CSV, UTF-8, separated by commas.\n"+
		"Sent 5 rows (rows 2-6) in 3 batches (messages 1-3); 995 credits left.\nResults: "+resultsOf(path)+"\n", r.stdout)
	assert.Regexp(t, `^batch 1/3: rows 2-3 sent \(message 1\); \d+ rows/s, time left \d+s\n`+
		`batch 2/3: rows 4-5 sent \(message 2\); \d+ rows/s, time left \d+s\n`+
		`batch 3/3: row 6 sent \(message 3\); \d+ rows/s, time left 0s\n$`, r.stderr)

	sent := srv.Sent()
	require.Len(t, sent, 3, "one send per batch")
	assert.Equal(t, phones(1, 5), sentPhones(srv))
	assert.Equal(t, "customer_welcome", sent[0].Data["Plantilla"])
	assert.Equal(t, "promo", sent[0].Reference)
	assert.Equal(t, "Name 1", sent[0].To[0].Name)
	assert.Equal(t, "https://example.com/offer/1", sent[0].To[0].Vars["Valor-URL-Boton-0"])

	st, lines := statuses(t, resultsOf(path))
	assert.Equal(t, 5, lines, "one line per row once the run ends")
	for row := 2; row <= 6; row++ {
		assert.Equal(t, campaign.StatusSent, st[row])
	}
	raw, err := os.ReadFile(resultsOf(path))
	require.NoError(t, err)
	assert.Contains(t, string(raw), "2,34600000001,sent,1,\n")

	// Running it again without --resume would send everything twice: refused.
	r = h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path)
	assertFailed(t, r, exitUsage, "--resume "+resultsOf(path))
	assert.Len(t, srv.Sent(), 3)
}

func TestCampaignJSONAndSemicolons(t *testing.T) {
	srv, h := newFake(t)
	// A Spanish spreadsheet's export: semicolons, a byte-order mark, CRLF, an empty row, an
	// extra column, and the columns in another order and case.
	path := filepath.Join(t.TempDir(), "clientes.csv")
	content := "\xef\xbb\xbfnombre;TELEFONO;Valor-URL-Boton-0;Variable_Cabecera_image;Notas\r\n" +
		"José Pérez;+34 600 000 001;https://example.com/o/1;https://example.com/b.jpg;vip\r\n" +
		";;;;\r\n" +
		"Ana;0034600000002;https://example.com/o/2;https://example.com/b.jpg;\r\n"
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "mensatek campaign: warning: column \"Notas\" is not a variable of template customer_welcome: it is not sent\n")
	var sum campaign.Summary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum))
	assert.Equal(t, "2,4", sum.Sent.String(), "rows count the header and the empty row")
	assert.Equal(t, campaign.IDs{1}, sum.MessageIDs)
	assert.Equal(t, 2, sum.Rows)
	assert.Equal(t, &campaign.FileInfo{Format: "csv", Encoding: "UTF-8 with BOM", Separator: ";"}, sum.File)
	assert.Zero(t, sum.Invalid.Len())
	assert.False(t, sum.Interrupted)
	require.NotNil(t, sum.Credits)
	assert.Equal(t, 998.0, *sum.Credits)
	assert.Equal(t, []string{"34600000001", "34600000002"}, sentPhones(srv))
	assert.Equal(t, "José Pérez", srv.Sent()[0].To[0].Name)
	assert.NotContains(t, srv.Sent()[0].To[0].Vars, "Notas", "columns the template does not use are not sent")
}

func TestCampaignBadRows(t *testing.T) {
	srv, h := newFake(t)
	path := writeCSV(t, csvHeader,
		goodRow(1),
		"123,Eva,https://example.com/b.jpg,https://example.com/o/3", // row 3: bad phone
		phone(4)+",,not-a-url,https://example.com/o/4",              // row 4: no name, bad URL
		goodRow(5), // row 5
		phone(1)+",Again,https://example.com/b.jpg,https://example.com/o/1", // row 6: duplicate of row 2
		goodRow(7)+",Pérez, Juan",                                           // row 7: an unquoted comma
	)
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path)
	assertFailed(t, r, exitValidation, "4 of 6 rows are invalid", "nothing was sent", "--skip-invalid")
	assert.Contains(t, r.stderr, `row 3 (123): Telefono: phone number "123" is too short`)
	assert.Contains(t, r.stderr, "row 4 ("+phone(4)+"): Nombre: missing variable 2")
	assert.Contains(t, r.stderr, `Variable_Cabecera_image: "not-a-url" is not an absolute http(s) URL`)
	assert.Contains(t, r.stderr, "row 6 ("+phone(1)+"): Telefono: "+phone(1)+" is also in row 2")
	assert.Contains(t, r.stderr, "row 7 ("+phone(7)+"): has 6 cells but the header has 4")
	assert.Empty(t, r.stdout)
	assert.Zero(t, srv.Calls(mensatek.OpSend), "nothing is sent while any row is bad")
	assert.NoFileExists(t, resultsOf(path))

	r = h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--skip-invalid")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, []string{phone(1), phone(5)}, sentPhones(srv))
	assert.Contains(t, r.stdout, "Sent 2 rows (rows 2, 5)")
	assert.Contains(t, r.stdout, "Skipped invalid: rows 3-4, 6-7.")
	st, lines := statuses(t, resultsOf(path))
	assert.Equal(t, 6, lines)
	assert.Equal(t, map[int]string{2: campaign.StatusSent, 3: campaign.StatusInvalid, 4: campaign.StatusInvalid, 5: campaign.StatusSent, 6: campaign.StatusInvalid, 7: campaign.StatusInvalid}, st)
}

func TestCampaignFileErrors(t *testing.T) {
	srv, h := newFake(t)
	noPhone := writeCSV(t, "Nombre,Variable_Cabecera_image,Valor-URL-Boton-0", "Ana,https://example.com/b.jpg,https://example.com/o")
	assertFailed(t, h.api(srv, "campaign", "--template", "customer_welcome", "--csv", noPhone), exitValidation, "no Telefono column")
	noVar := writeCSV(t, "Telefono,Nombre", phone(1)+",Ana")
	assertFailed(t, h.api(srv, "campaign", "--template", "customer_welcome", "--csv", noVar), exitValidation,
		"no column for Variable_Cabecera_image (variable 3, url_imagen), Valor-URL-Boton-0 (variable 4, url)")
	assertFailed(t, h.api(srv, "campaign", "--template", "appointment_reminder", "--csv", goodCSV(t, 1)), exitValidation, "not approved")
	assertFailed(t, h.api(srv, "campaign", "--template", "nope", "--csv", goodCSV(t, 1)), exitValidation, `no template named "nope"`)
	assertFailed(t, h.api(srv, "campaign", "--template", "customer_welcome", "--csv", "/no/such.csv"), exitUsage, "reading --csv")
	assertFailed(t, h.api(srv, "campaign", "--csv", goodCSV(t, 1)), exitUsage, "--template is required")
	assertFailed(t, h.api(srv, "campaign", "--template", "customer_welcome", "--csv", goodCSV(t, 1), "--batch", "0"), exitUsage, "--batch")
	assertFailed(t, h.api(srv, "campaign", "--template", "customer_welcome", "--csv", goodCSV(t, 1), "--resume", "/no/such.csv"), exitUsage, "--resume")
	notResults := writeCSV(t, "a,b,c", "1,2,3")
	assertFailed(t, h.api(srv, "campaign", "--template", "customer_welcome", "--csv", goodCSV(t, 1), "--resume", notResults), exitUsage, "not a results file")
	assert.Zero(t, srv.Calls(mensatek.OpSend))
}

func TestCampaignDryRun(t *testing.T) {
	srv, h := newFake(t)
	path := goodCSV(t, 5)
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--dry-run", "--batch", "2")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "Read "+path+": CSV, UTF-8, separated by commas.\n"+
		"Template customer_welcome, as row 2 will receive it:\n"+
		"  1  Destinatario (Telefono)                 recipient  34600000001\n"+
		"  2  Nombre                                  body       Name 1\n"+
		"  3  Header IMAGE (Variable_Cabecera_image)  header     https://example.com/banner.jpg\n"+
		"  4  Producto (Valor-URL-Boton-0)            buttons    https://example.com/offer/1\n"+
		"Dry run: 5 valid rows, 0 invalid; 5 would be sent in 3 batches of up to 2; nothing was sent.\n", r.stdout)
	assert.Zero(t, srv.Calls(mensatek.OpSend))
	assert.NoFileExists(t, resultsOf(path))
}

func TestCampaignScheduled(t *testing.T) {
	srv, h := newFake(t)
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--csv", goodCSV(t, 2), "--at", "2030-12-24 18:30")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Len(t, srv.Sent(), 1)
	assert.Equal(t, "2030-12-24 18:30", srv.Sent()[0].ScheduledAt)
}

// An interrupted campaign (Ctrl-C after the first batch) says which rows were sent, and
// --resume sends exactly the rest.
func TestCampaignInterruptedAndResumed(t *testing.T) {
	srv, h := newFake(t)
	path := goodCSV(t, 7)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.sys.batchDone = func(n int) {
		if n == 1 {
			cancel() // Ctrl-C while batch 1 is being recorded
		}
	}
	r := h.apiCtx(ctx, srv, "campaign", "--template", "customer_welcome", "--csv", path, "--batch", "2")
	assert.Equal(t, exitInterrupted, r.code, r.stderr)
	assert.Contains(t, r.stderr, "mensatek campaign: interrupted after batch 1 of 4: rows 2-3 were sent, rows 4-8 were not; send the rest with --resume "+resultsOf(path)+"\n")
	assert.Contains(t, r.stdout, "Sent 2 rows (rows 2-3)")
	assert.Contains(t, r.stdout, "Not sent yet: rows 4-8.")
	assert.Equal(t, phones(1, 2), sentPhones(srv))
	st, _ := statuses(t, resultsOf(path))
	assert.Equal(t, map[int]string{2: campaign.StatusSent, 3: campaign.StatusSent}, st)

	h.sys.batchDone = nil
	r = h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--batch", "2", "--resume", resultsOf(path))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "skipping 2 rows already sent")
	assert.Contains(t, r.stdout, "Sent 5 rows (rows 4-8)")
	assert.Contains(t, r.stdout, "Already sent by an earlier run: rows 2-3.")

	got := sentPhones(srv)
	assert.Equal(t, phones(1, 7), got, "every phone once, none twice")
	st, lines := statuses(t, resultsOf(path))
	assert.Equal(t, 7, lines)
	for row := 2; row <= 8; row++ {
		assert.Equal(t, campaign.StatusSent, st[row], "row %d", row)
	}

	// A third run has nothing left to send.
	r = h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--resume", resultsOf(path))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Nothing to send.")
	assert.Len(t, sentPhones(srv), 7)
}

// Ctrl-C while a batch is in flight does not cut it short: it is finished and recorded as sent.
func TestCampaignInterruptedInFlight(t *testing.T) {
	srv, h := newFake(t)
	path := goodCSV(t, 4)
	srv.DelayNext(mensatek.OpSend, 300*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for srv.Calls(mensatek.OpSend) == 0 {
			time.Sleep(2 * time.Millisecond)
		}
		cancel() // the first batch has reached the server and waits there
	}()
	r := h.apiCtx(ctx, srv, "campaign", "--template", "customer_welcome", "--csv", path, "--batch", "2")
	assert.Equal(t, exitInterrupted, r.code, r.stderr)
	assert.Contains(t, r.stderr, "stopping after the batch in flight")
	assert.Contains(t, r.stderr, "rows 2-3 were sent, rows 4-5 were not")
	assert.Equal(t, phones(1, 2), sentPhones(srv))
	st, _ := statuses(t, resultsOf(path))
	assert.Equal(t, map[int]string{2: campaign.StatusSent, 3: campaign.StatusSent}, st)
}

// A batch whose outcome is unknown is recorded so, and --resume does not send it again.
func TestCampaignOutcomeUnknownNotResent(t *testing.T) {
	srv, h := newFake(t)
	path := goodCSV(t, 6)
	h.sys.batchDone = func(n int) {
		if n == 1 {
			srv.DropNext(mensatek.OpSend) // batch 2 reaches the server, which hangs up
		}
	}
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--batch", "2")
	assertFailed(t, r, exitNetwork, "batch 2 (rows 4-5)", "outcome unknown", `recorded as "unknown"`,
		"--resume will not send them again", "rows 2-3 were sent, rows 6-7 were not")
	assert.Contains(t, r.stdout, "Outcome unknown, not to be resent: rows 4-5.")
	st, _ := statuses(t, resultsOf(path))
	assert.Equal(t, map[int]string{2: campaign.StatusSent, 3: campaign.StatusSent, 4: campaign.StatusUnknown, 5: campaign.StatusUnknown}, st)

	h.sys.batchDone = nil
	r = h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--batch", "2", "--resume", resultsOf(path))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "and 2 rows whose outcome is unknown (4-5), which are not sent again: check the delivery reports")
	assert.Contains(t, r.stdout, "Sent 2 rows (rows 6-7)")
	assert.Contains(t, r.stdout, "Outcome unknown in an earlier run, not resent: rows 4-5.")
	// The fake dropped batch 2 unprocessed; what matters is that the CLI never sent it again.
	assert.Equal(t, []string{phone(1), phone(2), phone(5), phone(6)}, sentPhones(srv))
	st, _ = statuses(t, resultsOf(path))
	assert.Equal(t, campaign.StatusUnknown, st[4])
	assert.Equal(t, campaign.StatusSent, st[7])
}

// A batch the API refuses stops the campaign; its rows were not sent, so --resume sends them.
func TestCampaignAPIErrorThenResume(t *testing.T) {
	srv, h := newFake(t)
	path := goodCSV(t, 4)
	h.sys.batchDone = func(n int) {
		if n == 1 {
			srv.FailNext(mensatek.OpSend, mensatek.CodeInsufficientCredits, "Sin créditos")
		}
	}
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--batch", "2", "--json")
	assertFailed(t, r, exitAPI, "batch 2 (rows 4-5) was not sent", "not enough credits")
	var sum campaign.Summary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum))
	assert.Equal(t, "2-3", sum.Sent.String())
	assert.Equal(t, "4-5", sum.Failed.String())
	assert.Contains(t, sum.Error, "not enough credits")

	h.sys.batchDone = nil
	r = h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--batch", "2", "--resume", resultsOf(path))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, phones(1, 4), sentPhones(srv))
}

// Rows left "pending" by a run killed mid-batch are treated as unknown: never sent again.
func TestCampaignPendingRowsNotResent(t *testing.T) {
	srv, h := newFake(t)
	path := goodCSV(t, 4)
	log := "row,phone,status,message_id,error\n" +
		"2,34600000001,pending,,\n2,34600000001,sent,7,\n3,34600000002,pending,,\n" + // killed here
		"4,+34 600 000 003,failed,,refused\n" // edited by hand; failed rows are sent again
	require.NoError(t, os.WriteFile(resultsOf(path), []byte(log), 0o600))
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--resume", resultsOf(path))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, phones(3, 4), sentPhones(srv))
	st, lines := statuses(t, resultsOf(path))
	assert.Equal(t, 5, lines, "the pending line an outcome followed is dropped; row 4 has a line per run")
	assert.Equal(t, map[int]string{2: campaign.StatusSent, 3: campaign.StatusPending, 4: campaign.StatusSent, 5: campaign.StatusSent}, st)
}

func TestCampaignProgressBar(t *testing.T) {
	srv, h := newFake(t)
	h.sys.isTerminal = func(io.Writer) bool { return true }
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--csv", goodCSV(t, 3), "--batch", "2")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "sending customer_welcome")
	assert.Contains(t, r.stderr, "100%")
	assert.Contains(t, r.stderr, "(3/3")
	assert.NotContains(t, r.stderr, "batch 1/2", "a terminal gets the bar, not the lines")
}

// Rows are checked on several cores: the outcome is the same as one by one, in row order.
func TestCampaignManyRowsChecked(t *testing.T) {
	srv, h := newFake(t)
	rows := make([]string, 2500)
	for i := range rows {
		rows[i] = goodRow(i + 1)
	}
	rows[10] = "123,Eva,https://example.com/b.jpg,https://example.com/o/11" // row 12
	rows[2400] = goodRow(5)                                                 // row 2402: row 6's phone
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--csv", writeCSV(t, csvHeader, rows...), "--dry-run", "--json")
	assertFailed(t, r, exitValidation, "2 of 2500 rows are invalid")
	var sum campaign.Summary
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum))
	assert.Equal(t, "12,2402", sum.Invalid.String())
	require.Len(t, sum.InvalidRows, 2)
	assert.Equal(t, 12, sum.InvalidRows[0].Row)
	assert.Equal(t, 2402, sum.InvalidRows[1].Row)
	assert.Equal(t, []string{"Telefono: " + phone(5) + " is also in row 6"}, sum.InvalidRows[1].Reasons)
	assert.Equal(t, 2498, sum.Valid)
	assert.Zero(t, srv.Calls(mensatek.OpSend))
}

// With --parallel, every batch's line still shows the rate and the time left, and the summary
// names the rows as ranges.
func TestCampaignParallelProgress(t *testing.T) {
	srv, h := newFake(t)
	path := goodCSV(t, 9)
	r := h.api(srv, "campaign", "--template", "customer_welcome", "--csv", path, "--batch", "2", "--parallel", "4")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	require.Len(t, lines, 5)
	for _, l := range lines {
		assert.Regexp(t, `^batch [1-5]/5: rows? \d+(-\d+)? sent \(message [1-5]\); \d+ rows/s, time left \d+s$`, l)
	}
	assert.Contains(t, r.stdout, "Sent 9 rows (rows 2-10) in 5 batches (messages 1-5)")
	assert.Len(t, sentPhones(srv), 9)

	r = h.api(srv, "campaign", "--template", "customer_welcome", "--csv", goodCSV(t, 1), "--parallel", "33")
	assertFailed(t, r, exitUsage, "--parallel must be between 1 and 32")
}
