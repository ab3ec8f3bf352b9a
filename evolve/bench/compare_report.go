package bench

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train/atomicfile"
)

// CompareResult is what one run of a comparison found, read from its store.
type CompareResult struct {
	CompareRun
	Trained, Rejected, Failed int
	BestID                    string
	BestVal, BestTest         float64 // NaN when nothing trained successfully
	BestParams                int64
	// Retrained is the test accuracy (mean over retrain seeds) of the run's
	// best retrained candidate, chosen by retrained validation accuracy;
	// NaN when the run was not retrained.
	Retrained   float64
	RetrainedID string
	// Curve[t-1] is the best validation accuracy among the first t
	// finished candidates (NaN until one trained successfully).
	Curve []float64
	// Wall is from the first proposal to the last finished candidate,
	// summed over resumed sessions' spans as stored.
	Wall    time.Duration
	LLMCost float64
}

// CompareReport is a comparison's results.
type CompareReport struct {
	Opts    CompareOptions
	Results []CompareResult
	// Wall is this invocation's time (0 when only re-read).
	Wall time.Duration
}

// ReadComparison reads every run directory of o (those not yet created
// are left out) into a report.
func ReadComparison(ctx context.Context, o CompareOptions) (*CompareReport, error) {
	rep := &CompareReport{Opts: o}
	for _, r := range o.Runs() {
		if _, err := os.Stat(filepath.Join(r.Dir, "run.db")); err != nil {
			continue
		}
		res, err := readRun(ctx, r)
		if err != nil {
			return nil, err
		}
		rep.Results = append(rep.Results, res)
	}
	return rep, nil
}

func readRun(ctx context.Context, r CompareRun) (CompareResult, error) {
	res := CompareResult{CompareRun: r, BestVal: math.NaN(), BestTest: math.NaN(), Retrained: math.NaN()}
	db, err := run.OpenReadOnly(r.Dir)
	if err != nil {
		return res, err
	}
	defer db.Close()
	if rt, ok, err := db.Retraining(ctx); err != nil {
		return res, err
	} else if ok {
		if b, ok := rt.Best(); ok {
			res.Retrained, res.RetrainedID = b.TestMean, b.ID
		}
	}
	cands, err := db.Candidates(ctx)
	if err != nil {
		return res, err
	}
	var done []store.Candidate
	var first, last time.Time
	for _, c := range cands {
		res.LLMCost += c.LLMCost
		if first.IsZero() || (!c.ProposedAt.IsZero() && c.ProposedAt.Before(first)) {
			first = c.ProposedAt
		}
		switch c.Status {
		case store.StatusRejected:
			res.Rejected++
		case store.StatusTrained, store.StatusFailed:
			done = append(done, c)
			if c.FinishedAt.After(last) {
				last = c.FinishedAt
			}
		}
	}
	// Finishing order is the order the search learned the results in.
	slices.SortStableFunc(done, func(a, b store.Candidate) int { return a.FinishedAt.Compare(b.FinishedAt) })
	best := math.NaN()
	for _, c := range done {
		res.Trained++
		if c.Status == store.StatusFailed {
			res.Failed++
		} else if math.IsNaN(best) || c.Result.ValAcc > best {
			best = c.Result.ValAcc
			res.BestID, res.BestVal, res.BestParams = c.ID, c.Result.ValAcc, c.Result.Params
			res.BestTest = math.NaN()
			if c.Result.TestAcc > 0 { // measured only under train.test: all
				res.BestTest = c.Result.TestAcc
			}
		}
		res.Curve = append(res.Curve, best)
	}
	if !last.IsZero() {
		res.Wall = last.Sub(first)
	}
	return res, nil
}

// compareCell is one strategy's aggregate.
type compareCell struct {
	n                      int
	val, valSD, test, tsd  float64
	trained, failed, wallS float64
	// retrained: mean ± std over seeds of the runs' retrained figure (nr
	// runs; NaN when none was retrained).
	nr                int
	retrained, retrSD float64
}

