package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/mensatek-go/mensatek"
	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/cli"
)

// planned is a row to send.
type planned struct {
	row   int
	phone string // normalised
	rec   mensatek.Recipient
}

// batch is a batch to send, numbered from 1.
type batch struct {
	n    int
	rows []planned
}

// changed is the error of a file whose rows differ between the passes.
func (c *run) changed(row int) error {
	return &cli.LocalError{Err: fmt.Errorf("%s changed while the campaign read it (row %d is not as it was checked): nothing more was sent; run it again with --resume %s",
		c.src.path, row, c.o.Results)}
}

// send is the second pass: it reads the rows again, records the invalid and opted-out ones,
// and sends the others in batches, up to Parallel in flight. It stops taking new batches when
// ctx ends or a batch fails; the batches in flight are finished and recorded.
func (c *run) send(ctx context.Context) error {
	total := (c.sum.ToSend + c.o.Batch - 1) / c.o.Batch
	stop := make(chan struct{}) // closed on the first failure
	var stopOnce sync.Once
	var firstErr error
	fail := func(err error) {
		stopOnce.Do(func() {
			firstErr = err
			close(stop)
		})
	}
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return ctx.Err() != nil
		}
	}

	// Say once that Ctrl-C waits for the batches in flight.
	sendDone := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		select {
		case <-ctx.Done():
			if c.o.Events.Stopping != nil {
				c.event(c.o.Events.Stopping)
			}
		case <-sendDone:
		}
	}()

	batches := make(chan batch)
	var workers sync.WaitGroup
	var completed int
	for range c.o.Parallel {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for b := range batches {
				if stopped() {
					continue // not sent: counted as such at the end
				}
				err := c.sendBatch(ctx, b, total)
				c.mu.Lock()
				completed++
				c.mu.Unlock()
				if err != nil {
					fail(err)
				}
			}
		}()
	}

	err := c.produce(batches, stopped)
	close(batches)
	workers.Wait()
	close(sendDone)
	watch.Wait()
	if err != nil {
		fail(err)
	}

	// Every row the check left to send and no batch took is not sent.
	c.late.Each(func(r int) bool {
		c.sum.OptedOut.Add(r)
		return true
	})
	handled := func(r int) bool {
		s := c.sum
		return s.Sent.Has(r) || s.Unknown.Has(r) || s.Failed.Has(r) || s.OptedOut.Has(r)
	}
	c.toSend.Each(func(r int) bool {
		if !handled(r) {
			c.sum.NotSent.Add(r)
		}
		return true
	})
	if firstErr != nil {
		return firstErr
	}
	if ctx.Err() != nil && c.sum.NotSent.Len() > 0 {
		c.sum.Interrupted = true
		return &interrupted{c: c, batch: completed, total: total}
	}
	return nil
}

// produce reads the rows again and hands the batches to the workers, until the end of the file
// or stopped.
func (c *run) produce(out chan<- batch, stopped func() bool) error {
	rr, err := c.src.open()
	if err != nil {
		return err
	}
	defer rr.close()
	var (
		rows    []sheetRow
		checked []checkedRow
		cur     []planned
		n       int
		records []record
	)
	flush := func() bool {
		if len(cur) == 0 {
			return true
		}
		n++
		out <- batch{n: n, rows: cur}
		cur = nil
		return !stopped()
	}
	for !stopped() {
		rows, err = readChunk(rr, rows)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		checked = c.checkRows(rows, checked)
		records = records[:0]
		for i := range checked {
			ch := &checked[i]
			s := c.sum
			switch r := ch.num; {
			case s.AlreadySent.Has(r), s.WasUnknown.Has(r):
			case s.Invalid.Has(r):
				if ch.phoneOK {
					if p := c.duplicate(ch); p != "" {
						ch.problems = append(ch.problems, p)
					}
				}
				records = append(records, record{row: r, phone: ch.phone, status: StatusInvalid, err: strings.Join(ch.problems, "; ")})
			case s.OptedOut.Has(r):
				records = append(records, record{row: r, phone: ch.phone, status: StatusOptedOut})
			case c.toSend.Has(r):
				if !ch.phoneOK || len(ch.problems) > 0 || c.duplicate(ch) != "" {
					return c.changed(r)
				}
				cur = append(cur, planned{row: r, phone: ch.phone, rec: ch.rec})
			default:
				return c.changed(r)
			}
			if len(cur) == c.o.Batch {
				if len(records) > 0 {
					if err := c.res.add(false, records...); err != nil {
						return err
					}
					records = records[:0]
				}
				if !flush() {
					return nil
				}
			}
		}
		if len(records) > 0 {
			if err := c.res.add(false, records...); err != nil {
				return err
			}
		}
	}
	if !stopped() {
		flush()
	}
	return nil
}

