package run

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train"
)

// RetrainSeedBase is the first seed retraining uses: seeds RetrainSeedBase,
// RetrainSeedBase+1, ... are never evolve seeds of the examples and
// benchmarks, so the reported figure is not measured on the seed the
// search was tuned on.
const RetrainSeedBase = 1000

// RetrainOptions say what `arbor retrain` trains. The recipe, dataset and
// limits are the run's own (train.*) unless overridden here.
type RetrainOptions struct {
	Top   int // the Top best candidates by validation accuracy
	Seeds int // trainings of each, with seeds RetrainSeedBase...
	// Epochs overrides train.recipe.epochs when > 0.
	Epochs int
	// Subset is the number (or fraction) of training images; 0 = all of
	// them, full fidelity.
	Subset float64
	// Workers overrides train.workers when > 0.
	Workers int
	// Progress, when set, hears of each finished training.
	Progress func(store.RetrainRun)
}

// Retrain trains the opt.Top best candidates of the run in dir opt.Seeds
// times each with the run's recipe at full fidelity (or as overridden),
// measuring test accuracy, and stores the result in the run. Finished
// trainings of an earlier, interrupted call with the same recipe are
// reused, so calling it again continues.
func Retrain(ctx context.Context, dir string, opt RetrainOptions, log *slog.Logger) (*store.Retraining, error) {
	if log == nil {
		log = slog.Default()
	}
	if opt.Top < 1 || opt.Seeds < 1 {
		return nil, Input(fmt.Errorf("retrain: --top and --seeds must be >= 1, got %d and %d", opt.Top, opt.Seeds))
	}
	if opt.Subset < 0 {
		return nil, Input(fmt.Errorf("retrain: --subset must be >= 0 (0 = all training images), got %g", opt.Subset))
	}
	db, cfg, err := Resume(ctx, dir, nil)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	all, err := db.Candidates(ctx)
	if err != nil {
		return nil, err
	}
	var ok []store.Candidate
	for _, c := range all {
		if c.Feasible() && c.Source != "" {
			ok = append(ok, c)
		}
	}
	if len(ok) == 0 {
		return nil, Input(fmt.Errorf("retrain: run %s has no successfully trained candidate with a stored source", dir))
	}
	// Selection uses the search's own signal, validation accuracy, earlier
	// candidates first on ties.
	slices.SortStableFunc(ok, func(a, b store.Candidate) int {
		return -cmpFloat(a.Result.ValAcc, b.Result.ValAcc)
	})
	ok = ok[:min(opt.Top, len(ok))]

	tc := cfg.Train
	tc.Recipe.Subset = opt.Subset
	if opt.Epochs > 0 {
		tc.Recipe.Epochs = opt.Epochs
		tc.Recipe.WarmupEpochs = min(tc.Recipe.WarmupEpochs, float64(opt.Epochs))
	}
	if opt.Workers > 0 {
		tc.Workers = opt.Workers
	}
	tc.TempDir = filepath.Join(cfg.Run.Dir, TempDir)
	if err := tc.Validate(); err != nil {
		return nil, Input(fmt.Errorf("retrain: %w", err))
	}
	out := &store.Retraining{Recipe: tc.Recipe, Dataset: tc.Dataset}
	for i := range opt.Seeds {
		out.Seeds = append(out.Seeds, RetrainSeedBase+int64(i))
	}
	prev, _, err := db.Retraining(ctx)
	if err != nil {
		log.Warn("retrain: the stored retraining is unreadable; starting afresh", "err", err)
	}
	done := map[[2]string]store.RetrainRun{}
	if prev != nil && prev.Recipe == tc.Recipe && prev.Dataset == tc.Dataset {
		for _, c := range prev.Candidates {
			for _, r := range c.Runs {
				if r.Status != train.StatusCancelled {
					done[[2]string{r.ID, fmt.Sprint(r.Seed)}] = r
				}
			}
		}
	}

	type task struct {
		cand int
		job  train.Job
	}
	var tasks []task
	runs := make([][]store.RetrainRun, len(ok))
	for i, c := range ok {
		for _, seed := range out.Seeds {
			if r, hit := done[[2]string{c.ID, fmt.Sprint(seed)}]; hit {
				runs[i] = append(runs[i], r)
				continue
			}
			job, err := tc.Job(fmt.Sprintf("retrain-%s-s%d", c.ID, seed), c.Source, seed)
			if err != nil {
				return nil, Input(err)
			}
			job.Test, job.FLOPs = true, c.FLOPs
			tasks = append(tasks, task{i, job})
		}
	}
	var mu sync.Mutex
	save := func() error {
		out.Candidates = summarize(ok, runs)
		out.Finished = time.Now().UTC()
		return db.SetRetraining(context.WithoutCancel(ctx), out)
	}
	if len(tasks) > 0 {
		pool, err := train.NewLocal(ctx, tc, log)
		if err != nil {
			return nil, Input(err)
		}
		defer pool.Close()
		var wg sync.WaitGroup
		var firstErr error
		for _, t := range tasks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := pool.Evaluate(ctx, t.job, nil)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				r := store.RetrainRun{ID: ok[t.cand].ID, Seed: t.job.Seed, Status: res.Status, ValAcc: res.ValAcc,
					TestAcc: res.TestAcc, WallS: res.WallS, Error: res.Error}
				runs[t.cand] = append(runs[t.cand], r)
				if err := save(); err != nil && firstErr == nil {
					firstErr = err
				}
				if opt.Progress != nil {
					opt.Progress(r)
				}
			}()
		}
		wg.Wait()
		if firstErr != nil {
			return nil, firstErr
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if err := save(); err != nil {
		return nil, err
	}
	return out, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// summarize is each candidate's mean ± std over its successful runs, best
// mean validation accuracy first (candidates with none last; the search's
// order on ties).
func summarize(cands []store.Candidate, runs [][]store.RetrainRun) []store.RetrainCandidate {
	out := make([]store.RetrainCandidate, len(cands))
	for i, c := range cands {
		rs := slices.Clone(runs[i])
		slices.SortFunc(rs, func(a, b store.RetrainRun) int { return cmpFloat(float64(a.Seed), float64(b.Seed)) })
		rc := store.RetrainCandidate{ID: c.ID, SearchVal: c.Result.ValAcc, Params: c.Params, Runs: rs}
		var tests, vals []float64
		for _, r := range rs {
			if r.Status == train.StatusOK {
				tests, vals = append(tests, r.TestAcc), append(vals, r.ValAcc)
			}
		}
		rc.N = len(tests)
		if rc.N > 0 {
			rc.TestMean, rc.ValMean = stat.Mean(tests, nil), stat.Mean(vals, nil)
		}
		if rc.N > 1 {
			rc.TestStd = stat.StdDev(tests, nil)
		}
		out[i] = rc
	}
	slices.SortStableFunc(out, func(a, b store.RetrainCandidate) int {
		if (a.N > 0) != (b.N > 0) {
			if a.N > 0 {
				return -1
			}
			return 1
		}
		return -cmpFloat(a.ValMean, b.ValMean)
	})
	return out
}
