// Package campaign sends a template to every row of a spreadsheet, exactly once, in constant
// memory: the pipeline of 'mensatek campaign' (read, check, plan, send, record, resume) without
// its flags and output, so that tests and other commands call Run with Options.
//
// A run reads the file twice as a stream. The first pass checks every row (phone, template
// variables, encoding, duplicates, an earlier run's results, opt-outs) and keeps only bitmaps
// of row numbers and one number a valid phone, to find duplicates; nothing is sent if any row is
// invalid, unless SkipInvalid. The second pass reads the rows again and sends them in batches,
// up to Parallel at a time, each written to the results file as "pending" (and synced) before it
// leaves and with its outcome once its reply came, so that a killed run leaves at most Parallel
// batches whose outcome is unknown, which Resume never sends again.
package campaign

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/cli"
)

// MaxParallel is the most batches Options.Parallel may keep in flight: enough to hide a slow
// API's latency, few enough that a killed run leaves little whose outcome is unknown.
const MaxParallel = 32

// MaxInvalidRows is how many invalid rows the summary lists with their reasons; it counts them
// all, and Events.Invalid sees every one.
const MaxInvalidRows = 100

// Options describe a campaign.
type Options struct {
	// Client sends the batches. With Contacts, build it with mensatek.WithContacts over the
	// same store (with SkipRefusedRecipients), so that a customer who opts out while the
	// campaign runs is left out of the batches still to send.
	Client   *mensatek.Client
	Template string // the approved template's name

	File     string // the recipients: .xlsx, or CSV/TSV in any encoding Encoding names
	FileFlag string // the flag that named File, for messages ("--file")
	Encoding string // a CSV file's encoding: one of the Encoding constants ("" is auto)
	Sheet    string // an .xlsx workbook's sheet ("" for the first)

	// Normalize returns a phone's international digits, or why it cannot be sent to.
	Normalize func(raw string) (phone, problem string)

	Batch       int  // recipients per request (default 100)
	Parallel    int  // batches in flight at once, 1 to MaxParallel (default 1)
	SkipInvalid bool // send the valid rows even if some are invalid
	DryRun      bool // check, and say what would be sent, without sending or writing

	// Results is the results file. Unless Resume, it must not exist; with Resume, it is an
	// earlier run's, whose rows sent or of unknown outcome are not sent again, and this run's
	// lines are added to it.
	Results string
	Resume  bool

	ScheduleAt time.Time // the messages' Madrid time; zero for now
	Reference  string    // the reference of every batch

	Contacts mensatek.ContactStore // rows whose customer opted out are skipped; nil for none
	Events   Events
}

// Events receive what a run has to say while it runs, one call at a time; any may be nil.
type Events struct {
	Warning  func(msg string)     // columns no variable uses; a batch the API sent only in part
	Invalid  func(row InvalidRow) // each invalid row, in row order, as the check finds it
	Checked  func(sum *Summary)   // the check is done; the sending begins if it found no reason not to
	Batch    func(b Batch)        // a batch's outcome is recorded
	Stopping func()               // ctx ended: the batches in flight are finished first
}

// InvalidRow is a row that failed the local check.
type InvalidRow struct {
	Row     int      `json:"row"`
	Phone   string   `json:"phone"`
	Reasons []string `json:"reasons"`
}

// Batch is the outcome of one batch.
type Batch struct {
	N, Total  int    // its number from 1, of about Total
	Rows      []int  // its rows
	Status    string // StatusSent, StatusUnknown, StatusFailed or StatusOptedOut (all left out)
	MessageID int64
}

// Preview is, for a dry run, how the first row to send would be sent.
type Preview struct {
	Row  int
	Vars []PreviewVar
}

// PreviewVar is a template variable's value in a Preview.
type PreviewVar struct {
	Index        int
	Label, Where string
	Value        string
}

// Summary is a campaign's outcome: counts and row sets, as --json prints it. Rows count the
// header as row 1.
type Summary struct {
	Template    string       `json:"template"`
	Results     string       `json:"results,omitempty"` // the results file, once written to
	File        *FileInfo    `json:"file,omitempty"`    // how the recipients' file was read
	Rows        int          `json:"rows"`              // data rows in the file
	Valid       int          `json:"valid"`             // rows that passed the local check (sent or not)
	Sent        RowSet       `json:"sent"`              // sent by this run
	Batches     int          `json:"batches"`           // batches sent by this run
	MessageIDs  IDs          `json:"message_ids"`       // one per batch sent, as ranges
	Unknown     RowSet       `json:"unknown"`           // outcome unknown in this run: never resent
	Failed      RowSet       `json:"failed"`            // refused in this run: --resume sends them
	NotSent     RowSet       `json:"not_sent"`          // not tried, after an interruption or error
	Invalid     RowSet       `json:"invalid"`           // failed the local check
	InvalidRows []InvalidRow `json:"invalid_rows"`      // the first MaxInvalidRows of them, with reasons
	OptedOut    RowSet       `json:"opted_out"`         // skipped: the customer opted out
	AlreadySent RowSet       `json:"already_sent"`      // skipped: sent by an earlier run
	WasUnknown  RowSet       `json:"was_unknown"`       // skipped: outcome unknown in an earlier run
	Credits     *float64     `json:"credits,omitempty"` // credits left after the last batch
	DryRun      bool         `json:"dry_run,omitempty"`
	Interrupted bool         `json:"interrupted"`
	Error       string       `json:"error,omitempty"`

	ToSend  int      `json:"-"` // rows the check left to send
	Preview *Preview `json:"-"` // DryRun: the first row to send
}

