// What the engine needs from outside (a gate, a screener, a coder), as
// the smallest interfaces it calls, so tests and plug-ins can supply them.

package evolve

import (
	"context"

	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/tree"
)

// DryRunner is the optional pre-training gate (train.Gate): it builds a
// candidate, runs a forward and backward pass on a dummy batch and counts
// its parameters and FLOPs. It measures; the engine judges the
// constraints on its counts. A result that is not OK rejects the
// candidate; an error means the gate itself is broken.
type DryRunner interface {
	Check(ctx context.Context, source string, input [3]int, classes int) (train.GateResult, error)
}

var _ DryRunner = (*train.Gate)(nil)

// Attacher is implemented by evaluators that can re-attach to a job a
// previous process submitted (the Slurm backend), by its stored handle.
// A resumed run uses it for candidates that were in flight, so a job that
// is still running on the cluster is not trained a second time.
type Attacher interface {
	Attach(ctx context.Context, job train.Job, handle string, progress func(train.Progress)) (train.Result, error)
}

// Screener picks which of several gated children to train
// (thompson+surrogate). Observe is called once per feasible trained
// candidate, in finishing order (on resume too, replaying the store);
// Pick gets the K children that passed the cheap gate and returns the
// index of the one to train. NewSurrogateScreener adapts evolve/surrogate.
type Screener interface {
	Observe(o Observation) error
	Pick(ctx context.Context, children []Observation) (int, error)
}

// Ranker is implemented by Screeners that score children (higher is
// better); nil scores mean the model cannot rank yet.
type Ranker interface {
	Scores(ctx context.Context, children []Observation) ([]float64, error)
}

// Observation is what a Screener sees of a candidate or a child.
type Observation struct {
	ID     string
	Tree   *tree.Tree // nil for codegen candidates
	Arch   string     // backend key (the tabular arch string) when known
	Op     string
	ValAcc float64 // 0 for untrained children
	Params int64
	FLOPs  int64
}

// Coder rewrites a parent's PyTorch source for the codegen baseline. It
// returns a complete source that defines class Candidate(nn.Module).
type Coder interface {
	Rewrite(ctx context.Context, parentSource string, trial int) (source string, usage llm.Usage, err error)
}
