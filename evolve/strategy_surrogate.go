package evolve

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/arbor-nas/arbor/evolve/surrogate"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/tree"
)

// StrategySurrogate is thompson with K children screened by a surrogate.
const StrategySurrogate = "thompson+surrogate"

// surrogateStrategy is thompson+surrogate: the planner chooses the
// operation as thompson does; up to K pre-gated children of it are
// scored by the surrogate, and the resolver is shown only the top M. So
// one resolver call is made per trained candidate (plus repairs), and the
// surrogate, not the LLM, does the wide screening.
type surrogateStrategy struct {
	cfg      surrogate.Config
	resolver llm.Resolver
	screener Screener
}

var surrogateDef = &StrategyDef{
	Name:     StrategySurrogate,
	Doc:      "thompson with K children screened by a surrogate model, the top M shown to the resolver",
	Requires: []Dep{DepScreener},
	Uses:     []Dep{DepResolver},
	Validate: func(c Config) error {
		if err := c.Surrogate.Validate(); err != nil {
			return fmt.Errorf("evolve.%w", err)
		}
		return nil
	},
	New: func(c Config, d Deps) (Strategy, error) {
		return NewSurrogate(c.Surrogate, d.Resolver, d.Screener), nil
	},
}

// NewSurrogate returns thompson+surrogate with its section of the
// configuration (evolve.surrogate), its resolver and its screener
// (NewSurrogateScreener builds the GP one from the same section).
func NewSurrogate(cfg surrogate.Config, resolver llm.Resolver, screener Screener) Strategy {
	return surrogateStrategy{cfg: cfg, resolver: resolver, screener: screener}
}

func (surrogateStrategy) Name() string { return StrategySurrogate }

// Observe shows the screener every feasible trained candidate.
func (s surrogateStrategy) Observe(env *Env, c *Candidate) error {
	var t *tree.Tree
	if len(c.Tree) > 0 {
		var err error
		if t, err = env.Tree(c); err != nil {
			return err
		}
	}
	o := Observation{ID: c.ID, Tree: t, Arch: env.ArchKey(t), Op: c.Op, ValAcc: c.Result.ValAcc, Params: c.Params, FLOPs: c.FLOPs}
	if err := s.screener.Observe(o); err != nil {
		return fmt.Errorf("evolve: surrogate: %w", err)
	}
	return nil
}

func (s surrogateStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	var jump *Proposal
	rank := func(o *Offers) (*Offers, error) {
		var err error
		if jump, err = s.escapeJump(ctx, env, o, seq); err != nil || jump != nil {
			return nil, cmp.Or(err, errJump)
		}
		return s.top(ctx, env, o)
	}
	p, err := plannedChild(ctx, env, env.NewProposal(seq), seq, s.cfg.K, rank, s.resolver)
	if jump != nil {
		return jump, nil
	}
	return p, err
}

// top keeps the M children of o the screener ranks best (all of them
// while it has too few observations to rank: then the first M in the
// offers' diverse order).
func (s surrogateStrategy) top(ctx context.Context, env *Env, o *Offers) (*Offers, error) {
	kids := o.Children()
	m := s.cfg.M
	if len(kids) <= m {
		return o, nil
	}
	obs := make([]Observation, len(kids))
	for k, c := range kids {
		obs[k] = Observation{ID: fmt.Sprintf("child %d", k+1), Tree: c.Tree, Arch: env.ArchKey(c.Tree), Op: o.Op, Params: c.Params, FLOPs: c.FLOPs}
	}
	order := make([]int, len(kids))
	for k := range order {
		order[k] = k
	}
	if r, ok := s.screener.(Ranker); ok {
		scores, err := r.Scores(ctx, obs)
		if err != nil {
			return nil, fmt.Errorf("evolve: surrogate: %w", err)
		}
		if scores != nil {
			slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
		}
	} else {
		best, err := s.screener.Pick(ctx, obs)
		if err != nil {
			return nil, fmt.Errorf("evolve: surrogate screener: %w", err)
		}
		if best < 0 || best >= len(obs) {
			return nil, fmt.Errorf("evolve: surrogate screener picked child %d of %d", best, len(obs))
		}
		order[0], order[best] = order[best], order[0]
	}
	keep := make([]bool, len(kids))
	for _, k := range order[:m] {
		keep[k] = true
	}
	return o.Keep(func(i int) bool { return keep[i] }), nil
}
