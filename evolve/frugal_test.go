package evolve

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/llm/llmtest"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/traintest"
	"github.com/arbor-nas/arbor/tree"
)

// frugality is what a run spent per trained candidate.
type frugality struct {
	trained, proposals, rejected int
	requests, callRows           int
	callsOnRejected              int // LLM calls logged for a candidate that was then rejected
	repeats, repeatsRejected     int
	byGate                       map[string]int
	engineMS                     []float64
}

func measure(t *testing.T, rs *Store, srv *llmtest.Server) frugality {
	t.Helper()
	ctx := context.Background()
	cands, err := rs.Candidates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := frugality{byGate: map[string]int{}}
	status := map[string]Status{}
	for _, c := range cands {
		status[c.ID] = c.Status
		if c.Op == OpSeed {
			continue
		}
		f.proposals++
		f.engineMS = append(f.engineMS, c.EngineMS)
		switch c.Status {
		case StatusTrained, StatusFailed:
			f.trained++
		case StatusRejected:
			f.rejected++
			f.byGate[c.Gate]++
		}
		if c.Op == OpRepeat {
			f.repeats++
			if c.Status == StatusRejected {
				f.repeatsRejected++
			}
		}
	}
	calls, err := rs.Calls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		f.callRows++
		if status[c.CandidateID] == StatusRejected {
			f.callsOnRejected++
		}
	}
	if srv != nil {
		f.requests = len(srv.Requests())
	}
	return f
}

// nb201Example is examples/nasbench201.yaml as an engine: all six
// operations, parallel 4, top-5 parents, 24 options, the paper's
// constraints, no cell-edge filter (the CLI sets none: the space gate
// decides).
func nb201Example(t *testing.T, table *train.NB201Table, rs *Store, res llm.Resolver) *Engine {
	tab, err := train.NewTabular(table, "cifar10")
	if err != nil {
		t.Fatal(err)
	}
	s, err := tree.Seed("nb201-resnet", tree.Shape{C: 3, H: 32, W: 32}, 10)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Seed, cfg.Parallel, cfg.Budget.Trained = 1, 4, 100
	cfg.DryRun, cfg.MaxRejectStreak = false, 500
	e := &Engine{Store: rs, Planner: NewPlanner(cfg.Planner, cfg.Seed), Evaluator: tab,
		Seeds: []*tree.Tree{s}, Arch: tree.NB201Arch, Config: cfg,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Job: train.Job{Input: [3]int{3, 32, 32}, Classes: 10, Limits: train.Limits{MaxParams: 1_500_000, MaxFLOPs: 200_000_000}}}
	return withStrategy(t, e, Deps{Resolver: res})
}

