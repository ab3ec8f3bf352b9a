package store

import (
	"cmp"
	"encoding/json"
	"time"

	"github.com/arbor-nas/arbor/train"
)

// Status is where a candidate stands in the run.
type Status string

const (
	// StatusRejected: the gate (or the proposal itself) failed; Gate and
	// Reason say where and why. It cost no training budget.
	StatusRejected Status = "rejected"
	// StatusPending: it passed the gate and is queued or training. A run
	// that died leaves its in-flight candidates pending; resume re-queues them.
	StatusPending Status = "pending"
	// StatusTrained: the evaluator returned status ok.
	StatusTrained Status = "trained"
	// StatusFailed: the evaluator returned a failure class (build-error,
	// oom, timeout, crashed, ...) from the job's own evidence. A job lost
	// because arbor died is never failed: see Candidate.Interrupted.
	StatusFailed Status = "failed"
)

// Gate stages, cheapest first. A rejected candidate records the stage that
// stopped it in Candidate.Gate.
const (
	GatePass        = "pass"
	GateProposal    = "proposal"    // no option, resolver error, transformation error
	GateShape       = "shape"       // shape inference failed
	GateSpace       = "space"       // outside the evaluator's space (Engine.Arch failed)
	GateConstraints = "constraints" // max_params / max_flops
	GateDuplicate   = "duplicate"   // structural or code hash seen before
	GateDryRun      = "dry-run"     // instantiate + forward/backward failed
)

// Candidate is one row of the run store: everything known about one
// proposed architecture, from its lineage to its measured result.
type Candidate struct {
	Seq      int64  `json:"seq"` // proposal order, 1-based
	ID       string `json:"id"`
	ParentID string `json:"parent_id,omitempty"`
	Strategy string `json:"strategy"`

	// The decision that produced it.
	Op string `json:"op"`
	// Transform is the tree transformation actually applied (change_arg,
	// insert, wrap_residual, ...); Op is the planner's coarse operation.
	Transform string         `json:"transform,omitempty"`
	Category  string         `json:"category,omitempty"`
	Path      string         `json:"path,omitempty"`
	Module    string         `json:"module,omitempty"`
	Args      map[string]any `json:"args,omitempty"`
	Rationale string         `json:"rationale,omitempty"`
	Fallback  bool           `json:"fallback,omitempty"` // the resolver fell back to a random valid option

	Tree     json.RawMessage `json:"tree,omitempty"`
	Source   string          `json:"source,omitempty"`
	Hash     string          `json:"hash,omitempty"`
	CodeHash string          `json:"code_hash,omitempty"`
	Params   int64           `json:"params"`
	FLOPs    int64           `json:"flops"`

	Gate   string `json:"gate"`
	Reason string `json:"reason,omitempty"`
	Status Status `json:"status"`

	// Result is the evaluator's answer; zero until trained.
	Result train.Result `json:"result"`
	// Reward is the planner's reward for it: 1, 0, or -1 while unknown.
	Reward   int `json:"reward"`
	Attempts int `json:"attempts"`
	// Interrupted counts the times its training was cut off because arbor
	// itself stopped (kill -9, a crash, a drain): never the candidate's
	// fault, so it is re-queued however often that happens. Only the job's
	// own evidence (its exit status, a signal the pool sent to its process
	// group, an OOM) makes it failed.
	Interrupted int     `json:"interrupted,omitempty"`
	EngineMS    float64 `json:"engine_ms"` // time spent proposing and gating it

	LLMTokens int     `json:"llm_tokens,omitempty"`
	LLMCost   float64 `json:"llm_cost,omitempty"`

	ProposedAt time.Time `json:"proposed_at"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Feasible reports whether the candidate trained successfully and can be a parent.
func (c *Candidate) Feasible() bool {
	return c.Status == StatusTrained && c.Result.Status == train.StatusOK
}

// Rank orders candidates best first: the higher validation accuracy, and
// on a tie the earlier proposal (the lower Seq). It is the one tie rule of
// the run's best: the engine's archive, Summary.Best and the report's
// top-k all follow it.
func Rank(a, b *Candidate) int {
	switch {
	case a.Result.ValAcc > b.Result.ValAcc:
		return -1
	case a.Result.ValAcc < b.Result.ValAcc:
		return 1
	}
	return cmp.Compare(a.Seq, b.Seq)
}
