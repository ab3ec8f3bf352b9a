package evolve

import (
	"context"
	"fmt"
)

// StrategyEvolution is regularized evolution with random one-step mutations.
const StrategyEvolution = "evolution"

// evolutionStrategy is regularized evolution (Real et al., REA): the
// population starts as evolve.evolution.population draws from the space
// (the seeds count; Env.SampleSpace draws the rest); then each parent is
// the winner of a tournament among evolve.evolution.sample members drawn
// from the most recent population, and the child is one random mutation
// of it. Ageing is implicit: the population is the most recent trained
// candidates, so the oldest die first.
type evolutionStrategy struct{}

func (evolutionStrategy) Name() string { return StrategyEvolution }

func (evolutionStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	cfg := env.Config().Evolution
	if initialDraws(env) < cfg.Population {
		return env.sampleProposal(ctx, env.NewProposal(seq), seq)
	}
	pop := env.Population(cfg.Population)
	if len(pop) == 0 {
		return nil, ErrNoParent
	}
	parent := tournament(pop, cfg.Sample, env.Rand(seq, StreamParent))
	return env.Mutate(env.NewProposal(seq), parent, seq)
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

// initialDraws counts the seeds and draws from the space that are
// trained or on their way (rejected and failed ones do not count).
func initialDraws(env *Env) int {
	n := 0
	for _, c := range env.Candidates() {
		if (c.Op == OpSeed || c.Op == OpSample) && c.Status != StatusRejected && c.Status != StatusFailed {
			n++
		}
	}
	return n
}
