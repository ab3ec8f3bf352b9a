package dashboard

import (
	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/store"
)

// rowColumns name the fields of each candidates-table row, in order.
var rowColumns = []string{"seq", "id", "parent", "op", "category", "status", "outcome", "val_acc", "test_acc", "params",
	"flops", "latency_ms", "reward", "wall_s", "finished_s", "module", "path", "llm_tokens", "llm_cost"}

// rowsView is the candidates table: one array per candidate, columns as
// named, so 2,000 candidates stay a small download.
type rowsView struct {
	Version int64    `json:"version"`
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
}

// outcome is the candidate's state in one word, as `arbor lineage` says it.
func outcome(c store.Candidate) string { return report.StatusWord(c) }

func (r *runSource) rowsView() rowsView {
	v := rowsView{Version: r.version, Columns: rowColumns, Rows: make([][]any, 0, len(r.cands))}
	for _, c := range r.cands {
		fin := -1.0
		if !c.FinishedAt.IsZero() && !r.firstEvent.IsZero() {
			fin = round(c.FinishedAt.Sub(r.firstEvent).Seconds(), 3)
		}
		v.Rows = append(v.Rows, []any{c.Seq, c.ID, c.ParentID, c.Op, c.Category, string(c.Status), outcome(c),
			round(c.Result.ValAcc, 4), round(c.Result.TestAcc, 4), c.Params, c.FLOPs, round(c.Result.LatencyMS, 4), c.Reward,
			round(c.Result.WallS, 3), fin, c.Module, c.Path, c.LLMTokens, c.LLMCost})
	}
	return v
}

func round(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	if x < 0 {
		return -float64(int64(-x*p+0.5)) / p
	}
	return float64(int64(x*p+0.5)) / p
}
