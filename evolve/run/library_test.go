package run_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train/testenv"
)

// librarySearch is a search run from Go without package main: load a
// configuration, create the run, assemble the engine, run it, print the
// status and draw the report. Its body is the snippet docs/architecture.md
// shows (TestArchitectureDoc in cmd/arbor keeps the two equal), and
// TestLibrarySearch runs it.
func librarySearch(ctx context.Context, path string, overrides map[string]any, out io.Writer, reportDir string) error {
	cfg, err := run.Load(path, overrides) // defaults, the file, ARBOR_ variables, then overrides
	if err != nil {
		return err
	}
	db, err := run.Create(ctx, cfg) // the run directory and its SQLite store
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := run.Build(ctx, cfg, db, slog.Default()) // seed, catalog, evaluator, gate, strategy
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.Engine.Run(ctx); err != nil {
		return err
	}
	st, err := report.ReadStatus(ctx, cfg.Run.Dir, db, 5) // what `arbor status` prints
	if err != nil {
		return err
	}
	report.WriteStatus(out, st)
	set, _, err := run.Settings(ctx, db) // what a reader needs of the configuration
	if err != nil {
		return err
	}
	data, err := report.ReadData(ctx, cfg.Run.Dir, db, set)
	if err != nil {
		return err
	}
	_, err = report.Write(reportDir, data) // the plots and index.html
	return err
}

// TestLibrarySearch runs a small real search through the library alone,
// as a Go program would (librarySearch: local PyTorch pool, dry-run gate,
// offline resolver), and reads the result back. No package main is
// involved.
func TestLibrarySearch(t *testing.T) {
	testenv.Require(t, testenv.Torch)
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	var status strings.Builder
	ctx := context.Background()
	err := librarySearch(ctx, filepath.Join("..", "..", "examples", "synthetic.yaml"), map[string]any{
		"run.dir":               runDir,
		"evolve.budget.trained": 3,
		"evolve.seed":           uint64(7),
	}, &status, filepath.Join(dir, "report"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status.String(), "trained 3") {
		t.Errorf("status text:\n%s", status.String())
	}
	ro, err := run.OpenReadOnly(runDir)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	set, _, err := run.Settings(ctx, ro)
	if err != nil {
		t.Fatal(err)
	}
	data, err := report.ReadData(ctx, runDir, ro, set)
	if err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir(filepath.Join(dir, "report"))
	if err != nil {
		t.Fatal(err)
	}
	shown, _ := report.Shown(data)
	if want := 2*len(shown) + 1; len(files) != want {
		t.Errorf("report wrote %d files, want %d", len(files), want)
	}
	if last, ok, err := ro.LastEvent(ctx); err != nil || !ok || last.Kind != store.EventRunFinished {
		t.Errorf("last event %+v (ok %v, %v), want run-finished", last, ok, err)
	}
	st, err := report.ReadStatus(ctx, runDir, ro, 3)
	if err != nil {
		t.Fatal(err)
	}
	if st.Summary.Trained != 3 || len(st.Top) == 0 {
		t.Fatalf("trained %d, top %d; want 3 trained and a best", st.Summary.Trained, len(st.Top))
	}
	for _, c := range st.Top {
		if c.Result.ValAcc <= 0 || c.Params <= 0 {
			t.Errorf("top candidate %s: val_acc %.2f, %d params", c.ID, c.Result.ValAcc, c.Params)
		}
	}

	// The run reopens from its directory alone, with the stored config;
	// while one writer holds it, a second is refused (one writer per run).
	again, cfg2, err := run.Resume(ctx, runDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := run.Resume(ctx, runDir, nil); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("a resume while the run is open for writing: %v, want store.ErrLocked", err)
	}
	again.Close()
	if cfg2.Evolve.Seed != 7 || cfg2.Evolve.Budget.Trained != 3 {
		t.Errorf("stored config: seed %d, budget %d", cfg2.Evolve.Seed, cfg2.Evolve.Budget.Trained)
	}
}
