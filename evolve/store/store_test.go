package store

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/train"
)

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := CreateStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := CreateStore(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second CreateStore on the same dir while the first is open: %v, want ErrLocked", err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	c := Candidate{Seq: 1, ID: "c00001", ParentID: "c00000", Strategy: "thompson", Op: OpSwap, Category: "exploit",
		Path: "/stage1/block0", Module: "m1", Args: map[string]any{"k": 3.0}, Tree: json.RawMessage(`{"kind":"seq"}`),
		Hash: "h1", CodeHash: "ch1", Params: 100, Gate: GatePass, Status: StatusPending, Reward: -1, ProposedAt: now}
	if err := s.Apply(ctx, Write{Insert: &c, Planner: []byte(`{"x":1}`), Events: []Event{{Time: now, Kind: EventProposed, CandidateID: c.ID}}}); err != nil {
		t.Fatal(err)
	}
	c.Status, c.Reward, c.Attempts = StatusTrained, 1, 1
	c.Result = train.Result{Status: train.StatusOK, ValAcc: 91.5, Params: 120, Curve: []train.EpochStat{{Epoch: 1, ValAcc: 91.5}}}
	c.FinishedAt = now
	if err := s.Apply(ctx, Write{Update: &c}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Candidate(ctx, "c00001")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusTrained || got.Result.ValAcc != 91.5 || got.Params != 120 || got.Args["k"] != 3.0 ||
		len(got.Result.Curve) != 1 || string(got.Tree) != `{"kind":"seq"}` || !got.FinishedAt.Equal(now) || !got.Feasible() {
		t.Fatalf("round trip lost data: %+v", got)
	}
	st, err := s.PlannerState(ctx)
	if err != nil || string(st) != `{"x":1}` {
		t.Fatalf("planner state %q %v", st, err)
	}
	evs, err := s.Events(ctx)
	if err != nil || len(evs) != 1 || evs[0].Kind != EventProposed {
		t.Fatalf("events %+v %v", evs, err)
	}
}

func TestStoreWriteIsAtomic(t *testing.T) {
	ctx := context.Background()
	s, err := CreateStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Updating a candidate that does not exist fails, and the planner state
	// and events of the same write must not be stored either.
	ghost := Candidate{ID: "nope", Status: StatusTrained}
	err = s.Apply(ctx, Write{Update: &ghost, Planner: []byte("p"), Events: []Event{{Kind: EventFinished}}})
	if err == nil {
		t.Fatal("update of a missing candidate succeeded")
	}
	if st, _ := s.PlannerState(ctx); st != nil {
		t.Fatalf("planner state leaked from a failed write: %q", st)
	}
	if evs, _ := s.Events(ctx); len(evs) != 0 {
		t.Fatalf("events leaked from a failed write: %v", evs)
	}
}

func TestStoreReaderWhileWriting(t *testing.T) {
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
	var wg sync.WaitGroup
	wg.Add(1)
	errs := make(chan error, 1)
	go func() {
		defer wg.Done()
		for i := 1; i <= 100; i++ {
			c := Candidate{Seq: int64(i), ID: CandidateID(int64(i)), Gate: GatePass, Status: StatusTrained, ProposedAt: time.Now()}
			if err := w.Apply(ctx, Write{Insert: &c}); err != nil {
				errs <- err
				return
			}
		}
	}()
	last := 0
	for last < 100 {
		sum, err := r.Summary(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Trained < last {
			t.Fatalf("reader went backwards: %d after %d", sum.Trained, last)
		}
		last = sum.Trained
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
	}
	wg.Wait()
}

func TestOpenStoreErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenStore(dir); err == nil || !strings.Contains(err.Error(), "run directory") {
		t.Fatalf("open of an empty dir: %v", err)
	}
	if _, err := OpenStore(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("open of a missing dir succeeded")
	}
}
