package strategytest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/evolve/strategytest"
)

// greedy is a third-party strategy, written outside package evolve with
// nothing but the public Env: it mutates the best candidate found so far,
// and when that has nothing left, the next best (Env.Mutate does that).
type greedy struct{}

func (greedy) Name() string { return "greedy" }

func (greedy) Propose(ctx context.Context, env *evolve.Env, seq int64) (*evolve.Proposal, error) {
	best := env.Best()
	if best == nil {
		return nil, evolve.ErrNoParent
	}
	return env.Mutate(env.NewProposal(seq), best, seq)
}

var greedyDef = &evolve.StrategyDef{
	Name: "greedy",
	Doc:  "one uniform random edit of the best candidate",
	New:  func(evolve.Config, evolve.Deps) (evolve.Strategy, error) { return greedy{}, nil },
}

func TestThirdPartyStrategy(t *testing.T) {
	strategytest.Run(t, greedyDef, strategytest.Rig{})
}

// forgetful keeps what it did in memory instead of reading it from the
// archive: after a crash and a resume it proposes something else.
type forgetful struct{ proposals *int }

func (forgetful) Name() string { return "forgetful" }

func (f forgetful) Propose(ctx context.Context, env *evolve.Env, seq int64) (*evolve.Proposal, error) {
	*f.proposals++
	ranked := env.Ranked()
	if len(ranked) == 0 {
		return nil, evolve.ErrNoParent
	}
	return env.Mutate(env.NewProposal(seq), ranked[*f.proposals%len(ranked)], int64(*f.proposals))
}

// unseeded draws from a stream that does not depend on the run's seed.
type unseeded struct{ draws *int }

func (unseeded) Name() string { return "unseeded" }

func (u unseeded) Propose(ctx context.Context, env *evolve.Env, seq int64) (*evolve.Proposal, error) {
	*u.draws += 7
	best := env.Best()
	if best == nil {
		return nil, evolve.ErrNoParent
	}
	return env.Mutate(env.NewProposal(seq), best, seq+int64(*u.draws)) // the counter survives from one run to the next
}

// TestHarnessCatches: strategies that break a promise fail the harness,
// each with the promise named.
func TestHarnessCatches(t *testing.T) {
	var shared int
	for _, tc := range []struct {
		def  *evolve.StrategyDef
		want string
	}{
		{&evolve.StrategyDef{Name: "forgetful", New: func(evolve.Config, evolve.Deps) (evolve.Strategy, error) {
			n := 0
			return forgetful{&n}, nil
		}}, "resume is not exact"},
		{&evolve.StrategyDef{Name: "unseeded", New: func(evolve.Config, evolve.Deps) (evolve.Strategy, error) {
			return unseeded{&shared}, nil
		}}, "not deterministic"},
		{&evolve.StrategyDef{Name: "needs-coder", Requires: []evolve.Dep{evolve.DepCoder},
			New: func(evolve.Config, evolve.Deps) (evolve.Strategy, error) { return greedy{}, nil }}, "requires an LLM coder"},
	} {
		t.Run(tc.def.Name, func(t *testing.T) {
			err := strategytest.Check(t, tc.def, strategytest.Rig{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
