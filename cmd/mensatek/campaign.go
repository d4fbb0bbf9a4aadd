package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mensatek-go/mensatek"
)

// campaignJSON is the --json output of campaign. Row lists hold row numbers, the header being
// row 1.
type campaignJSON struct {
	Template    string        `json:"template"`
	Results     string        `json:"results,omitempty"` // the results file
	Rows        int           `json:"rows"`              // data rows in the CSV
	Sent        []int         `json:"sent"`              // sent by this run
	MessageIDs  []int64       `json:"message_ids"`       // one per batch sent
	Unknown     []int         `json:"unknown"`           // outcome unknown in this run: never resent
	Failed      []int         `json:"failed"`            // refused in this run: --resume sends them
	NotSent     []int         `json:"not_sent"`          // not tried, after an interruption or error
	Invalid     []invalidJSON `json:"invalid"`           // failed the local check
	AlreadySent []int         `json:"already_sent"`      // skipped: sent by an earlier run
	WasUnknown  []int         `json:"was_unknown"`       // skipped: outcome unknown in an earlier run
	Credits     *float64      `json:"credits,omitempty"` // credits left after the last batch
	DryRun      bool          `json:"dry_run,omitempty"`
	Interrupted bool          `json:"interrupted"`
	Error       string        `json:"error,omitempty"`
}

type invalidJSON struct {
	Row     int      `json:"row"`
	Phone   string   `json:"phone"`
	Reasons []string `json:"reasons"`
}

// planned is a row to send.
type planned struct {
	row   int
	phone string // normalised
	rec   mensatek.Recipient
}

