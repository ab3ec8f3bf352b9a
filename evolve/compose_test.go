package evolve

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/testenv"
	"github.com/arbor-nas/arbor/tree"
)

// synthetic is a fast stand-in evaluator for counting tests: accuracy is
// a deterministic function of the source.
type synthetic struct{}

func (synthetic) Close() error { return nil }

func (synthetic) Evaluate(ctx context.Context, job train.Job, _ func(train.Progress)) (train.Result, error) {
	h := sha256.Sum256([]byte(job.Source))
	acc := 50 + float64(binary.BigEndian.Uint16(h[:2])%4000)/100
	return train.Result{ID: job.ID, Status: train.StatusOK, ValAcc: acc, TestAcc: acc}, nil
}

func composeEngine(t *testing.T, rs *Store, budget int, ops ...string) *Engine {
	t.Helper()
	s, err := tree.Seed("resnet20", tree.Shape{C: 1, H: 28, W: 28}, 10)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.DryRun, cfg.Budget.Trained, cfg.Seed = false, budget, 3
	cfg.Planner.Ops = ops
	e := &Engine{Store: rs, Planner: NewPlanner(cfg.Planner, cfg.Seed), Evaluator: synthetic{}, Config: cfg,
		Seeds: []*tree.Tree{s}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Job: train.Job{Input: [3]int{1, 28, 28}, Classes: 10, Limits: train.Limits{MaxParams: 1_500_000, MaxFLOPs: 200_000_000}}}
	return withStrategy(t, e, Deps{})
}

// blocks returns the composite blocks of a stored tree: name -> sites.
func blocks(t *testing.T, c Candidate) map[string][]string {
	t.Helper()
	tr, err := tree.Parse(c.Tree)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	tr.Walk(func(path string, n *tree.Node) bool {
		if n.Block != "" {
			out[n.Block] = append(out[n.Block], path)
		}
		return true
	})
	return out
}

