package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/mensatek-go/mensatek"
)

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
