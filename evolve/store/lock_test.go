package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestCreateStoreRace: of several processes' worth of concurrent
// CreateStore calls on one directory (each opens the lock file itself, as
// separate processes do), exactly one succeeds, every time; the others are
// refused because the run is in use or already exists.
func TestCreateStoreRace(t *testing.T) {
	for round := range 5 {
		dir := filepath.Join(t.TempDir(), "run")
		const n = 6
		var wg sync.WaitGroup
		stores := make([]*Store, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stores[i], errs[i] = CreateStore(dir)
			}()
		}
		wg.Wait()
		won := 0
		for i := range n {
			if errs[i] == nil {
				won++
				continue
			}
			if !errors.Is(errs[i], ErrLocked) && !strings.Contains(errs[i].Error(), "already holds a run store") {
				t.Errorf("round %d: a losing CreateStore failed otherwise: %v", round, errs[i])
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of %d concurrent creations succeeded, want exactly 1", round, won, n)
		}
		for _, s := range stores {
			if s != nil {
				s.Close()
			}
		}
	}
}

// TestOwnerFollowsTheLock: a writable store makes its run owned (by this
// pid); a read-only one does not; closing releases it, and a resume that
// finds the run owned is refused naming the owner.
func TestOwnerFollowsTheLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, alive := Owner(dir); alive {
		t.Fatal("a directory without a store has an owner")
	}
	s, err := CreateStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	pid, alive := Owner(dir)
	if !alive || pid != os.Getpid() {
		t.Fatalf("Owner = %d, %v while the store is open; want %d, true", pid, alive, os.Getpid())
	}
	if got := State(dir, Event{Kind: EventStarted}, true); got != RunRunning {
		t.Errorf("State while owned = %s", got)
	}
	_, err = OpenStore(dir)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second writer: %v; want ErrLocked naming pid %d", err, os.Getpid())
	}
	ro, err := OpenStoreReadOnly(dir)
	if err != nil {
		t.Fatalf("a reader must not need the lock: %v", err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, alive := Owner(dir); alive {
		t.Fatal("the run is still owned after Close")
	}
	tests := []struct {
		last      Event
		hasEvents bool
		want      RunState
	}{
		{Event{}, false, RunEmpty},
		{Event{Kind: EventFinished}, true, RunStopped},
		{Event{Kind: EventRunFinished}, true, RunFinished},
	}
	for _, tc := range tests {
		if got := State(dir, tc.last, tc.hasEvents); got != tc.want {
			t.Errorf("State(%s, %v) = %s, want %s", tc.last.Kind, tc.hasEvents, got, tc.want)
		}
	}
	again, err := OpenStore(dir)
	if err != nil {
		t.Fatalf("resume after the owner closed: %v", err)
	}
	again.Close()
}

// TestDiscard: a store CreateStore made is removed again with its lock
// file, and the directory when CreateStore made it and it is left empty;
// files that were there before stay.
func TestDiscard(t *testing.T) {
	root := t.TempDir()
	fresh := filepath.Join(root, "a", "run")
	s, err := CreateStore(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Discard(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the directory CreateStore made is still there: %v", err)
	}
	kept := filepath.Join(root, "b")
	if err := os.MkdirAll(kept, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(kept, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err = CreateStore(kept); err != nil {
		t.Fatal(err)
	}
	if err := s.Discard(); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(kept)
	if len(left) != 1 || left[0].Name() != "notes.txt" {
		t.Errorf("after Discard the directory holds %v, want only notes.txt", left)
	}
	// A creation killed before its transaction committed leaves an empty
	// database: the next creation replaces it.
	if err := os.WriteFile(filepath.Join(kept, StoreFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err = CreateStore(kept); err != nil {
		t.Fatalf("an empty leftover database blocks a new run: %v", err)
	}
	s.Close()
	if _, err := CreateStore(kept); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("CreateStore over a real store: %v, want the --resume hint", err)
	}
}
