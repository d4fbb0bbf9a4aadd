package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mensatek-go/mensatek"
)

// The statuses of the results file. The file is a log: each batch's rows are written as
// pending before the batch is sent and again with their outcome after, so that a run killed
// mid-batch leaves them pending. The last line of a phone is its status. A run that ends
// normally (also after Ctrl-C or an error) rewrites the file with one line per row.
const (
	statusPending  = "pending" // being sent when the run stopped: treated as unknown
	statusSent     = "sent"
	statusUnknown  = "unknown"   // the batch may have been sent: --resume never sends it again
	statusFailed   = "failed"    // refused, or never left: --resume sends it again
	statusInvalid  = "invalid"   // failed the local check: --resume checks it again
	statusOptedOut = "opted-out" // the contact store says the customer opted out: --resume checks it again
)

var resultsHeader = []string{"row", "phone", "status", "message_id", "error"}

// record is one line of the results file.
type record struct {
	row       int
	phone     string // normalised when valid, else as given
	status    string
	messageID int64
	err       string
}

// done reports whether --resume must not send the row again.
func (r record) done() bool {
	return r.status == statusSent || r.status == statusUnknown || r.status == statusPending
}

// rowKey identifies a line of the results file: a row and its phone.
type rowKey struct {
	row   int
	phone string
}

// results holds the records of a campaign and appends new ones to its file.
type results struct {
	path    string
	records map[rowKey]record // the last record of each row
	rows    map[string][]int  // the rows of each phone
	f       *os.File
	w       *csv.Writer
}

func newResults(path string) *results {
	return &results{path: path, records: map[rowKey]record{}, rows: map[string][]int{}}
}

// sentBefore returns the record that makes --resume skip a phone: one whose message was sent,
// or may have been, in any row.
func (res *results) sentBefore(phone string) (record, bool) {
	var found record
	ok := false
	for _, row := range res.rows[phone] {
		r := res.records[rowKey{row, phone}]
		if r.done() && (!ok || r.status == statusSent) {
			found, ok = r, true
		}
	}
	return found, ok
}

func (res *results) set(r record) {
	k := rowKey{r.row, r.phone}
	if _, ok := res.records[k]; !ok {
		res.rows[r.phone] = append(res.rows[r.phone], r.row)
	}
	res.records[k] = r
}

// readResults reads a results file written by an earlier run, for --resume.
func readResults(path string) (*results, error) {
	res := newResults(path)
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("--resume: %v", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return res, nil // created, then stopped before anything was written
	}
	if err != nil || len(header) < 3 || header[0] != "row" || header[1] != "phone" || header[2] != "status" {
		return nil, usagef("--resume: %s is not a results file of 'mensatek campaign' (its header is not %s)",
			path, strings.Join(resultsHeader, ","))
	}
	for line := 2; ; line++ {
		cells, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, invalid("--resume", "%s: %v", path, err)
		}
		for len(cells) < len(resultsHeader) {
			cells = append(cells, "")
		}
		rec := record{phone: cells[1], status: cells[2], err: cells[4]}
		if p, err := mensatek.NormalizePhone(rec.phone); err == nil {
			rec.phone = p // the file may have been edited by hand
		}
		if rec.row, err = strconv.Atoi(cells[0]); err != nil {
			return nil, invalid("--resume", "%s line %d: row %q is not a number", path, line, cells[0])
		}
		if cells[3] != "" {
			if rec.messageID, err = strconv.ParseInt(cells[3], 10, 64); err != nil {
				return nil, invalid("--resume", "%s line %d: message id %q is not a number", path, line, cells[3])
			}
		}
		switch rec.status {
		case statusPending, statusSent, statusUnknown, statusFailed, statusInvalid, statusOptedOut:
		default:
			return nil, invalid("--resume", "%s line %d: unknown status %q", path, line, rec.status)
		}
		res.set(rec)
	}
	return res, nil
}

// open opens the file for appending, writing the header to a new or empty file.
func (res *results) open() error {
	f, err := os.OpenFile(res.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return &localError{fmt.Errorf("results file: %w", err)}
	}
	res.f, res.w = f, csv.NewWriter(f)
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		res.w.Write(resultsHeader)
	}
	return res.flush(false)
}

// add records rows and writes them; sync makes them durable before a batch is sent.
func (res *results) add(sync bool, recs ...record) error {
	for _, r := range recs {
		res.set(r)
		id := ""
		if r.messageID != 0 {
			id = strconv.FormatInt(r.messageID, 10)
		}
		res.w.Write([]string{strconv.Itoa(r.row), r.phone, r.status, id, r.err})
	}
	return res.flush(sync)
}

func (res *results) flush(sync bool) error {
	res.w.Flush()
	err := res.w.Error()
	if err == nil && sync {
		err = res.f.Sync()
	}
	if err != nil {
		return &localError{fmt.Errorf("writing the results file %s: %w", res.path, err)}
	}
	return nil
}

// close closes the file and rewrites it with one line per row, ordered by row. The rewrite
// goes through a temporary file, so the log stays whole if it fails.
func (res *results) close() error {
	if res.f == nil {
		return nil
	}
	err := res.f.Close()
	res.f = nil
	if err != nil {
		return &localError{err}
	}
	list := make([]record, 0, len(res.records))
	for _, r := range res.records {
		list = append(list, r)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].row != list[j].row {
			return list[i].row < list[j].row
		}
		return list[i].phone < list[j].phone
	})
	return replaceCSV(res.path, func(w *csv.Writer) {
		w.Write(resultsHeader)
		for _, r := range list {
			id := ""
			if r.messageID != 0 {
				id = strconv.FormatInt(r.messageID, 10)
			}
			w.Write([]string{strconv.Itoa(r.row), r.phone, r.status, id, r.err})
		}
	})
}

// replaceCSV replaces the file at path with the rows write writes, through a temporary file
// beside it that is synced and renamed, so a crash never leaves it half written.
func replaceCSV(path string, write func(w *csv.Writer)) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return &localError{err}
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing to remove
	w := csv.NewWriter(tmp)
	write(w)
	w.Flush()
	if err := w.Error(); err != nil {
		tmp.Close()
		return &localError{err}
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return &localError{err}
	}
	if err := tmp.Close(); err != nil {
		return &localError{err}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return &localError{err}
	}
	return nil
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