// IDs are message ids, written in JSON as compact ranges: "7-9,12".
type IDs []int64

// MarshalJSON writes the ids as ranges.
func (ids IDs) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(ids.format(","))), nil }

// UnmarshalJSON reads what MarshalJSON writes.
func (ids *IDs) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("message ids: %w", err)
	}
	var set RowSet
	if err := set.parse(s); err != nil {
		return err
	}
	*ids = nil
	set.Each(func(r int) bool {
		*ids = append(*ids, int64(r))
		return true
	})
	return nil
}

// Text writes the ids for people: "7-9, 12".
func (ids IDs) Text() string { return ids.format(", ") }

func (ids IDs) format(sep string) string {
	var b strings.Builder
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(strconv.FormatInt(ids[i], 10))
		if j > i {
			b.WriteString("-" + strconv.FormatInt(ids[j], 10))
		}
		i = j + 1
	}
	return b.String()
}

// RowsText names rows: "row 5", "rows 2-3, 5".
func RowsText(s *RowSet) string {
	if s.Len() == 1 {
		return "row " + s.Text()
	}
	return "rows " + s.Text()
}

// run is one campaign.
type run struct {
	o      Options
	src    *source
	tmpl   *mensatek.TemplateDetails
	cols   *columns
	prev   *done
	res    *results
	toSend RowSet
	first  firstRows // each valid phone's first row, to find duplicates

	mu   sync.Mutex // guards sum's outcomes and late while batches are in flight
	sum  *Summary
	late RowSet // rows the client left out of their batch: opted out since the check

	evMu sync.Mutex // one event at a time
}

// event calls fn under the events lock.
func (c *run) event(fn func()) {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	fn()
}

// Run runs a campaign. It returns the summary, also with an error: a *mensatek.ValidationError
// when rows are invalid (nothing was sent), the error of a batch that failed or whose outcome
// is unknown (the campaign stops after it), or, after ctx ended, an error saying which rows
// were sent, with Summary.Interrupted set. The batches in flight when ctx ends are finished:
// a send cut short may have been sent.
func Run(ctx context.Context, o Options) (*Summary, error) {
	sum := &Summary{Template: o.Template, DryRun: o.DryRun}
	if o.Batch == 0 {
		o.Batch = 100
	}
	if o.Parallel == 0 {
		o.Parallel = 1
	}
	if o.Encoding == "" {
		o.Encoding = EncodingAuto
	}
	if o.FileFlag == "" {
		o.FileFlag = "--file"
	}
	switch {
	case o.Client == nil || o.Normalize == nil:
		return sum, cli.Usagef("campaign: Options need a Client and a Normalize function")
	case o.Template == "":
		return sum, cli.Usagef("--template is required")
	case o.Batch < 1:
		return sum, cli.Usagef("--batch must be at least 1")
	case o.Parallel < 1 || o.Parallel > MaxParallel:
		return sum, cli.Usagef("--parallel must be between 1 and %d", MaxParallel)
	case o.Results == "" && !o.DryRun:
		return sum, cli.Usagef("campaign: Options need a Results file")
	}
	c := &run{o: o, sum: sum}
	if o.Resume {
		prev, err := readDone(o.Results)
		if err != nil {
			return sum, err
		}
		c.prev = prev
	}
	src, err := openSource(o.File, readOptions{flag: o.FileFlag, encoding: o.Encoding, sheet: o.Sheet})
	if err != nil {
		return sum, err
	}
	defer src.close()
	c.src = src
	sum.File = &src.info

	d, err := o.Client.TemplateByName(ctx, o.Template)
	if err != nil {
		return sum, err
	}
	if !d.Verified {
		return sum, cli.Invalid("--template", "%s is not approved (status %s): only approved templates can be sent", d.Name, d.Status)
	}
	c.tmpl = d
	if err := c.check(ctx); err != nil {
		return sum, err
	}
	if c.o.Events.Checked != nil {
		c.event(func() { c.o.Events.Checked(sum) })
	}
	bad := sum.Invalid.Len()
	if bad > 0 && !o.SkipInvalid {
		verb := "are"
		if bad == 1 {
			verb = "is"
		}
		if sum.Valid == 0 {
			return sum, cli.Invalid(o.FileFlag, "%d of %d rows %s invalid; nothing was sent: fix them", bad, bad, verb)
		}
		return sum, cli.Invalid(o.FileFlag, "%d of %d rows %s invalid; nothing was sent: fix them, or pass --skip-invalid to send the other %d",
			bad, bad+sum.Valid, verb, sum.ToSend)
	}
	if o.DryRun {
		sum.NotSent = c.toSend
		return sum, nil
	}
	if sum.ToSend == 0 && bad == 0 && sum.OptedOut.Len() == 0 {
		return sum, nil // nothing to send
	}
	if c.res, err = openResults(o.Results); err != nil {
		return sum, err
	}
	sum.Results = o.Results
	err = c.send(ctx)
	if cerr := c.res.close(); cerr != nil && c.o.Events.Warning != nil {
		c.o.Events.Warning(fmt.Sprintf("tidying %s: %s (its lines are a log: the last line of a row and phone is its status)",
			c.res.path, cli.OneLine(cerr)))
	}
	return sum, err
}
