// Reading a run into Data, and the series the figures draw from it.

package report

import (
	"cmp"
	"context"
	"slices"
	"time"

	"gonum.org/v1/plot/plotter"

	"github.com/arbor-nas/arbor/evolve/store"
)

// Accuracies says what a run's validation and test accuracies measure:
// the split and the epochs trained. A tabular run's come from the
// NAS-Bench-201 table: the search signal is its 12-epoch validation
// accuracy, the test figure its 200-epoch one; a trained run's are both
// after the recipe's epochs.
func Accuracies(set store.Settings) (val, test string) {
	switch {
	case set.Evaluator == "tabular":
		return "validation, 12 epochs (NAS-Bench-201 table)", "test, 200 epochs (NAS-Bench-201 table)"
	case set.Epochs <= 0:
		return "", "" // not known (no stored configuration)
	}
	e := Plural(set.Epochs, "epoch")
	return "validation, " + e, "test, " + e
}

// valLabel is the axis label of validation accuracy.
func (d Data) valLabel() string {
	if d.Val == "" {
		return "validation accuracy (%)"
	}
	return "accuracy (%): " + d.Val
}

// ReadData reads what the report draws from the run in store s (read
// from dir), set being the run's settings (run.Settings reads them).
func ReadData(ctx context.Context, dir string, s *store.Store, set store.Settings) (Data, error) {
	d := Data{Dir: dir, Generated: time.Now()}
	var err error
	if d.Cands, err = s.Candidates(ctx); err != nil {
		return d, err
	}
	if d.Calls, err = s.Calls(ctx); err != nil {
		return d, err
	}
	if d.Summary, err = s.Summary(ctx); err != nil {
		return d, err
	}
	if d.Last, d.HasEvents, err = s.LastEvent(ctx); err != nil {
		return d, err
	}
	d.State = store.State(dir, d.Last, d.HasEvents)
	if d.Posteriors, _, err = s.Posteriors(ctx); err != nil {
		return d, err
	}
	if d.Retrain, _, err = s.Retraining(ctx); err != nil {
		return d, err
	}
	d.MaxParams, d.Strategy = set.MaxParams, set.Strategy
	d.Val, d.Test = Accuracies(set)
	return d, nil
}

// TrainingOrder returns the candidates that reached the evaluator
// (trained or failed) in the order they finished.
func TrainingOrder(cs []store.Candidate) []store.Candidate {
	var out []store.Candidate
	for _, c := range cs {
		if c.Status == store.StatusTrained || c.Status == store.StatusFailed {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b store.Candidate) int {
		return cmp.Or(a.FinishedAt.Compare(b.FinishedAt), cmp.Compare(a.Seq, b.Seq))
	})
	return out
}

// bestSoFar is, after each candidate trained (x = 1, 2, ...), the best
// validation accuracy so far; NaN-free: points start at the first success.
func bestSoFar(order []store.Candidate) plotter.XYs {
	var xy plotter.XYs
	best := -1.0
	for i, c := range order {
		if c.Feasible() && c.Result.ValAcc > best {
			best = c.Result.ValAcc
		}
		if best >= 0 {
			xy = append(xy, plotter.XY{X: float64(i + 1), Y: best})
		}
	}
	return xy
}

// opSuccessMin is how many trained children an operation needs before its
// rate is drawn on a run of at least 30 candidates: a rate of 1 of 1 says
// nothing there. Shorter runs draw every point.
func opSuccessMin(trained int) int {
	if trained >= 30 {
		return 3
	}
	return 1
}

// opSuccessSeries is, per operation, its cumulative success rate in
// percent (wins over its trained children), one point per trained child of
// that operation from its minN-th on, at x = candidates trained so far.
// Seeds have no parent to beat and are left out.
func opSuccessSeries(order []store.Candidate, minN int) map[string]plotter.XYs {
	wins, n := map[string]int{}, map[string]int{}
	out := map[string]plotter.XYs{}
	for i, c := range order {
		if c.Op == store.OpSeed {
			continue
		}
		n[c.Op]++
		if c.Reward == 1 {
			wins[c.Op]++
		}
		if n[c.Op] < minN {
			continue
		}
		out[c.Op] = append(out[c.Op], plotter.XY{X: float64(i + 1), Y: 100 * float64(wins[c.Op]) / float64(n[c.Op])})
	}
	return out
}

// spendSeries is the cumulative LLM cost in USD against time since t0,
// in units of unit.
func spendSeries(calls []store.CallRow, t0 time.Time, unit time.Duration) plotter.XYs {
	xy := plotter.XYs{{X: 0, Y: 0}}
	total := 0.0
	for _, c := range calls {
		total += c.Cost
		xy = append(xy, plotter.XY{X: float64(c.Time.Sub(t0)) / float64(unit), Y: total})
	}
	return xy
}

// timeUnit picks seconds, minutes or hours so that a span reads as a few
// to a hundred-odd units.
func timeUnit(span time.Duration) (time.Duration, string) {
	switch {
	case span < 3*time.Minute:
		return time.Second, "seconds"
	case span < 3*time.Hour:
		return time.Minute, "minutes"
	}
	return time.Hour, "hours"
}
