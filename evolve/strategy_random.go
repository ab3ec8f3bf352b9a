package evolve

import (
	"context"
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

var randomDef = &StrategyDef{
	Name: StrategyRandom,
	Doc:  "random search: independent uniform draws from the space",
	New:  func(Config, Deps) (Strategy, error) { return randomStrategy{}, nil },
}

func (randomStrategy) Name() string { return StrategyRandom }

func (randomStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	return env.Draw(ctx, env.NewProposal(seq), seq)
}
