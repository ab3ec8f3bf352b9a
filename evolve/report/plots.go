package report

import (
	"cmp"
	"fmt"
	"image/color"
	"maps"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/arbor-nas/arbor/evolve/store"
)

// Data is what the report is drawn from, read once from the store.
type Data struct {
	Dir        string
	Cands      []store.Candidate
	Calls      []store.CallRow
	Summary    store.Summary
	Last       store.Event
	HasEvents  bool
	MaxParams  int64  // the run's max_params constraint, 0 when none or unknown
	Strategy   string // from the stored configuration, when there is one
	Generated  time.Time
	Posteriors store.Posteriors
	// State is the run's state when the data was read (store.State).
	State store.RunState
	// Val and Test say what the run's accuracies are: split and epochs
	// ("validation, 12 epochs"; "test, 200 epochs (NAS-Bench-201 table)").
	Val, Test string
	// Retrain is the run's last `arbor retrain`, nil when none.
	Retrain *store.Retraining
}

// reportPalette are distinguishable colours (Okabe-Ito), for the lines of
// the per-operation plot.
func reportPalette() []color.Color {
	return []color.Color{
		color.RGBA{0, 114, 178, 255}, color.RGBA{230, 159, 0, 255}, color.RGBA{0, 158, 115, 255},
		color.RGBA{204, 121, 167, 255}, color.RGBA{86, 180, 233, 255}, color.RGBA{213, 94, 0, 255},
		color.RGBA{0, 0, 0, 255}, color.RGBA{240, 228, 66, 255},
	}
}

var (
	reportBlue  = color.RGBA{0, 114, 178, 255}
	reportRed   = color.RGBA{213, 94, 0, 255}
	reportGrey  = color.RGBA{150, 150, 150, 255}
	reportGreen = color.RGBA{0, 158, 115, 255}
)

func newReportPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.X.Label.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)
	p.Add(plotter.NewGrid())
	return p
}

// plotBestSoFar: best validation accuracy against candidates trained, over
// every trained candidate's own accuracy.
func plotBestSoFar(d Data) (*plot.Plot, error) {
	order := TrainingOrder(d.Cands)
	p := newReportPlot(fmt.Sprintf("Best validation accuracy so far (%d candidates trained)", len(order)),
		"candidates trained (in the order they finished)", d.valLabel())
	var each plotter.XYs
	for i, c := range order {
		if c.Feasible() {
			each = append(each, plotter.XY{X: float64(i + 1), Y: c.Result.ValAcc})
		}
	}
	if len(each) == 0 {
		p.Title.Text += ": none trained successfully yet"
		return p, nil
	}
	sc, err := plotter.NewScatter(each)
	if err != nil {
		return nil, err
	}
	sc.GlyphStyle.Color = reportGrey
	sc.GlyphStyle.Radius = vg.Points(2)
	line, err := plotter.NewLine(bestSoFar(order))
	if err != nil {
		return nil, err
	}
	line.StepStyle = plotter.PostStep
	line.Color = reportBlue
	line.Width = vg.Points(2)
	p.Add(sc, line)
	p.Legend.Add("one trained candidate", sc)
	p.Legend.Add("best so far", line)
	// Headroom above the best line for the legend: the top left, where
	// the best so far is still low, is the emptiest corner.
	lo, hi := minY(each), maxY(each)
	p.Y.Min = max(0, lo-2)
	p.Y.Max = min(100, hi+0.15*(hi-lo)+0.5)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(12)
	p.Legend.YOffs = -vg.Points(6)
	return p, nil
}

func minY(xy plotter.XYs) float64 {
	m := xy[0].Y
	for _, p := range xy {
		m = min(m, p.Y)
	}
	return m
}

func maxY(xy plotter.XYs) float64 {
	m := xy[0].Y
	for _, p := range xy {
		m = max(m, p.Y)
	}
	return m
}

