package evolve

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/arbor-nas/arbor/evolve/store"
	"gonum.org/v1/gonum/stat/distuv"
)

// The planner's operations (the paper's six) and prompt categories.
const (
	OpChangeArg = store.OpChangeArg
	OpSwap      = store.OpSwap
	OpInsert    = store.OpInsert
	OpDelete    = store.OpDelete
	OpCompose   = store.OpCompose
	OpRepeat    = store.OpRepeat
	OpCodegen   = store.OpCodegen
	OpSeed      = store.OpSeed

	CatExploit   = "exploit"   // rely on the LLM's judgement
	CatReverse   = "reverse"   // go against recent directions
	CatDiversity = "diversity" // minimal LLM use, emphasis on diversity
)

// AllOps and AllCategories are the defaults, in a fixed order (the order
// matters for determinism: arms are visited in it).
var (
	AllOps        = []string{OpChangeArg, OpSwap, OpInsert, OpDelete, OpCompose, OpRepeat}
	AllCategories = []string{CatExploit, CatReverse, CatDiversity}
)

// Reward definitions.
const (
	RewardBeatsParent = "beats-parent" // 1 when the child's val acc beats its parent's (the paper)
	RewardBeatsBest   = "beats-best"   // 1 when it beats the best so far
	RewardFeasible    = "feasible"     // 1 when it trains successfully
)

// PlannerConfig configures the hierarchical Thompson sampler.
type PlannerConfig struct {
	// Probability of a uniform choice instead of Thompson sampling at each
	// level (the paper: 0.5), so the posterior does not lock in.
	Epsilon float64 `mapstructure:"epsilon" yaml:"epsilon"`
	// Alpha of every arm's Beta prior.
	PriorAlpha float64 `mapstructure:"prior_alpha" yaml:"prior_alpha"`
	// Beta of every arm's Beta prior.
	PriorBeta float64 `mapstructure:"prior_beta" yaml:"prior_beta"`
	// When a child counts as a success: `beats-parent` (the paper),
	// `beats-best` or `feasible` (trained without failure).
	Reward string `mapstructure:"reward" yaml:"reward"`
	// Operations the planner may choose: change-arg, swap, insert, delete,
	// compose, repeat.
	Ops []string `mapstructure:"ops" yaml:"ops"`
	// Prompt categories: exploit (rely on the LLM), reverse (go against
	// recent directions), diversity (minimal LLM use).
	Categories []string `mapstructure:"categories" yaml:"categories"`
}

// DefaultPlannerConfig is the paper's setting.
func DefaultPlannerConfig() PlannerConfig {
	return PlannerConfig{
		Epsilon: 0.5, PriorAlpha: 1, PriorBeta: 1, Reward: RewardBeatsParent,
		Ops: slices.Clone(AllOps), Categories: slices.Clone(AllCategories),
	}
}

// Validate names the first bad key.
func (c PlannerConfig) Validate() error {
	if c.Epsilon < 0 || c.Epsilon > 1 {
		return fmt.Errorf("evolve.planner.epsilon: must be in [0,1], got %g", c.Epsilon)
	}
	if c.PriorAlpha <= 0 || c.PriorBeta <= 0 {
		return fmt.Errorf("evolve.planner.prior_alpha/prior_beta: must be > 0, got %g/%g", c.PriorAlpha, c.PriorBeta)
	}
	switch c.Reward {
	case RewardBeatsParent, RewardBeatsBest, RewardFeasible:
	default:
		return fmt.Errorf("evolve.planner.reward: %q is not one of %s, %s, %s", c.Reward, RewardBeatsParent, RewardBeatsBest, RewardFeasible)
	}
	if len(c.Ops) == 0 {
		return fmt.Errorf("evolve.planner.ops: must list at least one of %v", AllOps)
	}
	for _, op := range c.Ops {
		if !slices.Contains(AllOps, op) {
			return fmt.Errorf("evolve.planner.ops: unknown operation %q (known: %v)", op, AllOps)
		}
	}
	if len(c.Categories) == 0 {
		return fmt.Errorf("evolve.planner.categories: must list at least one of %v", AllCategories)
	}
	for _, cat := range c.Categories {
		if !slices.Contains(AllCategories, cat) {
			return fmt.Errorf("evolve.planner.categories: unknown category %q (known: %v)", cat, AllCategories)
		}
	}
	return nil
}

// Arm is one Beta-Bernoulli arm; the store keeps it in the planner's state.
type Arm = store.Arm

// Planner is the hierarchical Beta-Bernoulli Thompson sampler: it draws an
// operation from per-operation posteriors, then a prompt category from
// per-(operation, category) posteriors, each level mixed with a uniform
// choice with probability Epsilon. Its RNG state is part of its saved
// state, so a resumed run continues the same random stream.
type Planner struct {
	cfg  PlannerConfig
	pcg  *rand.PCG
	rng  *rand.Rand
	ops  map[string]*Arm
	cats map[string]map[string]*Arm
}

