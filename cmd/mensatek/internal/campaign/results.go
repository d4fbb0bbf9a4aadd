package campaign

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/cli"
)

// The statuses of the results file. The file is a log, written as batches finish: each batch's
// rows are written as pending (and synced) before the batch is sent and again with their
// outcome after, so that a run killed mid-batch leaves them pending. The last line of a row and
// phone is its status. A run that ends normally (also after Ctrl-C or an error) drops the
// pending lines an outcome followed, so a row has one line per run that tried it.
const (
	StatusPending  = "pending" // being sent when the run stopped: treated as unknown
	StatusSent     = "sent"
	StatusUnknown  = "unknown"   // the batch may have been sent: --resume never sends it again
	StatusFailed   = "failed"    // refused, or never left: --resume sends it again
	StatusInvalid  = "invalid"   // failed the local check: --resume checks it again
	StatusOptedOut = "opted-out" // the contact store says the customer opted out: --resume checks it again
)

// ResultsHeader is the header of the results file.
var ResultsHeader = []string{"row", "phone", "status", "message_id", "error"}

// record is one line of the results file.
type record struct {
	row       int
	phone     string // normalised when valid, else as given
	status    string
	messageID int64
	err       string
}

func (r record) cells() []string {
	id := ""
	if r.messageID != 0 {
		id = strconv.FormatInt(r.messageID, 10)
	}
	return []string{strconv.Itoa(r.row), r.phone, r.status, id, r.err}
}

// rowKey identifies a line of the results file: a row and its phone.
type rowKey struct {
	row   int
	phone string
}

// phoneSet is a set of phones as sorted numbers: 8 bytes a phone.
type phoneSet []uint64

func (s phoneSet) has(n uint64) bool {
	_, ok := slices.BinarySearch(s, n)
	return ok
}

func (s *phoneSet) seal() {
	slices.Sort(*s)
	*s = slices.Compact(*s)
}

// phoneNumber packs international digits (at most 15) in a number.
func phoneNumber(digits string) (uint64, bool) {
	if digits == "" || len(digits) > 19 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// done is what an earlier run did, for --resume: the phones sent, and those whose outcome is
// unknown (or left pending), which are never sent again, in whatever row they are now.
type done struct {
	sent, unknown phoneSet
}

// readDone reads a results file written by an earlier run in one pass, holding only the sets
// of phones done and the rows whose pending line has no outcome yet (the batches in flight when
// a run was killed, and those of the lines read since).
func readDone(path string) (*done, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, cli.Usagef("--resume: %v", err)
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	d := &done{}
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return d, nil // created, then stopped before anything was written
	}
	if err != nil || len(header) < 3 || header[0] != "row" || header[1] != "phone" || header[2] != "status" {
		return nil, cli.Usagef("--resume: %s is not a results file of 'mensatek campaign' (its header is not %s)",
			path, strings.Join(ResultsHeader, ","))
	}
	pending := map[rowKey]uint64{}
	for line := 2; ; line++ {
		cells, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, cli.Invalid("--resume", "%s: %v", path, err)
		}
		rec, err := parseRecord(cells, path, line)
		if err != nil {
			return nil, err
		}
		n, ok := phoneNumber(rec.phone)
		if !ok {
			continue // an invalid row's phone as given: never sent
		}
		k := rowKey{rec.row, rec.phone}
		delete(pending, k)
		switch rec.status {
		case StatusSent:
			d.sent = append(d.sent, n)
		case StatusUnknown:
			d.unknown = append(d.unknown, n)
		case StatusPending:
			pending[k] = n
		}
	}
	for _, n := range pending {
		d.unknown = append(d.unknown, n)
	}
	d.sent.seal()
	d.unknown.seal()
	return d, nil
}