func (r *CompareReport) cell(strategy string) compareCell {
	var vals, tests, retr, tr, fl, wall []float64
	for _, res := range r.Results {
		if res.Strategy != strategy || math.IsNaN(res.BestVal) {
			continue
		}
		vals = append(vals, res.BestVal)
		if !math.IsNaN(res.Retrained) {
			retr = append(retr, res.Retrained)
		}
		if !math.IsNaN(res.BestTest) {
			tests = append(tests, res.BestTest)
		}
		tr = append(tr, float64(res.Trained))
		fl = append(fl, float64(res.Failed))
		wall = append(wall, res.Wall.Seconds())
	}
	c := compareCell{n: len(vals)}
	if c.n == 0 {
		return c
	}
	c.val, c.valSD = meanStd(vals)
	c.test, c.tsd = math.NaN(), math.NaN()
	if len(tests) > 0 {
		c.test, c.tsd = meanStd(tests)
	}
	c.nr, c.retrained, c.retrSD = len(retr), math.NaN(), math.NaN()
	if len(retr) > 0 {
		c.retrained, c.retrSD = meanStd(retr)
	}
	c.trained, c.failed, c.wallS = stat.Mean(tr, nil), stat.Mean(fl, nil), stat.Mean(wall, nil)
	return c
}

// Print writes the comparison table.
func (r *CompareReport) Print(w io.Writer) {
	o := r.Opts
	fmt.Fprintf(w, "comparison of %d strategies, %d seeds each (evolve.seed %d..%d), budget %d, config %s\n",
		len(o.Strategies), o.Seeds, o.SeedBase, o.SeedBase+o.Seeds-1, o.Budget, o.Config)
	fmt.Fprintf(w, "best validation accuracy (the search signal) and the test accuracy of that candidate, mean ± std over seeds (SE = std/√n)\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\truns\tbest val %\tSE\ttest of best %\tSE\ttrained\tfailed\twall/run\t")
	for _, s := range o.Strategies {
		c := r.cell(s)
		if c.n == 0 {
			fmt.Fprintf(tw, "%s\t0\t-\t-\t-\t-\t-\t-\t-\t\n", s)
			continue
		}
		se := math.Sqrt(float64(c.n))
		test, testSE := "-", "-" // not measured: the search leaves the test set alone (train.test)
		if !math.IsNaN(c.test) {
			test, testSE = fmt.Sprintf("%.2f ± %.2f", c.test, c.tsd), fmt.Sprintf("%.2f", c.tsd/se)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f ± %.2f\t%.2f\t%s\t%s\t%.1f\t%.1f\t%s\t\n", s, c.n, c.val, c.valSD, c.valSD/se,
			test, testSE, c.trained, c.failed, (time.Duration(c.wallS) * time.Second).Round(time.Second))
	}
	tw.Flush()
	fmt.Fprintln(w)
	printPaired(w, "paired differences of the best validation accuracy (same evolve.seed: same split and training seed), points:", r.Paired())
	r.printRetrained(w)
	if r.Wall > 0 {
		fmt.Fprintf(w, "\nthis invocation: %s\n", r.Wall.Round(time.Second))
	}
}

// printRetrained ranks the strategies by their runs' retrained test
// accuracy, the figure a paper reports, when the runs were retrained.
func (r *CompareReport) printRetrained(w io.Writer) {
	type row struct {
		s string
		c compareCell
	}
	var rows []row
	for _, s := range r.Opts.Strategies {
		if c := r.cell(s); c.nr > 0 {
			rows = append(rows, row{s, c})
		}
	}
	if len(rows) == 0 {
		return
	}
	slices.SortStableFunc(rows, func(a, b row) int { return cmp.Compare(b.c.retrained, a.c.retrained) })
	fmt.Fprintf(w, "\nranked by retrained test accuracy (arbor retrain: each run's best candidate by retrained validation accuracy, at full fidelity), mean ± std over seeds\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rank\tstrategy\truns\tretrained test %\tSE\t")
	for i, x := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%.2f ± %.2f\t%.2f\t\n", i+1, x.s, x.c.nr, x.c.retrained, x.c.retrSD, x.c.retrSD/math.Sqrt(float64(x.c.nr)))
	}
	tw.Flush()
}

