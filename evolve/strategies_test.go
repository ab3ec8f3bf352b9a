package evolve_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/evolve/strategytest"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/llm/llmtest"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/testenv"
	"github.com/arbor-nas/arbor/tree"
)

// TestBuiltinStrategies runs strategytest on every built-in strategy:
// determinism, exact resume and budget accounting, as a third-party one
// must pass them.
func TestBuiltinStrategies(t *testing.T) {
	for _, def := range evolve.Builtins() {
		t.Run(def.Name, func(t *testing.T) {
			rig := strategytest.Rig{}
			if def.Name == evolve.StrategyCodegen {
				rig = codegenRig(t)
			}
			strategytest.Run(t, def, rig)
		})
	}
}

// codegenRig is codegen's search: a tree-less rewrite can only be checked
// by the dry run and trained by the real trainer (synthetic 1x28x28 data),
// and the coder is the llm provider against a mock endpoint whose answer
// depends only on the prompt (the parent's source), so runs repeat.
func codegenRig(t *testing.T) strategytest.Rig {
	python := testenv.Require(t, testenv.Torch)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tcfg := train.DefaultConfig()
	tcfg.Python = python
	tcfg.Dataset = train.Dataset{Name: "synthetic", ValSplit: 0.25}
	tcfg.Recipe.Subset, tcfg.Recipe.BatchSize, tcfg.Recipe.AMP, tcfg.Recipe.Threads, tcfg.Recipe.WarmupEpochs = 64, 32, false, 1, 0
	tcfg.Limits.WallSeconds = 120
	srv := llmtest.New()
	srv.Default = &llmtest.Step{Answer: rewriteByPrompt}
	t.Cleanup(srv.Close)
	return strategytest.Rig{
		Budget: 4,
		Config: func(c *evolve.Config) { c.DryRun = true },
		Engine: func(tb testing.TB, s *store.Store, cfg evolve.Config) *evolve.Engine {
			local, err := train.NewLocal(context.Background(), tcfg, quiet)
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { local.Close() })
			gate, err := train.NewGate(python, train.GateOptions{Timeout: 60 * time.Second, Log: quiet})
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { gate.Close() })
			job, err := tcfg.Job("", "", 1)
			if err != nil {
				tb.Fatal(err)
			}
			seed, err := tree.Seed("vgg-small", tree.Shape{C: 1, H: 28, W: 28}, 10)
			if err != nil {
				tb.Fatal(err)
			}
			return &evolve.Engine{Store: s, Planner: evolve.NewPlanner(cfg.Planner, cfg.Seed), Evaluator: local, DryRun: gate,
				Seeds: []*tree.Tree{seed}, Job: job, Config: cfg, Log: quiet}
		},
		Deps: func(tb testing.TB, s *store.Store, _ *evolve.StrategyDef, _ evolve.Config) evolve.Deps {
			lcfg := llm.DefaultConfig()
			lcfg.BaseURL, lcfg.Model, lcfg.MaxRetries = srv.URL(), "mock-coder", 0
			coder, err := llm.NewProvider(lcfg, llm.WithCallLogger(s), llm.WithLogger(quiet), llm.WithSpendLedger(s))
			if err != nil {
				tb.Fatal(err)
			}
			return evolve.Deps{Coder: coder, DryRun: true}
		},
	}
}

// rewriteByPrompt answers a codegen request with a small valid network
// whose width is a hash of the prompt: a different parent gets a different
// child, the same parent the same one.
func rewriteByPrompt(req llmtest.ChatRequest) string {
	h := fnv.New32a()
	for _, m := range req.Messages {
		h.Write([]byte(m.Content))
	}
	w := 4 + h.Sum32()%8
	return fmt.Sprintf("```python\nimport torch.nn as nn\n\n\nclass Candidate(nn.Module):\n    def __init__(self):\n        super().__init__()\n"+
		"        self.f = nn.Sequential(nn.Conv2d(1, %d, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(%d, 10))\n\n"+
		"    def forward(self, x):\n        return self.f(x)\n```\n", w, w)
}
