// Package strategytest checks a search strategy the way analysistest
// checks an analyzer: any strategy, built-in or third-party, runs the same
// checks of the promises the engine makes about a run.
//
// Run builds the strategy from its evolve.StrategyDef with NewStrategy (so
// its requirements are checked as when a run is assembled), runs real
// searches with it on a real store and evaluator, and fails when
//
//   - determinism breaks: two runs with the same seed store different
//     candidates;
//   - resume is not exact: a run stopped at part of its budget and resumed
//     by a new engine with a new strategy (as after kill -9) stores other
//     candidates than the uninterrupted run, or trains one twice;
//   - the budget is not accounted: the run trains more or fewer than its
//     budget, the evaluator is called for a candidate the store does not
//     count as trained, a rejected candidate carries a result, or a
//     candidate does not name the strategy.
//
// The default Rig is a NAS-Bench-201 search answered by the generated
// table (train/traintest): fast, and no Python.
package strategytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"testing"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/traintest"
	"github.com/arbor-nas/arbor/tree"
)

// Rig is the search a strategy is checked on.
type Rig struct {
	// Budget is each run's trained budget, seeds included (0: 12). The
	// resumed run stops first at half of it.
	Budget int
	// Config edits the run's configuration after the rig's defaults, e.g.
	// the strategy's own section.
	Config func(*evolve.Config)
	// Engine builds one engine over s with cfg, everything but its
	// Strategy. Nil: the NAS-Bench-201 search on the generated table.
	Engine func(tb testing.TB, s *store.Store, cfg evolve.Config) *evolve.Engine
	// Deps builds the dependencies of one engine: each run, and the resumed
	// one, gets its own, as a new process would. Nil: OfflineDeps.
	Deps func(tb testing.TB, s *store.Store, def *evolve.StrategyDef, cfg evolve.Config) evolve.Deps
}

// Run checks the strategy def describes on rig and reports every broken
// promise on t.
func Run(t *testing.T, def *evolve.StrategyDef, rig Rig) {
	t.Helper()
	if err := Check(t, def, rig); err != nil {
		t.Error(err)
	}
}

// Check is Run returning what broke instead of reporting it; a failure
// to set the rig up is reported on tb.
func Check(tb testing.TB, def *evolve.StrategyDef, rig Rig) error {
	tb.Helper()
	rig = rig.withDefaults()
	n := rig.Budget
	first, firstCalls, err := rig.search(tb, def, tb.TempDir(), n)
	if err != nil {
		return fmt.Errorf("strategy %s: %w", def.Name, err)
	}
	if err := accounted(def, first, firstCalls, n); err != nil {
		return fmt.Errorf("strategy %s: budget accounting: %w", def.Name, err)
	}
	second, _, err := rig.search(tb, def, tb.TempDir(), n)
	if err != nil {
		return fmt.Errorf("strategy %s: second run: %w", def.Name, err)
	}
	if err := same(first, second); err != nil {
		return fmt.Errorf("strategy %s: not deterministic: two runs with seed %d differ: %w", def.Name, rig.config(def).Seed, err)
	}
	dir := tb.TempDir()
	part, partCalls, err := rig.search(tb, def, dir, n/2)
	if err != nil {
		return fmt.Errorf("strategy %s: run to %d: %w", def.Name, n/2, err)
	}
	resumed, restCalls, err := rig.search(tb, def, dir, n)
	if err != nil {
		return fmt.Errorf("strategy %s: resumed run: %w", def.Name, err)
	}
	if err := same(first, resumed); err != nil {
		return fmt.Errorf("strategy %s: resume is not exact: stopped after %d of %d trained and resumed, the run differs from the uninterrupted one: %w",
			def.Name, trained(part), n, err)
	}
	if err := accounted(def, resumed, append(partCalls, restCalls...), n); err != nil {
		return fmt.Errorf("strategy %s: budget accounting across a resume: %w", def.Name, err)
	}
	return nil
}