// TestComposeCreatesComposite: a compose child defines a composite block
// from a span inside a stage or block body and places it at another site;
// the block renders as its own class, runs in PyTorch, joins the palette,
// and survives the process dying (the store reopened by a new engine).
func TestComposeCreatesComposite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rs, err := store.CreateStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := composeEngine(t, rs, 5, OpCompose)
	// No option spans the root's stem or head.
	seed := e.Seeds[0]
	for _, o := range e.composeOptions("seed", seed) {
		if !tree.InBody(o.Path) || o.place == nil || !tree.InBody(o.place.path) || o.place.path == o.Path && (o.place.index == o.Index || o.place.index == o.Index+1) {
			t.Fatalf("compose option %s [%d,%d) placed at %v: a span or a copy outside the stages, or an in-place copy", o.Path, o.Index, o.To, o.place)
		}
	}
	runEngine(t, e)
	cands, err := rs.Candidates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var composed []Candidate
	for _, c := range cands {
		if c.Op == OpCompose && c.Status == StatusTrained {
			composed = append(composed, c)
		}
	}
	if len(composed) != 4 {
		t.Fatalf("%d compose children trained, want 4", len(composed))
	}
	names := map[string]bool{}
	for _, c := range composed {
		sites := blocks(t, c)[c.Module]
		if c.Module == "" || len(sites) < 2 {
			t.Fatalf("%s: block %q at %v: want it defined in place and placed at another site", c.ID, c.Module, sites)
		}
		for _, s := range sites {
			if strings.Count(s, "/") < 2 || !tree.InBody(s) {
				t.Fatalf("%s: block %s sits at %s, outside the stages and block bodies", c.ID, c.Module, s)
			}
		}
		if !strings.Contains(c.Source, "class Block_"+c.Module+"(nn.Module)") {
			t.Fatalf("%s: the block is not its own class in the source", c.ID)
		}
		if c.Args["definition"] == "" || c.Args["placed_at"] == "" {
			t.Fatalf("%s: the stored edit lacks the block's definition or site: %v", c.ID, c.Args)
		}
		names[c.Module] = true
	}
	// The palette offers the composites for insert and swap.
	palette := e.palette(e.rngFor(1, rngPalette))
	inPalette := func(eng *Engine) int {
		n := 0
		for _, p := range eng.palette(eng.rngFor(1, rngPalette)) {
			if names[p.Block] {
				n++
			}
		}
		return n
	}
	if inPalette(e) != len(names) {
		t.Fatalf("the palette (%d nodes) lacks the run's %d composites", len(palette), len(names))
	}
	rs.Close() // the process dies here; every result is in the store

	store2, err := store.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store2.Close()
	e2 := composeEngine(t, store2, 12, OpInsert, OpSwap)
	runEngine(t, e2)
	if inPalette(e2) != len(names) {
		t.Fatal("after resume the composites are no longer in the palette")
	}
	cands, _ = store2.Candidates(ctx)
	placed := 0
	for _, c := range cands[len(composed)+1:] {
		if names[c.Module] && (c.Op == OpInsert || c.Op == OpSwap) {
			placed++
		}
	}
	t.Logf("%d composites; after resume %d insert/swap children placed one", len(names), placed)

	// The exported source of a compose child runs in PyTorch.
	python := testenv.Require(t, testenv.Torch)
	gate, err := train.NewGate(python, train.GateOptions{Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	r, err := gate.Check(ctx, composed[0].Source, [3]int{1, 28, 28}, 10)
	if err != nil || r.Status != train.StatusOK || r.Params != composed[0].Params {
		t.Fatalf("PyTorch on %s: %+v, %v (tree counts %d parameters)", composed[0].ID, r, err, composed[0].Params)
	}
}

// measured is a DryRunner that reports fixed counts.
type measured struct{ params, flops int64 }

func (m measured) Check(context.Context, string, [3]int, int) (train.GateResult, error) {
	return train.GateResult{Status: train.StatusOK, Params: m.params, FLOPs: m.flops}, nil
}

// TestEvolveJudgesDryRunCounts: the dry run only measures; the engine
// applies train.limits to PyTorch's counts, with the rule it applies to
// the tree's.
func TestEvolveJudgesDryRunCounts(t *testing.T) {
	e := &Engine{Config: Config{DryRun: true}, Job: train.Job{Limits: train.Limits{MaxParams: 1000, MaxFLOPs: 5000}}}
	for _, tc := range []struct {
		m    measured
		gate string
	}{{measured{999, 5000}, ""}, {measured{1001, 10}, GateConstraints}, {measured{10, 5001}, GateConstraints}} {
		e.DryRun = tc.m
		p := &Proposal{Candidate: &Candidate{ID: "c1"}}
		if err := e.dryRun(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		if p.Candidate.Gate != tc.gate || (tc.gate != "" && !strings.HasPrefix(p.Candidate.Reason, "dry-run: max_")) {
			t.Fatalf("%+v: gate %q (%s), want %q", tc.m, p.Candidate.Gate, p.Candidate.Reason, tc.gate)
		}
	}
}

// TestRepeatComposePlacesTheWinningBlock: repeating a winning compose
// offers only inserts of that very block, at sites inside the stages.
func TestRepeatComposePlacesTheWinningBlock(t *testing.T) {
	rs, err := store.CreateStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	e := composeEngine(t, rs, 6, OpCompose)
	runEngine(t, e)
	var win *Candidate
	for _, c := range e.arch.order {
		if c.Op == OpCompose && c.Status == StatusTrained {
			c.Reward = 1 // as if it beat its parent
			win = c
			break
		}
	}
	if win == nil {
		t.Fatal("no compose child trained")
	}
	kinds, prefer := e.treeOps(OpRepeat, win)
	if len(kinds) != 1 || kinds[0] != tree.OpInsert || prefer == nil {
		t.Fatalf("repeat of a compose: kinds %v, want one insert with a filter", kinds)
	}
	offers, err := e.offers(win, OpRepeat, 99, 50, 1)
	if err != nil {
		t.Fatal(err)
	}
	if offers.Len() == 0 {
		t.Fatal("repeat of a compose offers nothing")
	}
	for _, x := range offers.list {
		if x.opt.Op != tree.OpInsert || x.opt.moduleName() != win.Module || !tree.InBody(x.opt.Path) {
			t.Fatalf("repeat offered %s of %q at %s; want an insert of the winning block %s inside a stage", x.opt.Op, x.opt.moduleName(), x.opt.Path, win.Module)
		}
	}
}
