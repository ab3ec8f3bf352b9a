package evolve

import (
	"context"
	"fmt"

	"github.com/arbor-nas/arbor/evolve/surrogate"
)

// surrogateScreener adapts the surrogate package's GP screener to the
// engine: trees are encoded with surrogate.FromTree, the signal is the
// validation accuracy.
type surrogateScreener struct{ s *surrogate.Screener }

// NewSurrogateScreener returns the thompson+surrogate Screener.
func NewSurrogateScreener(cfg surrogate.Config) (Screener, error) {
	s, err := surrogate.NewScreener(cfg)
	if err != nil {
		return nil, fmt.Errorf("evolve.%w", err)
	}
	return surrogateScreener{s}, nil
}

func (a surrogateScreener) Observe(s Observation) error {
	if s.Tree == nil {
		return nil // a codegen candidate has no tree to encode
	}
	f, err := surrogate.FromTree(s.Tree)
	if err != nil {
		return fmt.Errorf("surrogate features of %s: %w", s.ID, err)
	}
	return a.s.Observe(f, s.ValAcc)
}

// Scores implements Ranker: the acquisition value of each child, nil
// while the model has too few observations.
func (a surrogateScreener) Scores(ctx context.Context, children []Observation) ([]float64, error) {
	feats := make([]surrogate.Features, len(children))
	for i, c := range children {
		f, err := surrogate.FromTree(c.Tree)
		if err != nil {
			return nil, fmt.Errorf("surrogate features of child %d: %w", i, err)
		}
		feats[i] = f
	}
	_, scores, err := a.s.Choose(feats)
	if err != nil || scores == nil {
		return nil, err
	}
	out := make([]float64, len(scores))
	for i, s := range scores {
		out[i] = s.Acq
	}
	return out, nil
}

func (a surrogateScreener) Pick(ctx context.Context, children []Observation) (int, error) {
	feats := make([]surrogate.Features, len(children))
	for i, c := range children {
		f, err := surrogate.FromTree(c.Tree)
		if err != nil {
			return 0, fmt.Errorf("surrogate features of child %d: %w", i, err)
		}
		feats[i] = f
	}
	i, _, err := a.s.Choose(feats)
	return i, err
}