func runCampaign(ctx context.Context, args []string, s *sys) int {
	const name = "campaign"
	fs := newFlagSet(name)
	template := fs.String("template", "", "`name` of the approved template to send")
	csvPath := fs.String("csv", "", "CSV `file`: a Telefono column, a Nombre column, one column per template variable")
	batch := fs.Int("batch", 100, "`recipients` per request")
	skipInvalid := fs.Bool("skip-invalid", false, "send the valid rows even if some are invalid")
	out := fs.String("out", "", "write the results to this CSV `file` (default: FILE.results.csv beside --csv)")
	resume := fs.String("resume", "", "continue the campaign recorded in this results `file`: rows sent, or whose outcome is unknown, are not sent again")
	dryRun := fs.Bool("dry-run", false, "check the rows and say what would be sent, without sending")
	at := fs.String("at", "", "schedule the messages for this Madrid `time`, as \"YYYY-MM-DD HH:MM\"")
	reference := fs.String("reference", "", "your `reference` for every batch, returned in delivery reports")
	api := addAPIFlags(fs)
	jsonOut := fs.Bool("json", false, "print a JSON summary")
	pos, code, done := s.parse(name, fs, helpText{
		usage: "campaign --template NAME --csv FILE [--batch N] [--skip-invalid] [--resume RESULTS] [flags]",
		about: `Sends a template to every row of a CSV file: one recipient per row, with a Telefono column,
a Nombre column and one column per template variable ('mensatek template NAME' prints the
header). The CSV may be separated by commas, semicolons or tabs.

Every row is checked against the template first. If any is invalid, they are listed with
their reasons and nothing is sent, unless --skip-invalid. The rows are then sent in batches
of --batch recipients, one request per batch, with a progress bar on a terminal and a line
per batch otherwise. Each row's outcome goes to the results file (row, phone, status,
message id or error; rows count the header as row 1).

Ctrl-C stops after the batch in flight and says which rows were sent. Run the same command
with --resume RESULTS to send the rest: rows already sent are skipped, so nothing is sent
twice. A batch whose outcome is unknown (the connection broke after the request left) is
recorded as "unknown" and --resume does not send it again either: check the delivery reports
(webhook) or the panel, and delete its lines from the results file to send them again.`,
		example: `mensatek template customer_welcome            # the columns the CSV needs
mensatek campaign --template customer_welcome --csv recipients.csv --dry-run
mensatek campaign --template customer_welcome --csv recipients.csv
mensatek campaign --template customer_welcome --csv recipients.csv --resume recipients.results.csv`,
	}, args)
	if done {
		return code
	}
	switch {
	case len(pos) > 0:
		return s.fail(name, usagef("unexpected argument %q", pos[0]))
	case *template == "":
		return s.fail(name, usagef("--template is required"))
	case *csvPath == "":
		return s.fail(name, usagef("--csv is required"))
	case *batch < 1:
		return s.fail(name, usagef("--batch must be at least 1"))
	case *resume != "" && *out != "" && filepath.Clean(*resume) != filepath.Clean(*out):
		return s.fail(name, usagef("--resume writes to the results file it reads: leave out --out"))
	}
	c := &campaign{s: s, template: *template, batchSize: *batch, reference: *reference}
	c.summary.Template = *template
	c.jsonOut = *jsonOut
	c.summary.DryRun = *dryRun
	if *at != "" {
		t, err := parseAt(*at, time.Now())
		if err != nil {
			return s.fail(name, err)
		}
		c.scheduleAt = t
	}

	resultsPath := *out
	switch {
	case *resume != "":
		res, err := readResults(*resume)
		if err != nil {
			return s.fail(name, err)
		}
		c.results = res
	default:
		if resultsPath == "" {
			resultsPath = strings.TrimSuffix(*csvPath, filepath.Ext(*csvPath)) + ".results.csv"
		}
		if !*dryRun && exists(resultsPath) {
			return s.fail(name, usagef("%s exists: continue that campaign with --resume %s, or give another --out", resultsPath, resultsPath))
		}
		c.results = newResults(resultsPath)
	}
	if !*dryRun {
		c.summary.Results = c.results.path
	}

	sh, err := readSheet(*csvPath)
	if err != nil {
		return s.fail(name, err)
	}
	c.summary.Rows = len(sh.rows)
	client, err := api.client(s)
	if err != nil {
		return s.fail(name, err)
	}
	c.client = client
	d, err := client.TemplateByName(ctx, *template)
	if err != nil {
		return s.fail(name, err)
	}
	if !d.Verified {
		return s.fail(name, invalid("--template", "%s is not approved (status %s): only approved templates can be sent",
			d.Name, d.Status))
	}
	cols, warnings, err := mapColumns(sh.header, d)
	if err != nil {
		return s.fail(name, err)
	}
	for _, w := range warnings {
		fmt.Fprintf(s.stderr, "mensatek campaign: warning: %s\n", sanitize(w))
	}
	toSend, bad := c.plan(sh, cols, d)

	for _, b := range bad {
		fmt.Fprintf(s.stderr, "row %d (%s): %s\n", b.Row, sanitize(b.Phone), sanitize(strings.Join(b.Reasons, "; ")))
	}
	if len(c.summary.AlreadySent)+len(c.summary.WasUnknown) > 0 {
		fmt.Fprintf(s.stderr, "Resuming %s: skipping %s already sent", c.results.path, plural(len(c.summary.AlreadySent), "row"))
		if n := len(c.summary.WasUnknown); n > 0 {
			fmt.Fprintf(s.stderr, ", and %s whose outcome is unknown (%s), which are not sent again: check the delivery reports, and delete their lines from %s to send them",
				plural(n, "row"), ranges(c.summary.WasUnknown), c.results.path)
		}
		fmt.Fprintln(s.stderr, ".")
	}
	if len(bad) > 0 && !*skipInvalid {
		verb := "are"
		if len(bad) == 1 {
			verb = "is"
		}
		err := invalid("--csv", "%d of %d rows %s invalid; nothing was sent: fix them, or pass --skip-invalid to send the other %d",
			len(bad), len(bad)+len(toSend), verb, len(toSend))
		c.summary.Results = ""
		return c.finish(name, err)
	}
	if *dryRun {
		if !*jsonOut {
			fmt.Fprintf(s.stdout, "Dry run: %s would be sent in %s of up to %d; nothing was sent.\n",
				plural(len(toSend), "row"), plural(batches(len(toSend), *batch), "batch"), *batch)
		}
		c.summary.NotSent = rowsOf(toSend)
		return c.finish(name, nil)
	}
	if len(toSend) == 0 && len(bad) == 0 {
		if !*jsonOut {
			fmt.Fprintln(s.stdout, "Nothing to send.")
		}
		return c.finish(name, nil)
	}

	if err := c.results.open(); err != nil {
		return c.finish(name, err)
	}
	var recs []record
	for _, b := range bad {
		recs = append(recs, record{row: b.Row, phone: b.Phone, status: statusInvalid, err: strings.Join(b.Reasons, "; ")})
	}
	if err := c.results.add(false, recs...); err != nil {
		return c.finish(name, err)
	}
	err = c.send(ctx, toSend)
	if cerr := c.results.close(); cerr != nil {
		fmt.Fprintf(s.stderr, "mensatek campaign: warning: tidying %s: %s (its lines are a log: the last line of a phone is its status)\n",
			c.results.path, oneLine(cerr))
	}
	return c.finish(name, err)
}