// plotPareto: accuracy against parameters for every trained candidate,
// the Pareto front, the best, and the parameter limit.
func plotPareto(d Data) (*plot.Plot, error) {
	ok := Feasible(d.Cands)
	p := newReportPlot("Accuracy against size: trained candidates and the Pareto front",
		"parameters", d.valLabel())
	if len(ok) == 0 {
		p.Title.Text += " (none trained yet)"
		return p, nil
	}
	metric, _ := Metric(ValAcc)
	cost, _, _ := Objective("params")
	front := ParetoFront(ok, metric, cost)
	// The axis fits the candidates, in the unit that reads best.
	lo, hi := ok[0].Params, ok[0].Params
	for _, c := range ok {
		lo, hi = min(lo, c.Params), max(hi, c.Params)
	}
	scale, unit := paramUnit(hi)
	p.X.Label.Text = "parameters" + unit
	pts := func(cs []store.Candidate) plotter.XYs {
		xy := make(plotter.XYs, len(cs))
		for i, c := range cs {
			xy[i] = plotter.XY{X: float64(c.Params) / scale, Y: c.Result.ValAcc}
		}
		return xy
	}
	all, err := plotter.NewScatter(pts(ok))
	if err != nil {
		return nil, err
	}
	all.GlyphStyle.Color = reportGrey
	all.GlyphStyle.Radius = vg.Points(2.2)
	fl, err := plotter.NewLine(pts(front))
	if err != nil {
		return nil, err
	}
	fl.StepStyle = plotter.PostStep
	fl.Color = reportRed
	fl.Width = vg.Points(1.5)
	fp, err := plotter.NewScatter(pts(front))
	if err != nil {
		return nil, err
	}
	fp.GlyphStyle.Color = reportRed
	fp.GlyphStyle.Radius = vg.Points(3)
	fp.GlyphStyle.Shape = draw.CircleGlyph{}
	best := Top(ok, ValAcc, 1)
	bp, err := plotter.NewScatter(pts(best))
	if err != nil {
		return nil, err
	}
	bp.GlyphStyle.Color = reportGreen
	bp.GlyphStyle.Radius = vg.Points(6)
	bp.GlyphStyle.Shape = draw.PyramidGlyph{}
	p.Add(all, fl, fp, bp)
	p.Legend.Add("one trained candidate", all)
	p.Legend.Add(fmt.Sprintf("Pareto front (%d candidates)", len(front)), fl, fp)
	p.Legend.Add("best: "+best[0].ID, bp)
	span := max(float64(hi-lo), 0.1*float64(hi), 1) / scale
	p.X.Min = max(0, float64(lo)/scale-0.08*span)
	p.X.Max = float64(hi)/scale + 0.08*span
	if d.MaxParams > 0 {
		// The limit is drawn where it is when that is near the candidates;
		// far beyond them, at the right edge and said to be off the scale,
		// rather than squashing every candidate into one column.
		x, label := float64(d.MaxParams)/scale, fmt.Sprintf("limit: %s parameters", Count(d.MaxParams))
		if x <= p.X.Max+0.5*span {
			p.X.Max = max(p.X.Max, x+0.04*span)
		} else {
			x, label = p.X.Max, label+fmt.Sprintf(" (off the scale: %.1f× the largest candidate)", float64(d.MaxParams)/float64(hi))
		}
		lim, err := plotter.NewLine(plotter.XYs{{X: x, Y: minY(pts(ok))}, {X: x, Y: best[0].Result.ValAcc}})
		if err != nil {
			return nil, err
		}
		lim.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		lim.Color = color.Black
		p.Add(lim)
		p.Legend.Add(label, lim)
	}
	// Headroom above the most accurate candidate holds the legend, clear
	// of every point and of the limit line.
	ylo, yhi := minY(pts(ok)), maxY(pts(ok))
	p.Y.Max = yhi + 0.28*(yhi-ylo) + 0.5
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(12)
	p.Legend.YOffs = -vg.Points(6)
	return p, nil
}

// paramUnit is the divisor and axis-label suffix that make n read as a
// few units: thousands or millions of parameters.
func paramUnit(n int64) (float64, string) {
	switch {
	case n >= 1e6:
		return 1e6, " (millions)"
	case n >= 1e3:
		return 1e3, " (thousands)"
	}
	return 1, ""
}

