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
	// `thompson` (the method: the planner picks the operation and prompt
	// category, the resolver picks among pre-gated options), `random`
	// (random search: independent draws from the space), `random-walk` (one
	// uniform random edit of a uniformly drawn trained candidate),
	// `local-search` (first-improvement hill climbing with random
	// restarts), `evolution` (regularized evolution), `codegen` (the LLM
	// rewrites source) or `thompson+surrogate` (thompson, with a surrogate
	// keeping the top M of K pre-gated children for the resolver to pick
	// from).
	Strategy string `mapstructure:"strategy" yaml:"strategy"`
	// Seed of every random choice in the run (planner, parents, offline
	// resolver): the same seed and config give the same search.
	Seed uint64 `mapstructure:"seed" yaml:"seed"`
	// Starting architecture: a built-in seed (resnet20, resnet32, resnet56,
	// nb201-resnet, vgg-small, mobilenetv2-small) or a tree JSON file
	// (relative in a config file: to the file's folder, like every path).
	SeedArch string `mapstructure:"seed_arch" yaml:"seed_arch"`
	// Candidates in flight at once (proposed and training).
	Parallel int `mapstructure:"parallel" yaml:"parallel"`

	// The run stops at whichever limit is reached first; 0 means no limit (at
	// least one of trained, wall_time or target_acc must be set).
	Budget BudgetConfig `mapstructure:"budget" yaml:"budget"`
	// How a parent is drawn from the feasible archive.
	Parents ParentConfig `mapstructure:"parents" yaml:"parents"`
	// The hierarchical Beta-Bernoulli Thompson sampler that picks an
	// operation, then a prompt category.
	Planner PlannerConfig `mapstructure:"planner" yaml:"planner"`
	// Regularized evolution (strategy evolution) only.
	Evolution EvolutionConfig `mapstructure:"evolution" yaml:"evolution"`
	// Surrogate screening (strategy thompson+surrogate) only: up to K
	// pre-gated children are scored by a Gaussian process and the resolver
	// picks among the best M.
	Surrogate surrogate.Config `mapstructure:"surrogate" yaml:"surrogate"`
	// When the search counts as stalled (no new best) and how far the
	// diversity category's moves then reach: multi-edit moves, each still
	// an option the resolver picks among.
	Stall StallConfig `mapstructure:"stall" yaml:"stall"`
	// How the proxy's noise is measured (the seed trained again with other
	// training seeds) and how far a child must beat its parent, beyond
	// that noise, to count as a win.
	Noise NoiseConfig `mapstructure:"noise" yaml:"noise"`

	// Options offered per decision, each already applied and through the
	// cheap gate (shapes, space, constraints, dedup); when more are valid, a
	// seeded diverse sample is gated and offered. The one setting for how
	// many options a resolver sees.
	MaxOptions int `mapstructure:"max_options" yaml:"max_options"`
	// Instantiate each child and run a forward and backward pass in a child
	// process before it may train.
	DryRun bool `mapstructure:"dry_run" yaml:"dry_run"`
	// After Ctrl-C, how long in-flight jobs may finish before they are
	// cancelled (a second Ctrl-C cancels at once).
	Grace time.Duration `mapstructure:"grace" yaml:"grace"`
	// Stop when this many proposals in a row fail the gate: the space around
	// the archive is exhausted.
	MaxRejectStreak int `mapstructure:"max_reject_streak" yaml:"max_reject_streak"`
	// Quarantine a candidate when arbor itself died this many times in a
	// row while it was training (kill -9, OOM killer, a crash): it may be
	// what brings the process down. It is then failed with that reason and
	// never retried, and the search goes on; 0 = retry forever.
	QuarantineAfter int `mapstructure:"quarantine_after" yaml:"quarantine_after"`
	// Which trained weights the run keeps (local evaluator), in
	// RUN_DIR/checkpoints.
	Checkpoints CheckpointConfig `mapstructure:"checkpoints" yaml:"checkpoints"`
}

