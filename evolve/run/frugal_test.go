package run_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm/llmtest"
	"github.com/arbor-nas/arbor/train/traintest"
)

// TestNB201ExampleIsFrugal runs examples/nasbench201.yaml as shipped,
// through the library's assembly, with llm.base_url pointing at an
// endpoint that answers a uniformly random offered option with empty
// arguments: the run completes its 100, at most 1.2 proposals and 1.1
// HTTP requests per trained candidate, and no call is spent on a child
// the gate rejects.
func TestNB201ExampleIsFrugal(t *testing.T) {
	table, _ := traintest.NB201(t)
	srv := llmtest.New()
	step := llmtest.RandomOffered()
	srv.Default = &step
	defer srv.Close()
	cfg, err := run.Load(filepath.Join("..", "..", "examples", "nasbench201.yaml"), map[string]any{
		"run.dir":      filepath.Join(t.TempDir(), "run"),
		"run.table":    table,
		"llm.base_url": srv.URL(),
		"llm.model":    "mock-model",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := run.Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := run.Build(ctx, cfg, db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Engine.Run(ctx); err != nil {
		t.Fatal(err)
	}
	sum, err := db.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cands, err := db.Candidates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rejected := map[string]bool{}
	for _, c := range cands {
		if c.Status == store.StatusRejected {
			rejected[c.ID] = true
		}
	}
	wasted := 0
	calls, err := db.Calls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		if rejected[c.CandidateID] {
			wasted++
		}
	}
	requests := len(srv.Requests())
	t.Logf("examples/nasbench201.yaml + random-option endpoint: %d trained (seed included), %.3f proposals, %.3f decisions, %d HTTP requests (%.3f) per trained; rejected %v; %d calls on rejected children; pre-gate filtered %v",
		sum.Trained, sum.LLMPerTrained.Proposals, sum.LLMPerTrained.Decisions, requests, float64(requests)/float64(sum.Trained), sum.RejectedByReason, wasted, sum.PreGate)
	if sum.Trained != 100 {
		t.Fatalf("trained %d, want the budget of 100", sum.Trained)
	}
	if sum.LLMPerTrained.Proposals > 1.2 || float64(requests)/float64(sum.Trained) > 1.1 {
		t.Fatalf("%.3f proposals and %.3f requests per trained candidate", sum.LLMPerTrained.Proposals, float64(requests)/float64(sum.Trained))
	}
	if wasted != 0 || sum.RejectedByReason[store.GateDuplicate] != 0 || sum.RejectedByReason[store.GateSpace] != 0 {
		t.Fatalf("%d calls on rejected children; rejected %v", wasted, sum.RejectedByReason)
	}
}