// plotOpSuccess: per operation, the share of its trained children that
// beat their parent, cumulative over the run.
func plotOpSuccess(d Data) (*plot.Plot, error) {
	order := TrainingOrder(d.Cands)
	minN := opSuccessMin(len(order))
	series := opSuccessSeries(order, minN)
	p := newReportPlot("Success rate per operation: share of its trained children that beat their parent",
		"candidates trained (whole run)", "children that beat their parent, cumulative (%)")
	total, wins := map[string]int{}, map[string]int{}
	for _, c := range order {
		if c.Op != store.OpSeed {
			total[c.Op]++
			if c.Reward == 1 {
				wins[c.Op]++
			}
		}
	}
	if len(total) == 0 {
		p.Title.Text = "Success rate per operation: no children trained yet"
		return p, nil
	}
	pal := reportPalette()
	for i, op := range slices.Sorted(maps.Keys(total)) {
		xy, drawn := series[op]
		if !drawn {
			// Listed, so a reader knows the operation ran, but not drawn.
			p.Legend.Add(fmt.Sprintf("%s: %d trained, %d beat parent (too few to draw)", op, total[op], wins[op]))
			continue
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, err
		}
		l.Color = pal[i%len(pal)]
		l.Width = vg.Points(1.8)
		if i >= len(pal) {
			l.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		}
		pts.Color = l.Color
		pts.Radius = vg.Points(2)
		pts.Shape = draw.CircleGlyph{}
		p.Add(l, pts)
		p.Legend.Add(fmt.Sprintf("%s: %d trained, %d beat parent (%.0f%%)", op, total[op], wins[op], xy[len(xy)-1].Y), l, pts)
	}
	p.X.Min = 0
	p.X.Max = float64(len(order)) + 1
	// Room above 100% for the legend, about 5 points of the axis a row.
	p.Y.Min, p.Y.Max = 0, 104+5*float64(len(total))
	p.Y.Tick.Marker = capTicks{max: 100}
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Points(8)
	return p, nil
}

// capTicks are the default ticks up to max: the axis may extend past a
// rate's 100% to make room for the legend without labelling 120%.
type capTicks struct{ max float64 }

func (c capTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for _, t := range (plot.DefaultTicks{}).Ticks(lo, min(hi, c.max)) {
		if t.Value <= c.max {
			out = append(out, t)
		}
	}
	return out
}

// plotRejections: the gate's rejections by stage, and training failures by
// class, as bars.
func plotRejections(d Data) (*plot.Plot, error) {
	sum := d.Summary
	type bar struct {
		name string
		n    int
	}
	var gate, fail []bar
	for k, n := range sum.RejectedByReason {
		gate = append(gate, bar{"gate: " + OrDash(k), n})
	}
	for k, n := range sum.TrainStatus {
		if k != "ok" {
			fail = append(fail, bar{"training: " + k, n})
		}
	}
	byCount := func(a, b bar) int { return cmp.Or(b.n-a.n, strings.Compare(a.name, b.name)) }
	slices.SortFunc(gate, byCount)
	slices.SortFunc(fail, byCount)
	rejected := sum.ByStatus[string(store.StatusRejected)]
	p := newReportPlot(fmt.Sprintf("Gate rejections by reason: %d of %d proposals rejected (no training spent)", rejected, sum.Candidates),
		"", "proposals")
	bars := append(gate, fail...)
	if len(bars) == 0 {
		p.Title.Text = fmt.Sprintf("No gate rejections or training failures in %d proposals", sum.Candidates)
		return p, nil
	}
	names := make([]string, len(bars))
	gv := make(plotter.Values, len(bars))
	fv := make(plotter.Values, len(bars))
	for i, b := range bars {
		names[i] = fmt.Sprintf("%s\n%d", strings.TrimPrefix(strings.TrimPrefix(b.name, "gate: "), "training: "), b.n)
		if i < len(gate) {
			gv[i] = float64(b.n)
		} else {
			fv[i] = float64(b.n)
		}
	}
	w := vg.Points(min(70, 420/float64(len(bars))))
	gb, err := plotter.NewBarChart(gv, w)
	if err != nil {
		return nil, err
	}
	gb.Color = reportBlue
	gb.LineStyle.Width = 0
	p.Add(gb)
	p.Legend.Add("rejected by the gate, by stage", gb)
	if len(fail) > 0 {
		fb, err := plotter.NewBarChart(fv, w)
		if err != nil {
			return nil, err
		}
		fb.Color = reportRed
		fb.LineStyle.Width = 0
		p.Add(fb)
		p.Legend.Add("failed in training, by class", fb)
	}
	p.NominalX(names...)
	p.X.Label.Text = "reason (count below)"
	p.X.Min, p.X.Max = -0.6, float64(len(bars))-0.4
	top := 0
	for _, b := range bars {
		top = max(top, b.n)
	}
	p.Y.Min, p.Y.Max = 0, 1.2*float64(top) // headroom for the legend
	p.Legend.Top = true
	p.Legend.Left = false
	return p, nil
}

