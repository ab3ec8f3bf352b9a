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
type evolutionStrategy struct{ cfg EvolutionConfig }

var evolutionDef = &StrategyDef{
	Name:     StrategyEvolution,
	Doc:      "regularized evolution (REA): tournaments in an ageing population, one random mutation each",
	Validate: func(c Config) error { return c.Evolution.Validate() },
	New:      func(c Config, _ Deps) (Strategy, error) { return NewEvolution(c.Evolution), nil },
}

// NewEvolution returns regularized evolution with its section of the
// configuration (evolve.evolution).
func NewEvolution(cfg EvolutionConfig) Strategy { return evolutionStrategy{cfg} }

func (evolutionStrategy) Name() string { return StrategyEvolution }

func (s evolutionStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	if initialDraws(env) < s.cfg.Population {
		return env.Draw(ctx, env.NewProposal(seq), seq)
	}
	pop := env.Population(s.cfg.Population)
	if len(pop) == 0 {
		return nil, ErrNoParent
	}
	parent := Tournament(pop, s.cfg.Sample, env.Rand(seq, StreamParent))
	return env.Mutate(env.NewProposal(seq), parent, seq)
}

// Validate names the first bad key of evolve.evolution.
func (c EvolutionConfig) Validate() error {
	if c.Population < 1 {
		return fmt.Errorf("evolve.evolution.population: must be >= 1, got %d", c.Population)
	}
	if c.Sample < 1 || c.Sample > c.Population {
		return fmt.Errorf("evolve.evolution.sample: must be in [1, population=%d], got %d", c.Population, c.Sample)
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
