package evolve

import (
	"context"

	"github.com/arbor-nas/arbor/llm"
)

// StrategyRandom is uniform operation and option, with no LLM.
const StrategyRandom = "random"

// randomStrategy is the random-mutation baseline: a parent drawn as
// evolve.parents configures, a uniform operation, a uniform option, no
// planner and no LLM.
type randomStrategy struct{}

func (randomStrategy) Name() string { return StrategyRandom }

func (randomStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	parent := env.SelectParent(env.Rand(seq, StreamParent))
	if parent == nil {
		return nil, ErrNoParent
	}
	return randomMutation(ctx, env, env.NewProposal(seq), parent, seq)
}

// randomMutation is one uniform step from parent: a uniform usable
// operation, then a uniform option with uniform arguments.
func randomMutation(ctx context.Context, env *Env, p *Proposal, parent *Candidate, trial int64) (*Proposal, error) {
	p.SetParent(parent)
	ops := env.UsableOps()
	op := ops[env.Rand(trial, StreamOp).IntN(len(ops))]
	return env.Decide(ctx, p, parent, op, string(llm.Diversity), nil, trial)
}
