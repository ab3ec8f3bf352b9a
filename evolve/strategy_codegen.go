package evolve

import (
	"context"
	"errors"
	"fmt"

	"github.com/arbor-nas/arbor/llm"
)

// StrategyCodegen is the LLM rewriting the parent's source.
const StrategyCodegen = "codegen"

// codegenStrategy is the "LLM as an agent" baseline: the Coder (the
// llm provider, with its repair loop and spend limits) rewrites the
// parent's whole source. There is no tree: the child must pass the dry run
// and the constraints on PyTorch's own counts before it trains. When the
// spend limits stop the calls, the search goes on offline: the planner's
// tree transformations with the offline resolver.
type codegenStrategy struct{}

func (codegenStrategy) Name() string { return StrategyCodegen }

func (codegenStrategy) Check(e *Engine) error {
	if e.Coder == nil {
		return errors.New("evolve.strategy: codegen needs an LLM endpoint (llm.base_url); none is configured")
	}
	if !e.Config.DryRun || e.DryRun == nil {
		return errors.New("evolve.strategy: codegen needs the dry-run gate (evolve.dry_run: true and a local evaluator): a rewritten source has no tree to check, so only the dry run can check it")
	}
	return nil
}

func (codegenStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	p := env.NewProposal(seq)
	parent := env.SelectParent(env.Rand(seq, StreamParent))
	if parent == nil {
		return nil, ErrNoParent
	}
	p.SetParent(parent)
	p.Candidate.Op = OpCodegen
	e := env.Engine()
	src, usage, err := e.Coder.Rewrite(ctx, codegenTask(e)+parent.Source, int(seq))
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
	c := p.Candidate
	c.Source = src
	c.CodeHash = codeHash(src)
	c.Hash = c.CodeHash
	if id := env.Duplicate("", c.CodeHash); id != "" {
		return p.Reject(GateDuplicate, "same code hash as %s", id), nil
	}
	p.gated = true // no tree: the dry run and the constraints on its counts are its gate
	return p, nil
}

// codegenTask is the task stated above the parent's source: the shapes
// and the constraints the rewrite must keep.
func codegenTask(e *Engine) string {
	l := e.Job.Limits
	s := fmt.Sprintf("# Task: input (C,H,W) = (%d,%d,%d), %d classes", e.Job.Input[0], e.Job.Input[1], e.Job.Input[2], e.Job.Classes)
	if l.MaxParams > 0 {
		s += fmt.Sprintf("; at most %d parameters", l.MaxParams)
	}
	if l.MaxFLOPs > 0 {
		s += fmt.Sprintf("; at most %d multiply-accumulates per image", l.MaxFLOPs)
	}
	return s + ".\n"
}