// parseRecord reads a line of a results file.
func parseRecord(cells []string, path string, line int) (record, error) {
	get := func(i int) string {
		if i < len(cells) {
			return cells[i]
		}
		return ""
	}
	rec := record{phone: get(1), status: get(2), err: get(4)}
	if p, err := mensatek.NormalizePhone(rec.phone); err == nil {
		rec.phone = p // the file may have been edited by hand
	}
	var err error
	if rec.row, err = strconv.Atoi(get(0)); err != nil {
		return rec, cli.Invalid("--resume", "%s line %d: row %s is not a number", path, line, cli.ClipQuote(get(0)))
	}
	if id := get(3); id != "" {
		if rec.messageID, err = strconv.ParseInt(id, 10, 64); err != nil {
			return rec, cli.Invalid("--resume", "%s line %d: message id %s is not a number", path, line, cli.ClipQuote(id))
		}
	}
	switch rec.status {
	case StatusPending, StatusSent, StatusUnknown, StatusFailed, StatusInvalid, StatusOptedOut:
	default:
		return rec, cli.Invalid("--resume", "%s line %d: unknown status %s", path, line, cli.ClipQuote(rec.status))
	}
	return rec, nil
}

// status returns what an earlier run did with phone: StatusSent, StatusUnknown or "".
func (d *done) status(phone string) string {
	if d == nil {
		return ""
	}
	n, ok := phoneNumber(phone)
	switch {
	case !ok:
		return ""
	case d.sent.has(n):
		return StatusSent
	case d.unknown.has(n):
		return StatusUnknown
	}
	return ""
}

// results appends records to the results file, from several goroutines.
type results struct {
	path string
	mu   sync.Mutex
	f    *os.File
	w    *csv.Writer
}

// openResults opens the file for appending, writing the header to a new or empty file.
func openResults(path string) (*results, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &cli.LocalError{Err: fmt.Errorf("results file: %w", err)}
	}
	res := &results{path: path, f: f, w: csv.NewWriter(bufio.NewWriterSize(f, 64<<10))}
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		res.w.Write(ResultsHeader)
	}
	return res, res.add(false)
}

// add writes records; sync makes them durable before a batch is sent.
func (res *results) add(sync bool, recs ...record) error {
	res.mu.Lock()
	defer res.mu.Unlock()
	for _, r := range recs {
		res.w.Write(r.cells())
	}
	return res.flush(sync)
}

// flush writes what the CSV writer holds; res.mu is held.
func (res *results) flush(sync bool) error {
	res.w.Flush()
	err := res.w.Error()
	if err == nil && sync {
		err = res.f.Sync()
	}
	if err != nil {
		return &cli.LocalError{Err: fmt.Errorf("writing the results file %s: %w", res.path, err)}
	}
	return nil
}

// close closes the file and tidies it: the pending lines an outcome followed are dropped. It
// reads the file twice as a stream, holding only the pending lines still waiting for theirs,
// and replaces it through a temporary file, so the log stays whole if that fails.
func (res *results) close() error {
	if res.f == nil {
		return nil
	}
	res.mu.Lock()
	err := res.flush(true)
	if cerr := res.f.Close(); err == nil && cerr != nil {
		err = &cli.LocalError{Err: cerr}
	}
	res.f = nil
	res.mu.Unlock()
	if err != nil {
		return err
	}
	// Pass 1: each pending line's position, if no line of its row and phone follows it.
	open := map[rowKey]int{}
	if err := eachLine(res.path, func(n int, rec record) {
		k := rowKey{rec.row, rec.phone}
		delete(open, k)
		if rec.status == StatusPending {
			open[k] = n
		}
	}); err != nil {
		return err
	}
	keep := make(map[int]bool, len(open))
	for _, n := range open {
		keep[n] = true
	}
	in, err := os.Open(res.path)
	if err != nil {
		return &cli.LocalError{Err: err}
	}
	defer in.Close()
	r := csv.NewReader(bufio.NewReaderSize(in, 64<<10))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	return cli.ReplaceCSV(res.path, func(w *csv.Writer) error {
		for n := 1; ; n++ {
			cells, err := r.Read()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if n > 1 && len(cells) > 2 && cells[2] == StatusPending && !keep[n] {
				continue
			}
			w.Write(cells)
		}
	})
}

// eachLine calls fn with each record of a results file and its line number.
func eachLine(path string, fn func(n int, rec record)) error {
	f, err := os.Open(path)
	if err != nil {
		return &cli.LocalError{Err: err}
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	for n := 1; ; n++ {
		cells, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &cli.LocalError{Err: err}
		}
		if n == 1 {
			continue
		}
		if rec, err := parseRecord(cells, path, n); err == nil {
			fn(n, rec)
		}
	}
}

// Exists reports whether path exists.
func Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil || !errors.Is(err, os.ErrNotExist)
}
