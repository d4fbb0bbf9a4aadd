package main

import (
	"fmt"
	"io"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mensatek-go/mensatek/cmd/mensatek/internal/campaign"
)

// progress reports each batch: a bar on a terminal, a line otherwise.
type progress interface {
	batch(b campaign.Batch)
	finish()
}

func newProgress(s *sys, w io.Writer, template string, rows int) progress {
	start := time.Now()
	if s.terminal(s.stderr) {
		return &barProgress{w: w, start: start, total: rows, desc: "sending " + sanitize(template), bar: progressbar.NewOptions(rows,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("sending "+sanitize(template)),
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

// rate returns the rows done per second since start, and the time the rest would take at it:
// with batches in parallel, the rate counts them all.
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

func (p *lineProgress) batch(b campaign.Batch) {
	p.done += len(b.Rows)
	what := b.Status
	switch b.Status {
	case campaign.StatusSent:
		what = fmt.Sprintf("sent (message %d)", b.MessageID)
	case campaign.StatusUnknown:
		what = "outcome unknown"
	case campaign.StatusFailed:
		what = "not sent"
	case campaign.StatusOptedOut:
		what = "skipped (opted out)"
	}
	var rows campaign.RowSet
	rows.AddAll(b.Rows)
	perSecond, left := rate(p.start, p.done, p.total)
	fmt.Fprintf(p.w, "batch %d/%d: %s %s; %.0f rows/s, time left %s\n", b.N, b.Total, campaign.RowsText(&rows), what, perSecond, leftText(left))
}

func (p *lineProgress) finish() {}

// barProgress draws a bar with the count, the rate and the time left: for a terminal.
type barProgress struct {
	w           io.Writer
	bar         *progressbar.ProgressBar
	start       time.Time
	desc        string
	done, total int
	once        sync.Once
}

func (p *barProgress) batch(b campaign.Batch) {
	p.done += len(b.Rows)
	if b.Status == campaign.StatusSent {
		_, left := rate(p.start, p.done, p.total)
		p.bar.Describe(fmt.Sprintf("%s, time left %s", p.desc, leftText(left)))
		p.bar.Add(len(b.Rows))
	}
}

func (p *barProgress) finish() {
	p.once.Do(func() { io.WriteString(p.w, "\n") })
}

// preview writes, for --dry-run, how the file was read and the first valid row as its
// recipient will get it: the value of each of the template's variables.
func preview(w io.Writer, input string, sum *campaign.Summary) {
	fmt.Fprintf(w, "Read %s: %s.\n", input, sum.File.Describe())
	if p := sum.Preview; p != nil {
		fmt.Fprintf(w, "Template %s, as row %d will receive it:\n", sanitize(sum.Template), p.Row)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, v := range p.Vars {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", v.Index, sanitize(v.Label), sanitize(v.Where), sanitize(clip(v.Value)))
		}
		tw.Flush()
	}
}
