package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/campaign"
)

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
	parallel := fs.Int("parallel", 1, fmt.Sprintf("send up to `N` batches at once (at most %d)", campaign.MaxParallel))
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
		usage: "campaign --template NAME FILE [--region ES] [--batch N] [--parallel N] [--skip-invalid] [--resume RESULTS] [flags]",
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
their reasons and nothing is sent, unless --skip-invalid. The rows are then read again and
sent in batches of --batch recipients, one request per batch, up to --parallel batches at
once (each waits for the client's rate limit), with a progress bar on a terminal and a line
per batch otherwise (both with the rate and the time left). The file is read as a stream, so
memory does not grow with its rows (an .xlsx workbook's shared strings excepted). --dry-run shows how the file was
read, the first valid row as its recipient will get it, and the counts of valid and invalid
rows. Each row's outcome goes to the results file (row, phone, status,
message id or error; rows count the header as row 1).

With --contacts (or MENSATEK_CONTACTS), rows whose customer opted out (wrote BAJA, STOP...
to 'mensatek listen --contacts', or was added with 'mensatek optout add') are not sent: they
are recorded as "opted-out" in the results file. A customer who opts out while the campaign
runs is skipped too, in the batches still to send.

Ctrl-C stops after the batches in flight and says which rows were sent. Run the same command
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
	enc, err := campaign.ParseEncoding(*encoding)
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
	o := campaign.Options{
		Template:    *template,
		File:        input,
		FileFlag:    inputFlag,
		Encoding:    enc,
		Sheet:       *sheetName,
		Normalize:   phones.normalize,
		Batch:       *batch,
		Parallel:    *parallel,
		SkipInvalid: *skipInvalid,
		DryRun:      *dryRun,
		Results:     *out,
		Reference:   *reference,
	}
	if *at != "" {
		t, err := parseAt(*at, time.Now())
		if err != nil {
			return s.fail(name, err)
		}
		o.ScheduleAt = t
	}
	switch {
	case *resume != "":
		o.Results, o.Resume = *resume, true
	default:
		if o.Results == "" {
			o.Results = strings.TrimSuffix(input, filepath.Ext(input)) + ".results.csv"
		}
		if !*dryRun && campaign.Exists(o.Results) {
			return s.fail(name, usagef("%s exists: continue that campaign with --resume %s, or give another --out", o.Results, o.Results))
		}
	}
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
		o.Contacts = store
		// The client checks each batch again, so an opt-out recorded while the campaign runs is
		// honoured; a template is never held back by the service window.
		clientOpts = append(clientOpts, mensatek.WithContacts(store, mensatek.SkipRefusedRecipients(), mensatek.WithServiceWindow(0)))
	}
	client, err := api.client(s, clientOpts...)
	if err != nil {
		return s.fail(name, err)
	}
	o.Client = client

	stderr := &lockedWriter{w: s.stderr}
	var prog progress
	o.Events = campaign.Events{
		Warning: func(msg string) {
			fmt.Fprintf(stderr, "mensatek campaign: warning: %s\n", boundLine(sanitize(msg)))
		},
		Invalid: func(b campaign.InvalidRow) {
			fmt.Fprintf(stderr, "%s\n", boundLine(sanitize(fmt.Sprintf("row %d (%s): %s", b.Row, b.Phone, strings.Join(b.Reasons, "; ")))))
		},
		Checked: func(sum *campaign.Summary) {
			if n := sum.OptedOut.Len(); n > 0 && !*jsonOut {
				fmt.Fprintf(stderr, "Skipping %s whose customer opted out (%s).\n", plural(n, "row"), sum.OptedOut.Text())
			}
			if sum.AlreadySent.Len()+sum.WasUnknown.Len() > 0 {
				fmt.Fprintf(stderr, "Resuming %s: skipping %s already sent", sum.Results, plural(sum.AlreadySent.Len(), "row"))
				if n := sum.WasUnknown.Len(); n > 0 {
					fmt.Fprintf(stderr, ", and %s whose outcome is unknown (%s), which are not sent again: check the delivery reports, and delete their lines from %s to send them",
						plural(n, "row"), sum.WasUnknown.Text(), sum.Results)
				}
				fmt.Fprintln(stderr, ".")
			}
			if !*dryRun && sum.ToSend > 0 && (*skipInvalid || sum.Invalid.Len() == 0) {
				prog = newProgress(s, stderr, *template, sum.ToSend)
			}
		},
		Batch: func(b campaign.Batch) {
			if prog != nil {
				prog.batch(b)
			}
			if s.batchDone != nil {
				s.batchDone(b.N)
			}
		},
		Stopping: func() {
			notice := "mensatek campaign: stopping after the batch in flight (Ctrl-C again quits at once; its rows would stay \"pending\", and --resume would not send them again)\n"
			if *parallel > 1 {
				notice = "mensatek campaign: stopping after the batches in flight (Ctrl-C again quits at once; their rows would stay \"pending\", and --resume would not send them again)\n"
			}
			if _, bar := prog.(*barProgress); bar {
				notice = "\n" + notice // off the bar's line
			}
			io.WriteString(stderr, notice)
		},
	}
	sum, err := campaign.Run(ctx, o)
	if prog != nil {
		prog.finish()
	}
	return finishCampaign(s, input, *batch, *jsonOut, sum, err)
}

