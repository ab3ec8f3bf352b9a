package evolve

import (
	"context"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/train/traintest"
)

// hillClimb is a plug-in strategy defined outside the registry: it always
// mutates the best candidate, with a uniform operation and option.
type hillClimb struct{ proposals int }

func (h *hillClimb) Name() string { return "hill-climb" }

func (h *hillClimb) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	h.proposals++
	best := env.Best()
	if best == nil {
		return nil, ErrNoParent
	}
	return env.Mutate(env.NewProposal(seq), best, seq)
}

func TestPluginStrategy(t *testing.T) {
	_, table := traintest.NB201(t)
	s, err := store.CreateStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := nb201Engine(t, table, s, 3, 15, nil)
	h := &hillClimb{}
	e.Strategy = h
	if err := e.Run(context.Background()); err == nil || !strings.Contains(err.Error(), `the config says "thompson"`) {
		t.Fatalf("a plug-in under another strategy's name: got %v", err)
	}
	e.Config.Strategy = h.Name()
	runEngine(t, e)
	cs, err := s.Candidates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	trained := 0
	for _, c := range cs {
		if c.Op == OpSeed {
			continue
		}
		if c.Strategy != "hill-climb" {
			t.Fatalf("%s stored strategy %q", c.ID, c.Strategy)
		}
		if c.Status == StatusTrained {
			trained++
		}
	}
	if trained != 14 || h.proposals < 14 {
		t.Fatalf("trained %d children in %d proposals, want 14", trained, h.proposals)
	}
}

// withStrategy builds e's strategy from e.Config and deps, as run.Build does.
func withStrategy(tb testing.TB, e *Engine, deps Deps) *Engine {
	tb.Helper()
	s, err := NewStrategy(nil, e.Config, deps)
	if err != nil {
		tb.Fatal(err)
	}
	e.Strategy = s
	return e
}

func TestStrategyRegistry(t *testing.T) {
	for _, name := range StrategyNames() {
		d, err := LookupStrategy(name)
		if err != nil || d.Name != name {
			t.Fatalf("LookupStrategy(%q) = %v, %v", name, d, err)
		}
		cfg := DefaultConfig()
		cfg.Strategy = name
		if err := cfg.Validate(); err != nil {
			t.Fatalf("default config with strategy %s: %v", name, err)
		}
	}
	cfg := DefaultConfig()
	cfg.Strategy = "bogus"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "evolve.strategy") {
		t.Fatalf("unknown strategy: %v", err)
	}
	cfg = DefaultConfig()
	cfg.Strategy = StrategyEvolution
	cfg.Evolution.Sample = cfg.Evolution.Population + 1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "evolve.evolution.sample") {
		t.Fatalf("evolution's own settings are not validated: %v", err)
	}
}

// TestStrategyRequirements: a strategy that lacks what it requires fails
// when the run is assembled (NewStrategy), naming the key to set.
func TestStrategyRequirements(t *testing.T) {
	for _, tc := range []struct {
		strategy string
		deps     Deps
		want     string // "" : builds
	}{
		{StrategyThompson, Deps{}, ""}, // no resolver: the seeded uniform choice
		{StrategyCodegen, Deps{DryRun: true}, "llm.base_url"},
		{StrategyCodegen, Deps{Coder: rewriter{}}, "evolve.dry_run"},
		{StrategyCodegen, Deps{Coder: rewriter{}, DryRun: true}, ""},
		{StrategySurrogate, Deps{}, "requires a screener"},
	} {
		cfg := DefaultConfig()
		cfg.Strategy = tc.strategy
		s, err := NewStrategy(nil, cfg, tc.deps)
		switch {
		case tc.want == "" && (err != nil || s.Name() != tc.strategy):
			t.Errorf("%s with %+v: %v, %v", tc.strategy, tc.deps, s, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s with %+v: got %v, want an error naming %q", tc.strategy, tc.deps, err, tc.want)
		}
	}
}

// rewriter is a Coder that is never called: the requirement is checked
// before any proposal.
type rewriter struct{}

func (rewriter) Rewrite(context.Context, string, int) (string, llm.Usage, error) {
	panic("not called")
}
