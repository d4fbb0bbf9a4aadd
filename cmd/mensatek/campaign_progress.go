package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mensatek-go/mensatek"
)

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
