package evolve

import (
	"math/rand/v2"
	"testing"

	"github.com/arbor-nas/arbor/train"
)

func trainedCand(seq int64, acc float64) *Candidate {
	return &Candidate{Seq: seq, ID: candidateID(seq), Status: StatusTrained, Result: train.Result{Status: train.StatusOK, ValAcc: acc}}
}

func TestSelectParent(t *testing.T) {
	a := newArchive()
	accs := []float64{50, 90, 70, 90, 10, 80, 60}
	for i, acc := range accs {
		c := trainedCand(int64(i+1), acc)
		a.add(c)
		a.finished(c)
	}
	tests := []struct {
		name    string
		cfg     ParentConfig
		allowed map[string]bool
	}{
		{"top1 is the earliest best", ParentConfig{Method: ParentsTopK, K: 1}, map[string]bool{"c00002": true}},
		{"top3", ParentConfig{Method: ParentsTopK, K: 3}, map[string]bool{"c00002": true, "c00004": true, "c00006": true}},
		{"topk larger than archive", ParentConfig{Method: ParentsTopK, K: 50}, nil},
		{"tournament of all is the best", ParentConfig{Method: ParentsTournament, TournamentSize: 7}, map[string]bool{"c00002": true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			seen := map[string]bool{}
			for range 300 {
				p := a.selectParent(tc.cfg, rng)
				seen[p.ID] = true
				if tc.allowed != nil && !tc.allowed[p.ID] {
					t.Fatalf("picked %s (acc %.0f), not allowed", p.ID, p.Result.ValAcc)
				}
			}
			if tc.allowed != nil && len(seen) != len(tc.allowed) {
				t.Fatalf("picked %v, want every one of %v", seen, tc.allowed)
			}
			if tc.allowed == nil && len(seen) != len(accs) {
				t.Fatalf("picked %d distinct parents, want all %d", len(seen), len(accs))
			}
		})
	}
	// A small tournament sometimes picks a weaker parent: selection pressure, not greed.
	rng := rand.New(rand.NewPCG(3, 4))
	weak := 0
	for range 500 {
		if Tournament(a.feasible, 2, rng).Result.ValAcc < 90 {
			weak++
		}
	}
	if weak == 0 || weak == 500 {
		t.Fatalf("tournament of 2 picked a non-best parent %d/500 times", weak)
	}
}

func TestPopulationAgesOut(t *testing.T) {
	a := newArchive()
	for i := range 10 {
		c := trainedCand(int64(i+1), float64(100-i))
		a.add(c)
		a.finished(c)
	}
	pop := a.population(4)
	if len(pop) != 4 || pop[0].ID != "c00007" || pop[3].ID != "c00010" {
		t.Fatalf("population = %v, want the 4 youngest c00007..c00010", ids(pop))
	}
	// The best ever (c00001, 100%) has aged out: regularized evolution forgets it.
	for _, c := range pop {
		if c.ID == "c00001" {
			t.Fatal("the oldest candidate is still in the population")
		}
	}
}

func ids(cs []*Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestDedupSeesFailedCandidates(t *testing.T) {
	a := newArchive()
	failed := &Candidate{Seq: 1, ID: "c00001", Hash: "h1", CodeHash: "k1", Status: StatusFailed}
	rejected := &Candidate{Seq: 2, ID: "c00002", Hash: "h2", CodeHash: "k2", Status: StatusRejected, Gate: GateDryRun}
	a.add(failed)
	a.add(rejected)
	tests := []struct {
		hash, code string
		dupOf      string
	}{
		{"h1", "", "c00001"},
		{"", "k2", "c00002"},
		{"h3", "k1", "c00001"},
		{"h3", "k3", ""},
	}
	for _, tc := range tests {
		id, _, dup := a.duplicateOf(tc.hash, tc.code)
		if dup != (tc.dupOf != "") || id != tc.dupOf {
			t.Errorf("duplicateOf(%q,%q) = %q,%v; want %q", tc.hash, tc.code, id, dup, tc.dupOf)
		}
	}
}

func TestNormalizeCode(t *testing.T) {
	a := "class Candidate(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
	b := "class  Candidate(nn.Module):\n\n\tdef __init__(self):   \n        super().__init__()"
	c := "class Candidate(nn.Module):\n    def __init__(self):\n        super().__init__(1)\n"
	if codeHash(a) != codeHash(b) {
		t.Fatal("whitespace-only differences changed the code hash")
	}
	if codeHash(a) == codeHash(c) {
		t.Fatal("a real code change kept the code hash")
	}
}