// TestFrugalNB201 is the NAS-Bench-201 example with an endpoint that picks
// a uniformly random offered option and leaves the arguments empty: every
// call must become a trained candidate.
func TestFrugalNB201(t *testing.T) {
	_, table := traintest.NB201(t)
	srv := llmtest.New()
	step := llmtest.RandomOffered()
	srv.Default = &step
	defer srv.Close()
	rs, err := store.CreateStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	cfg := llm.DefaultConfig()
	cfg.BaseURL, cfg.Model = srv.URL(), "mock-model"
	res, err := llm.New(cfg, llm.WithCallLogger(rs), llm.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	e := nb201Example(t, table, rs, res)
	runEngine(t, e)
	f := measure(t, rs, srv)
	t.Logf("NB201 + random-option endpoint: %d trained, %d proposals (%.3f per trained), %d rejected %v, %d HTTP requests (%.3f per trained), %d calls on rejected children, repeat %d/%d rejected",
		f.trained, f.proposals, float64(f.proposals)/float64(f.trained), f.rejected, f.byGate, f.requests, float64(f.requests)/float64(f.trained), f.callsOnRejected, f.repeatsRejected, f.repeats)
	if f.trained != 99 { // the budget of 100 counts the seed
		t.Fatalf("trained %d children, want 99", f.trained)
	}
	if r := float64(f.proposals) / float64(f.trained); r > 1.2 {
		t.Errorf("%.3f proposals per trained candidate, want <= 1.2", r)
	}
	if r := float64(f.requests) / float64(f.trained); r > 1.1 {
		t.Errorf("%.3f LLM requests per trained candidate, want <= 1.1", r)
	}
	if f.callsOnRejected != 0 || f.byGate[GateDuplicate] != 0 || f.byGate[GateSpace] != 0 {
		t.Errorf("%d calls spent on rejected children; %d duplicates and %d out-of-space children stored", f.callsOnRejected, f.byGate[GateDuplicate], f.byGate[GateSpace])
	}
	if f.repeats > 0 && float64(f.repeatsRejected) > 0.05*float64(f.repeats) {
		t.Errorf("%d of %d repeat proposals rejected, want <= 5%%", f.repeatsRejected, f.repeats)
	}
	sum, err := rs.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(f.engineMS)
	t.Logf("engine time per proposal: median %.2f ms, p90 %.2f ms, max %.2f ms", f.engineMS[len(f.engineMS)/2], f.engineMS[len(f.engineMS)*9/10], f.engineMS[len(f.engineMS)-1])
	t.Logf("status: per trained %+v; pre-gate filtered %v", sum.LLMPerTrained, sum.PreGate)
	if sum.PreGate[GateDuplicate] == 0 || sum.PreGate[GateSpace] == 0 {
		t.Errorf("the pre-gate removed no duplicate or out-of-space child (%v): it did not run", sum.PreGate)
	}
	if got, want := sum.LLMPerTrained.Decisions, float64(f.callRows)/float64(sum.Trained); got != want {
		t.Errorf("status says %.3f decisions per trained candidate, the rs %.3f", got, want)
	}
}

// TestSurrogateOneCallPerTrained: thompson+surrogate scores up to K
// pre-gated children and shows the resolver only the top M, so the LLM
// calls equal the trained candidates, plus repairs, and the spend equals
// the mock's usage.
func TestSurrogateOneCallPerTrained(t *testing.T) {
	_, table := traintest.NB201(t)
	srv := llmtest.New(llmtest.Malformed(), llmtest.Prose(`{"option": "o99", "args": {}}`)) // two answers repaired
	step := llmtest.RandomOffered()
	srv.Default = &step
	defer srv.Close()
	rs, err := store.CreateStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	cfg := llm.DefaultConfig()
	cfg.BaseURL, cfg.Model = srv.URL(), "mock-model"
	res, err := llm.New(cfg, llm.WithCallLogger(rs), llm.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	e := nb201Example(t, table, rs, res)
	e.Config.Strategy = StrategySurrogate
	e.Config.Budget.Trained = 40
	e.Config.Surrogate.MinObserved = 8
	screener, err := NewSurrogateScreener(e.Config.Surrogate)
	if err != nil {
		t.Fatal(err)
	}
	withStrategy(t, e, Deps{Resolver: res, Screener: screener})
	runEngine(t, e)
	f := measure(t, rs, srv)
	repairs := 2
	t.Logf("surrogate: %d trained, %d proposals, %d call records, %d requests", f.trained, f.proposals, f.callRows, f.requests)
	if f.callRows != f.trained || f.requests != f.trained+repairs {
		t.Fatalf("%d calls and %d requests for %d trained children, want %d and %d (+%d repairs)", f.callRows, f.requests, f.trained, f.trained, f.trained+repairs, repairs)
	}
	for i, r := range srv.Requests() {
		user := r.Body.Messages[1].Content
		if n := strings.Count(user, "\n["); n > e.Config.Surrogate.M {
			t.Fatalf("request %d shows %d options, more than surrogate.m = %d", i, n, e.Config.Surrogate.M)
		}
	}
	checkSpend(t, rs, srv)
}
