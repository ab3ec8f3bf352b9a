package evolve

import (
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/llm/llmtest"
	"github.com/arbor-nas/arbor/mine"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/testenv"
	"github.com/arbor-nas/arbor/tree"
)

// TestFrugalRealTree is the fashion-mnist example's search (ResNet-20 at
// 1x28x28, all six operations, a mined torchvision catalog) with an
// endpoint that picks a random offered option, and a synthetic evaluator:
// it counts proposals and calls per trained candidate. The catalog is
// mined and probed here from torchvision's models, as
// `arbor mine .../torchvision/models --probe` does, and read back through
// catalog.json as `arbor evolve` reads it.
func TestFrugalRealTree(t *testing.T) {
	root := testenv.Require(t, testenv.Torchvision)
	testenv.Require(t, testenv.Torch)
	mcfg := mine.DefaultConfig()
	mined, _, err := mine.Mine(t.Context(), []string{root}, mcfg, mine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := mine.ProbeCatalog(t.Context(), mined, mcfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "catalog.json")
	if err := mined.Save(path); err != nil {
		t.Fatal(err)
	}
	c, err := mine.LoadCatalog(path)
	if err != nil {
		t.Fatal(err)
	}
	cat := c.Specs()
	var mods []*tree.ModuleSpec
	for _, id := range slices.Sorted(maps.Keys(cat)) {
		mods = append(mods, cat[id])
	}
	t.Logf("catalog: %d usable modules", len(mods))
	srv := llmtest.New()
	step := llmtest.RandomOffered()
	srv.Default = &step
	defer srv.Close()
	rs, err := store.CreateStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	lcfg := llm.DefaultConfig()
	lcfg.BaseURL, lcfg.Model = srv.URL(), "mock-model"
	res, err := llm.New(lcfg, llm.WithCallLogger(rs), llm.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	e := composeEngine(t, rs, 100, AllOps...)
	e.Catalog, e.Modules = cat, mods
	withStrategy(t, e, Deps{Resolver: res})
	e.Config.Parallel = 2
	runEngine(t, e)
	f := measure(t, rs, srv)
	slices.Sort(f.engineMS)
	t.Logf("ResNet-20 + torchvision catalog + random-option endpoint: %d trained, %d proposals (%.3f per trained), %d rejected %v, %d HTTP requests (%.3f per trained), %d calls on rejected children, repeat %d/%d rejected; engine ms median %.1f p90 %.1f",
		f.trained, f.proposals, float64(f.proposals)/float64(f.trained), f.rejected, f.byGate, f.requests, float64(f.requests)/float64(f.trained), f.callsOnRejected, f.repeatsRejected, f.repeats,
		f.engineMS[len(f.engineMS)/2], f.engineMS[len(f.engineMS)*9/10])
	if f.trained != 99 || float64(f.proposals)/float64(f.trained) > 1.2 || float64(f.requests)/float64(f.trained) > 1.1 || f.callsOnRejected != 0 {
		t.Fatal("the real-tree search is not frugal")
	}
	sum, _ := rs.Summary(t.Context())
	t.Logf("pre-gate filtered: %v; ops: %v", sum.PreGate, opsCount(t, rs))
}

func opsCount(t *testing.T, s *Store) map[string]int {
	cs, _ := s.Candidates(t.Context())
	m := map[string]int{}
	for _, c := range cs {
		m[c.Op]++
	}
	return m
}

var _ train.Evaluator = synthetic{}
