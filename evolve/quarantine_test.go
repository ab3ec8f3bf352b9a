package evolve

import (
	"context"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/traintest"
)

// TestPoisonPillQuarantined fakes a candidate in flight at three arbor
// deaths in a row (what a candidate that brings the process down leaves):
// the third resume quarantines it with the reason, and the search goes on
// to its budget. A candidate that died twice, then was not in flight at
// the next stop, starts its count again and is retrained.
func TestPoisonPillQuarantined(t *testing.T) {
	_, table := traintest.NB201(t)
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.CreateStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runEngine(t, nb201Engine(t, table, s, 5, 6, nil))
	cs, err := s.Candidates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var poison, unlucky Candidate
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].Status == StatusTrained && cs[i].Op != OpSeed {
			if poison.ID == "" {
				poison = cs[i]
			} else if unlucky.ID == "" {
				unlucky = cs[i]
			}
		}
	}
	// die marks c started once more and never finished, as a killed
	// process leaves it.
	die := func(id string) {
		c, err := s.Candidate(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		c.Status, c.Result, c.Reward = StatusPending, train.Result{}, -1
		c.Attempts = c.Interrupted + 1
		if err := s.Apply(ctx, Write{Update: &c}); err != nil {
			t.Fatal(err)
		}
	}
	resume := func() {
		if _, err := nb201Engine(t, table, s, 5, 6, nil).load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for round := 1; round <= 3; round++ {
		die(poison.ID)
		if round < 3 {
			die(unlucky.ID) // in flight at the first two deaths only
		}
		resume()
		got, _ := s.Candidate(ctx, poison.ID)
		if q := got.Status == StatusFailed; q != (round == 3) {
			t.Fatalf("after %d deaths in a row: status %s (%s)", round, got.Status, got.Result.Error)
		}
	}
	got, _ := s.Candidate(ctx, poison.ID)
	if !strings.Contains(got.Result.Error, "quarantined: arbor itself died 3 times in a row") || got.Result.Status != train.StatusCrashed {
		t.Errorf("quarantine reason %q (%s)", got.Result.Error, got.Result.Status)
	}
	runEngine(t, nb201Engine(t, table, s, 5, 6, nil))
	if got, _ := s.Candidate(ctx, unlucky.ID); got.Status != StatusTrained {
		t.Errorf("the candidate in flight at two deaths, then not, is %s, want retrained", got.Status)
	}
	if got, _ := s.Candidate(ctx, poison.ID); got.Status != StatusFailed || got.Attempts != 3 {
		t.Errorf("the quarantined candidate was retried: %s, %d attempts", got.Status, got.Attempts)
	}
	if n, _ := s.TrainedCount(ctx); n != 6 {
		t.Errorf("trained %d, want the budget of 6: the search goes on", n)
	}
}
