package store

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/train"
)

// family writes seed c00001 → c00002 (win) → c00004 (loss), a rejected
// c00003, a pending c00005 and two LLM calls.
func family(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	add := func(c Candidate) {
		c.ProposedAt = now
		if err := s.Apply(ctx, Write{Insert: &c}); err != nil {
			t.Fatal(err)
		}
	}
	ok := func(acc float64) train.Result { return train.Result{Status: train.StatusOK, ValAcc: acc} }
	add(Candidate{Seq: 1, ID: "c00001", Op: OpSeed, Gate: GatePass, Status: StatusTrained, Result: ok(80), Reward: -1})
	add(Candidate{Seq: 2, ID: "c00002", ParentID: "c00001", Op: OpSwap, Gate: GatePass, Status: StatusTrained, Result: ok(82), Reward: 1})
	add(Candidate{Seq: 3, ID: "c00003", ParentID: "c00002", Op: OpSwap, Gate: GateDuplicate, Status: StatusRejected, Reward: -1})
	add(Candidate{Seq: 4, ID: "c00004", ParentID: "c00002", Op: OpInsert, Gate: GatePass, Status: StatusFailed,
		Result: train.Result{Status: train.StatusOOM}, Reward: 0})
	add(Candidate{Seq: 5, ID: "c00005", ParentID: "c00004", Op: OpInsert, Gate: GatePass, Status: StatusPending, Reward: -1})
	for i, cost := range []float64{0.01, 0.02} {
		if err := s.AddCall(ctx, CallRow{Time: now.Add(time.Duration(i) * time.Second), CandidateID: "c00002", Model: "m",
			TokensIn: 100, TokensOut: 10, Cost: cost, Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestQueryHelpers(t *testing.T) {
	ctx := context.Background()
	s, err := CreateStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok, err := s.Posteriors(ctx); ok || err != nil {
		t.Fatalf("posteriors of a fresh store: ok=%v err=%v", ok, err)
	}
	if _, ok, err := s.LastEvent(ctx); ok || err != nil {
		t.Fatalf("last event of a fresh store: ok=%v err=%v", ok, err)
	}
	family(t, s)
	for _, k := range []EventKind{EventRunStarted, EventFinished, EventRunFinished} {
		if err := s.Apply(ctx, Write{Events: []Event{{Time: time.Now(), Kind: k, Trained: 3, Budget: 9}}}); err != nil {
			t.Fatal(err)
		}
	}
	if ev, ok, err := s.LastEvent(ctx); !ok || err != nil || ev.Kind != EventRunFinished || ev.Budget != 9 {
		t.Fatalf("last event %+v ok=%v err=%v", ev, ok, err)
	}
	// The planner's own state is more than its posteriors (config, RNG);
	// evolve's TestPlannerStateReadByStore checks the real one decodes.
	state, err := json.Marshal(map[string]any{"config": map[string]any{"epsilon": 0.5}, "rng": []byte{1, 2},
		"ops":  map[string]Arm{OpSwap: {Alpha: 2, Beta: 1, Pulls: 1, Wins: 1}, OpInsert: {Alpha: 1, Beta: 2, Pulls: 1}},
		"cats": map[string]map[string]Arm{OpInsert: {"reverse": {Alpha: 1, Beta: 2, Pulls: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, Write{Planner: state}); err != nil {
		t.Fatal(err)
	}

	post, ok, err := s.Posteriors(ctx)
	if err != nil || !ok {
		t.Fatalf("posteriors: ok=%v err=%v", ok, err)
	}
	if a := post.Ops[OpSwap]; a.Alpha != 2 || a.Beta != 1 || a.Wins != 1 {
		t.Errorf("swap posterior %+v, want Beta(2,1) with one win", a)
	}
	if a := post.Cats[OpInsert]["reverse"]; a.Alpha != 1 || a.Beta != 2 {
		t.Errorf("insert/reverse posterior %+v, want Beta(1,2)", a)
	}

	calls, err := s.Calls(ctx)
	if err != nil || len(calls) != 2 || calls[1].Cost != 0.02 || !calls[0].Time.Before(calls[1].Time) {
		t.Fatalf("calls %+v %v", calls, err)
	}

	stats, err := s.OpStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]OpStats{
		OpInsert: {Op: OpInsert, Proposed: 2, Pending: 1, Failed: 1},
		OpSeed:   {Op: OpSeed, Proposed: 1, Trained: 1},
		OpSwap:   {Op: OpSwap, Proposed: 2, Rejected: 1, Trained: 1, Wins: 1},
	}
	if len(stats) != len(want) {
		t.Fatalf("op stats %+v", stats)
	}
	for _, o := range stats {
		if o != want[o.Op] {
			t.Errorf("op %s: got %+v want %+v", o.Op, o, want[o.Op])
		}
	}
	if r := want[OpSwap].SuccessRate(); r != 1 {
		t.Errorf("swap success rate %g", r)
	}
	if r := want[OpInsert].SuccessRate(); r != 0 {
		t.Errorf("insert success rate %g", r)
	}

	for _, tc := range []struct {
		id   string
		want []string
		err  string
	}{
		{"c00001", []string{"c00001"}, ""},
		{"c00005", []string{"c00001", "c00002", "c00004", "c00005"}, ""},
		{"c09999", nil, `no candidate "c09999"`},
	} {
		chain, err := s.Lineage(ctx, tc.id)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("lineage %s: err %v, want %q", tc.id, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("lineage %s: %v", tc.id, err)
		}
		var ids []string
		for _, c := range chain {
			ids = append(ids, c.ID)
		}
		if strings.Join(ids, ",") != strings.Join(tc.want, ",") {
			t.Errorf("lineage %s = %v, want %v", tc.id, ids, tc.want)
		}
	}
	orphan := Candidate{Seq: 6, ID: "c00006", ParentID: "gone", Op: OpSwap, Gate: GatePass, Status: StatusPending, ProposedAt: time.Now()}
	if err := s.Apply(ctx, Write{Insert: &orphan}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lineage(ctx, "c00006"); err == nil || !strings.Contains(err.Error(), "parent gone is missing") {
		t.Errorf("lineage with a broken parent link: %v", err)
	}
}

// TestQueryWhileWriting reads with every helper from a read-only store
// while another goroutine keeps writing candidates, calls and planner
// state, as `arbor status` does against a live search.
func TestQueryWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := CreateStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := OpenStoreReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const n = 60
	var wg sync.WaitGroup
	wg.Add(1)
	errs := make(chan error, 1)
	go func() {
		defer wg.Done()
		for i := 1; i <= n; i++ {
			parent := ""
			if i > 1 {
				parent = CandidateID(int64(i - 1))
			}
			st, _ := json.Marshal(Posteriors{Ops: map[string]Arm{OpSwap: {Alpha: 1, Beta: 1, Pulls: i}}})
			c := Candidate{Seq: int64(i), ID: CandidateID(int64(i)), ParentID: parent, Op: OpSwap, Gate: GatePass,
				Status: StatusTrained, Result: train.Result{Status: train.StatusOK, ValAcc: float64(i)}, ProposedAt: time.Now()}
			if err := w.Apply(ctx, Write{Insert: &c, Planner: st}); err != nil {
				errs <- err
				return
			}
			if err := w.AddCall(ctx, CallRow{Time: time.Now(), CandidateID: c.ID, Cost: 0.001}); err != nil {
				errs <- err
				return
			}
		}
	}()
	lastCands, lastPulls := 0, 0
	for lastCands < n {
		cands, err := r.Candidates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(cands) < lastCands {
			t.Fatalf("candidates went backwards: %d after %d", len(cands), lastCands)
		}
		lastCands = len(cands)
		if lastCands > 0 {
			chain, err := r.Lineage(ctx, cands[len(cands)-1].ID)
			if err != nil || len(chain) != lastCands {
				t.Fatalf("lineage of the newest of %d candidates: %d steps, %v", lastCands, len(chain), err)
			}
		}
		if _, err := r.OpStats(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Calls(ctx); err != nil {
			t.Fatal(err)
		}
		post, ok, err := r.Posteriors(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			if pulls := post.Ops[OpSwap].Pulls; pulls < lastPulls {
				t.Fatalf("posterior pulls went backwards: %d after %d", pulls, lastPulls)
			} else {
				lastPulls = pulls
			}
		}
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
	}
	wg.Wait()
	if lastPulls == 0 {
		t.Fatal("the reader never saw a planner state")
	}
}
