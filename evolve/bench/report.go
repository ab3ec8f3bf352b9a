package bench

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/arbor-nas/arbor/train"

	"github.com/arbor-nas/arbor/train/atomicfile"
)

// Report aggregates the runs of one benchmark.
type Report struct {
	opts    Options
	results []Result
	oracle  float64 // best final test accuracy in the table
	load    time.Duration
	total   time.Duration
}

// NewReport aggregates results; load and total are the table load and
// whole benchmark times.
func NewReport(o Options, table *train.NB201Table, results []Result, load, total time.Duration) *Report {
	best := table.Best(func(r train.NB201Row) float64 { return r.FinalTest(o.Dataset) })
	return &Report{opts: o, results: results, oracle: best.FinalTest(o.Dataset), load: load, total: total}
}

// benchCell is the mean ± std of the final test accuracy of one (strategy, budget).
type benchCell struct {
	mean, std float64
	n         int
	queries   float64
}

func (r *Report) cell(strategy string, budget int) benchCell {
	var xs, qs []float64
	for _, res := range r.results {
		if res.Strategy == strategy && res.Budget == budget {
			xs = append(xs, res.FinalTest)
			qs = append(qs, float64(res.Queries))
		}
	}
	if len(xs) == 0 {
		return benchCell{}
	}
	m, s := meanStd(xs)
	return benchCell{mean: m, std: s, n: len(xs), queries: stat.Mean(qs, nil)}
}