// campaign is one run of the campaign command.
type campaign struct {
	s          *sys
	client     *mensatek.Client
	template   string
	batchSize  int
	reference  string
	scheduleAt time.Time
	results    *results
	summary    campaignJSON
	jsonOut    bool
}

// plan sorts the rows into those to send, those invalid, and those an earlier run handled.
func (c *campaign) plan(sh *sheet, cols *columns, d *mensatek.TemplateDetails) ([]planned, []invalidJSON) {
	var toSend []planned
	var bad []invalidJSON
	firstRow := map[string]int{}
	for _, r := range sh.rows {
		rec := cols.recipient(r)
		phone, phoneErr := mensatek.NormalizePhone(rec.Phone)
		if phoneErr == nil {
			if prev, ok := c.results.sentBefore(phone); ok {
				if prev.status == statusSent {
					c.summary.AlreadySent = append(c.summary.AlreadySent, r.num)
				} else {
					c.summary.WasUnknown = append(c.summary.WasUnknown, r.num)
				}
				continue
			}
		} else {
			phone = rec.Phone
		}
		problems := cols.problems(r, rec, d)
		if first, dup := firstRow[phone]; dup && phoneErr == nil {
			problems = append(problems, fmt.Sprintf("%s: %s is also in row %d", cols.header[cols.phone], phone, first))
		} else if phoneErr == nil {
			firstRow[phone] = r.num
		}
		if len(problems) > 0 {
			bad = append(bad, invalidJSON{Row: r.num, Phone: phone, Reasons: problems})
			continue
		}
		rec.Phone = phone
		toSend = append(toSend, planned{row: r.num, phone: phone, rec: rec})
	}
	c.summary.Invalid = bad
	return toSend, bad
}

func batches(n, size int) int { return (n + size - 1) / size }

func rowsOf(ps []planned) []int {
	rows := make([]int, len(ps))
	for i, p := range ps {
		rows[i] = p.row
	}
	return rows
}

// send sends the rows in batches until they are all sent, ctx is cancelled (the batch in
// flight is finished first) or a batch fails.
func (c *campaign) send(ctx context.Context, rows []planned) error {
	stderr := &lockedWriter{w: c.s.stderr}
	total := batches(len(rows), c.batchSize)
	prog := c.newProgress(stderr, len(rows))
	defer prog.finish()
	notice := "mensatek campaign: stopping after the batch in flight (Ctrl-C again quits at once; its rows would stay \"pending\", and --resume would not send them again)\n"
	if _, bar := prog.(*barProgress); bar {
		notice = "\n" + notice // off the bar's line
	}
	for n := 1; len(rows) > 0; n++ {
		if ctx.Err() != nil {
			c.summary.Interrupted = true
			c.summary.NotSent = rowsOf(rows)
			return &interrupted{c: c, batch: n - 1, total: total}
		}
		b := rows[:min(c.batchSize, len(rows))]
		rows = rows[len(b):]
		pending := make([]record, len(b))
		to := make([]mensatek.Recipient, len(b))
		for i, p := range b {
			pending[i] = record{row: p.row, phone: p.phone, status: statusPending}
			to[i] = p.rec
		}
		if err := c.results.add(true, pending...); err != nil {
			c.summary.NotSent = append(rowsOf(b), rowsOf(rows)...)
			return err
		}

		stopNotice := noticeOnCancel(ctx, stderr, notice)
		// The batch in flight is not cancelled: a send cut short may have been sent.
		res, err := c.client.SendChecked(context.WithoutCancel(ctx), mensatek.SendRequest{
			To:         to,
			Message:    mensatek.Template{Name: c.template},
			ScheduleAt: c.scheduleAt,
			Reference:  c.reference,
		})
		stopNotice()

		status, id, msg := statusSent, int64(0), ""
		if res != nil {
			id = res.MessageID
			credits := res.Credits
			c.summary.Credits = &credits
		}
		switch {
		case errors.Is(err, mensatek.ErrOutcomeUnknown):
			status, msg = statusUnknown, oneLine(err)
		case err != nil:
			status, msg = statusFailed, oneLine(err)
		}
		final := make([]record, len(b))
		for i, p := range b {
			final[i] = record{row: p.row, phone: p.phone, status: status, messageID: id, err: msg}
		}
		werr := c.results.add(false, final...)
		switch status {
		case statusSent:
			c.summary.Sent = append(c.summary.Sent, rowsOf(b)...)
			c.summary.MessageIDs = append(c.summary.MessageIDs, id)
			if res.NotSent > 0 {
				fmt.Fprintf(stderr, "mensatek campaign: warning: the API did not send %s of batch %d (%s) and does not say which; see the delivery reports\n",
					plural(res.NotSent, "recipient"), n, rowsText(rowsOf(b)))
			}
		case statusUnknown:
			c.summary.Unknown = rowsOf(b)
		case statusFailed:
			c.summary.Failed = rowsOf(b)
		}
		prog.batch(n, total, rowsOf(b), status, id)
		if c.s.batchDone != nil {
			c.s.batchDone(n)
		}
		if err != nil {
			c.summary.NotSent = rowsOf(rows)
			return &batchError{c: c, batch: n, rows: rowsOf(b), status: status, err: err}
		}
		if werr != nil {
			c.summary.NotSent = rowsOf(rows)
			return werr
		}
	}
	return nil
}

