package dashboard

import (
	"slices"
	"time"

	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/store"
)

// chartsView holds the series the charts draw; points name candidates so
// a hover shows one and a click opens it.
type chartsView struct {
	Version int64 `json:"version"`
	// BestByCandidate: x = candidates trained (in finishing order), the
	// best val acc so far; Trained: every feasible one's own accuracy.
	BestByCandidate []point `json:"best_by_candidate"`
	TrainedPoints   []point `json:"trained_points"`
	// BestByTime: x = seconds since the run's first event.
	BestByTime []point `json:"best_by_time"`
	// Pareto fronts (IDs, by rising cost) per objective.
	Pareto map[string][]string `json:"pareto"`
	// Posteriors over time: per operation, and per "op/category", the
	// posterior mean after each planner update (x = updates so far),
	// replayed from the store and checked against the saved planner state.
	OpPosterior  map[string][]point `json:"op_posterior"`
	CatPosterior map[string][]point `json:"cat_posterior"`
	// PosteriorExact is false when the reconstruction does not end at the
	// saved state (a run resumed with another planner configuration).
	PosteriorExact bool           `json:"posterior_exact"`
	Rejections     map[string]int `json:"rejections"`
	PreGate        map[string]int `json:"pregate_filtered"`
	Failures       map[string]int `json:"failures"`
	// RejectionsOverTime: per gate stage, cumulative count (x = proposals).
	RejectionsOverTime map[string][]point `json:"rejections_over_time"`
	MaxParams          int64              `json:"max_params,omitempty"`
	MaxFLOPs           int64              `json:"max_flops,omitempty"`
}

type point struct {
	X  float64 `json:"x"`
	Y  float64 `json:"y"`
	ID string  `json:"id,omitempty"`
}

func (r *runSource) chartsView() chartsView {
	v := chartsView{Version: r.version, Pareto: map[string][]string{}, OpPosterior: map[string][]point{},
		CatPosterior: map[string][]point{}, Rejections: r.summary.RejectedByReason, PreGate: r.summary.PreGate, Failures: map[string]int{},
		RejectionsOverTime: map[string][]point{}, MaxParams: r.cfg.MaxParams, MaxFLOPs: r.cfg.MaxFLOPs}
	for k, n := range r.summary.TrainStatus {
		if k != "ok" {
			v.Failures[k] = n
		}
	}
	order := report.TrainingOrder(r.cands)
	bestAcc, bestID := -1.0, ""
	for i, c := range order {
		x := float64(i + 1)
		if c.Feasible() {
			v.TrainedPoints = append(v.TrainedPoints, point{X: x, Y: c.Result.ValAcc, ID: c.ID})
			if c.Result.ValAcc > bestAcc {
				bestAcc, bestID = c.Result.ValAcc, c.ID
				if !r.firstEvent.IsZero() {
					v.BestByTime = append(v.BestByTime, point{X: round(c.FinishedAt.Sub(r.firstEvent).Seconds(), 3), Y: bestAcc, ID: bestID})
				}
			}
		}
		if bestAcc >= 0 {
			v.BestByCandidate = append(v.BestByCandidate, point{X: x, Y: bestAcc, ID: bestID})
		}
	}
	ok := report.Feasible(r.cands)
	metric, _ := report.Metric(report.ValAcc)
	for _, name := range objectives {
		if name == "latency" && !slices.ContainsFunc(ok, func(c store.Candidate) bool { return c.Result.LatencyMS > 0 }) {
			continue
		}
		cost, _, _ := report.Objective(name)
		for _, c := range report.ParetoFront(ok, metric, cost) {
			v.Pareto[name] = append(v.Pareto[name], c.ID)
		}
	}
	v.PosteriorExact = r.posteriorSeries(&v)
	counts := map[string]int{}
	for i, c := range r.cands {
		if c.Status == store.StatusRejected {
			counts[c.Gate]++
			v.RejectionsOverTime[c.Gate] = append(v.RejectionsOverTime[c.Gate], point{X: float64(i + 1), Y: float64(counts[c.Gate]), ID: c.ID})
		}
	}
	return v
}

// posteriorSeries replays the planner's Beta updates from the store: a
// rejected proposal counts as reward 0 when it was proposed, a trained or
// failed candidate as its stored reward when it finished. The priors are
// the ones the saved state implies (alpha - wins, beta - losses). It
// reports whether the replay ends exactly at the saved state (it does not
// when children were screened out unstored, as thompson+surrogate does).
func (r *runSource) posteriorSeries(v *chartsView) bool {
	if !r.hasPost {
		return false
	}
	type arm struct{ a, b float64 }
	prior := func(a store.Arm) arm { return arm{a.Alpha - float64(a.Wins), a.Beta - float64(a.Pulls-a.Wins)} }
	ops := map[string]arm{}
	cats := map[string]arm{}
	for op, a := range r.post.Ops {
		ops[op] = prior(a)
		for cat, ca := range r.post.Cats[op] {
			cats[op+"/"+cat] = prior(ca)
		}
	}
	type update struct {
		at  time.Time
		c   *store.Candidate
		win bool
	}
	var ups []update
	for i := range r.cands {
		c := &r.cands[i]
		if _, ok := ops[c.Op]; !ok {
			continue
		}
		switch {
		case c.Status == store.StatusRejected:
			ups = append(ups, update{c.ProposedAt, c, false})
		case (c.Status == store.StatusTrained || c.Status == store.StatusFailed) && c.Reward >= 0:
			ups = append(ups, update{c.FinishedAt, c, c.Reward == 1})
		}
	}
	slices.SortStableFunc(ups, func(a, b update) int { return a.at.Compare(b.at) })
	for i, u := range ups {
		w := 0.0
		if u.win {
			w = 1
		}
		x := float64(i + 1)
		a := ops[u.c.Op]
		a.a, a.b = a.a+w, a.b+1-w
		ops[u.c.Op] = a
		v.OpPosterior[u.c.Op] = append(v.OpPosterior[u.c.Op], point{X: x, Y: a.a / (a.a + a.b), ID: u.c.ID})
		key := u.c.Op + "/" + u.c.Category
		if ca, ok := cats[key]; ok {
			ca.a, ca.b = ca.a+w, ca.b+1-w
			cats[key] = ca
			v.CatPosterior[key] = append(v.CatPosterior[key], point{X: x, Y: ca.a / (ca.a + ca.b), ID: u.c.ID})
		}
	}
	exact := true
	for op, a := range r.post.Ops {
		if got := ops[op]; got.a != a.Alpha || got.b != a.Beta {
			exact = false
		}
	}
	return exact
}