// sendBatch sends one batch and records its outcome. The batch is not cancelled with ctx: a
// send cut short may have been sent.
func (c *run) sendBatch(ctx context.Context, b batch, total int) error {
	pending := make([]record, len(b.rows))
	to := make([]mensatek.Recipient, len(b.rows))
	for i, p := range b.rows {
		pending[i] = record{row: p.row, phone: p.phone, status: StatusPending}
		to[i] = p.rec
	}
	if err := c.res.add(true, pending...); err != nil {
		return err
	}
	// Send, not SendChecked: the check read every row against the template, and checking each
	// again (or fetching the template list again when its cache expires in a long campaign)
	// would only cost time.
	res, err := c.o.Client.Send(context.WithoutCancel(ctx), mensatek.SendRequest{
		To:         to,
		Message:    mensatek.Template{Name: c.o.Template},
		ScheduleAt: c.o.ScheduleAt,
		Reference:  c.o.Reference,
	})

	status, id, msg := StatusSent, int64(0), ""
	// Customers who opted out since the campaign began: the client left them out.
	skipped := map[string]bool{}
	switch {
	case errors.Is(err, mensatek.ErrOptedOut) && !errors.Is(err, mensatek.ErrOutcomeUnknown):
		for _, p := range b.rows {
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
		status, msg = StatusUnknown, cli.OneLine(err)
	case err != nil:
		status, msg = StatusFailed, cli.OneLine(err)
	}
	final := make([]record, len(b.rows))
	var sent, optedOut []int
	for i, p := range b.rows {
		final[i] = record{row: p.row, phone: p.phone, status: status, messageID: id, err: msg}
		if res != nil {
			final[i].messageID = res.MessageID
		}
		if skipped[p.phone] {
			final[i] = record{row: p.row, phone: p.phone, status: StatusOptedOut}
			optedOut = append(optedOut, p.row)
		} else {
			sent = append(sent, p.row)
		}
	}
	werr := c.res.add(false, final...)

	c.mu.Lock()
	s := c.sum
	c.late.AddAll(optedOut) // not s.OptedOut, which produce reads
	if res != nil {
		credits := res.Credits
		s.Credits = &credits
	}
	if len(sent) > 0 {
		switch status {
		case StatusSent:
			s.Sent.AddAll(sent)
			s.Batches++
			if res != nil {
				s.MessageIDs = insertID(s.MessageIDs, res.MessageID)
			}
		case StatusUnknown:
			s.Unknown.AddAll(sent)
		case StatusFailed:
			s.Failed.AddAll(sent)
		}
	}
	c.mu.Unlock()

	ev := Batch{N: b.n, Total: total, Rows: sent, Status: status}
	if res != nil {
		ev.MessageID = res.MessageID
	}
	if len(sent) == 0 {
		ev.Rows, ev.Status = optedOut, StatusOptedOut
	}
	if status == StatusSent && res != nil && res.NotSent > 0 && len(sent) > 0 && c.o.Events.Warning != nil {
		var rs RowSet
		rs.AddAll(sent)
		c.event(func() {
			c.o.Events.Warning(fmt.Sprintf("the API did not send %s of batch %d (%s) and does not say which; see the delivery reports",
				cli.Plural(res.NotSent, "recipient"), b.n, RowsText(&rs)))
		})
	}
	if c.o.Events.Batch != nil {
		c.event(func() { c.o.Events.Batch(ev) })
	}
	if err != nil && len(sent) > 0 {
		var rs RowSet
		rs.AddAll(sent)
		return &batchError{c: c, batch: b.n, rows: rs, status: status, err: err}
	}
	return werr
}

// insertID adds id to the sorted ids.
func insertID(ids IDs, id int64) IDs {
	i := len(ids)
	for i > 0 && ids[i-1] > id {
		i--
	}
	ids = append(ids, 0)
	copy(ids[i+1:], ids[i:])
	ids[i] = id
	return ids
}

// interrupted ends a campaign stopped by ctx between batches.
type interrupted struct {
	c            *run
	batch, total int
}

func (e *interrupted) Error() string {
	return fmt.Sprintf("interrupted after batch %d of %d: %s; send the rest with --resume %s",
		e.batch, e.total, e.c.sentSoFar(), e.c.o.Results)
}

// batchError ends a campaign at a batch that failed.
type batchError struct {
	c      *run
	batch  int
	rows   RowSet
	status string
	err    error
}

func (e *batchError) Error() string {
	what := fmt.Sprintf("batch %d (%s)", e.batch, RowsText(&e.rows))
	if e.status == StatusUnknown {
		return fmt.Sprintf("%s: %s; they are recorded as %q in %s and --resume will not send them again: check the delivery reports (webhook) or the panel first; %s",
			what, cli.OneLine(e.err), StatusUnknown, e.c.o.Results, e.c.sentSoFar())
	}
	return fmt.Sprintf("%s was not sent: %s; %s; fix the cause and send the rest with --resume %s",
		what, cli.OneLine(e.err), e.c.sentSoFar(), e.c.o.Results)
}

func (e *batchError) Unwrap() error { return e.err }

func wasWere(n int) string {
	if n == 1 {
		return " was"
	}
	return " were"
}

// sentSoFar says which rows this run sent and which it did not try.
func (c *run) sentSoFar() string {
	s := c.sum
	sent := "no rows were sent"
	if s.Sent.Len() > 0 {
		sent = RowsText(&s.Sent) + wasWere(s.Sent.Len()) + " sent"
	}
	if s.NotSent.Len() > 0 {
		sent += ", " + RowsText(&s.NotSent) + wasWere(s.NotSent.Len()) + " not"
	}
	return sent
}
