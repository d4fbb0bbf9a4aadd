package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mensatek-go/mensatek"
)

// campaignJSON is the --json output of campaign. Row lists hold row numbers, the header being
// row 1.
type campaignJSON struct {
	Template    string        `json:"template"`
	Results     string        `json:"results,omitempty"` // the results file
	File        *fileInfo     `json:"file,omitempty"`    // how the recipients' file was read
	Rows        int           `json:"rows"`              // data rows in the file
	Valid       int           `json:"valid"`             // rows that passed the local check (sent or not)
	Sent        []int         `json:"sent"`              // sent by this run
	MessageIDs  []int64       `json:"message_ids"`       // one per batch sent
	Unknown     []int         `json:"unknown"`           // outcome unknown in this run: never resent
	Failed      []int         `json:"failed"`            // refused in this run: --resume sends them
	NotSent     []int         `json:"not_sent"`          // not tried, after an interruption or error
	Invalid     []invalidJSON `json:"invalid"`           // failed the local check
	OptedOut    []int         `json:"opted_out"`         // skipped: the customer opted out (--contacts)
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
	filePath := fs.String("file", "", "the recipients: a .xlsx, .csv or .tsv `file` (or give it as the argument)")
	csvPath := fs.String("csv", "", "`file` of recipients: another name for --file")
	encoding := fs.String("encoding", "auto", "`encoding` of a CSV file: auto, utf-8, windows-1252, utf-16 or macintosh")
	sheetName := fs.String("sheet", "", "the `sheet` to read from an .xlsx workbook (default: the first)")
	region := fs.String("region", "", "read national phone numbers as numbers of this `country` (ISO code, such as ES; default $MENSATEK_REGION)")
	batch := fs.Int("batch", 100, "`recipients` per request")
	skipInvalid := fs.Bool("skip-invalid", false, "send the valid rows even if some are invalid")
	out := fs.String("out", "", "write the results to this CSV `file` (default: FILE.results.csv beside the recipients' file)")
	resume := fs.String("resume", "", "continue the campaign recorded in this results `file`: rows sent, or whose outcome is unknown, are not sent again")
	dryRun := fs.Bool("dry-run", false, "check the rows and say what would be sent, without sending")
	at := fs.String("at", "", "schedule the messages for this Madrid `time`, as \"YYYY-MM-DD HH:MM\"")
	reference := fs.String("reference", "", "your `reference` for every batch, returned in delivery reports")
	contacts := fs.String("contacts", "", "skip the customers who opted out, as kept "+contactsHelp+" (default $MENSATEK_CONTACTS)")
	api := addAPIFlags(fs)
	jsonOut := fs.Bool("json", false, "print a JSON summary")
	pos, code, done := s.parse(name, fs, helpText{
		usage: "campaign --template NAME FILE [--region ES] [--batch N] [--skip-invalid] [--resume RESULTS] [flags]",
		about: `Sends a template to every row of a spreadsheet: one recipient per row, with a Telefono column,
a Nombre column and one column per template variable ('mensatek template NAME' prints the
header). Column names are matched without regard to case, accents or spaces, and Teléfono,
Móvil, Celular, Phone and Mobile name the phone column too; Name the Nombre column.

FILE (or --file, or --csv) is an .xlsx workbook (its first sheet, or --sheet) or a CSV or TSV
file separated by commas, semicolons or tabs, with any line ends, in UTF-8, UTF-16 (with a
byte-order mark), Windows-1252 (Excel's "CSV" on Windows) or Mac Roman (its "CSV
(Macintosh)", with CR line ends): the content decides, and the summary says which was used.
--encoding forces one. A value with characters the encoding could not read makes its row
invalid, so that no garbled name is ever sent.

Phones must be valid numbers for their country (libphonenumber's data). Without --region, they
need their country prefix (34600123456, +34 600 123 456, 0034...); with --region ES (or
MENSATEK_REGION=ES), national numbers such as 600 123 456 are read as Spanish.

Every row is checked against the template first. If any is invalid, they are listed with
their reasons and nothing is sent, unless --skip-invalid. The rows are then sent in batches
of --batch recipients, one request per batch, with a progress bar on a terminal and a line
per batch otherwise (both with the rate and the time left). --dry-run shows how the file was
read, the first valid row as its recipient will get it, and the counts of valid and invalid
rows. Each row's outcome goes to the results file (row, phone, status,
message id or error; rows count the header as row 1).

With --contacts (or MENSATEK_CONTACTS), rows whose customer opted out (wrote BAJA, STOP...
to 'mensatek listen --contacts', or was added with 'mensatek optout add') are not sent: they
are recorded as "opted-out" in the results file. A customer who opts out while the campaign
runs is skipped too, in the batches still to send.

Ctrl-C stops after the batch in flight and says which rows were sent. Run the same command
with --resume RESULTS to send the rest: rows already sent are skipped, so nothing is sent
twice. A batch whose outcome is unknown (the connection broke after the request left) is
recorded as "unknown" and --resume does not send it again either: check the delivery reports
(webhook) or the panel, and delete its lines from the results file to send them again.`,
		example: `mensatek template customer_welcome            # the columns the file needs
mensatek campaign --template customer_welcome clientes.xlsx --region ES --dry-run
mensatek campaign --template customer_welcome clientes.xlsx --region ES
mensatek campaign --template customer_welcome clientes.xlsx --region ES --resume clientes.results.csv`,
	}, args)
	if done {
		return code
	}
	input, inputFlag := "", ""
	for _, f := range []struct{ flag, path string }{{"--file", *filePath}, {"--csv", *csvPath}} {
		if f.path != "" && input != "" {
			return s.fail(name, usagef("give the recipients' file once (%s and %s)", inputFlag, f.flag))
		}
		if f.path != "" {
			input, inputFlag = f.path, f.flag
		}
	}
	if len(pos) > 0 && input == "" {
		input, inputFlag, pos = pos[0], "file", pos[1:]
	}
	enc, err := parseEncoding(*encoding)
	if err != nil {
		return s.fail(name, err)
	}
	if *region == "" {
		*region = s.env("MENSATEK_REGION")
	}
	phones, err := newPhoneChecker(*region)
	if err != nil {
		return s.fail(name, err)
	}
	switch {
	case len(pos) > 0:
		return s.fail(name, usagef("unexpected argument %s", clipQuote(pos[0])))
	case *template == "":
		return s.fail(name, usagef("--template is required"))
	case input == "":
		return s.fail(name, usagef("the recipients' file is required: give it as the argument, or with --file"))
	case *batch < 1:
		return s.fail(name, usagef("--batch must be at least 1"))
	case *resume != "" && *out != "" && filepath.Clean(*resume) != filepath.Clean(*out):
		return s.fail(name, usagef("--resume writes to the results file it reads: leave out --out"))
	}
	c := &campaign{s: s, template: *template, batchSize: *batch, reference: *reference, phones: phones}
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
			resultsPath = strings.TrimSuffix(input, filepath.Ext(input)) + ".results.csv"
		}
		if !*dryRun && exists(resultsPath) {
			return s.fail(name, usagef("%s exists: continue that campaign with --resume %s, or give another --out", resultsPath, resultsPath))
		}
		c.results = newResults(resultsPath)
	}
	if !*dryRun {
		c.summary.Results = c.results.path
	}

	sh, err := readSheet(input, readOptions{flag: inputFlag, encoding: enc, sheet: *sheetName})
	if err != nil {
		return s.fail(name, err)
	}
	c.summary.File = &sh.info
	c.summary.Rows = len(sh.rows)
	c.inputPath = input
	if *contacts == "" {
		*contacts = s.env("MENSATEK_CONTACTS")
	}
	var clientOpts []mensatek.Option
	if *contacts != "" {
		store, closeStore, err := openContacts(ctx, *contacts)
		if err != nil {
			return s.fail(name, err)
		}
		defer closeStore()
		c.contacts = store
		// The client checks each batch again, so an opt-out recorded while the campaign runs is
		// honoured; a template is never held back by the service window.
		clientOpts = append(clientOpts, mensatek.WithContacts(store, mensatek.SkipRefusedRecipients(), mensatek.WithServiceWindow(0)))
	}
	client, err := api.client(s, clientOpts...)
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
	cols, warning, err := mapColumns(sh, inputFlag, d)
	if err != nil {
		return s.fail(name, err)
	}
	if warning != "" {
		fmt.Fprintf(s.stderr, "mensatek campaign: warning: %s\n", boundLine(sanitize(warning)))
	}
	toSend, bad := c.plan(sh, cols, d)
	c.summary.Valid = len(toSend)
	toSend, optedOut, err := c.dropOptedOut(ctx, toSend)
	if err != nil {
		return s.fail(name, err)
	}
	if n := len(optedOut); n > 0 && !*jsonOut {
		fmt.Fprintf(s.stderr, "Skipping %s whose customer opted out (%s).\n", plural(n, "row"), ranges(rowsOf(optedOut)))
	}

	for _, b := range bad {
		fmt.Fprintf(s.stderr, "%s\n", boundLine(sanitize(fmt.Sprintf("row %d (%s): %s", b.Row, b.Phone, strings.Join(b.Reasons, "; ")))))
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
		err := invalid(inputFlag, "%d of %d rows %s invalid; nothing was sent: fix them, or pass --skip-invalid to send the other %d",
			len(bad), len(bad)+len(toSend), verb, len(toSend))
		if len(toSend) == 0 {
			err = invalid(inputFlag, "%d of %d rows %s invalid; nothing was sent: fix them", len(bad), len(bad), verb)
		}
		c.summary.Results = ""
		if *dryRun && !*jsonOut {
			c.preview(d, cols, toSend)
			fmt.Fprintf(s.stdout, "Dry run: %s, %d invalid; nothing would be sent.\n", plural(len(toSend), "valid row"), len(bad))
		}
		return c.finish(name, err)
	}
	if *dryRun {
		if !*jsonOut {
			c.preview(d, cols, toSend)
			skipped := ""
			if len(bad) > 0 {
				skipped = " (skipped)"
			}
			fmt.Fprintf(s.stdout, "Dry run: %s, %d invalid%s; %d would be sent in %s of up to %d; nothing was sent.\n",
				plural(len(toSend), "valid row"), len(bad), skipped, len(toSend), plural(batches(len(toSend), *batch), "batch"), *batch)
		}
		c.summary.NotSent = rowsOf(toSend)
		return c.finish(name, nil)
	}
	if len(toSend) == 0 && len(bad) == 0 && len(optedOut) == 0 {
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
	for _, p := range optedOut {
		recs = append(recs, record{row: p.row, phone: p.phone, status: statusOptedOut})
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
	phones     *phoneChecker
	inputPath  string
	contacts   mensatek.ContactStore // nil without --contacts
}

// dropOptedOut asks the contact store about every row's phone in one call, and returns the
// rows to send and the rows whose customer opted out.
func (c *campaign) dropOptedOut(ctx context.Context, rows []planned) (send, optedOut []planned, err error) {
	if c.contacts == nil || len(rows) == 0 {
		return rows, nil, nil
	}
	phones := make([]string, len(rows))
	for i, p := range rows {
		phones[i] = p.phone
	}
	known, err := c.contacts.Contacts(ctx, phones)
	if err != nil {
		return nil, nil, fmt.Errorf("reading --contacts: %w", err)
	}
	for _, p := range rows {
		if known[p.phone].OptedOut {
			optedOut = append(optedOut, p)
		} else {
			send = append(send, p)
		}
	}
	c.summary.OptedOut = rowsOf(optedOut)
	return send, optedOut, nil
}

// plan sorts the rows into those to send, those invalid, and those an earlier run handled.
func (c *campaign) plan(sh *sheet, cols *columns, d *mensatek.TemplateDetails) ([]planned, []invalidJSON) {
	var toSend []planned
	var bad []invalidJSON
	firstRow := map[string]int{}
	for i, ch := range c.check(sh, cols, d) {
		r, rec, phone, problems := sh.rows[i], ch.rec, ch.phone, ch.problems
		if ch.phoneOK {
			if prev, ok := c.results.sentBefore(phone); ok {
				if prev.status == statusSent {
					c.summary.AlreadySent = append(c.summary.AlreadySent, r.num)
				} else {
					c.summary.WasUnknown = append(c.summary.WasUnknown, r.num)
				}
				continue
			}
			if first, dup := firstRow[phone]; dup {
				problems = append(problems, fmt.Sprintf("%s: %s is also in row %d", cols.header[cols.phone], phone, first))
			} else {
				firstRow[phone] = r.num
			}
		}
		if len(problems) > 0 {
			bad = append(bad, invalidJSON{Row: r.num, Phone: phone, Reasons: problems})
			continue
		}
		toSend = append(toSend, planned{row: r.num, phone: phone, rec: rec})
	}
	c.summary.Invalid = bad
	return toSend, bad
}

// checkedRow is a row after the local check.
type checkedRow struct {
	rec      mensatek.Recipient // with the phone in international form when it is valid
	phone    string             // international when phoneOK, else as given (cut short)
	phoneOK  bool
	problems []string
}

// check checks every row on its own (phone, template variables, encoding), on every core:
// libphonenumber's check is most of the time a large campaign takes before its first batch.
func (c *campaign) check(sh *sheet, cols *columns, d *mensatek.TemplateDetails) []checkedRow {
	out := make([]checkedRow, len(sh.rows))
	one := func(i int) {
		r := sh.rows[i]
		rec := cols.recipient(r)
		phone, phoneProblem := c.phones.normalize(rec.Phone)
		if phoneProblem == "" {
			rec.Phone = phone // the template's check sees what is sent
		} else {
			phone = clip(rec.Phone)
		}
		out[i] = checkedRow{rec: rec, phone: phone, phoneOK: phoneProblem == "",
			problems: cols.problems(r, rec, phoneProblem, sh.info.Encoding, d)}
	}
	const chunk = 1000
	workers := min(runtime.GOMAXPROCS(0), (len(out)+chunk-1)/chunk)
	if workers <= 1 {
		for i := range out {
			one(i)
		}
		return out
	}
	var wg sync.WaitGroup
	per := (len(out) + workers - 1) / workers
	for from := 0; from < len(out); from += per {
		wg.Add(1)
		go func(from, to int) {
			defer wg.Done()
			for i := from; i < to; i++ {
				one(i)
			}
		}(from, min(from+per, len(out)))
	}
	wg.Wait()
	return out
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
		// The batch in flight is not cancelled: a send cut short may have been sent. Send, not
		// SendChecked: plan checked every row against the template moments ago, and checking
		// each again (or fetching the template list again when its cache expires in a long
		// campaign) would only cost time.
		res, err := c.client.Send(context.WithoutCancel(ctx), mensatek.SendRequest{
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
		// Customers who opted out since the campaign began: the client left them out.
		skipped := map[string]bool{}
		switch {
		case errors.Is(err, mensatek.ErrOptedOut) && !errors.Is(err, mensatek.ErrOutcomeUnknown):
			for _, p := range b {
				skipped[p.phone] = true
			}
			err = nil
		case res != nil:
			for _, sk := range res.Skipped {
				skipped[sk.Phone] = true
			}
		}
		switch {
		case errors.Is(err, mensatek.ErrOutcomeUnknown):
			status, msg = statusUnknown, oneLine(err)
		case err != nil:
			status, msg = statusFailed, oneLine(err)
		}
		final := make([]record, len(b))
		var optedOut []planned
		for i, p := range b {
			final[i] = record{row: p.row, phone: p.phone, status: status, messageID: id, err: msg}
			if skipped[p.phone] {
				final[i] = record{row: p.row, phone: p.phone, status: statusOptedOut}
				optedOut = append(optedOut, p)
			}
		}
		if len(optedOut) > 0 {
			c.summary.OptedOut = append(c.summary.OptedOut, rowsOf(optedOut)...)
			b = slices.DeleteFunc(slices.Clone(b), func(p planned) bool { return skipped[p.phone] })
			if len(b) == 0 {
				if werr := c.results.add(false, final...); werr != nil {
					c.summary.NotSent = rowsOf(rows)
					return werr
				}
				prog.batch(n, total, rowsOf(optedOut), statusOptedOut, 0)
				if c.s.batchDone != nil {
					c.s.batchDone(n)
				}
				continue
			}
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
		&c.summary.OptedOut, &c.summary.AlreadySent, &c.summary.WasUnknown} {
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
	if sum.File != nil && (sum.Results != "" || err == nil) {
		fmt.Fprintf(&b, "Read %s: %s.\n", c.inputPath, sum.File.describe())
	}
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
	if len(sum.OptedOut) > 0 {
		fmt.Fprintf(&b, "Skipped, the customer opted out: %s.\n", rowsText(sum.OptedOut))
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
	start := time.Now()
	if c.s.terminal(c.s.stderr) {
		return &barProgress{w: w, start: start, total: rows, desc: "sending " + sanitize(c.template), bar: progressbar.NewOptions(rows,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("sending "+sanitize(c.template)),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetRenderBlankState(true),
		)}
	}
	return &lineProgress{w: w, start: start, total: rows}
}

// rate returns the rows sent per second since start, and the time the rest would take at it.
func rate(start time.Time, done, total int) (perSecond float64, left time.Duration) {
	elapsed := time.Since(start).Seconds()
	if done == 0 || elapsed <= 0 {
		return 0, 0
	}
	perSecond = float64(done) / elapsed
	return perSecond, time.Duration(float64(total-done) / perSecond * float64(time.Second))
}

// leftText writes a time left for people: "12s", "3m20s", "1h05m".
func leftText(d time.Duration) string {
	switch d = d.Round(time.Second); {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// lineProgress prints a line per batch, with the rate: for logs and pipes.
type lineProgress struct {
	w           io.Writer
	start       time.Time
	done, total int
}

func (p *lineProgress) batch(n, total int, rows []int, status string, id int64) {
	p.done += len(rows)
	what := status
	switch status {
	case statusSent:
		what = fmt.Sprintf("sent (message %d)", id)
	case statusUnknown:
		what = "outcome unknown"
	case statusFailed:
		what = "not sent"
	case statusOptedOut:
		what = "skipped (opted out)"
	}
	perSecond, left := rate(p.start, p.done, p.total)
	fmt.Fprintf(p.w, "batch %d/%d: %s %s; %.0f rows/s, time left %s\n", n, total, rowsText(rows), what, perSecond, leftText(left))
}

func (p *lineProgress) finish() {}

// barProgress draws a bar with the count, the rate and the time left: for a terminal.
type barProgress struct {
	w           io.Writer
	bar         *progressbar.ProgressBar
	start       time.Time
	desc        string
	done, total int
}

func (p *barProgress) batch(_, _ int, rows []int, status string, _ int64) {
	p.done += len(rows)
	if status == statusSent {
		_, left := rate(p.start, p.done, p.total)
		p.bar.Describe(fmt.Sprintf("%s, time left %s", p.desc, leftText(left)))
		p.bar.Add(len(rows))
	}
}

func (p *barProgress) finish() {
	io.WriteString(p.w, "\n")
}

// preview prints, for --dry-run, how the file was read and the first valid row as its
// recipient will get it: the value of each of the template's variables.
func (c *campaign) preview(d *mensatek.TemplateDetails, cols *columns, toSend []planned) {
	w := c.s.stdout
	fmt.Fprintf(w, "Read %s: %s.\n", c.inputPath, c.summary.File.describe())
	if len(toSend) > 0 {
		p := toSend[0]
		fmt.Fprintf(w, "Template %s, as row %d will receive it:\n", sanitize(d.Name), p.row)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, v := range d.Variables {
			label := v.Name
			if v.Field != "" && v.Field != v.Name {
				label += " (" + v.Field + ")"
			}
			where := strings.ToLower(string(v.Location))
			if where == "" {
				where = "recipient"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", v.Index, sanitize(label), sanitize(where), sanitize(clip(cols.value(v, p.rec))))
		}
		tw.Flush()
	}
}
