package evolve

import (
	"context"

	"github.com/arbor-nas/arbor/llm"
)

// StrategyRandom is random search: uniform draws from the space.
const StrategyRandom = "random"

// randomStrategy is random search: every candidate is an independent
// draw from the space around the seed (Env.SampleSpace: a uniform cell on
// NAS-Bench-201, a random valid edit chain of random length on an
// open-ended tree). Nothing it learns steers the next draw; a draw that
// repeats a known architecture is rejected by the gate for free, so a run
// samples without replacement.
type randomStrategy struct{}

func (randomStrategy) Name() string { return StrategyRandom }

func (randomStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	return env.sampleProposal(ctx, env.NewProposal(seq), seq)
}

// randomMutation is one uniform step from parent: a uniform usable
// operation, then a uniform option with uniform arguments.
func randomMutation(ctx context.Context, env *Env, p *Proposal, parent *Candidate, trial int64) (*Proposal, error) {
	p.SetParent(parent)
	ops := env.UsableOps()
	op := ops[env.Rand(trial, StreamOp).IntN(len(ops))]
	return env.Decide(ctx, p, parent, op, string(llm.Diversity), nil, trial)
}
