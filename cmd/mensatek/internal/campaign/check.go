package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/cli"
)

// chunkRows is how many rows a pass reads before it checks them, on every core: the memory of
// a pass is one chunk's rows.
const chunkRows = 4096

// checkedRow is a row after the local check.
type checkedRow struct {
	num      int
	rec      mensatek.Recipient // with the phone in international form when it is valid
	phone    string             // international when phoneOK, else as given (cut short)
	phoneOK  bool
	problems []string
}

// readChunk reads up to chunkRows data rows; io.EOF with none at the end.
func readChunk(rr *rowReader, buf []sheetRow) ([]sheetRow, error) {
	buf = buf[:0]
	for len(buf) < chunkRows {
		r, err := rr.data()
		if errors.Is(err, io.EOF) {
			if len(buf) == 0 {
				return nil, io.EOF
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		buf = append(buf, r)
	}
	return buf, nil
}

// checkRows checks each row on its own (phone, template variables, encoding), on every core:
// libphonenumber's check is most of the time a large campaign spends on its rows.
func (c *run) checkRows(rows []sheetRow, out []checkedRow) []checkedRow {
	out = append(out[:0], make([]checkedRow, len(rows))...)
	one := func(i int) {
		r := rows[i]
		rec := c.cols.recipient(r)
		phone, phoneProblem := c.o.Normalize(rec.Phone)
		if phoneProblem == "" {
			rec.Phone = phone // the template's check sees what is sent
		} else {
			phone = cli.Clip(rec.Phone)
		}
		out[i] = checkedRow{num: r.num, rec: rec, phone: phone, phoneOK: phoneProblem == "",
			problems: c.cols.problems(r, rec, phoneProblem, c.src.info.Encoding, c.tmpl)}
	}
	const per = 512
	workers := min(runtime.GOMAXPROCS(0), (len(rows)+per-1)/per)
	if workers <= 1 {
		for i := range rows {
			one(i)
		}
		return out
	}
	var wg sync.WaitGroup
	step := (len(rows) + workers - 1) / workers
	for from := 0; from < len(rows); from += step {
		wg.Add(1)
		go func(from, to int) {
			defer wg.Done()
			for i := from; i < to; i++ {
				one(i)
			}
		}(from, min(from+step, len(rows)))
	}
	wg.Wait()
	return out
}

// duplicate returns the problem of a valid phone seen in an earlier row, and records the first.
func (c *run) duplicate(ch *checkedRow) string {
	n, ok := phoneNumber(ch.phone)
	if !ok || n == 0 || ch.num <= 0 || ch.num > 1<<31 {
		return ""
	}
	if first := c.first.add(n, ch.num); first != ch.num {
		return fmt.Sprintf("%s: %s is also in row %d", c.cols.header[c.cols.phone], ch.phone, first)
	}
	return ""
}

// check is the first pass: it sorts every row into invalid, done by an earlier run, opted out
// or to send, keeping only row sets.
func (c *run) check(ctx context.Context) error {
	rr, err := c.src.open()
	if err != nil {
		return err
	}
	defer rr.close()
	rows, err := readChunk(rr, nil)
	if errors.Is(err, io.EOF) {
		return cli.Invalid(c.o.FileFlag, "%s has a header but no data rows: nothing to send", c.src.where())
	}
	if err != nil {
		return err
	}
	cols, warning, err := mapColumns(rr.header, c.src.info.Encoding, c.o.FileFlag, c.tmpl)
	if err != nil {
		return err
	}
	c.cols = cols
	if warning != "" && c.o.Events.Warning != nil {
		c.o.Events.Warning(warning)
	}
	sum := c.sum
	var checked []checkedRow
	for first := true; ; first = false {
		if err := ctx.Err(); err != nil {
			return err // Ctrl-C while checking: nothing was sent
		}
		if !first {
			rows, err = readChunk(rr, rows)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
		}
		checked = c.checkRows(rows, checked)
		var valid []*checkedRow
		for i := range checked {
			ch := &checked[i]
			sum.Rows++
			if ch.phoneOK {
				switch c.prev.status(ch.phone) {
				case StatusSent:
					sum.AlreadySent.Add(ch.num)
					continue
				case StatusUnknown:
					sum.WasUnknown.Add(ch.num)
					continue
				}
				if p := c.duplicate(ch); p != "" {
					ch.problems = append(ch.problems, p)
				}
			}
			if len(ch.problems) > 0 {
				c.invalid(ch)
				continue
			}
			sum.Valid++
			valid = append(valid, ch)
		}
		optedOut, err := c.optedOut(ctx, valid)
		if err != nil {
			return err
		}
		for _, ch := range valid {
			if optedOut[ch.phone] {
				sum.OptedOut.Add(ch.num)
				continue
			}
			c.toSend.Add(ch.num)
			if c.o.DryRun && sum.Preview == nil {
				sum.Preview = c.preview(ch)
			}
		}
	}
	sum.ToSend = c.toSend.Len()
	return nil
}

// invalid records an invalid row of the first pass.
func (c *run) invalid(ch *checkedRow) {
	c.sum.Invalid.Add(ch.num)
	row := InvalidRow{Row: ch.num, Phone: ch.phone, Reasons: ch.problems}
	if len(c.sum.InvalidRows) < MaxInvalidRows {
		c.sum.InvalidRows = append(c.sum.InvalidRows, row)
	}
	if c.o.Events.Invalid != nil {
		c.o.Events.Invalid(row)
	}
}

// optedOut asks the contact store about the rows' phones in one call.
func (c *run) optedOut(ctx context.Context, rows []*checkedRow) (map[string]bool, error) {
	if c.o.Contacts == nil || len(rows) == 0 {
		return nil, nil
	}
	phones := make([]string, len(rows))
	for i, ch := range rows {
		phones[i] = ch.phone
	}
	known, err := c.o.Contacts.Contacts(ctx, phones)
	if err != nil {
		return nil, fmt.Errorf("reading --contacts: %w", err)
	}
	out := map[string]bool{}
	for p, k := range known {
		if k.OptedOut {
			out[p] = true
		}
	}
	return out, nil
}

// preview shows how a row's recipient will get the template: each variable's value.
func (c *run) preview(ch *checkedRow) *Preview {
	p := &Preview{Row: ch.num}
	for _, v := range c.tmpl.Variables {
		label := v.Name
		if v.Field != "" && v.Field != v.Name {
			label += " (" + v.Field + ")"
		}
		where := strings.ToLower(string(v.Location))
		if where == "" {
			where = "recipient"
		}
		p.Vars = append(p.Vars, PreviewVar{Index: v.Index, Label: label, Where: where, Value: c.cols.value(v, ch.rec)})
	}
	return p
}