// Print writes the mean ± std table and where the time went.
func (r *Report) Print(w io.Writer) {
	o := r.opts
	fmt.Fprintf(w, "NAS-Bench-201 %s: final 200-epoch test accuracy (%%) of the best-by-signal (12-epoch val) architecture, mean ± std over %d seeds (optimum %.2f)\n\n", o.Dataset, o.Seeds, r.oracle)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "strategy\t")
	for _, b := range o.Budgets {
		fmt.Fprintf(tw, "%d queries\t", b)
	}
	fmt.Fprintln(tw)
	for _, s := range o.Strategies {
		fmt.Fprintf(tw, "%s\t", s)
		for _, b := range o.Budgets {
			c := r.cell(s, b)
			fmt.Fprintf(tw, "%.2f ± %.2f\t", c.mean, c.std)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, b := range o.Budgets {
		printPaired(w, fmt.Sprintf("paired differences at %d queries (same seeds; final test %%):", b), r.Paired(b))
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, r.timing())
}

// Paired is every paired difference of final test accuracy at budget
// (later strategy minus earlier, in the order given).
func (r *Report) Paired(budget int) []Paired {
	return pairedDiffs(r.opts.Strategies, func(s string) map[int]float64 {
		m := map[int]float64{}
		for _, res := range r.results {
			if res.Strategy == s && res.Budget == budget {
				m[res.Seed] = res.FinalTest
			}
		}
		return m
	})
}

// timing says where the time went, per strategy, summed over runs.
func (r *Report) timing() string {
	var b strings.Builder
	fmt.Fprintf(&b, "time: %s wall on %d workers (table load %s); run time summed over workers:\n", r.total.Round(time.Millisecond), r.opts.Workers, r.load.Round(time.Millisecond))
	fmt.Fprintf(&b, "  %-20s %10s %10s %10s %10s %10s %9s %9s %10s %10s\n", "strategy", "runs", "engine", "surrogate", "arch-map", "lookups", "queries", "rejected", "ms/query", "exhausted")
	for _, s := range r.opts.Strategies {
		var wall, look, scr, arch time.Duration
		var q, rej, ex int
		for _, res := range r.results {
			if res.Strategy == s {
				if res.Exhausted {
					ex++
				}
				wall += res.Wall
				look += res.Lookup
				scr += res.Screen
				arch += res.Arch
				q += res.Queries
				rej += res.Rejected
			}
		}
		eng := wall - look - scr - arch
		ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
		fmt.Fprintf(&b, "  %-20s %10s %10s %10s %10s %10s %9d %9d %10.2f %10d\n", s, ms(wall), ms(eng), ms(scr), ms(arch), ms(look), q, rej,
			float64(wall.Microseconds())/1000/math.Max(1, float64(q)), ex)
	}
	b.WriteString("  engine = options, resolve, transform, gate, SQLite store (everything but the surrogate, the tree→arch mapping and the table lookups);\n")
	b.WriteString("  exhausted = runs that stopped before their budget because every child the strategy could propose was already known\n")
	return b.String()
}

// Write produces Files(dir): runs.csv, curves.csv, curves.png and
// summary.txt.
func (r *Report) Write(dir string) error {
	files := Files(dir)
	if err := r.writeRuns(files[0]); err != nil {
		return err
	}
	curves := r.curves()
	if err := writeCurves(files[1], curves); err != nil {
		return err
	}
	if err := r.plot(files[2], curves); err != nil {
		return err
	}
	f, err := atomicfile.Create(files[3], 0o644)
	if err != nil {
		return err
	}
	r.Print(f)
	return f.Commit()
}

func (r *Report) writeRuns(path string) error {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"strategy", "budget", "seed", "dataset", "queries", "best_arch", "best_signal", "final_test"})
	for _, res := range r.results {
		w.Write([]string{res.Strategy, strconv.Itoa(res.Budget), strconv.Itoa(res.Seed), res.Dataset, strconv.Itoa(res.Queries),
			res.BestArch, strconv.FormatFloat(res.BestSignal, 'f', 4, 64), strconv.FormatFloat(res.FinalTest, 'f', 4, 64)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}

// benchCurve is the mean ± std, over seeds, of the final test accuracy of
// the best-by-signal architecture after each query, for one strategy's
// largest-budget runs.
type benchCurve struct {
	strategy  string
	budget    int
	mean, std []float64
}

func (r *Report) curves() []benchCurve {
	budget := slices.Max(r.opts.Budgets)
	var out []benchCurve
	for _, s := range r.opts.Strategies {
		c := benchCurve{strategy: s, budget: budget}
		for q := 0; q < budget; q++ {
			var xs []float64
			for _, res := range r.results {
				if res.Strategy == s && res.Budget == budget && q < len(res.Curve) {
					xs = append(xs, res.Curve[q])
				}
			}
			if len(xs) == 0 {
				break
			}
			m, sd := meanStd(xs)
			c.mean = append(c.mean, m)
			c.std = append(c.std, sd)
		}
		out = append(out, c)
	}
	return out
}

func writeCurves(path string, curves []benchCurve) error {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"strategy", "budget", "queries", "mean_final_test", "std_final_test"})
	for _, c := range curves {
		for q := range c.mean {
			w.Write([]string{c.strategy, strconv.Itoa(c.budget), strconv.Itoa(q + 1),
				strconv.FormatFloat(c.mean[q], 'f', 4, 64), strconv.FormatFloat(c.std[q], 'f', 4, 64)})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}

// plot draws one line per strategy with a ±1 std band.
func (r *Report) plot(path string, curves []benchCurve) error {
	ss := make([]series, len(curves))
	for i, c := range curves {
		ss[i] = series{label: c.strategy, mean: c.mean, spread: c.std}
	}
	return bandChart{
		title:  fmt.Sprintf("NAS-Bench-201 %s: best-by-signal architecture so far", r.opts.Dataset),
		xLabel: "queries (distinct architectures trained)",
		yLabel: "200-epoch test accuracy (%), mean ± std",
		// Start where every strategy has its initial architectures, so the
		// random start does not squash the interesting range.
		from: min(r.opts.Init, r.opts.Population, r.opts.SurrogateInit) - 1,
		ref:  r.oracle, refLabel: fmt.Sprintf("table optimum %.2f", r.oracle), yFloor: 6,
	}.save(path, ss)
}

// Files are the files Write writes into dir.
func Files(dir string) []string {
	return []string{filepath.Join(dir, "runs.csv"), filepath.Join(dir, "curves.csv"),
		filepath.Join(dir, "curves.png"), filepath.Join(dir, "summary.txt")}
}

// meanStd is the mean and sample standard deviation of xs; a single
// sample has no spread, where gonum would report NaN.
func meanStd(xs []float64) (mean, std float64) {
	mean, std = stat.MeanStdDev(xs, nil)
	if len(xs) < 2 {
		std = 0
	}
	return mean, std
}
