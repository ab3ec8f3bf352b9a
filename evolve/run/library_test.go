package run_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train/testenv"
)

// TestLibrarySearch builds and runs a small real search through the
// library alone, as a Go program would: load a configuration, create the
// run, assemble the engine (local PyTorch pool, dry-run gate, offline
// resolver), run it, read the result back and draw the report. No package
// main is involved.
func TestLibrarySearch(t *testing.T) {
	testenv.Require(t, testenv.Torch)
	dir := t.TempDir()
	cfg, err := run.Load(filepath.Join("..", "..", "examples", "synthetic.yaml"), map[string]any{
		"run.dir":               filepath.Join(dir, "run"),
		"evolve.budget.trained": 3,
		"evolve.seed":           uint64(7),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := run.Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := run.Build(ctx, cfg, db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var events []store.Event
	r.Engine.Events = func(ev store.Event) { events = append(events, ev) }
	if r.Engine.DryRun == nil || r.Engine.Strategy == nil || len(r.Engine.Seeds) != 1 {
		t.Fatalf("assembly incomplete: dry-run %v, strategy %v, %d seeds", r.Engine.DryRun, r.Engine.Strategy, len(r.Engine.Seeds))
	}
	if err := r.Engine.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 || events[len(events)-1].Kind != store.EventRunFinished {
		t.Errorf("no run-finished event among %d events", len(events))
	}

	st, err := report.ReadStatus(ctx, cfg.Run.Dir, db, 3)
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
	var b strings.Builder
	report.WriteStatus(&b, st)
	if !strings.Contains(b.String(), "trained 3") {
		t.Errorf("status text:\n%s", b.String())
	}

	// The run reopens from its directory alone, with the stored config,
	// once its writer has closed it (one writer per run).
	if _, _, err := run.Resume(ctx, cfg.Run.Dir, nil); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("a resume while the run is open for writing: %v, want store.ErrLocked", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	again, cfg2, err := run.Resume(ctx, cfg.Run.Dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
	if cfg2.Evolve.Seed != 7 || cfg2.Evolve.Budget.Trained != 3 {
		t.Errorf("stored config: seed %d, budget %d", cfg2.Evolve.Seed, cfg2.Evolve.Budget.Trained)
	}
	ro, err := run.OpenReadOnly(cfg.Run.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	set, _, err := run.Settings(ctx, ro)
	if err != nil {
		t.Fatal(err)
	}
	data, err := report.ReadData(ctx, cfg.Run.Dir, ro, set)
	if err != nil {
		t.Fatal(err)
	}
	files, err := report.Write(filepath.Join(dir, "report"), data)
	if err != nil {
		t.Fatal(err)
	}
	shown, _ := report.Shown(data)
	if want := 2*len(shown) + 1; len(files) != want {
		t.Errorf("report wrote %d files, want %d", len(files), want)
	}
}