// noticeOnCancel prints msg to w if ctx is cancelled before the returned stop is called.
func noticeOnCancel(ctx context.Context, w io.Writer, msg string) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			io.WriteString(w, msg)
		case <-quit:
		}
	}()
	return func() {
		close(quit)
		wg.Wait()
	}
}

// interrupted ends a campaign stopped by Ctrl-C between batches.
type interrupted struct {
	c            *campaign
	batch, total int
}

func (e *interrupted) Error() string {
	return fmt.Sprintf("interrupted after batch %d of %d: %s; send the rest with --resume %s",
		e.batch, e.total, e.c.sentSoFar(), e.c.results.path)
}

// batchError ends a campaign at a batch that failed.
type batchError struct {
	c      *campaign
	batch  int
	rows   []int
	status string
	err    error
}

func (e *batchError) Error() string {
	what := fmt.Sprintf("batch %d (%s)", e.batch, rowsText(e.rows))
	if e.status == statusUnknown {
		return fmt.Sprintf("%s: %s; they are recorded as %q in %s and --resume will not send them again: check the delivery reports (webhook) or the panel first; %s",
			what, oneLine(e.err), statusUnknown, e.c.results.path, e.c.sentSoFar())
	}
	return fmt.Sprintf("%s was not sent: %s; %s; fix the cause and send the rest with --resume %s",
		what, oneLine(e.err), e.c.sentSoFar(), e.c.results.path)
}

func (e *batchError) Unwrap() error { return e.err }

// rowsText names rows: "row 5", "rows 2-3, 5".
func rowsText(rows []int) string {
	if len(rows) == 1 {
		return "row " + ranges(rows)
	}
	return "rows " + ranges(rows)
}

func wasWere(n int) string {
	if n == 1 {
		return " was"
	}
	return " were"
}

// idsText names message ids: "message 7", "messages 7-9".
func idsText(ids []int64) string {
	if len(ids) == 1 {
		return "message " + ranges(ids)
	}
	return "messages " + ranges(ids)
}

// sentSoFar says which rows this run sent and which it did not try.
func (c *campaign) sentSoFar() string {
	sent := "no rows were sent"
	if len(c.summary.Sent) > 0 {
		sent = rowsText(c.summary.Sent) + wasWere(len(c.summary.Sent)) + " sent"
	}
	if len(c.summary.NotSent) > 0 {
		sent += ", " + rowsText(c.summary.NotSent) + wasWere(len(c.summary.NotSent)) + " not"
	}
	return sent
}

