package evolve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
)

// StrategySurrogate is thompson with K children screened by a surrogate.
const StrategySurrogate = "thompson+surrogate"

// surrogateStrategy is thompson+surrogate: the planner chooses the
// operation as thompson does; up to K pre-gated children of it are
// scored by the surrogate, and the resolver is shown only the top M. So
// one resolver call is made per trained candidate (plus repairs), and the
// surrogate, not the LLM, does the wide screening.
type surrogateStrategy struct{}

func (surrogateStrategy) Name() string { return StrategySurrogate }

func (surrogateStrategy) Check(e *Engine) error {
	if e.Screener == nil {
		return errors.New("evolve.strategy: thompson+surrogate needs a surrogate screener; none is wired in")
	}
	return nil
}

func (surrogateStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	cfg := env.Config().Surrogate
	var jump *Proposal
	rank := func(o *Offers) (*Offers, error) {
		var err error
		if jump, err = escapeJump(ctx, env, o, seq, cfg.Global); err != nil || jump != nil {
			return nil, cmp.Or(err, errJump)
		}
		return topBySurrogate(ctx, env, o, cfg.M)
	}
	p, err := plannedChild(ctx, env, env.NewProposal(seq), seq, cfg.K, rank, env.Engine().Resolver)
	if jump != nil {
		return jump, nil
	}
	return p, err
}

// topBySurrogate keeps the m children of o the screener ranks best (all
// of them while it has too few observations to rank: then the first m in
// the offers' diverse order).
func topBySurrogate(ctx context.Context, env *Env, o *Offers, m int) (*Offers, error) {
	type ref struct{ i, j int }
	var refs []ref
	var samples []Sample
	for i, x := range o.list {
		for j, c := range x.children {
			refs = append(refs, ref{i, j})
			samples = append(samples, Sample{ID: fmt.Sprintf("option %d value %d", i+1, j+1), Tree: c.child,
				Arch: env.e.archOf(c.child), Op: o.Op, Params: c.params, FLOPs: c.flops})
		}
	}
	if len(refs) <= m {
		return o, nil
	}
	order := make([]int, len(refs))
	for k := range order {
		order[k] = k
	}
	scr := env.Engine().Screener
	if r, ok := scr.(Ranker); ok {
		scores, err := r.Scores(ctx, samples)
		if err != nil {
			return nil, fmt.Errorf("evolve: surrogate: %w", err)
		}
		if scores != nil {
			slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
		}
	} else {
		best, err := scr.Pick(ctx, samples)
		if err != nil {
			return nil, fmt.Errorf("evolve: surrogate screener: %w", err)
		}
		if best < 0 || best >= len(samples) {
			return nil, fmt.Errorf("evolve: surrogate screener picked child %d of %d", best, len(samples))
		}
		order[0], order[best] = order[best], order[0]
	}
	keep := map[ref]bool{}
	for _, k := range order[:m] {
		keep[refs[k]] = true
	}
	out := *o
	out.list = nil
	for i, x := range o.list {
		var kids []offerChild
		for j, c := range x.children {
			if keep[ref{i, j}] {
				kids = append(kids, c)
			}
		}
		if len(kids) > 0 {
			out.list = append(out.list, offer{opt: x.opt, children: kids})
		}
	}
	return &out, nil
}

func (surrogateStrategy) ValidateConfig(c Config) error {
	if err := c.Surrogate.Validate(); err != nil {
		return fmt.Errorf("evolve.%w", err)
	}
	return nil
}