// plotSpend: cumulative LLM spend against time since the run started.
func plotSpend(d Data) (*plot.Plot, error) {
	t0 := time.Time{}
	for _, c := range d.Cands {
		if t0.IsZero() || (!c.ProposedAt.IsZero() && c.ProposedAt.Before(t0)) {
			t0 = c.ProposedAt
		}
	}
	end := t0
	for _, c := range d.Cands {
		end = latest(end, c.ProposedAt, c.FinishedAt)
	}
	for _, c := range d.Calls {
		if t0.IsZero() {
			t0 = c.Time
		}
		end = latest(end, c.Time)
	}
	tokens := 0
	for _, c := range d.Calls {
		tokens += c.TokensIn + c.TokensOut
	}
	title := fmt.Sprintf("LLM spend: $%.4f over %d calls (%d tokens)", d.Summary.LLM.Cost, len(d.Calls), tokens)
	if len(d.Calls) == 0 {
		title = "LLM spend: no LLM calls ($0): the offline resolver made every decision"
	}
	unit, unitName := timeUnit(end.Sub(t0))
	p := newReportPlot(title, unitName+" since the run started", "cumulative LLM spend (US dollars)")
	xy := spendSeries(d.Calls, t0, unit)
	xy = append(xy, plotter.XY{X: max(float64(end.Sub(t0))/float64(unit), xy[len(xy)-1].X), Y: xy[len(xy)-1].Y})
	l, err := plotter.NewLine(xy)
	if err != nil {
		return nil, err
	}
	l.StepStyle = plotter.PostStep
	l.Color = reportBlue
	l.Width = vg.Points(2)
	p.Add(l)
	p.Legend.Add("cumulative spend", l)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(12)
	p.Legend.YOffs = -vg.Points(8)
	p.X.Min, p.Y.Min = 0, 0
	if d.Summary.LLM.Cost == 0 {
		p.Y.Max = 1 // a flat zero line on a visible scale
	}
	return p, nil
}

func latest(t time.Time, ts ...time.Time) time.Time {
	for _, u := range ts {
		if u.After(t) {
			t = u
		}
	}
	return t
}

// Figure is one figure of the report: Draw makes it from a run's Data, so
// a Go program can draw any of them on its own.
type Figure struct {
	Name, Title, Caption string
	Draw                 func(Data) (*plot.Plot, error)
	// Empty says in one line why a run has nothing to draw ("" when it
	// has): the report leaves such a figure out and prints the line.
	Empty func(Data) string
}

// Shown splits the figures into those d has data for, and a one-line note
// for each of the others.
func Shown(d Data) (shown []Figure, notes []string) {
	for _, f := range Figures() {
		if why := f.Empty(d); why != "" {
			notes = append(notes, f.Title+": "+why)
			continue
		}
		shown = append(shown, f)
	}
	return shown, notes
}

func noneTrained(d Data) string {
	if len(Feasible(d.Cands)) == 0 {
		return "no candidate has trained successfully yet."
	}
	return ""
}

func noChildTrained(d Data) string {
	for _, c := range TrainingOrder(d.Cands) {
		if c.Op != store.OpSeed {
			return ""
		}
	}
	return "no child of a seed has trained yet."
}

func noRejections(d Data) string {
	for k, n := range d.Summary.TrainStatus {
		if k != "ok" && n > 0 {
			return ""
		}
	}
	if len(d.Summary.RejectedByReason) > 0 {
		return ""
	}
	return fmt.Sprintf("none: the gate rejected none of the %d proposals and no training failed.", d.Summary.Candidates)
}

func noCalls(d Data) string {
	if len(d.Calls) == 0 {
		return "no LLM calls ($0): the offline resolver made every decision."
	}
	return ""
}

// Figures are the report's figures, in the order of the page.
func Figures() []Figure {
	return []Figure{
		{"best_so_far", "Best accuracy so far", "Grey points: each trained candidate's validation accuracy; blue: the best so far. A flat line means the search stopped finding better children.", plotBestSoFar, noneTrained},
		{"pareto", "Accuracy against size", "Every successfully trained candidate's validation accuracy against its parameter count; the axis fits the candidates. Red: the Pareto front (no other candidate is both smaller and more accurate); green: the best; dashed: the parameter limit (at the right edge when it lies far beyond the candidates).", plotPareto, noneTrained},
		{"op_success", "Success rate per operation", "For each operation, the share of its trained children that beat their parent so far (the planner's reward), one point per trained child (on runs of 30 or more, from an operation's third child on). A line that stops early: the planner stopped choosing that operation, or its children stopped passing the gate.", plotOpSuccess, noChildTrained},
		{"rejections", "Gate rejections and training failures", "Proposals the gate rejected before training, by stage (proposal, shape, space, constraints, duplicate, dry-run), and candidates that failed in training, by class.", plotRejections, noRejections},
		{"llm_spend", "LLM spend", "Cumulative cost of LLM calls in US dollars (at the configured per-token prices) against wall-clock time since the first proposal.", plotSpend, noCalls},
	}
}
