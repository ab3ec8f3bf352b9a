package run_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train/testenv"
)

// TestRetrain runs a small real search, retrains its two best candidates
// with two seeds each, and checks the figures, that they are stored in the
// run and shown by status, and that a second call reuses them.
func TestRetrain(t *testing.T) {
	testenv.Require(t, testenv.Torch)
	cfg, err := run.Load(filepath.Join("..", "..", "examples", "synthetic.yaml"), map[string]any{
		"run.dir":               filepath.Join(t.TempDir(), "run"),
		"evolve.budget.trained": 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := run.Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := run.Build(ctx, cfg, db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Engine.Run(ctx); err != nil {
		t.Fatal(err)
	}
	r.Close()
	db.Close()

	trained := 0
	opt := run.RetrainOptions{Top: 2, Seeds: 2, Subset: 1024, Progress: func(store.RetrainRun) { trained++ }}
	res, err := run.Retrain(ctx, cfg.Run.Dir, opt, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if trained != 4 || len(res.Candidates) != 2 || len(res.Seeds) != 2 || res.Seeds[0] != run.RetrainSeedBase {
		t.Fatalf("trained %d, %d candidates, seeds %v; want 4, 2, [1000 1001]", trained, len(res.Candidates), res.Seeds)
	}
	for _, c := range res.Candidates {
		if c.N != 2 || c.TestMean <= 0 || c.TestStd < 0 || len(c.Runs) != 2 {
			t.Errorf("%s: %d ok runs, test %.2f ± %.2f", c.ID, c.N, c.TestMean, c.TestStd)
		}
		if c.Runs[0].TestAcc == c.Runs[1].TestAcc && c.Runs[0].ValAcc == c.Runs[1].ValAcc {
			t.Errorf("%s: two seeds gave identical results %+v", c.ID, c.Runs)
		}
	}
	if res.Candidates[0].ValMean < res.Candidates[1].ValMean {
		t.Errorf("not ranked by retrained validation accuracy: %+v", res.Candidates)
	}
	if res.Recipe.Subset != 1024 || res.Recipe.Epochs != cfg.Train.Recipe.Epochs {
		t.Errorf("recipe %+v, want the run's with subset 1024", res.Recipe)
	}

	// Stored in the run, shown by status.
	ro, err := run.OpenReadOnly(cfg.Run.Dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := report.ReadStatus(ctx, cfg.Run.Dir, ro, 3)
	ro.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.Retrain == nil || st.Retrain.Candidates[0].TestMean != res.Candidates[0].TestMean {
		t.Fatalf("status does not hold the retraining: %+v", st.Retrain)
	}
	var b strings.Builder
	report.WriteStatus(&b, st)
	if !strings.Contains(b.String(), "retrained 2 candidates × 2 seeds") || !strings.Contains(b.String(), res.Candidates[0].ID) {
		t.Errorf("status text lacks the retraining:\n%s", b.String())
	}

	// Calling it again trains nothing new; another recipe trains again.
	trained = 0
	again, err := run.Retrain(ctx, cfg.Run.Dir, opt, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if trained != 0 || again.Candidates[0].TestMean != res.Candidates[0].TestMean {
		t.Errorf("second call trained %d jobs; best %.2f vs %.2f", trained, again.Candidates[0].TestMean, res.Candidates[0].TestMean)
	}
	opt.Top, opt.Seeds, opt.Subset = 1, 1, 512
	if _, err := run.Retrain(ctx, cfg.Run.Dir, opt, slog.New(slog.DiscardHandler)); err != nil || trained != 1 {
		t.Errorf("another recipe: %v, trained %d, want 1", err, trained)
	}
	if _, err := run.Retrain(ctx, cfg.Run.Dir, run.RetrainOptions{Top: 0, Seeds: 1}, nil); err == nil {
		t.Error("--top 0 accepted")
	}
}
