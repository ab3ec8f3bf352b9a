package evolve

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/tree"
)

// benchCatalog is a 300-module catalog of shape-preserving blocks with
// distinct sources and costs, the size of a real mined catalog.
func benchCatalog(n int) []*tree.ModuleSpec {
	mods := make([]*tree.ModuleSpec, n)
	for i := range mods {
		name := fmt.Sprintf("Block%03d", i)
		k := 1 + 2*(i%3)
		mods[i] = &tree.ModuleSpec{
			ID: fmt.Sprintf("m%03d", i), Name: name, QualName: "bench." + name, Category: "conv-block",
			Source: fmt.Sprintf("import torch.nn as nn\n\nclass %s(nn.Module):\n    def __init__(self, ch):\n        super().__init__()\n        self.conv = nn.Conv2d(ch, ch, %d, padding=%d, bias=False)\n        self.bn = nn.BatchNorm2d(ch)\n\n    def forward(self, x):\n        return self.bn(self.conv(x))\n", name, k, k/2),
			InArg:  "ch", SameWidth: true, PreservesShape: true, Inputs: 1,
			ParamPoly: [3]float64{0, 2, float64(k * k)}, MACPoly: [3]float64{0, 0, float64(k * k * 32 * 32)}, RefHW: 32,
		}
	}
	return mods
}

// BenchmarkEngineStep measures the engine's own time per candidate:
// parent selection, plan, pre-gated options (each of up to max_options
// children applied, checked, hashed, rendered and code-hashed), offline
// resolve and the store write; no dry run. The baseline, timed in the
// same run, is one Check plus one Render of the seed: pre-gating costs
// about one of those per offered child.
func BenchmarkEngineStep(b *testing.B) {
	b.Run("resnet20-catalog40", func(b *testing.B) { benchEngineStep(b, "resnet20", 40) })
	b.Run("resnet56-catalog300", func(b *testing.B) { benchEngineStep(b, "resnet56", 300) })
}

func benchEngineStep(b *testing.B, seedName string, modules int) {
	ctx := context.Background()
	mods := benchCatalog(modules)
	cat := tree.MapCatalog{}
	for _, m := range mods {
		cat[m.ID] = m
	}
	seed, err := tree.Seed(seedName, tree.Shape{C: 3, H: 32, W: 32}, 10)
	if err != nil {
		b.Fatal(err)
	}
	rs, err := store.CreateStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer rs.Close()
	cfg := DefaultConfig()
	cfg.DryRun = false
	cfg.Budget.Trained = 1 << 30
	cfg.MaxRejectStreak = 1 << 30
	e := &Engine{Store: rs, Planner: NewPlanner(cfg.Planner, 1), Config: cfg, Catalog: cat, Modules: mods,
		Seeds: []*tree.Tree{seed}, Job: train.Job{Input: [3]int{3, 32, 32}, Classes: 10,
			Limits: train.Limits{MaxParams: 1_500_000, MaxFLOPs: 200_000_000}},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	// No evaluator: nothing is trained here.
	if err := e.Config.Validate(); err != nil {
		b.Fatal(err)
	}
	e.strategy, e.env = NewThompson(nil), &Env{e}
	queue, err := e.load(ctx)
	if err != nil {
		b.Fatal(err)
	}
	e.started = time.Now()
	for _, c := range queue { // the seed is the parent: mark it trained
		e.inFlight[c.ID] = c
		if err := e.finish(ctx, jobDone{id: c.ID, res: train.Result{Status: train.StatusOK, ValAcc: 50}}); err != nil {
			b.Fatal(err)
		}
	}

	base := time.Now()
	const baseN = 20
	for range baseN {
		if _, err := tree.Check(seed, cat); err != nil {
			b.Fatal(err)
		}
		if _, err := tree.Render(seed, cat); err != nil {
			b.Fatal(err)
		}
	}
	baseline := time.Since(base) / baseN

	baseCPU := cpuTime()
	for range baseN {
		tree.Check(seed, cat)
		tree.Render(seed, cat)
	}
	baselineCPU := (cpuTime() - baseCPU) / baseN

	b.ResetTimer()
	start, startCPU := time.Now(), cpuTime()
	for range b.N {
		if _, err := e.proposeGated(ctx); err != nil {
			b.Fatal(err)
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	perCPU := (cpuTime() - startCPU) / time.Duration(b.N)
	b.StopTimer()
	b.ReportMetric(float64(per.Microseconds())/1000, "ms/candidate")
	b.ReportMetric(float64(per)/float64(baseline), "x-check+render")
	// CPU time is what the engine costs on a shared machine, where wall
	// time also counts other processes (GC workers included).
	b.ReportMetric(float64(perCPU.Microseconds())/1000, "cpu-ms/candidate")
	b.ReportMetric(float64(perCPU)/float64(baselineCPU), "cpu-x-check+render")
}

// cpuTime is this process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
