package evolve

import (
	"context"
	"errors"
	"fmt"

	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/train"
)

// StrategyCodegen is the LLM rewriting the parent's source.
const StrategyCodegen = "codegen"

// codegenStrategy is the "LLM as an agent" baseline: the Coder (the
// llm provider, with its repair loop and spend limits) rewrites the
// parent's whole source. There is no tree: the child must pass the dry run
// and the constraints on PyTorch's own counts before it trains. When the
// spend limits stop the calls, the search goes on offline: the planner's
// tree transformations with the offline resolver.
type codegenStrategy struct{ coder Coder }

var codegenDef = &StrategyDef{
	Name:     StrategyCodegen,
	Doc:      "the LLM rewrites the parent's whole source (LLM as an agent)",
	Requires: []Dep{DepCoder, DepDryRun},
	New:      func(_ Config, d Deps) (Strategy, error) { return NewCodegen(d.Coder), nil },
}

// NewCodegen returns the codegen baseline with the coder that rewrites
// sources.
func NewCodegen(coder Coder) Strategy { return codegenStrategy{coder} }

func (codegenStrategy) Name() string { return StrategyCodegen }

func (s codegenStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	p := env.NewProposal(seq)
	parent := env.SelectParent(env.Rand(seq, StreamParent))
	if parent == nil {
		return nil, ErrNoParent
	}
	p.SetParent(parent)
	p.Candidate.Op = OpCodegen
	src, usage, err := s.coder.Rewrite(ctx, codegenTask(env.Job())+parent.Source, int(seq))
	p.SetUsage(usage)
	switch {
	case errors.Is(err, llm.ErrBudget):
		// No more calls: propose offline, by tree transformation.
		return plannedChild(ctx, env, env.NewProposal(seq), seq, 0, nil, nil)
	case err != nil:
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return p.Reject(GateProposal, "%v", err), nil
	}
	p.Candidate.Source = src
	env.Gate(p) // no tree: dedup by code hash here, then the dry run and the constraints on its counts
	return p, nil
}

// codegenTask is the task stated above the parent's source: the shapes
// and the constraints the rewrite must keep.
func codegenTask(job train.Job) string {
	l := job.Limits
	s := fmt.Sprintf("# Task: input (C,H,W) = (%d,%d,%d), %d classes", job.Input[0], job.Input[1], job.Input[2], job.Classes)
	if l.MaxParams > 0 {
		s += fmt.Sprintf("; at most %d parameters", l.MaxParams)
	}
	if l.MaxFLOPs > 0 {
		s += fmt.Sprintf("; at most %d multiply-accumulates per image", l.MaxFLOPs)
	}
	return s + ".\n"
}
