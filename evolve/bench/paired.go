package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
)

// Paired is the difference between two strategies run with the same
// seeds: per seed, A's figure minus B's, then the mean and its standard
// error over the seeds both finished. Runs that share a seed share the
// data split, the training seed and (on the table) the initial draws, so
// the paired difference removes the seed-to-seed spread that dwarfs the
// gaps between strategies; the unpaired means cannot show a real one.
type Paired struct {
	A, B string
	// N seeds both finished; Ahead and Behind count the seeds where A
	// beat, or lost to, B.
	N, Ahead, Behind int
	// Mean ± SE (std/√N) of A − B; Min is the worst seed's difference.
	Mean, SE, Min float64
}

// Significant reports whether the mean difference is more than two
// standard errors from zero.
func (p Paired) Significant() bool { return p.N > 1 && math.Abs(p.Mean) > 2*p.SE }

// String is e.g. "thompson − random: +1.23 ± 0.45 (n=5; ahead 4, behind 1)".
func (p Paired) String() string {
	return fmt.Sprintf("%s − %s: %+.3f ± %.3f (n=%d; ahead %d, behind %d)", p.A, p.B, p.Mean, p.SE, p.N, p.Ahead, p.Behind)
}

// pairedDiffs compares every later strategy with every earlier one (the
// order given: list the method last to read "method − baseline"); value
// returns a strategy's figure per seed (absent: not finished).
func pairedDiffs(strategies []string, value func(strategy string) map[int]float64) []Paired {
	var out []Paired
	per := make([]map[int]float64, len(strategies))
	for i, s := range strategies {
		per[i] = value(s)
	}
	for i := len(strategies) - 1; i >= 0; i-- {
		for j := 0; j < i; j++ {
			out = append(out, pair(strategies[i], strategies[j], per[i], per[j]))
		}
	}
	return out
}

func pair(a, b string, va, vb map[int]float64) Paired {
	p := Paired{A: a, B: b, Min: math.NaN()}
	var ds []float64
	for _, seed := range slices.Sorted(mapKeys(va)) {
		x, y := va[seed], vb[seed]
		if _, ok := vb[seed]; !ok || math.IsNaN(x) || math.IsNaN(y) {
			continue
		}
		d := x - y
		ds = append(ds, d)
		switch {
		case d > 0:
			p.Ahead++
		case d < 0:
			p.Behind++
		}
		if math.IsNaN(p.Min) || d < p.Min {
			p.Min = d
		}
	}
	p.N = len(ds)
	if p.N == 0 {
		p.Mean, p.SE = math.NaN(), math.NaN()
		return p
	}
	m, sd := meanStd(ds)
	p.Mean, p.SE = m, sd/math.Sqrt(float64(p.N))
	return p
}

func mapKeys(m map[int]float64) func(func(int) bool) {
	return func(yield func(int) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// printPaired writes the paired differences as a table; unit names the
// figure (e.g. "best val %").
func printPaired(w io.Writer, title string, ps []Paired) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintf(w, "%s\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "A − B\tseeds\tmean ± SE\tA ahead\tA behind\tworst seed\t> 2 SE\t")
	for _, p := range ps {
		sig := "no"
		if p.Significant() {
			sig = "yes"
		}
		if p.N == 0 {
			fmt.Fprintf(tw, "%s − %s\t0\t-\t-\t-\t-\t-\t\n", p.A, p.B)
			continue
		}
		fmt.Fprintf(tw, "%s − %s\t%d\t%+.3f ± %.3f\t%d\t%d\t%+.2f\t%s\t\n", p.A, p.B, p.N, p.Mean, p.SE, p.Ahead, p.Behind, p.Min, sig)
	}
	tw.Flush()
}