// NewPlanner returns a planner with prior arms, seeded with seed.
func NewPlanner(cfg PlannerConfig, seed uint64) *Planner {
	pcg := rand.NewPCG(seed, 0x9e3779b97f4a7c15)
	p := &Planner{cfg: cfg, pcg: pcg, rng: rand.New(pcg), ops: map[string]*Arm{}, cats: map[string]map[string]*Arm{}}
	for _, op := range cfg.Ops {
		p.ops[op] = &Arm{Alpha: cfg.PriorAlpha, Beta: cfg.PriorBeta}
		p.cats[op] = map[string]*Arm{}
		for _, c := range cfg.Categories {
			p.cats[op][c] = &Arm{Alpha: cfg.PriorAlpha, Beta: cfg.PriorBeta}
		}
	}
	return p
}

// Config returns the planner's configuration.
func (p *Planner) Config() PlannerConfig { return p.cfg }

// Choose draws an operation among those for which allowed returns true (nil
// allows all), then a category. ok is false when no operation is allowed.
func (p *Planner) Choose(allowed func(op string) bool) (op, category string, ok bool) {
	var ops []string
	for _, o := range p.cfg.Ops {
		if allowed == nil || allowed(o) {
			ops = append(ops, o)
		}
	}
	if len(ops) == 0 {
		return "", "", false
	}
	op = p.pick(ops, func(o string) *Arm { return p.ops[o] })
	category = p.pick(p.cfg.Categories, func(c string) *Arm { return p.cats[op][c] })
	return op, category, true
}

// pick is one level of the hierarchy: uniform with probability Epsilon,
// otherwise the arm with the highest posterior draw (ties to the first).
func (p *Planner) pick(names []string, arm func(string) *Arm) string {
	if p.rng.Float64() < p.cfg.Epsilon {
		return names[p.rng.IntN(len(names))]
	}
	best, bestX := names[0], -1.0
	for _, n := range names {
		a := arm(n)
		x := distuv.Beta{Alpha: a.Alpha, Beta: a.Beta, Src: p.pcg}.Rand()
		if x > bestX {
			best, bestX = n, x
		}
	}
	return best
}

// Update adds one Bernoulli observation to the operation's arm and to the
// (operation, category) arm. Unknown names are ignored (a strategy that
// does not use the planner's operations has nothing to learn here).
func (p *Planner) Update(op, category string, reward bool) {
	a, ok := p.ops[op]
	if !ok {
		return
	}
	observe(a, reward)
	if c, ok := p.cats[op][category]; ok {
		observe(c, reward)
	}
}

func observe(a *Arm, reward bool) {
	a.Pulls++
	if reward {
		a.Wins++
		a.Alpha++
	} else {
		a.Beta++
	}
}

// Arms returns a copy of the posteriors: per operation, and per operation and category.
func (p *Planner) Arms() (ops map[string]Arm, cats map[string]map[string]Arm) {
	ops = map[string]Arm{}
	cats = map[string]map[string]Arm{}
	for o, a := range p.ops {
		ops[o] = *a
		cats[o] = map[string]Arm{}
		for c, ca := range p.cats[o] {
			cats[o][c] = *ca
		}
	}
	return ops, cats
}

// plannerState is what the planner saves; its posteriors are the store's
// public record of them (store.Posteriors), embedded so the JSON is flat.
type plannerState struct {
	Config PlannerConfig `json:"config"`
	RNG    []byte        `json:"rng"`
	store.Posteriors
}

// MarshalBinary saves the posteriors and the RNG state.
func (p *Planner) MarshalBinary() ([]byte, error) {
	rng, err := p.pcg.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("planner rng: %w", err)
	}
	ops, cats := p.Arms()
	return json.Marshal(plannerState{Config: p.cfg, RNG: rng, Posteriors: store.Posteriors{Ops: ops, Cats: cats}})
}

// UnmarshalBinary restores what MarshalBinary saved, configuration included.
func (p *Planner) UnmarshalBinary(b []byte) error {
	var st plannerState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("planner state: %w", err)
	}
	np := NewPlanner(st.Config, 0)
	if err := np.pcg.UnmarshalBinary(st.RNG); err != nil {
		return fmt.Errorf("planner rng state: %w", err)
	}
	for o, a := range st.Ops {
		if _, ok := np.ops[o]; !ok {
			return fmt.Errorf("planner state: operation %q is not in its config", o)
		}
		*np.ops[o] = a
		for c, ca := range st.Cats[o] {
			if _, ok := np.cats[o][c]; !ok {
				return fmt.Errorf("planner state: category %q is not in its config", c)
			}
			*np.cats[o][c] = ca
		}
	}
	*p = *np
	return nil
}
