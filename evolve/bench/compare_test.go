package bench

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train/traintest"
)

// compareConfig writes a tabular run configuration (NAS-Bench-201 table,
// one job at a time so runs are deterministic).
func compareConfig(t *testing.T, table string) string {
	t.Helper()
	cfg := `run:
  dir: unused
  evaluator: tabular
  table: ` + table + `
  tabular_dataset: cifar10
evolve:
  strategy: thompson
  seed: 1
  seed_arch: nb201-resnet
  parallel: 1
  budget:
    trained: 5
  evolution:
    population: 4
    sample: 2
  dry_run: false
  max_reject_streak: 500
train:
  limits:
    max_params: 1500000
    max_flops: 200000000
`
	path := filepath.Join(t.TempDir(), "cfg.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCompareResumes runs a comparison uninterrupted, and another one
// interrupted twice (once between runs, once inside a run) and resumed
// by calling Compare again: both must write the same runs.csv, with every
// run at its budget, in its own run directory.
func TestCompareResumes(t *testing.T) {
	tablePath, _ := traintest.NB201(t)
	cfg := compareConfig(t, tablePath)
	opts := func(out string) CompareOptions {
		return CompareOptions{Config: cfg, Strategies: []string{evolve.StrategyRandom, evolve.StrategyEvolution, evolve.StrategyThompson},
			Seeds: 2, SeedBase: 3, Budget: 12, Out: out}
	}
	log := discardLog()

	whole := opts(t.TempDir())
	rep, err := Compare(context.Background(), whole, log, CompareHooks{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 6 {
		t.Fatalf("%d results, want 6", len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Trained != 12 || len(r.Curve) != 12 {
			t.Errorf("%s seed %d: trained %d, curve %d; want 12", r.Strategy, r.Seed, r.Trained, len(r.Curve))
		}
		if _, err := os.Stat(filepath.Join(r.Dir, "run.db")); err != nil {
			t.Errorf("%s seed %d has no run directory: %v", r.Strategy, r.Seed, err)
		}
		for i := 1; i < len(r.Curve); i++ {
			if r.Curve[i] < r.Curve[i-1] {
				t.Fatalf("%s seed %d: best-so-far curve goes down at %d: %v", r.Strategy, r.Seed, i, r.Curve)
			}
		}
	}
	if err := rep.Write(); err != nil {
		t.Fatal(err)
	}
	for _, f := range CompareFiles(whole.Out) {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Fatalf("%s missing or empty: %v", f, err)
		}
	}

	// Interrupted: stop after the second run, then inside the fourth.
	cut := opts(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	done := 0
	_, err = Compare(ctx, cut, log, CompareHooks{Done: func(CompareRun, store.Summary, time.Duration) {
		if done++; done == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted comparison: err = %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	n := 0
	_, err = Compare(ctx, cut, log, CompareHooks{Event: func(r CompareRun, ev store.Event) {
		if ev.Kind == store.EventFinished {
			if n++; n == 5 {
				cancel()
			}
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("second interruption: err = %v, want context.Canceled", err)
	}
	started := 0
	rep2, err := Compare(context.Background(), cut, log, CompareHooks{Start: func(CompareRun, bool) { started++ }})
	if err != nil {
		t.Fatal(err)
	}
	if started != 4 {
		// Runs 1 and 2 finished before the first interruption and are
		// skipped; run 3 was cut after 5 results and resumes; 4 to 6 start.
		t.Errorf("the resumed comparison started or resumed %d runs, want 4 (runs 3 to 6)", started)
	}
	if err := rep2.Write(); err != nil {
		t.Fatal(err)
	}
	a := readCSV(t, CompareFiles(whole.Out)[0])
	b := readCSV(t, CompareFiles(cut.Out)[0])
	if len(a) != len(b) {
		t.Fatalf("runs.csv: %d rows uninterrupted, %d resumed", len(a), len(b))
	}
	for i := range a {
		// Columns: strategy seed run_dir trained failed rejected best_id best_val best_test ...; the dir and wall differ.
		for _, c := range []int{0, 1, 3, 4, 6, 7, 8} {
			if a[i][c] != b[i][c] {
				t.Errorf("runs.csv row %d column %s: %q uninterrupted, %q resumed", i, a[0][c], a[i][c], b[i][c])
			}
		}
	}

	// Other options on the same directory are refused, naming what is there.
	other := cut
	other.Budget = 20
	if _, err := Compare(context.Background(), other, log, CompareHooks{}); err == nil || !errors.Is(err, run.ErrInput) || !strings.Contains(err.Error(), "budget 12") {
		t.Fatalf("comparison with another budget in the same --output: err = %v", err)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
