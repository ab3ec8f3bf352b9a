package evolve

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/llm/llmtest"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/child"
	"github.com/arbor-nas/arbor/tree"
)

const validRewrite = "Here is a leaner network.\n```python\nimport torch\nimport torch.nn as nn\n\n\nclass Candidate(nn.Module):\n" +
	"    def __init__(self):\n        super().__init__()\n        self.f = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),\n" +
	"                               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))\n\n    def forward(self, x):\n        return self.f(x)\n```\n"

const brokenRewrite = "```python\nimport torch.nn as nn\n\n\nclass Candidate(nn.Module):\n    def __init__(self):\n" +
	"        super().__init__()\n        raise RuntimeError('the model wrote a bug')\n\n    def forward(self, x):\n        return x\n```\n"

// TestCodegenBaseline runs the codegen strategy end to end: the mocked
// model's rewrites go through the real dry-run gate and the real trainer;
// invalid ones are rejected and counted separately.
func TestCodegenBaseline(t *testing.T) {
	ctx := context.Background()
	python, err := child.FindPython(ctx, "")
	if err != nil {
		t.Skipf("no Python with torch: %v", err)
	}
	srv := llmtest.New(
		llmtest.Reply("I would add attention here, it is great."), // no code at all
		llmtest.Reply(brokenRewrite),
		llmtest.Reply(validRewrite),
	)
	defer srv.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	tcfg := train.DefaultConfig()
	tcfg.Python = python
	tcfg.Dataset = train.Dataset{Name: "synthetic", ValSplit: 0.25}
	tcfg.Recipe.Subset, tcfg.Recipe.BatchSize, tcfg.Recipe.AMP, tcfg.Recipe.Threads, tcfg.Recipe.WarmupEpochs = 64, 32, false, 1, 0
	tcfg.Limits.WallSeconds = 120
	local, err := train.NewLocal(ctx, tcfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	gate, err := train.NewGate(python, train.GateOptions{Timeout: 60 * time.Second, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()

	store, err := CreateStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	lcfg := llm.DefaultConfig()
	lcfg.BaseURL, lcfg.Model, lcfg.MaxRetries = srv.URL(), "mock-coder", 0
	job, err := tcfg.Job("", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	coder, err := NewOpenAICoder(lcfg, store, "input 1x28x28, 10 classes")
	if err != nil {
		t.Fatal(err)
	}
	seed, err := tree.Seed("vgg-small", tree.Shape{C: 1, H: 28, W: 28}, 10)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Strategy = StrategyCodegen
	cfg.Budget.Trained = 2
	e := &Engine{Store: store, Planner: NewPlanner(cfg.Planner, 1), Evaluator: local, DryRun: gate, Coder: coder,
		Seeds: []*tree.Tree{seed}, Job: job, Config: cfg, Log: quiet}
	runErr := e.Run(ctx)
	cands, err := store.Candidates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if runErr != nil {
		for _, c := range cands[:min(6, len(cands))] {
			t.Logf("%s %s %s %s: %s", c.ID, c.Op, c.Status, c.Gate, c.Reason)
		}
		t.Fatal(runErr)
	}
	want := []struct {
		op     string
		status Status
		gate   string
	}{
		{OpSeed, StatusTrained, GatePass},
		{OpCodegen, StatusRejected, GateProposal},
		{OpCodegen, StatusRejected, GateDryRun},
		{OpCodegen, StatusTrained, GatePass},
	}
	if len(cands) != len(want) {
		t.Fatalf("%d candidates, want %d", len(cands), len(want))
	}
	for i, w := range want {
		c := cands[i]
		if c.Op != w.op || c.Status != w.status || c.Gate != w.gate {
			t.Errorf("candidate %d: %s %s %s (%s), want %s %s %s", i, c.Op, c.Status, c.Gate, c.Reason, w.op, w.status, w.gate)
		}
	}
	const wantParams = (8*9 + 8) + 2*8 + (8*10 + 10) // conv with bias, batch norm, linear
	if cands[3].Result.Params != wantParams {
		t.Errorf("rewritten net has %d params, want %d as PyTorch counts them", cands[3].Result.Params, wantParams)
	}
	sum, err := store.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Codegen == nil || sum.Codegen.Proposed != 3 || sum.Codegen.Invalid != 2 {
		t.Fatalf("codegen rate %+v, want 3 proposed, 2 invalid", sum.Codegen)
	}
	if sum.LLM.Decisions != 3 {
		t.Fatalf("%d LLM decisions stored, want 3", sum.LLM.Decisions)
	}
}
