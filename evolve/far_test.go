package evolve

import (
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve/store"
)

// TestFarMovesWhenStalled: the diversity category reaches one edit until
// the search stalls, then one more per StallConfig.After candidates
// without a new best, up to MaxEdits; every far option is a chain of that
// many edits, pre-gated like any option.
func TestFarMovesWhenStalled(t *testing.T) {
	rs, err := store.CreateStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	e := composeEngine(t, rs, 8, OpChangeArg)
	e.Config.Stall = StallConfig{After: 2, MaxEdits: 3}
	runEngine(t, e)
	best := e.arch.best
	// Make every candidate after the first one worse than it: the search
	// has stalled for len(feasible)-1 candidates.
	e.arch.best = e.arch.feasible[0]
	stall := e.sinceBest()
	if stall != len(e.arch.feasible)-1 {
		t.Fatalf("sinceBest = %d, want %d", stall, len(e.arch.feasible)-1)
	}
	for _, tc := range []struct {
		cat  string
		want int
	}{{CatExploit, 1}, {CatReverse, 1}, {CatDiversity, min(3, 1+stall/2)}} {
		if got := e.reach(tc.cat); got != tc.want {
			t.Errorf("reach(%s) = %d, want %d", tc.cat, got, tc.want)
		}
	}
	e.Config.Stall.MaxEdits = 1
	if e.reach(CatDiversity) != 1 {
		t.Error("max_edits 1 does not switch far moves off")
	}
	e.arch.best = best
	if e.reach(CatDiversity) != 1 && e.sinceBest() < 2 {
		t.Error("far moves before the search stalled")
	}

	parent := e.arch.feasible[0]
	offers, err := e.offers(parent, OpChangeArg, 77, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	if offers.Len() == 0 {
		t.Fatal("no far option")
	}
	d := e.decision(offers, CatDiversity, 77)
	for i, x := range offers.list {
		if len(x.children) != 1 || strings.Count(x.children[0].far, "; then ") != 2 {
			t.Fatalf("option %d: %d children, far %q: want one chain of three edits", i, len(x.children), x.children[0].far)
		}
		if !strings.HasSuffix(d.Options[i].Description, x.children[0].far) {
			t.Fatalf("option %d: the resolver is not shown the further edits: %q", i, d.Options[i].Description)
		}
		if x.children[0].hash == parent.Hash {
			t.Fatalf("option %d: the chain returns to the parent", i)
		}
	}
}
