package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

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