func (r Rig) withDefaults() Rig {
	if r.Budget == 0 {
		r.Budget = 12
	}
	if r.Engine == nil {
		r.Engine = NB201Engine
	}
	if r.Deps == nil {
		r.Deps = func(tb testing.TB, _ *store.Store, def *evolve.StrategyDef, cfg evolve.Config) evolve.Deps {
			d, err := OfflineDeps(def, cfg)
			if err != nil {
				tb.Fatal(err)
			}
			return d
		}
	}
	return r
}

// config is the run's configuration: the rig's defaults for a small
// search, then the rig's edits.
func (r Rig) config(def *evolve.StrategyDef) evolve.Config {
	cfg := evolve.DefaultConfig()
	cfg.Strategy = def.Name
	cfg.Seed = 7
	cfg.Parallel = 1 // the order of results is part of what must repeat
	cfg.DryRun = false
	cfg.MaxRejectStreak = 500
	cfg.Evolution = evolve.EvolutionConfig{Population: 4, Sample: 2}
	cfg.Surrogate.MinObserved = 4
	// Measuring the proxy's noise (the seed trained again with other
	// training seeds, outside the candidates) is the engine's, not the
	// strategy's; evolve's own tests cover it.
	cfg.Noise.Repeats = 0
	if r.Config != nil {
		r.Config(&cfg)
	}
	return cfg
}