// finish prints the summary and the error, if any, and returns the exit code.
func (c *campaign) finish(name string, err error) int {
	s := c.s
	for _, p := range []*[]int{&c.summary.Sent, &c.summary.Unknown, &c.summary.Failed, &c.summary.NotSent,
		&c.summary.AlreadySent, &c.summary.WasUnknown} {
		if *p == nil {
			*p = []int{}
		}
	}
	if c.summary.MessageIDs == nil {
		c.summary.MessageIDs = []int64{}
	}
	if c.summary.Invalid == nil {
		c.summary.Invalid = []invalidJSON{}
	}
	code := exitOK
	if err != nil {
		var intr *interrupted
		if errors.As(err, &intr) {
			code = exitInterrupted
			fmt.Fprintf(s.stderr, "mensatek %s: %s\n", name, oneLine(err))
		} else {
			code = s.fail(name, err)
		}
		c.summary.Error = oneLine(err)
	}
	if c.jsonOut {
		if werr := writeJSON(s.stdout, c.summary); werr != nil && code == exitOK {
			return s.output(name, werr)
		}
		return code
	}
	if c.summary.DryRun && err == nil {
		return code
	}
	sum := c.summary
	var b strings.Builder
	if len(sum.Sent) > 0 {
		fmt.Fprintf(&b, "Sent %s (%s) in %s (%s)", plural(len(sum.Sent), "row"), rowsText(sum.Sent),
			plural(len(sum.MessageIDs), "batch"), idsText(sum.MessageIDs))
		if sum.Credits != nil {
			fmt.Fprintf(&b, "; %s credits left", credits(*sum.Credits))
		}
		b.WriteString(".\n")
	} else if sum.Results != "" || err == nil {
		b.WriteString("Sent nothing.\n")
	}
	if len(sum.Unknown) > 0 {
		fmt.Fprintf(&b, "Outcome unknown, not to be resent: %s.\n", rowsText(sum.Unknown))
	}
	if len(sum.Failed) > 0 {
		fmt.Fprintf(&b, "Failed (not sent): %s.\n", rowsText(sum.Failed))
	}
	if len(sum.NotSent) > 0 && sum.Results != "" {
		fmt.Fprintf(&b, "Not sent yet: %s.\n", rowsText(sum.NotSent))
	}
	if len(sum.Invalid) > 0 && sum.Results != "" {
		rows := make([]int, len(sum.Invalid))
		for i, r := range sum.Invalid {
			rows[i] = r.Row
		}
		fmt.Fprintf(&b, "Skipped invalid: %s.\n", rowsText(rows))
	}
	if len(sum.AlreadySent) > 0 {
		fmt.Fprintf(&b, "Already sent by an earlier run: %s.\n", rowsText(sum.AlreadySent))
	}
	if len(sum.WasUnknown) > 0 {
		fmt.Fprintf(&b, "Outcome unknown in an earlier run, not resent: %s.\n", rowsText(sum.WasUnknown))
	}
	if sum.Results != "" {
		fmt.Fprintf(&b, "Results: %s\n", sum.Results)
	}
	if _, werr := io.WriteString(s.stdout, b.String()); werr != nil && code == exitOK {
		return s.output(name, werr)
	}
	return code
}

// progress reports each batch: a bar on a terminal, a line otherwise.
type progress interface {
	batch(n, total int, rows []int, status string, id int64)
	finish()
}

func (c *campaign) newProgress(w io.Writer, rows int) progress {
	if c.s.terminal(c.s.stderr) {
		return &barProgress{w: w, bar: progressbar.NewOptions(rows,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("sending "+sanitize(c.template)),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetRenderBlankState(true),
		)}
	}
	return &lineProgress{w: w}
}

type lineProgress struct{ w io.Writer }

func (p *lineProgress) batch(n, total int, rows []int, status string, id int64) {
	what := status
	switch status {
	case statusSent:
		what = fmt.Sprintf("sent (message %d)", id)
	case statusUnknown:
		what = "outcome unknown"
	case statusFailed:
		what = "not sent"
	}
	fmt.Fprintf(p.w, "batch %d/%d: %s %s\n", n, total, rowsText(rows), what)
}

func (p *lineProgress) finish() {}

type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (p *barProgress) batch(_, _ int, rows []int, status string, _ int64) {
	if status == statusSent {
		p.bar.Add(len(rows))
	}
}

func (p *barProgress) finish() {
	io.WriteString(p.w, "\n")
}
