package evolve

import (
	"context"
	"errors"
)

// StrategyThompson is the full method: the H-Thompson planner and a resolver.
const StrategyThompson = "thompson"

// thompsonStrategy is the full method: a parent from the top of the
// archive, the hierarchical Thompson planner's operation and prompt
// category, and the resolver's choice among the tools' options.
type thompsonStrategy struct{}

func (thompsonStrategy) Name() string { return StrategyThompson }

func (thompsonStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	return plannedChild(ctx, env, env.NewProposal(seq), seq)
}

// plannedChild draws a parent and the planner's operation and category,
// then decides the child with the engine's resolver. trial keys the
// random streams.
func plannedChild(ctx context.Context, env *Env, p *Proposal, trial int64) (*Proposal, error) {
	parent := env.SelectParent(env.Rand(trial, StreamParent))
	if parent == nil {
		return nil, ErrNoParent
	}
	p.SetParent(parent)
	op, cat, ok := env.Planner().Choose(env.e.opAllowed)
	if !ok {
		return nil, errors.New("evolve.planner.ops: no operation is usable")
	}
	p.Planned = true
	return env.Decide(ctx, p, parent, op, cat, env.Engine().Resolver, trial)
}
