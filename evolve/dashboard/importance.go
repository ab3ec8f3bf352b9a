package dashboard

import (
	"cmp"
	"slices"

	"github.com/arbor-nas/arbor/evolve/store"
)

// importanceView says which operations, prompt categories and modules
// paid off: for each, how many children it made, how many trained, how
// often the child beat its parent (success), the mean planner reward, the
// mean accuracy change over the parent, and the planner's posterior mean
// beside them where the planner keeps one.
type importanceView struct {
	Version    int64           `json:"version"`
	Ops        []importanceRow `json:"ops"`
	Categories []importanceRow `json:"categories"`
	Modules    []importanceRow `json:"modules"`
	HasPost    bool            `json:"has_posterior"`
}

type importanceRow struct {
	Name     string `json:"name"`
	Proposed int    `json:"proposed"` // children made (rejected ones too)
	Rejected int    `json:"rejected"`
	Trained  int    `json:"trained"`  // reached training (ok or failed)
	Feasible int    `json:"feasible"` // trained successfully
	// Success is the share of trained children (failures count as
	// losses) that beat their parent's validation accuracy.
	Wins    int     `json:"wins"`
	Success float64 `json:"success"`
	// MeanReward is over the children with a known planner reward
	// (rejections count as 0, as the planner counts them).
	Rewarded   int     `json:"rewarded"`
	MeanReward float64 `json:"mean_reward"`
	// MeanDelta is the mean of child minus parent validation accuracy
	// over feasible children of feasible parents.
	Deltas    int     `json:"deltas"`
	MeanDelta float64 `json:"mean_delta"`
	Posterior float64 `json:"posterior"` // -1: the planner keeps none
}

type importanceAcc struct {
	row           importanceRow
	reward, delta float64
}

func (r *runSource) importanceView() importanceView {
	v := importanceView{Version: r.version, HasPost: r.hasPost}
	ops, cats, mods := map[string]*importanceAcc{}, map[string]*importanceAcc{}, map[string]*importanceAcc{}
	get := func(m map[string]*importanceAcc, k string) *importanceAcc {
		a, ok := m[k]
		if !ok {
			a = &importanceAcc{row: importanceRow{Name: k, Posterior: -1}}
			m[k] = a
		}
		return a
	}
	for _, c := range r.cands {
		if c.Op == "" || c.Op == store.OpSeed || c.ParentID == "" {
			continue
		}
		var parent store.Candidate
		if i, ok := r.index[c.ParentID]; ok {
			parent = r.cands[i]
		}
		accs := []*importanceAcc{get(ops, c.Op)}
		if c.Category != "" {
			accs = append(accs, get(cats, c.Op+" / "+c.Category))
		}
		if c.Module != "" {
			accs = append(accs, get(mods, c.Module))
		}
		for _, a := range accs {
			a.add(c, parent)
		}
	}
	finish := func(m map[string]*importanceAcc) []importanceRow {
		out := []importanceRow{}
		for _, a := range m {
			row := a.row
			if row.Trained > 0 {
				row.Success = round(float64(row.Wins)/float64(row.Trained), 4)
			}
			if row.Rewarded > 0 {
				row.MeanReward = round(a.reward/float64(row.Rewarded), 4)
			}
			if row.Deltas > 0 {
				row.MeanDelta = round(a.delta/float64(row.Deltas), 4)
			}
			out = append(out, row)
		}
		slices.SortFunc(out, func(a, b importanceRow) int {
			return cmp.Or(cmp.Compare(b.Trained, a.Trained), cmp.Compare(b.Proposed, a.Proposed), cmp.Compare(a.Name, b.Name))
		})
		return out
	}
	v.Ops, v.Categories, v.Modules = finish(ops), finish(cats), finish(mods)
	if r.hasPost {
		for i := range v.Ops {
			if a, ok := r.post.Ops[v.Ops[i].Name]; ok {
				v.Ops[i].Posterior = round(a.Mean(), 4)
			}
		}
		for i := range v.Categories {
			for op, byCat := range r.post.Cats {
				for cat, a := range byCat {
					if op+" / "+cat == v.Categories[i].Name {
						v.Categories[i].Posterior = round(a.Mean(), 4)
					}
				}
			}
		}
	}
	return v
}

func (a *importanceAcc) add(c, parent store.Candidate) {
	a.row.Proposed++
	switch c.Status {
	case store.StatusRejected:
		a.row.Rejected++
	case store.StatusTrained, store.StatusFailed:
		a.row.Trained++
		if c.Feasible() {
			a.row.Feasible++
			if parent.Feasible() && c.Result.ValAcc > parent.Result.ValAcc {
				a.row.Wins++
			}
			if parent.Feasible() {
				a.row.Deltas++
				a.delta += c.Result.ValAcc - parent.Result.ValAcc
			}
		}
	}
	if c.Reward >= 0 {
		a.row.Rewarded++
		a.reward += float64(c.Reward)
	}
}
