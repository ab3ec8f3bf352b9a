package evolve

import (
	"context"
	"fmt"
)

// StrategyEvolution is regularized evolution with random one-step mutations.
const StrategyEvolution = "evolution"

// evolutionStrategy is regularized evolution (Real et al.): the parent
// is the winner of a tournament among a sample of the most recent
// population; the child is one random mutation of it.
type evolutionStrategy struct{}

func (evolutionStrategy) Name() string { return StrategyEvolution }

func (evolutionStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	cfg := env.Config().Evolution
	pop := env.Population(cfg.Population)
	if len(pop) == 0 {
		return nil, ErrNoParent
	}
	parent := tournament(pop, cfg.Sample, env.Rand(seq, StreamParent))
	return randomMutation(ctx, env, env.NewProposal(seq), parent, seq)
}

func (evolutionStrategy) ValidateConfig(c Config) error {
	if c.Evolution.Population < 1 {
		return fmt.Errorf("evolve.evolution.population: must be >= 1, got %d", c.Evolution.Population)
	}
	if c.Evolution.Sample < 1 || c.Evolution.Sample > c.Evolution.Population {
		return fmt.Errorf("evolve.evolution.sample: must be in [1, population=%d], got %d", c.Evolution.Population, c.Evolution.Sample)
	}
	return nil
}
