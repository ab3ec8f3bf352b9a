package evolve

import "context"

// StrategyRandomWalk is one uniform random edit of a uniformly drawn trained candidate.
const StrategyRandomWalk = "random-walk"

// randomWalkStrategy is the random-mutation baseline: a parent drawn
// uniformly from every trained candidate, a uniform operation, a uniform
// option with uniform arguments, no planner and no LLM. It walks the
// space from what it has found; unlike random search it never jumps.
type randomWalkStrategy struct{}

var randomWalkDef = &StrategyDef{
	Name: StrategyRandomWalk,
	Doc:  "one uniform random edit of a uniformly drawn trained candidate",
	New:  func(Config, Deps) (Strategy, error) { return randomWalkStrategy{}, nil },
}

func (randomWalkStrategy) Name() string { return StrategyRandomWalk }

func (randomWalkStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	feasible := env.Feasible()
	if len(feasible) == 0 {
		return nil, ErrNoParent
	}
	parent := feasible[env.Rand(seq, StreamParent).IntN(len(feasible))]
	return env.Mutate(env.NewProposal(seq), parent, seq)
}