// Paired is every paired difference of the best validation accuracy
// (later strategy minus earlier, in the order given).
func (r *CompareReport) Paired() []Paired {
	return pairedDiffs(r.Opts.Strategies, func(s string) map[int]float64 {
		m := map[int]float64{}
		for _, res := range r.Results {
			if res.Strategy == s && !math.IsNaN(res.BestVal) {
				m[res.Seed] = res.BestVal
			}
		}
		return m
	})
}

// CompareFiles are the files WriteFiles writes into the comparison directory.
func CompareFiles(dir string) []string {
	return []string{filepath.Join(dir, "runs.csv"), filepath.Join(dir, "curves.csv"),
		filepath.Join(dir, "curves.png"), filepath.Join(dir, "summary.md")}
}

// Write writes runs.csv, curves.csv, curves.png and summary.md into o.Out.
func (r *CompareReport) Write() error {
	files := CompareFiles(r.Opts.Out)
	if err := r.writeRuns(files[0]); err != nil {
		return err
	}
	ss := r.curves()
	if err := writeCompareCurves(files[1], ss); err != nil {
		return err
	}
	for i := range ss {
		ss[i].label = fmt.Sprintf("%s (n=%d)", ss[i].label, r.cell(r.Opts.Strategies[i]).n)
	}
	if err := (bandChart{
		title:        fmt.Sprintf("best validation accuracy so far, mean ± std over %d seeds", r.Opts.Seeds),
		xLabel:       "candidates trained",
		yLabel:       "best validation accuracy (%)",
		legendBottom: true,
	}).save(files[2], ss); err != nil {
		return err
	}
	f, err := atomicfile.Create(files[3], 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintln(f, "```")
	r.Print(f)
	fmt.Fprintln(f, "```")
	return f.Commit()
}

func (r *CompareReport) writeRuns(path string) error {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"strategy", "seed", "run_dir", "trained", "failed", "rejected", "best_id", "best_val_acc", "best_test_acc", "best_params", "wall_s", "llm_usd", "retrained_id", "retrained_test_acc"})
	num := func(x float64) string {
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'f', 4, 64)
	}
	for _, res := range r.Results {
		w.Write([]string{res.Strategy, strconv.Itoa(res.Seed), res.Dir, strconv.Itoa(res.Trained), strconv.Itoa(res.Failed),
			strconv.Itoa(res.Rejected), res.BestID, num(res.BestVal), num(res.BestTest), strconv.FormatInt(res.BestParams, 10),
			num(res.Wall.Seconds()), num(res.LLMCost), res.RetrainedID, num(res.Retrained)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}

// curves is, per strategy, the mean ± std over seeds of the best
// validation accuracy after t finished candidates, for every t that all
// of its runs with a trained candidate have reached.
func (r *CompareReport) curves() []series {
	var out []series
	for _, s := range r.Opts.Strategies {
		c := series{label: s}
		for t := 0; ; t++ {
			var xs []float64
			short := false
			for _, res := range r.Results {
				if res.Strategy != s || math.IsNaN(res.BestVal) {
					continue
				}
				if t >= len(res.Curve) {
					short = true
					break
				}
				if !math.IsNaN(res.Curve[t]) {
					xs = append(xs, res.Curve[t])
				}
			}
			if short || len(xs) == 0 {
				break
			}
			m, sd := meanStd(xs)
			c.mean = append(c.mean, m)
			c.spread = append(c.spread, sd)
		}
		out = append(out, c)
	}
	return out
}

func writeCompareCurves(path string, ss []series) error {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"strategy", "trained", "mean_best_val_acc", "std_best_val_acc"})
	for _, s := range ss {
		for t := range s.mean {
			w.Write([]string{s.label, strconv.Itoa(t + 1), strconv.FormatFloat(s.mean[t], 'f', 4, 64), strconv.FormatFloat(s.spread[t], 'f', 4, 64)})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}