// CheckpointConfig is the retention rule of the run's checkpoints: the
// candidates that may still be a parent or a finalist are the best by
// validation accuracy (parents are drawn from the top-k, finalists are the
// top), so the best Keep keep their weights and the others' are deleted
// as soon as they drop out, the lowest first when MaxMB is exceeded.
type CheckpointConfig struct {
	// Candidates whose state_dict is kept, best validation accuracy
	// first; 0 = no checkpoints. Keep it at least parents.k.
	Keep int `mapstructure:"keep" yaml:"keep"`
	// Disk budget of all checkpoints, in MB; the lowest-ranked kept
	// weights go first when it is exceeded. 0 = no limit.
	MaxMB float64 `mapstructure:"max_mb" yaml:"max_mb"`
}

// BudgetConfig: the run stops at whichever limit comes first; 0 means no limit.
type BudgetConfig struct {
	// Candidates the evaluator finishes, seeds and failures included;
	// rejected and duplicate proposals cost nothing. `arbor evolve --budget`
	// overrides it.
	Trained int `mapstructure:"trained" yaml:"trained"`
	// Wall-clock limit of the search, e.g. 20m or 2h. It counts this
	// process's time: a resumed run gets it afresh.
	WallTime time.Duration `mapstructure:"wall_time" yaml:"wall_time"`
	// Stop when LLM spend reaches this many US dollars.
	LLMUSD float64 `mapstructure:"llm_usd" yaml:"llm_usd"`
	// Stop once a candidate reaches this validation accuracy, in percent.
	TargetAcc float64 `mapstructure:"target_acc" yaml:"target_acc"` // val acc in percent
}

// ParentConfig chooses how a parent is drawn from the feasible archive.
type ParentConfig struct {
	// `topk`: uniform among the best k; `tournament`: the best of
	// tournament_size drawn at random.
	Method string `mapstructure:"method" yaml:"method"` // topk | tournament
	// topk: the number of best candidates a parent is drawn from (the paper:
	// 5 for 100 trials, 25 for 500).
	K int `mapstructure:"k" yaml:"k"` // topk: uniform among the best K
	// tournament: candidates drawn per tournament.
	TournamentSize int `mapstructure:"tournament_size" yaml:"tournament_size"` // tournament: best of this many
}

// EvolutionConfig is regularized evolution's population and sample size.
type EvolutionConfig struct {
	// Regularized evolution: population size (oldest members age out).
	Population int `mapstructure:"population" yaml:"population"`
	// Regularized evolution: candidates sampled per tournament (at most
	// population).
	Sample int `mapstructure:"sample" yaml:"sample"`
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
		Stall:           DefaultStallConfig(),
		Noise:           DefaultNoiseConfig(),
		MaxOptions:      24,
		DryRun:          true,
		Grace:           30 * time.Second,
		MaxRejectStreak: 200,
		QuarantineAfter: 3,
		Checkpoints:     CheckpointConfig{Keep: 10, MaxMB: 2048},
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
	if d, err := LookupStrategy(strategy); err == nil && d.Validate != nil {
		if err := d.Validate(c); err != nil {
			return err
		}
	}
	if err := c.Noise.Validate(); err != nil {
		return err
	}
	if err := c.Stall.Validate(); err != nil {
		return err
	}
	if c.MaxOptions < 1 {
		return fmt.Errorf("evolve.max_options: must be >= 1, got %d", c.MaxOptions)
	}
	if c.Grace < 0 {
		return fmt.Errorf("evolve.grace: must be >= 0")
	}
	if c.QuarantineAfter < 0 {
		return fmt.Errorf("evolve.quarantine_after: must be >= 0 (0 = never), got %d", c.QuarantineAfter)
	}
	if c.MaxRejectStreak < 1 {
		return fmt.Errorf("evolve.max_reject_streak: must be >= 1, got %d", c.MaxRejectStreak)
	}
	if c.Checkpoints.Keep < 0 {
		return fmt.Errorf("evolve.checkpoints.keep: must be >= 0 (0 = none), got %d", c.Checkpoints.Keep)
	}
	if c.Checkpoints.MaxMB < 0 {
		return fmt.Errorf("evolve.checkpoints.max_mb: must be >= 0 (0 = no limit), got %g", c.Checkpoints.MaxMB)
	}
	return nil
}
