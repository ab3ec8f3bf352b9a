package evolve

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

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

// BenchmarkEngineStep measures the engine's own time per candidate on
// ResNet-56 with a 300-module catalog: parent selection, plan, options,
// offline resolve, transform, gate without the dry run (shapes,
// constraints, both hashes, render) and the store write. The baseline,
// timed in the same run, is what the gate cannot avoid: one Check plus
// one Render of ResNet-56.
func BenchmarkEngineStep(b *testing.B) {
	ctx := context.Background()
	mods := benchCatalog(300)
	cat := tree.MapCatalog{}
	for _, m := range mods {
		cat[m.ID] = m
	}
	seed, err := tree.Seed("resnet56", tree.Shape{C: 3, H: 32, W: 32}, 10)
	if err != nil {
		b.Fatal(err)
	}
	store, err := CreateStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	cfg := DefaultConfig()
	cfg.DryRun = false
	cfg.Budget.Trained = 1 << 30
	cfg.MaxRejectStreak = 1 << 30
	e := &Engine{Store: store, Planner: NewPlanner(cfg.Planner, 1), Config: cfg, Catalog: cat, Modules: mods,
		Seeds: []*tree.Tree{seed}, Job: train.Job{Input: [3]int{3, 32, 32}, Classes: 10,
			Limits: train.Limits{MaxParams: 1_500_000, MaxFLOPs: 200_000_000}},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	// No evaluator: nothing is trained here.
	if err := e.Config.Validate(); err != nil {
		b.Fatal(err)
	}
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

	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := e.proposeGated(ctx); err != nil {
			b.Fatal(err)
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	b.StopTimer()
	b.ReportMetric(float64(per.Microseconds())/1000, "ms/candidate")
	b.ReportMetric(float64(per)/float64(baseline), "x-check+render")
}
