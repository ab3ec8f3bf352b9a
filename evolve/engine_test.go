package evolve

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/traintest"
	"github.com/arbor-nas/arbor/tree"
)

// nb201Engine is a search over the NAS-Bench-201 space answered by the
// real tabular evaluator: fast and deterministic.
func nb201Engine(tb testing.TB, table *train.NB201Table, store *Store, seed uint64, budget int, res llm.Resolver) *Engine {
	tb.Helper()
	tab, err := train.NewTabular(table, "cifar10")
	if err != nil {
		tb.Fatal(err)
	}
	s, err := tree.Seed("nb201-resnet", tree.Shape{C: 3, H: 32, W: 32}, 10)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Seed = seed
	cfg.Budget.Trained = budget
	cfg.DryRun = false
	cfg.Planner.Ops = []string{OpChangeArg, OpRepeat}
	e := &Engine{Store: store, Planner: NewPlanner(cfg.Planner, seed), Evaluator: tab,
		Seeds: []*tree.Tree{s}, Arch: tree.NB201Arch, Filter: CellEdges, Config: cfg,
		Job: train.Job{Input: [3]int{3, 32, 32}, Classes: 10}}
	return withStrategy(tb, e, Deps{Resolver: res})
}

// sequence is the run as the determinism guarantee states it: every
// candidate in proposal order, with its hash and outcome.
func sequence(tb testing.TB, s *Store) []string {
	tb.Helper()
	cs, err := s.Candidates(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s %s %s %s %s %s %.2f", c.ID, orNone(c.ParentID), c.Op, orNone(c.Hash), c.Status, c.Gate, c.Result.ValAcc))
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runEngine(tb testing.TB, e *Engine) {
	tb.Helper()
	if err := e.Run(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

func TestDeterminism(t *testing.T) {
	_, table := traintest.NB201(t)
	run := func(seed uint64) ([]string, store.Summary) {
		s, err := store.CreateStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		runEngine(t, nb201Engine(t, table, s, seed, 40, nil))
		sum, err := s.Summary(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return sequence(t, s), sum
	}
	a, sumA := run(7)
	b, _ := run(7)
	c, _ := run(8)
	if sumA.Trained != 40 {
		t.Fatalf("trained %d, want the budget of 40", sumA.Trained)
	}
	if !slices.Equal(a, b) {
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("same seed diverged at candidate %d:\n%s\n%s", i, a[i], b[i])
			}
		}
		t.Fatalf("same seed gave %d and %d candidates", len(a), len(b))
	}
	if slices.Equal(a, c) {
		t.Fatal("a different seed gave the identical sequence")
	}
	// Nothing is trained twice.
	seen := map[string]string{}
	for _, line := range a {
		var id, parent, op, hash, status, gate string
		var acc float64
		fmt.Sscanf(line, "%s %s %s %s %s %s %f", &id, &parent, &op, &hash, &status, &gate, &acc)
		if status == string(StatusTrained) || status == string(StatusFailed) {
			if prev, dup := seen[hash]; dup {
				t.Fatalf("%s and %s trained the same architecture %s", prev, id, hash)
			}
			seen[hash] = id
		}
	}
}

// TestResumeContinuesExactly stops a run at a smaller budget and resumes it
// with a new engine (as a new process would): the combined run must equal
// an uninterrupted one, candidate by candidate, which needs the planner's
// posteriors and RNG stream, the archive and the counters all restored.
func TestResumeContinuesExactly(t *testing.T) {
	_, table := traintest.NB201(t)
	ctx := context.Background()
	whole, err := store.CreateStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer whole.Close()
	runEngine(t, nb201Engine(t, table, whole, 3, 30, nil))

	dir := t.TempDir()
	first, err := store.CreateStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	runEngine(t, nb201Engine(t, table, first, 3, 12, nil))
	first.Close()
	again, err := store.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	e := nb201Engine(t, table, again, 3, 30, nil)
	var resumed []Event
	e.Events = func(ev Event) { resumed = append(resumed, ev) }
	runEngine(t, e)
	if resumed[0].Kind != EventResumed {
		t.Fatalf("first event of the second run is %s, want %s", resumed[0].Kind, EventResumed)
	}
	a, b := sequence(t, whole), sequence(t, again)
	if !slices.Equal(a, b) {
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("resumed run diverged at candidate %d:\nwhole:   %s\nresumed: %s", i, a[i], b[i])
			}
		}
		t.Fatalf("whole run has %d candidates, resumed %d", len(a), len(b))
	}
	n, err := again.TrainedCount(ctx)
	if err != nil || n != 30 {
		t.Fatalf("trained %d (%v), want 30", n, err)
	}
	seeds := 0
	for _, line := range b {
		var id, parent, op string
		fmt.Sscanf(line, "%s %s %s", &id, &parent, &op)
		if op == OpSeed {
			seeds++
		}
	}
	if seeds != 1 {
		t.Fatalf("%d seed candidates after resume, want 1", seeds)
	}
}

// TestInFlightAlwaysRequeued fakes what killed processes leave behind:
// one candidate lost in flight once, one lost five times. A job lost because
// arbor died says nothing about the candidate: both are trained on resume,
// neither is marked crashed, and the store says how often each was lost.
func TestInFlightAlwaysRequeued(t *testing.T) {
	_, table := traintest.NB201(t)
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.CreateStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	runEngine(t, nb201Engine(t, table, s, 5, 6, nil))
	cs, err := s.Candidates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Turn the last two trained children back into in-flight jobs.
	var victims []Candidate
	for i := len(cs) - 1; i >= 0 && len(victims) < 2; i-- {
		if cs[i].Status == StatusTrained && cs[i].Op != OpSeed {
			victims = append(victims, cs[i])
		}
	}
	lost := []int{1, 5}
	for i, v := range victims {
		v.Status, v.Result, v.Reward, v.Attempts = StatusPending, train.Result{}, -1, lost[i]
		if err := s.Apply(ctx, Write{Update: &v}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = store.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runEngine(t, nb201Engine(t, table, s, 5, 6, nil))
	for i, v := range victims {
		got, err := s.Candidate(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != StatusTrained || got.Result.Status != train.StatusOK || got.Result.ValAcc != v.Result.ValAcc ||
			got.Attempts != lost[i]+1 || got.Interrupted != lost[i] {
			t.Errorf("lost %d times: %s/%s, %d attempts, %d interrupted, acc %.2f; want trained (%d attempts, %d interrupted, acc %.2f)",
				lost[i], got.Status, got.Result.Status, got.Attempts, got.Interrupted, got.Result.ValAcc, lost[i]+1, lost[i], v.Result.ValAcc)
		}
	}
	if n, _ := s.TrainedCount(ctx); n != 6 {
		t.Errorf("trained %d, want the budget of 6", n)
	}
}

func TestBudgets(t *testing.T) {
	_, table := traintest.NB201(t)
	tests := []struct {
		name   string
		mod    func(*Config)
		check  func(t *testing.T, sum store.Summary)
		reason string
	}{
		{"target accuracy stops early", func(c *Config) { c.Budget.Trained = 500; c.Budget.TargetAcc = 80 },
			func(t *testing.T, sum store.Summary) {
				if sum.Best == nil || sum.Best.ValAcc < 80 || sum.Trained >= 500 {
					t.Fatalf("best %+v after %d trained", sum.Best, sum.Trained)
				}
			}, "target reached"},
		{"parallel jobs never overshoot the trained budget", func(c *Config) { c.Budget.Trained = 17; c.Parallel = 4 },
			func(t *testing.T, sum store.Summary) {
				if sum.Trained != 17 {
					t.Fatalf("trained %d, want 17", sum.Trained)
				}
			}, "17 candidates trained"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := store.CreateStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			e := nb201Engine(t, table, s, 2, 1, nil)
			tc.mod(&e.Config)
			var last Event
			e.Events = func(ev Event) {
				if ev.Kind == EventBudgetReached {
					last = ev
				}
			}
			runEngine(t, e)
			sum, err := s.Summary(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, sum)
			if !strings.Contains(last.Message, tc.reason) {
				t.Fatalf("budget event %q, want it to say %q", last.Message, tc.reason)
			}
		})
	}
}

// TestSeedFailureIsClear: a seed the evaluator cannot train leaves no
// parent; the run must stop with a message naming the seed, not hang.
func TestSeedFailureIsClear(t *testing.T) {
	_, table := traintest.NB201(t)
	s, err := store.CreateStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := nb201Engine(t, table, s, 1, 5, nil)
	e.Arch = nil // the tabular evaluator then gets no arch and fails the seed
	err = e.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "the seed c00001 did not train") {
		t.Fatalf("err = %v", err)
	}
}
