package evolve

import (
	"context"

	"github.com/arbor-nas/arbor/llm"
)

// StrategyThompson is the full method: the H-Thompson planner and a resolver.
const StrategyThompson = "thompson"

var thompsonDef = &StrategyDef{
	Name: StrategyThompson,
	Doc:  "the method: the H-Thompson planner's operation and prompt category, the resolver's choice among the tools' options",
	Uses: []Dep{DepResolver},
	New: func(_ Config, d Deps) (Strategy, error) {
		return NewThompson(d.Resolver), nil
	},
}

// thompsonStrategy is the full method: a parent from the top of the
// archive, the hierarchical Thompson planner's operation and prompt
// category, and the resolver's choice among the tools' options.
type thompsonStrategy struct{ resolver llm.Resolver }

// NewThompson returns the thompson strategy with its resolver.
func NewThompson(resolver llm.Resolver) Strategy { return thompsonStrategy{resolver} }

func (thompsonStrategy) Name() string { return StrategyThompson }

func (s thompsonStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	return plannedChild(ctx, env, env.NewProposal(seq), seq, 0, nil, s.resolver)
}

// plannedChild draws a parent, the planner's operation and category
// (operations without a pre-gated option masked), and lets the engine's
// resolver (nil: the seeded offline one) pick among the offers, after rank (when set) has narrowed
// them. A parent with nothing left to offer passes the turn to the next
// best one. trial keys the random streams.
func plannedChild(ctx context.Context, env *Env, p *Proposal, trial int64, quota int, rank func(*Offers) (*Offers, error), resolver llm.Resolver) (*Proposal, error) {
	first := env.SelectParent(env.Rand(trial, StreamParent))
	if first == nil {
		return nil, ErrNoParent
	}
	for _, parent := range env.ParentsFrom(first) {
		_, cat, offers, ok, err := env.PlannedOffers(parent, trial, quota)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		p.SetParent(parent)
		p.Planned = true
		if rank != nil {
			if offers, err = rank(offers); err != nil {
				return nil, err
			}
		}
		return env.Resolve(ctx, p, offers, cat, resolver, trial)
	}
	p.SetParent(first)
	return p.Reject(GateProposal, "no operation has an option that passes the gate at any feasible parent: the space around the archive is exhausted"), nil
}
