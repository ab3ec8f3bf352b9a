package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/store"
)

// displayMode is how `arbor evolve` shows its events.
type displayMode int

const (
	// displayPlain writes one log line per finished candidate and per run
	// milestone: for logs, pipes and CI.
	displayPlain displayMode = iota
	// displayTerminal draws a progress bar with a live status line, and
	// one line per finished candidate above it.
	displayTerminal
	// displayQuiet shows nothing (the final summary is printed by evolve).
	displayQuiet
	// displayJSON writes one JSON object per event (eventSchema).
	displayJSON
)

// chooseDisplay picks the mode from the --quiet and --json flags and
// whether w is a terminal.
func chooseDisplay(w io.Writer, quiet, asJSON bool) displayMode {
	switch {
	case asJSON:
		return displayJSON
	case quiet:
		return displayQuiet
	case isTerminal(w):
		return displayTerminal
	}
	return displayPlain
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// countBar is a progress bar of n steps on w when w is a terminal, so
// that logs and pipes get no control characters; nil otherwise.
func countBar(w io.Writer, n int, desc string) *progressbar.ProgressBar {
	if n <= 0 || !isTerminal(w) {
		return nil
	}
	return progressbar.NewOptions(n, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
}

// eventSchema versions the --json event stream. Every line is one JSON
// object: "schema" (this string) and the fields of store.Event, described
// in eventFieldDocs and docs/events.md. A field is never renamed or
// retyped within a version; new fields may be added.
const eventSchema = "arbor.event/v1"

// jsonEvent is one line of the --json stream.
type jsonEvent struct {
	Schema string `json:"schema"`
	store.Event
}

// newEventSink returns the function the engine calls with every event and
// a function to call once the run has ended. budget is the training budget
// (0: none; events carry it too). In plain mode a heartbeat line is written
// when nothing was for that long (0: never), so that a log shows the search
// is alive while candidates train for minutes. The sink is safe for
// concurrent use.
func newEventSink(w io.Writer, mode displayMode, budget int, heartbeat time.Duration) (func(store.Event), func()) {
	switch mode {
	case displayQuiet:
		return func(store.Event) {}, func() {}
	case displayJSON:
		var mu sync.Mutex
		enc := json.NewEncoder(w)
		return func(ev store.Event) {
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(jsonEvent{Schema: eventSchema, Event: ev})
		}, func() {}
	}
	d := &display{w: w, budget: budget, terminal: mode == displayTerminal, width: 100, heartbeat: heartbeat}
	if f, ok := w.(interface{ Fd() uintptr }); ok && d.terminal {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 40 {
			d.width = cols
		}
	}
	if d.terminal || heartbeat <= 0 {
		return d.event, d.finish
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(heartbeat / 4)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				d.beat(now)
			}
		}
	}()
	return d.event, func() {
		close(stop)
		<-done
		d.finish()
	}
}

// display renders events for people, on a terminal or as plain lines.
type display struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	width    int // terminal columns: the live line is cut to fit one row
	budget   int
	bar      *progressbar.ProgressBar

	start    time.Time
	trained0 int // trained when this process started (resume)
	last     store.Event

	// heartbeat is the longest a plain display stays silent; printed is
	// when it last wrote a line.
	heartbeat time.Duration
	printed   time.Time
}

// beat writes a heartbeat line when the plain display has written nothing
// for the heartbeat period: the run's state as of now.
func (d *display) beat(now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.start.IsZero() || now.Sub(d.printed) < d.heartbeat {
		return
	}
	d.printed = now
	fmt.Fprintf(d.w, "%s %s still running | %s\n", now.Local().Format("15:04:05"), d.count(d.last), d.liveLineAt(d.last, now, 0))
}

func (d *display) event(ev store.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.start.IsZero() {
		d.start = ev.Time
		if d.start.IsZero() {
			d.start = time.Now()
		}
		d.trained0 = ev.Trained
	}
	if ev.Budget > 0 {
		d.budget = ev.Budget
	}
	d.last = ev
	var line string
	switch ev.Kind {
	case store.EventFinished:
		line = candidateLine(ev)
	case store.EventBestImproved:
		line = fmt.Sprintf("new best %s: val_acc %.2f%% (%s)", ev.CandidateID, ev.ValAcc, ev.Message)
	case store.EventRunStarted, store.EventResumed, store.EventBudgetReached, store.EventDraining, store.EventRunFinished:
		line = string(ev.Kind)
		if ev.Message != "" {
			line += ": " + report.FirstLine(ev.Message)
		}
	}
	if d.terminal {
		d.drawTerminal(ev, line)
		return
	}
	if line == "" {
		return // rejections, proposals and starts only move the counters
	}
	stamp := ev.Time
	if stamp.IsZero() {
		stamp = time.Now()
	}
	d.printed = time.Now()
	fmt.Fprintf(d.w, "%s %s %s | %s\n", stamp.Local().Format("15:04:05"), d.count(ev), line, d.liveLine(ev, 0))
}

