package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/llm/llmtest"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/tree"
)

// injection is what the mocked LLM writes into every rationale: the page
// must show it as text.
const injection = `<script>alert(1)</script><img src=x onerror="alert(2)">`

// paced is the real tabular evaluator made to take d per job, as training
// takes time: a live view then has something to watch.
type paced struct {
	train.Evaluator
	d time.Duration
}

func (p paced) Evaluate(ctx context.Context, job train.Job, progress func(train.Progress)) (train.Result, error) {
	select {
	case <-time.After(p.d):
	case <-ctx.Done():
		return train.Result{}, ctx.Err()
	}
	return p.Evaluator.Evaluate(ctx, job, progress)
}

// search is a real search (engine, gate, dedup, SQLite store, planner)
// over the NAS-Bench-201 space, answered by the tabular evaluator.
type search struct {
	Dir     string
	Budget  int
	Pace    time.Duration
	LLMURL  string // "" : the offline resolver
	Seed    uint64
	Workers int
	// ParentsK > 0 draws parents from the top K (default 5).
	ParentsK int
}

// engine assembles the search; the caller runs it.
func (s search) engine(tb testing.TB, table *train.NB201Table) (*evolve.Engine, *store.Store) {
	tb.Helper()
	db, err := store.CreateStore(s.Dir)
	if err != nil {
		tb.Fatal(err)
	}
	tab, err := train.NewTabular(table, "cifar10")
	if err != nil {
		tb.Fatal(err)
	}
	seed, err := tree.Seed("nb201-resnet", tree.Shape{C: 3, H: 32, W: 32}, 10)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := evolve.DefaultConfig()
	cfg.Seed = max(s.Seed, 1)
	cfg.Budget.Trained = s.Budget
	cfg.DryRun = false
	cfg.Parallel = max(s.Workers, 1)
	cfg.MaxRejectStreak = 5000
	// The NAS-Bench-201 space is the cell edges: only argument changes apply.
	cfg.Planner.Ops = []string{store.OpChangeArg, store.OpRepeat}
	if s.ParentsK > 0 {
		cfg.Parents.K = s.ParentsK
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var res llm.Resolver
	if s.LLMURL != "" {
		lc := llm.DefaultConfig()
		lc.BaseURL, lc.Structured, lc.RecordText, lc.MaxRetries = s.LLMURL, true, true, 0
		lc.Models = []llm.ModelConfig{{Name: "mock-model", Weight: 1, InputUSDPerMTok: 3, OutputUSDPerMTok: 15}}
		if res, err = llm.New(lc, llm.WithCallLogger(db), llm.WithLogger(quiet)); err != nil {
			tb.Fatal(err)
		}
	}
	var ev train.Evaluator = tab
	if s.Pace > 0 {
		ev = paced{tab, s.Pace}
	}
	// The stored configuration, as `arbor evolve` saves it, so the page
	// knows the budget and strategy.
	rc := run.Default()
	rc.Run.Evaluator, rc.Run.Table, rc.Evolve = "tabular", "nb201-cifar.csv", cfg
	if err := run.SaveConfig(context.Background(), db, rc); err != nil {
		tb.Fatal(err)
	}
	strat, err := evolve.NewStrategy(nil, cfg, evolve.Deps{Resolver: res})
	if err != nil {
		tb.Fatal(err)
	}
	return &evolve.Engine{Store: db, Planner: evolve.NewPlanner(cfg.Planner, cfg.Seed), Evaluator: ev, Strategy: strat,
		Seeds: []*tree.Tree{seed}, Arch: tree.NB201Arch, Filter: evolve.CellEdges, Config: cfg, Log: quiet,
		Job: train.Job{Input: [3]int{3, 32, 32}, Classes: 10}}, db
}

// mockLLM is the llmtest server (real HTTP) answering every decision with
// a schema-valid choice whose rationale carries the injection.
func mockLLM(tb testing.TB, n int) *llmtest.Server {
	srv := llmtest.New()
	for i := range n {
		b, err := json.Marshal(map[string]any{"option": fmt.Sprintf("o%d", i%6+1), "args": map[string]any{}, "rationale": fmt.Sprintf("step %d %s", i, injection)})
		if err != nil {
			tb.Fatal(err)
		}
		srv.Push(llmtest.Reply(string(b)))
	}
	tb.Cleanup(srv.Close)
	return srv
}

// runSearch runs s to completion and returns its run directory.
func runSearch(tb testing.TB, table *train.NB201Table, s search) string {
	tb.Helper()
	e, db := s.engine(tb, table)
	defer db.Close()
	if err := e.Run(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s.Dir
}

// largeRun runs a real search (offline resolver, four jobs in flight)
// until its store holds at least n candidates, then stops it the way
// Ctrl-C does, and returns the run directory.
func largeRun(tb testing.TB, table *train.NB201Table, dir string, n int) string {
	tb.Helper()
	// Parents from the top 25 (the paper's protocol for 500 trials): a
	// wide family tree, most proposals new architectures.
	e, db := search{Dir: dir, Budget: 100000, Workers: 4, Seed: 9, ParentsK: 25}.engine(tb, table)
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.Config.MaxRejectStreak = 100000
	e.Events = func(ev store.Event) {
		if ev.Kind == store.EventProposed || ev.Kind == store.EventRejected {
			if seq := ev.CandidateID; seq != "" && seq >= fmt.Sprintf("c%05d", n) {
				cancel()
			}
		}
	}
	if err := e.Run(ctx); err != nil && ctx.Err() == nil {
		tb.Fatal(err)
	}
	return dir
}
