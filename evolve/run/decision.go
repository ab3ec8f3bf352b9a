package run

import (
	"context"
	"fmt"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm"
)

// StoredDecision reads the decision the resolver settled for candidate id
// of the run in s: the options, lineage and limits exactly as they were
// shown. Seeds, strategies that decide without a resolver (random,
// evolution) and runs made before decisions were stored have none; the
// error says so.
func StoredDecision(ctx context.Context, s *store.Store, id string) (llm.Decision, error) {
	raw, ok, err := s.Meta(ctx, store.DecisionKey(id))
	if err != nil {
		return llm.Decision{}, err
	}
	if !ok {
		c, err := s.Candidate(ctx, id)
		if err != nil {
			return llm.Decision{}, Input(fmt.Errorf("run %s: no candidate %s (arbor status lists them)", s.Path(), id))
		}
		return llm.Decision{}, Input(fmt.Errorf("run %s: candidate %s (%s, strategy %s) has no stored decision: only children a resolver chose among pre-gated options have one", s.Path(), id, c.Op, c.Strategy))
	}
	d, err := llm.ReadDecision([]byte(raw))
	if err != nil {
		return llm.Decision{}, fmt.Errorf("run %s: decision of %s: %w", s.Path(), id, err)
	}
	return d, nil
}
