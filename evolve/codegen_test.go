package evolve

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/llm/llmtest"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/testenv"
	"github.com/arbor-nas/arbor/tree"
)

const validRewrite = "Here is a leaner network.\n```python\nimport torch\nimport torch.nn as nn\n\n\nclass Candidate(nn.Module):\n" +
	"    def __init__(self):\n        super().__init__()\n        self.f = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),\n" +
	"                               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))\n\n    def forward(self, x):\n        return self.f(x)\n```\n"

const brokenRewrite = "```python\nimport torch.nn as nn\n\n\nclass Candidate(nn.Module):\n    def __init__(self):\n" +
	"        super().__init__()\n        raise RuntimeError('the model wrote a bug')\n\n    def forward(self, x):\n        return x\n```\n"

const validRewrite2 = "```python\nimport torch.nn as nn\n\n\nclass Candidate(nn.Module):\n" +
	"    def __init__(self):\n        super().__init__()\n        self.f = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),\n" +
	"                               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))\n\n    def forward(self, x):\n        return self.f(x)\n```\n"

// codegenRig is a codegen search on synthetic 1x28x28 data with the real
// trainer, the real dry-run gate and the llm provider against srv.
func codegenRig(t *testing.T, srv *llmtest.Server, budget int, limits llm.Limits) (*Engine, *Store) {
	t.Helper()
	ctx := context.Background()
	python := testenv.Require(t, testenv.Torch)
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
	t.Cleanup(func() { local.Close() })
	gate, err := train.NewGate(python, train.GateOptions{Timeout: 60 * time.Second, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gate.Close() })
	rs, err := store.CreateStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	lcfg := llm.DefaultConfig()
	lcfg.BaseURL, lcfg.Model, lcfg.MaxRetries, lcfg.Limits = srv.URL(), "mock-coder", 0, limits
	job, err := tcfg.Job("", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	job.Limits.MaxParams = 400_000
	coder, err := llm.NewProvider(lcfg, llm.WithCallLogger(rs), llm.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	seed, err := tree.Seed("vgg-small", tree.Shape{C: 1, H: 28, W: 28}, 10)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Strategy = StrategyCodegen
	cfg.Budget.Trained = budget
	cfg.Noise.Repeats = 0 // the codegen baseline learns no reward: no noise to measure
	e := &Engine{Store: rs, Planner: NewPlanner(cfg.Planner, 1), Evaluator: local, DryRun: gate,
		Seeds: []*tree.Tree{seed}, Job: job, Config: cfg, Log: quiet}
	return withStrategy(t, e, Deps{Coder: coder, DryRun: true}), rs
}

// checkSpend: the stored spend equals what the mock reported.
func checkSpend(t *testing.T, rs *Store, srv *llmtest.Server) {
	t.Helper()
	sum, err := rs.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	in, out := srv.Usage()
	if sum.LLM.Tokens != in+out {
		t.Fatalf("stored %d tokens, the mock reported %d", sum.LLM.Tokens, in+out)
	}
	cands, err := rs.Candidates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tokens := 0
	for _, c := range cands {
		tokens += c.LLMTokens
	}
	if tokens != in+out {
		t.Fatalf("candidates carry %d tokens, the mock reported %d", tokens, in+out)
	}
}

// TestCodegenBaseline runs the codegen strategy end to end through the
// llm provider: an answer without source is repaired, a rewrite that
// crashes is stopped by the dry run, one that breaks the constraints by
// the constraints on PyTorch's counts, a valid one trains.
func TestCodegenBaseline(t *testing.T) {
	ctx := context.Background()
	srv := llmtest.New(
		llmtest.Reply("I would add attention here, it is great."), // no code at all: repaired
		llmtest.Reply(brokenRewrite),
		llmtest.Reply(validRewrite), // 8 channels: 266 parameters
	)
	defer srv.Close()
	e, rs := codegenRig(t, srv, 2, llm.Limits{})
	runErr := e.Run(ctx)
	cands, err := rs.Candidates(ctx)
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
	if cands[2].Result.Params != wantParams {
		t.Errorf("rewritten net has %d params, want %d as PyTorch counts them", cands[2].Result.Params, wantParams)
	}
	sum, err := rs.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Codegen == nil || sum.Codegen.Proposed != 2 || sum.Codegen.Invalid != 1 {
		t.Fatalf("codegen rate %+v, want 2 proposed, 1 invalid", sum.Codegen)
	}
	if sum.LLM.Decisions != 2 || sum.LLM.Requests != 3 || sum.LLM.Repairs != 1 || len(srv.Requests()) != 3 {
		t.Fatalf("stored %+v, mock saw %d requests: want 2 decisions, 3 requests, 1 repair", sum.LLM, len(srv.Requests()))
	}
	if !strings.Contains(srv.Requests()[0].Body.Messages[1].Content, "at most 400000 parameters") {
		t.Error("the codegen prompt does not state the constraints")
	}
	checkSpend(t, rs, srv)
}

// TestCodegenSpendLimit: llm.limits.max_calls stops the calls; the search
// goes on offline, by tree transformations, and the spend equals the
// mock's usage.
func TestCodegenSpendLimit(t *testing.T) {
	ctx := context.Background()
	srv := llmtest.New(llmtest.Reply(validRewrite), llmtest.Reply(validRewrite2))
	defer srv.Close()
	e, rs := codegenRig(t, srv, 5, llm.Limits{MaxCalls: 2})
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Fatalf("%d requests, want llm.limits.max_calls = 2", n)
	}
	cands, err := rs.Candidates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var codegen, offline int
	for _, c := range cands {
		switch {
		case c.Op == OpCodegen && c.Status == StatusTrained:
			codegen++
		case c.Op != OpSeed && c.Op != OpCodegen && c.Status == StatusTrained:
			offline++
			if c.LLMTokens != 0 || c.Tree == nil {
				t.Errorf("offline child %s: %d tokens, tree %v", c.ID, c.LLMTokens, c.Tree != nil)
			}
		}
	}
	if codegen != 2 || offline != 2 {
		t.Fatalf("%d codegen and %d offline children trained, want 2 and 2", codegen, offline)
	}
	checkSpend(t, rs, srv)
}
