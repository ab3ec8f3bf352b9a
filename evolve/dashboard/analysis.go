package dashboard

import (
	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/store"
)

// The run analysis is evolve/report's, the code behind `arbor status`,
// `arbor best` and `arbor report`, so the page and the commands agree.

// objectives are the costs a Pareto front is drawn against.
var objectives = []string{"params", "flops", "latency"}

// best is the best feasible candidate by validation accuracy, the earliest
// on ties (as `arbor status` and `arbor best` pick it).
func best(cs []store.Candidate) (store.Candidate, bool) {
	top := report.Top(cs, report.ValAcc, 1)
	if len(top) == 0 {
		return store.Candidate{}, false
	}
	return top[0], true
}
