package evolve

import (
	"context"
	"errors"
)

// StrategyCodegen is the LLM rewriting the parent's source.
const StrategyCodegen = "codegen"

// codegenStrategy is the "LLM as an agent" baseline: the Coder rewrites
// the parent's whole source. There is no tree; validity is execution only
// (the dry-run gate and training decide).
type codegenStrategy struct{}

func (codegenStrategy) Name() string { return StrategyCodegen }

func (codegenStrategy) Check(e *Engine) error {
	if e.Coder == nil {
		return errors.New("evolve.strategy: codegen needs an LLM endpoint (llm.base_url); none is configured")
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
	src, usage, err := env.Engine().Coder.Rewrite(ctx, parent.Source, int(seq))
	p.SetUsage(usage)
	if err != nil {
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
	p.gated = true // no tree: the dry run is its gate
	return p, nil
}