func (d *display) drawTerminal(ev store.Event, line string) {
	if d.bar == nil {
		max := d.budget
		if max <= 0 {
			max = -1 // no training budget: a spinner
		}
		d.bar = progressbar.NewOptions(max,
			progressbar.OptionSetWriter(d.w),
			progressbar.OptionSetWidth(20),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("trained"),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(false),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetTheme(progressbar.Theme{Saucer: "=", SaucerHead: ">", SaucerPadding: " ", BarStart: "[", BarEnd: "]"}),
		)
	}
	if line != "" {
		_ = d.bar.Clear()
		fmt.Fprintf(d.w, "\r%s %s\n", d.count(ev), line)
	}
	if d.budget > 0 && ev.Trained <= d.budget && int64(ev.Trained) != int64(d.bar.State().CurrentNum) {
		_ = d.bar.Set(ev.Trained)
	}
	// The bar, percentage and count take about 36 columns; a live line
	// that wraps would break the in-place redraw.
	d.bar.Describe(d.liveLine(ev, d.width-36))
}

// count is the [trained/budget] prefix of a line.
func (d *display) count(ev store.Event) string {
	if d.budget > 0 {
		w := len(fmt.Sprint(d.budget))
		return fmt.Sprintf("[%*d/%d]", w, ev.Trained, d.budget)
	}
	return fmt.Sprintf("[%d]", ev.Trained)
}

// liveLine is the run's state after ev: best so far, jobs in flight, gate
// rejections, LLM spend, elapsed time and the ETA of the training budget,
// in at most width runes (0: no limit).
func (d *display) liveLine(ev store.Event, width int) string {
	now := ev.Time
	if now.IsZero() {
		now = time.Now()
	}
	return d.liveLineAt(ev, now, width)
}

// liveLineAt is liveLine as of now. Fields that do not fit in width are
// dropped in a fixed order, least telling first: jobs in flight,
// rejections, LLM spend, ETA; then the best accuracy is cut; the elapsed
// time stays.
func (d *display) liveLineAt(ev store.Event, now time.Time, width int) string {
	best := "-"
	if ev.BestValAcc > 0 {
		best = fmt.Sprintf("%.2f%%", ev.BestValAcc)
	}
	elapsed := now.Sub(d.start)
	spend := "$0"
	if ev.LLMCost > 0 {
		spend = fmt.Sprintf("$%.4f", ev.LLMCost)
	}
	// fields in display order; drop gives the order they go in.
	fields := []string{"best " + best, fmt.Sprintf("%d in flight", ev.InFlight), fmt.Sprintf("%d rejected", ev.Rejected),
		"LLM " + spend, "ETA " + d.eta(ev, elapsed), report.Duration(elapsed) + " elapsed"}
	const llmF, rejF, flightF, etaF = 3, 2, 1, 4
	drop := []int{flightF, rejF, llmF, etaF}
	keep := []bool{true, true, true, true, true, true}
	join := func() string {
		var b strings.Builder
		for i, f := range fields {
			switch {
			case !keep[i]:
			case i == len(fields)-1 && keep[etaF]:
				b.WriteString(" (" + f + ")")
			default:
				if b.Len() > 0 {
					b.WriteString(" · ")
				}
				b.WriteString(f)
			}
		}
		return b.String()
	}
	line := join()
	for _, i := range drop {
		if width <= 0 || utf8.RuneCountInString(line) <= width {
			return line
		}
		keep[i] = false
		line = join()
	}
	if r := []rune(line); width > 0 && len(r) > width {
		// Only the best and the elapsed time are left: cut the front.
		line = "…" + string(r[len(r)-max(0, width-1):])
	}
	return line
}

func (d *display) eta(ev store.Event, elapsed time.Duration) string {
	done := ev.Trained - d.trained0
	left := d.budget - ev.Trained
	switch {
	case d.budget <= 0:
		return "-"
	case left <= 0:
		return "0s"
	case done <= 0 || elapsed <= 0:
		return "?"
	}
	return report.Duration(time.Duration(float64(elapsed) / float64(done) * float64(left)))
}

// finish ends the display: the bar's last state stays on screen.
func (d *display) finish() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bar != nil {
		_ = d.bar.Exit()
		fmt.Fprintln(d.w)
	}
}

// candidateLine describes one finished candidate: ID, parent, operation at
// path, accuracy, params, status.
func candidateLine(ev store.Event) string {
	where := ev.Op
	if ev.Path != "" {
		where += "@" + ev.Path
	}
	acc := "      -"
	if ev.Status == "ok" {
		acc = fmt.Sprintf("%6.2f%%", ev.ValAcc)
	}
	s := fmt.Sprintf("%s  parent %-6s  %-34s  val %s  %7s params  %-11s %s",
		ev.CandidateID, report.OrDash(ev.ParentID), where, acc, report.Count(ev.Params), ev.Status, report.Duration(time.Duration(ev.WallS*float64(time.Second))))
	if ev.Status != "ok" && ev.Message != "" {
		s += "  " + report.FirstLine(ev.Message)
	}
	return s
}
