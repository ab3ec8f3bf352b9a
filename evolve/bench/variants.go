package bench

import (
	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/llm"
)

// variant is a name `arbor bench nasbench201 --strategies` accepts: an
// engine strategy plus what it changes in the run's configuration, so
// that the method's parts can be switched off one at a time in the same
// harness (the ablation).
type variant struct {
	name     string
	strategy string // evolve.strategy
	doc      string
	// tweak edits the run's configuration (nil: as configured).
	tweak func(*evolve.Config)
	// offline edits the offline resolver's configuration of a planner
	// strategy (nil: the default, which follows the category's meaning).
	offline func(*llm.OfflineConfig)
}

// variants lists every bench strategy, baselines first, then the
// ablation of the method from the planner off to the surrogate on.
func variants() []variant {
	return []variant{
		{name: evolve.StrategyRandom, strategy: evolve.StrategyRandom, doc: "random search: uniform cells"},
		{name: evolve.StrategyRandomWalk, strategy: evolve.StrategyRandomWalk, doc: "one uniform edge change of a uniformly drawn trained cell"},
		{name: evolve.StrategyEvolution, strategy: evolve.StrategyEvolution, doc: "regularized evolution (REA), --population and --sample"},
		{name: evolve.StrategyLocalSearch, strategy: evolve.StrategyLocalSearch, doc: "first-improvement hill climbing with random restarts"},
		{name: PlannerOff, strategy: evolve.StrategyThompson, doc: "ablation: planner off (uniform operation and category), category semantics in the resolver",
			tweak: func(c *evolve.Config) { c.Planner.Epsilon = 1 }},
		{name: UniformResolver, strategy: evolve.StrategyThompson, doc: "ablation: planner on, the offline resolver's uniform draw whatever the category",
			offline: func(c *llm.OfflineConfig) { c.Policy = llm.PolicyUniform }},
		{name: evolve.StrategyThompson, strategy: evolve.StrategyThompson, doc: "the method: H-Thompson planner, offline resolver with category semantics"},
		{name: evolve.StrategySurrogate, strategy: evolve.StrategySurrogate, doc: "thompson with K children screened by the GP surrogate"},
	}
}

// PlannerOff is the ablation with the planner's draws made uniform
// (epsilon 1: every operation and category draw is uniform).
const PlannerOff = "planner-off"

// UniformResolver is the ablation with the category semantics off: the
// offline resolver draws uniformly among the options whatever the
// planner's category.
const UniformResolver = "uniform-resolver"

// Names lists every strategy name the benchmark accepts.
func Names() []string {
	var out []string
	for _, v := range variants() {
		out = append(out, v.name)
	}
	return out
}

func lookupVariant(name string) (variant, bool) {
	for _, v := range variants() {
		if v.name == name {
			return v, true
		}
	}
	return variant{}, false
}