// search runs one engine over the store in dir (created or resumed) to a
// trained budget of n and returns the stored candidates and the jobs the
// evaluator was given, by candidate ID.
func (r Rig) search(tb testing.TB, def *evolve.StrategyDef, dir string, n int) ([]store.Candidate, []string, error) {
	tb.Helper()
	ctx := context.Background()
	s, err := store.OpenStore(dir)
	if errors.Is(err, store.ErrNoStore) {
		s, err = store.CreateStore(dir)
	}
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	cfg := r.config(def)
	cfg.Budget = evolve.BudgetConfig{Trained: n}
	eng := r.Engine(tb, s, cfg)
	strat, err := evolve.NewStrategy(def, cfg, r.Deps(tb, s, def, cfg))
	if err != nil {
		return nil, nil, fmt.Errorf("assembling the run: %w", err)
	}
	eng.Strategy = strat
	calls := &counting{Evaluator: eng.Evaluator}
	eng.Evaluator = calls
	if err := eng.Run(ctx); err != nil {
		return nil, nil, err
	}
	cands, err := s.Candidates(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return cands, calls.ids, nil
}

// counting records every job the evaluator is given.
type counting struct {
	train.Evaluator
	mu  sync.Mutex
	ids []string
}

func (c *counting) Evaluate(ctx context.Context, job train.Job, progress func(train.Progress)) (train.Result, error) {
	c.mu.Lock()
	c.ids = append(c.ids, job.ID)
	c.mu.Unlock()
	return c.Evaluator.Evaluate(ctx, job, progress)
}

// accounted checks the budget: exactly n trained, each by one evaluator
// call, rejected ones without a result, every candidate the strategy's.
func accounted(def *evolve.StrategyDef, cands []store.Candidate, calls []string, n int) error {
	called := map[string]int{}
	for _, id := range calls {
		called[id]++
	}
	got := 0
	for _, c := range cands {
		if c.Strategy != def.Name {
			return fmt.Errorf("%s names strategy %q", c.ID, c.Strategy)
		}
		switch c.Status {
		case store.StatusTrained, store.StatusFailed:
			got++
			if called[c.ID] != 1 {
				return fmt.Errorf("%s is %s but the evaluator was called %d times for it", c.ID, c.Status, called[c.ID])
			}
		case store.StatusRejected:
			if called[c.ID] != 0 || c.Result.Status != "" {
				return fmt.Errorf("rejected %s (%s: %s) was trained", c.ID, c.Gate, c.Reason)
			}
		default:
			return fmt.Errorf("%s is still %s after the run", c.ID, c.Status)
		}
		delete(called, c.ID)
	}
	for id := range called {
		return fmt.Errorf("the evaluator trained %s, which the store does not hold", id)
	}
	if got != n {
		return fmt.Errorf("%d candidates trained, the budget is %d", got, n)
	}
	return nil
}

func trained(cands []store.Candidate) int {
	n := 0
	for _, c := range cands {
		if c.Status == store.StatusTrained || c.Status == store.StatusFailed {
			n++
		}
	}
	return n
}

// decision is what must repeat of a candidate: everything but the clocks.
type decision struct {
	ID, ParentID, Op, Transform, Category, Path, Module, Args, Rationale string
	Fallback                                                             bool
	Hash, CodeHash                                                       string
	Params, FLOPs                                                        int64
	Gate, Reason                                                         string
	Status                                                               store.Status
	TrainStatus                                                          train.Status
	ValAcc, TestAcc                                                      float64
	Reward                                                               int
}

func decisionOf(c store.Candidate) decision {
	args, _ := json.Marshal(c.Args)
	return decision{ID: c.ID, ParentID: c.ParentID, Op: c.Op, Transform: c.Transform, Category: c.Category, Path: c.Path,
		Module: c.Module, Args: string(args), Rationale: c.Rationale, Fallback: c.Fallback, Hash: c.Hash, CodeHash: c.CodeHash,
		Params: c.Params, FLOPs: c.FLOPs, Gate: c.Gate, Reason: c.Reason, Status: c.Status, TrainStatus: c.Result.Status,
		ValAcc: c.Result.ValAcc, TestAcc: c.Result.TestAcc, Reward: c.Reward}
}

// same reports the first candidate where a and b differ.
func same(a, b []store.Candidate) error {
	for i := range min(len(a), len(b)) {
		if da, db := decisionOf(a[i]), decisionOf(b[i]); !reflect.DeepEqual(da, db) {
			return fmt.Errorf("candidate %d: %+v, then %+v", i+1, da, db)
		}
	}
	if len(a) != len(b) {
		return fmt.Errorf("%d candidates, then %d", len(a), len(b))
	}
	return nil
}

// OfflineDeps are what `arbor evolve` gives a strategy with no LLM
// endpoint: the offline resolver and the GP screener of evolve.surrogate,
// each only when the strategy asks for it. A coder has no offline form.
func OfflineDeps(def *evolve.StrategyDef, cfg evolve.Config) (evolve.Deps, error) {
	var d evolve.Deps
	if def.Wants(evolve.DepResolver) {
		d.Resolver = llm.NewOffline(cfg.Seed, llm.DefaultConfig().Offline)
	}
	if def.Wants(evolve.DepScreener) {
		var err error
		if d.Screener, err = evolve.NewSurrogateScreener(cfg.Surrogate); err != nil {
			return d, err
		}
	}
	return d, nil
}

// NB201Engine is the default rig's engine: the NAS-Bench-201 cell space
// (change-arg and repeat on the cell edges), answered by the generated
// table through the real tabular evaluator.
func NB201Engine(tb testing.TB, s *store.Store, cfg evolve.Config) *evolve.Engine {
	tb.Helper()
	_, table := traintest.NB201(tb)
	tab, err := train.NewTabular(table, "cifar10")
	if err != nil {
		tb.Fatal(err)
	}
	seed, err := tree.Seed("nb201-resnet", tree.Shape{C: 3, H: 32, W: 32}, 10)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Planner.Ops = []string{store.OpChangeArg, store.OpRepeat}
	return &evolve.Engine{Store: s, Planner: evolve.NewPlanner(cfg.Planner, cfg.Seed), Evaluator: tab,
		Seeds: []*tree.Tree{seed}, Arch: tree.NB201Arch, Filter: evolve.CellEdges, Config: cfg,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Job: train.Job{Input: [3]int{3, 32, 32}, Classes: 10}}
}
