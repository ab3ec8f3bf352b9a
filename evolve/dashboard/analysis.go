package dashboard

import (
	"cmp"
	"slices"

	"github.com/arbor-nas/arbor/evolve"
)

// These are the run analysis `arbor status`, `arbor best` and `arbor
// report` use; they are kept identical so the page and the commands agree.

func feasible(cs []evolve.Candidate) []evolve.Candidate {
	var out []evolve.Candidate
	for i := range cs {
		if cs[i].Feasible() {
			out = append(out, cs[i])
		}
	}
	return out
}

// trainingOrder returns the candidates that reached the evaluator
// (trained or failed) in the order they finished.
func trainingOrder(cs []evolve.Candidate) []evolve.Candidate {
	var out []evolve.Candidate
	for _, c := range cs {
		if c.Status == evolve.StatusTrained || c.Status == evolve.StatusFailed {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b evolve.Candidate) int {
		return cmp.Or(a.FinishedAt.Compare(b.FinishedAt), cmp.Compare(a.Seq, b.Seq))
	})
	return out
}

type candidateValue func(c *evolve.Candidate) float64

func valAcc(c *evolve.Candidate) float64 { return c.Result.ValAcc }

// objectives are the costs a Pareto front is drawn against.
var objectives = map[string]candidateValue{
	"params":  func(c *evolve.Candidate) float64 { return float64(c.Params) },
	"flops":   func(c *evolve.Candidate) float64 { return float64(c.FLOPs) },
	"latency": func(c *evolve.Candidate) float64 { return c.Result.LatencyMS },
}

// paretoFront returns the candidates no other beats on both metric (higher
// is better) and cost (lower is better), by rising cost; of candidates
// equal on both, the earliest is kept.
func paretoFront(cs []evolve.Candidate, metric, cost candidateValue) []evolve.Candidate {
	s := slices.Clone(cs)
	slices.SortStableFunc(s, func(a, b evolve.Candidate) int {
		return cmp.Or(cmp.Compare(cost(&a), cost(&b)), cmp.Compare(metric(&b), metric(&a)))
	})
	var front []evolve.Candidate
	for _, c := range s {
		if len(front) == 0 || metric(&c) > metric(&front[len(front)-1]) {
			front = append(front, c)
		}
	}
	return front
}

// best is the feasible candidate with the highest validation accuracy,
// the earliest on ties (as the store's Summary picks it).
func best(cs []evolve.Candidate) (evolve.Candidate, bool) {
	var b evolve.Candidate
	ok := false
	for _, c := range cs {
		if c.Feasible() && (!ok || c.Result.ValAcc > b.Result.ValAcc || (c.Result.ValAcc == b.Result.ValAcc && c.Seq < b.Seq)) {
			b, ok = c, true
		}
	}
	return b, ok
}
