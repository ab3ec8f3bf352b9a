package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// Summary is the one-object view of a run that `arbor status --json` prints.
type Summary struct {
	// Trained counts candidates the evaluator finished (ok or a failure
	// class): what the training budget is spent on.
	Trained    int `json:"trained"`
	Candidates int `json:"candidates"`
	// ByStatus counts candidates by Status; RejectedByReason counts the
	// rejected ones by the gate stage that stopped them.
	ByStatus         map[string]int `json:"by_status"`
	RejectedByReason map[string]int `json:"rejected_by_reason"`
	// TrainStatus counts finished jobs by the evaluator's status class.
	TrainStatus map[string]int `json:"train_status"`
	Best        *Best          `json:"best"`
	LLM         LLMSpend       `json:"llm"`
	// PreGate counts the children the pre-gate removed, by stage, before
	// any resolver saw them: they cost no LLM call and are not stored.
	PreGate map[string]int `json:"pregate_filtered"`
	// LLMPerTrained is LLM use per trained candidate.
	LLMPerTrained LLMPerTrained `json:"llm_per_trained"`
	// Codegen counts the codegen strategy's proposals and how many were
	// invalid (failed execution at the gate or in training).
	Codegen *CodegenRate `json:"codegen,omitempty"`
}

// LLMPerTrained divides the run's LLM use by the trained candidates, in the
// vocabulary of LLMSpend.
type LLMPerTrained struct {
	// Decisions: resolved decisions (one call record each, however many
	// requests it took).
	Decisions float64 `json:"decisions"`
	// Requests: HTTP requests, retries and repairs included.
	Requests float64 `json:"requests"`
	// Proposals: candidates proposed (stored), seeds excluded.
	Proposals float64 `json:"proposals"`
}

// Best is the best feasible candidate by validation accuracy.
type Best struct {
	ID     string  `json:"id"`
	ValAcc float64 `json:"val_acc"`
	Params int64   `json:"params"`
	FLOPs  int64   `json:"flops"`
}

// CodegenRate is the codegen baseline's validity.
type CodegenRate struct {
	Proposed int     `json:"proposed"`
	Invalid  int     `json:"invalid"`
	Rate     float64 `json:"invalid_rate"`
}

// Summary computes the run's summary with aggregate queries, so it stays
// cheap on a large run and can be called while the run writes.
func (s *Store) Summary(ctx context.Context) (Summary, error) {
	sum := Summary{ByStatus: map[string]int{}, RejectedByReason: map[string]int{}, TrainStatus: map[string]int{}}
	fail := func(what string, err error) (Summary, error) {
		return Summary{}, fmt.Errorf("run store %s: summary %s: %w", s.path, what, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT status, gate, train_status, COUNT(*) FROM candidates GROUP BY status, gate, train_status`)
	if err != nil {
		return fail("counts", err)
	}
	for rows.Next() {
		var st, gate, ts string
		var n int
		if err := rows.Scan(&st, &gate, &ts, &n); err != nil {
			rows.Close()
			return fail("counts", err)
		}
		sum.Candidates += n
		sum.ByStatus[st] += n
		switch Status(st) {
		case StatusRejected:
			sum.RejectedByReason[gate] += n
		case StatusTrained, StatusFailed:
			sum.Trained += n
			if ts != "" {
				sum.TrainStatus[ts] += n
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail("counts", err)
	}
	var b Best
	// Rank's order: the higher accuracy, ties to the lower seq.
	err = s.db.QueryRowContext(ctx, `SELECT id, val_acc, params, flops FROM candidates WHERE status=? AND train_status='ok'
		ORDER BY val_acc DESC, seq ASC LIMIT 1`, string(StatusTrained)).Scan(&b.ID, &b.ValAcc, &b.Params, &b.FLOPs)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fail("best", err)
	default:
		sum.Best = &b
	}
	if sum.LLM, err = s.Spend(ctx); err != nil {
		return Summary{}, err
	}
	sum.PreGate = map[string]int{}
	if pre, ok, err := s.Meta(ctx, MetaPreGate); err != nil {
		return Summary{}, err
	} else if ok {
		if err := json.Unmarshal([]byte(pre), &sum.PreGate); err != nil {
			return fail("pre-gate counts", err)
		}
	}
	var proposals int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM candidates WHERE op<>?`, OpSeed).Scan(&proposals); err != nil {
		return fail("proposals", err)
	}
	if sum.Trained > 0 {
		n := float64(sum.Trained)
		sum.LLMPerTrained = LLMPerTrained{Decisions: float64(sum.LLM.Decisions) / n, Requests: float64(sum.LLM.Requests) / n, Proposals: float64(proposals) / n}
	}
	var cg CodegenRate
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN (status=? AND gate IN (?,?,?)) OR status=? THEN 1 ELSE 0 END),0)
		FROM candidates WHERE op=?`, string(StatusRejected), GateProposal, GateShape, GateDryRun, string(StatusFailed), OpCodegen).
		Scan(&cg.Proposed, &cg.Invalid)
	if err != nil {
		return fail("codegen", err)
	}
	if cg.Proposed > 0 {
		cg.Rate = float64(cg.Invalid) / float64(cg.Proposed)
		sum.Codegen = &cg
	}
	return sum, nil
}

// TrainedCount is the number of candidates that consumed training budget.
func (s *Store) TrainedCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM candidates WHERE status IN (?,?)`, string(StatusTrained), string(StatusFailed)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("run store %s: trained count: %w", s.path, err)
	}
	return n, nil
}

// CandidateID is the stable ID of the seq-th proposal.
func CandidateID(seq int64) string { return fmt.Sprintf("c%05d", seq) }
