package evolve

import (
	"fmt"
	"time"

	"github.com/arbor-nas/arbor/evolve/surrogate"
)

// Parent selection methods.
const (
	ParentsTopK       = "topk"
	ParentsTournament = "tournament"
)

// Config is the `evolve:` section of the configuration.
type Config struct {
	Strategy string `mapstructure:"strategy" yaml:"strategy"`
	// Seed drives every random choice of the run.
	Seed uint64 `mapstructure:"seed" yaml:"seed"`
	// SeedArch names the starting architecture: a built-in seed name
	// (resnet20, ...) or a tree JSON file.
	SeedArch string `mapstructure:"seed_arch" yaml:"seed_arch"`
	// Parallel is how many candidates may be in flight at once.
	Parallel int `mapstructure:"parallel" yaml:"parallel"`

	Budget    BudgetConfig     `mapstructure:"budget" yaml:"budget"`
	Parents   ParentConfig     `mapstructure:"parents" yaml:"parents"`
	Planner   PlannerConfig    `mapstructure:"planner" yaml:"planner"`
	Evolution EvolutionConfig  `mapstructure:"evolution" yaml:"evolution"`
	Surrogate surrogate.Config `mapstructure:"surrogate" yaml:"surrogate"`

	// MaxOptions bounds the options offered to the resolver per decision;
	// when more are valid, a seeded diverse sample is offered.
	MaxOptions int `mapstructure:"max_options" yaml:"max_options"`
	// DryRun runs the dry-run gate (instantiate, forward/backward) before training.
	DryRun bool `mapstructure:"dry_run" yaml:"dry_run"`
	// Grace is how long in-flight jobs may finish after Ctrl-C before they are cancelled.
	Grace time.Duration `mapstructure:"grace" yaml:"grace"`
	// MaxRejectStreak stops the run when this many proposals in a row fail
	// the gate: the space around the archive is exhausted or broken.
	MaxRejectStreak int `mapstructure:"max_reject_streak" yaml:"max_reject_streak"`
}

// BudgetConfig: the run stops at whichever limit comes first; 0 means no limit.
type BudgetConfig struct {
	// Trained counts candidates the evaluator finished, seeds included.
	Trained int `mapstructure:"trained" yaml:"trained"`
	// WallTime counts this process's time: a resumed run gets it afresh.
	WallTime  time.Duration `mapstructure:"wall_time" yaml:"wall_time"`
	LLMUSD    float64       `mapstructure:"llm_usd" yaml:"llm_usd"`
	TargetAcc float64       `mapstructure:"target_acc" yaml:"target_acc"` // val acc in percent
}

// ParentConfig chooses how a parent is drawn from the feasible archive.
type ParentConfig struct {
	Method         string `mapstructure:"method" yaml:"method"`                   // topk | tournament
	K              int    `mapstructure:"k" yaml:"k"`                             // topk: uniform among the best K
	TournamentSize int    `mapstructure:"tournament_size" yaml:"tournament_size"` // tournament: best of this many
}

// EvolutionConfig is regularized evolution's population and sample size.
type EvolutionConfig struct {
	Population int `mapstructure:"population" yaml:"population"`
	Sample     int `mapstructure:"sample" yaml:"sample"`
}

// DefaultConfig is the paper's protocol scaled to a CPU machine.
func DefaultConfig() Config {
	return Config{
		Strategy:        StrategyThompson,
		Seed:            1,
		SeedArch:        "resnet20",
		Parallel:        1,
		Budget:          BudgetConfig{Trained: 30},
		Parents:         ParentConfig{Method: ParentsTopK, K: 5, TournamentSize: 5},
		Planner:         DefaultPlannerConfig(),
		Evolution:       EvolutionConfig{Population: 20, Sample: 5},
		Surrogate:       surrogate.DefaultConfig(),
		MaxOptions:      24,
		DryRun:          true,
		Grace:           30 * time.Second,
		MaxRejectStreak: 200,
	}
}

// Validate names the first bad key. The strategy must be a built-in one.
func (c Config) Validate() error {
	if _, err := LookupStrategy(c.Strategy); err != nil {
		return err
	}
	return c.validate(c.Strategy)
}

// validate checks everything but whether the strategy is built in (a
// plug-in Engine.Strategy may have any name).
func (c Config) validate(strategy string) error {
	if strategy == "" {
		return fmt.Errorf("evolve.strategy: must name a strategy, one of %v", StrategyNames())
	}
	if c.SeedArch == "" {
		return fmt.Errorf("evolve.seed_arch: must name a built-in seed or a tree JSON file")
	}
	if c.Parallel < 1 {
		return fmt.Errorf("evolve.parallel: must be >= 1, got %d", c.Parallel)
	}
	b := c.Budget
	if b.Trained < 0 || b.WallTime < 0 || b.LLMUSD < 0 || b.TargetAcc < 0 || b.TargetAcc > 100 {
		return fmt.Errorf("evolve.budget: trained, wall_time, llm_usd must be >= 0 and target_acc in [0,100]")
	}
	if b.Trained == 0 && b.WallTime == 0 && b.TargetAcc == 0 {
		return fmt.Errorf("evolve.budget: set at least one of trained, wall_time or target_acc, or the search never stops")
	}
	switch c.Parents.Method {
	case ParentsTopK:
		if c.Parents.K < 1 {
			return fmt.Errorf("evolve.parents.k: must be >= 1, got %d", c.Parents.K)
		}
	case ParentsTournament:
		if c.Parents.TournamentSize < 1 {
			return fmt.Errorf("evolve.parents.tournament_size: must be >= 1, got %d", c.Parents.TournamentSize)
		}
	default:
		return fmt.Errorf("evolve.parents.method: %q is not one of %s, %s", c.Parents.Method, ParentsTopK, ParentsTournament)
	}
	if err := c.Planner.Validate(); err != nil {
		return err
	}
	if s, err := LookupStrategy(strategy); err == nil {
		if v, ok := s.(ConfigValidator); ok {
			if err := v.ValidateConfig(c); err != nil {
				return err
			}
		}
	}
	if c.MaxOptions < 1 {
		return fmt.Errorf("evolve.max_options: must be >= 1, got %d", c.MaxOptions)
	}
	if c.Grace < 0 {
		return fmt.Errorf("evolve.grace: must be >= 0")
	}
	if c.MaxRejectStreak < 1 {
		return fmt.Errorf("evolve.max_reject_streak: must be >= 1, got %d", c.MaxRejectStreak)
	}
	return nil
}