// finishCampaign prints the summary and the error, if any, and returns the exit code.
func finishCampaign(s *sys, input string, batchSize int, jsonOut bool, sum *campaign.Summary, err error) int {
	const name = "campaign"
	if sum.InvalidRows == nil {
		sum.InvalidRows = []campaign.InvalidRow{}
	}
	if sum.MessageIDs == nil {
		sum.MessageIDs = campaign.IDs{}
	}
	code := exitOK
	if err != nil {
		if sum.Interrupted {
			code = exitInterrupted
			fmt.Fprintf(s.stderr, "mensatek %s: %s\n", name, boundLine(oneLine(err)))
		} else {
			code = s.fail(name, err)
		}
		sum.Error = oneLine(err)
	}
	if jsonOut {
		if werr := writeJSON(s.stdout, sum); werr != nil && code == exitOK {
			return s.output(name, werr)
		}
		return code
	}
	var b strings.Builder
	if sum.DryRun {
		var verr *mensatek.ValidationError
		if sum.File == nil || (err != nil && (!errors.As(err, &verr) || sum.Invalid.Len() == 0)) {
			return code
		}
		preview(&b, input, sum)
		if sum.Invalid.Len() > 0 && err != nil {
			fmt.Fprintf(&b, "Dry run: %s, %d invalid; nothing would be sent.\n", plural(sum.ToSend, "valid row"), sum.Invalid.Len())
		} else {
			skipped := ""
			if sum.Invalid.Len() > 0 {
				skipped = " (skipped)"
			}
			fmt.Fprintf(&b, "Dry run: %s, %d invalid%s; %d would be sent in %s of up to %d; nothing was sent.\n",
				plural(sum.ToSend, "valid row"), sum.Invalid.Len(), skipped, sum.ToSend, plural(batches(sum.ToSend, batchSize), "batch"), batchSize)
		}
		if _, werr := io.WriteString(s.stdout, b.String()); werr != nil && code == exitOK {
			return s.output(name, werr)
		}
		return code
	}
	if err == nil && sum.ToSend == 0 && sum.Invalid.Len() == 0 && sum.OptedOut.Len() == 0 {
		b.WriteString("Nothing to send.\n")
	}
	{
		if sum.File != nil && (sum.Results != "" || err == nil) {
			fmt.Fprintf(&b, "Read %s: %s.\n", input, sum.File.Describe())
		}
		if sum.Sent.Len() > 0 {
			fmt.Fprintf(&b, "Sent %s (%s) in %s (%s)", plural(sum.Sent.Len(), "row"), campaign.RowsText(&sum.Sent),
				plural(sum.Batches, "batch"), idsText(sum.MessageIDs))
			if sum.Credits != nil {
				fmt.Fprintf(&b, "; %s credits left", credits(*sum.Credits))
			}
			b.WriteString(".\n")
		} else if sum.Results != "" || err == nil {
			b.WriteString("Sent nothing.\n")
		}
		for _, l := range []struct {
			rows *campaign.RowSet
			what string
			show bool
		}{
			{&sum.Unknown, "Outcome unknown, not to be resent", true},
			{&sum.Failed, "Failed (not sent)", true},
			{&sum.NotSent, "Not sent yet", sum.Results != ""},
			{&sum.Invalid, "Skipped invalid", sum.Results != ""},
			{&sum.OptedOut, "Skipped, the customer opted out", true},
			{&sum.AlreadySent, "Already sent by an earlier run", true},
			{&sum.WasUnknown, "Outcome unknown in an earlier run, not resent", true},
		} {
			if l.rows.Len() > 0 && l.show {
				fmt.Fprintf(&b, "%s: %s.\n", l.what, campaign.RowsText(l.rows))
			}
		}
		if sum.Results != "" {
			fmt.Fprintf(&b, "Results: %s\n", sum.Results)
		}
	}
	if _, werr := io.WriteString(s.stdout, b.String()); werr != nil && code == exitOK {
		return s.output(name, werr)
	}
	return code
}

func batches(n, size int) int { return (n + size - 1) / size }

// idsText names message ids: "message 7", "messages 7-9".
func idsText(ids campaign.IDs) string {
	if len(ids) == 1 {
		return "message " + ids.Text()
	}
	return "messages " + ids.Text()
}
