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

// randomMutation is one uniform step from parent: a uniform operation
// among those with a pre-gated option, then a uniform option and value.
// A parent with nothing left to offer passes the turn to the next best.
func randomMutation(ctx context.Context, env *Env, p *Proposal, parent *Candidate, trial int64) (*Proposal, error) {
	for _, par := range env.ParentsFrom(parent) {
		_, offers, ok, err := env.UniformOffers(par, trial, 0)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		p.SetParent(par)
		return env.Resolve(ctx, p, offers, string(llm.Diversity), nil, trial)
	}
	p.SetParent(parent)
	return p.Reject(GateProposal, "no operation has an option that passes the gate at any feasible parent: the space around the archive is exhausted"), nil
}
