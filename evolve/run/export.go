package run

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/arbor-nas/arbor/train"
)

// VerifyExport measures an exported model, the PyTorch file source
// (class Candidate) with the state_dict file weights, on the validation
// split of the run in dir exactly as the search measured its candidates
// (the run's dataset, split seed and batch size; no training), and returns
// the result, whose ValAcc is to be compared with the stored one.
func VerifyExport(ctx context.Context, dir, source, weights string, log *slog.Logger) (train.Result, error) {
	s, err := OpenReadOnly(dir)
	if err != nil {
		return train.Result{}, err
	}
	cfg, ok, err := StoredConfig(ctx, s)
	s.Close()
	if err == nil && !ok {
		err = Input(fmt.Errorf("run %s has no stored configuration", dir))
	}
	if err != nil {
		return train.Result{}, err
	}
	tc := cfg.Train
	tc.Workers, tc.Prestart = 1, false
	job, err := tc.Job("verify-export", source, int64(cfg.Evolve.Seed))
	if err != nil {
		return train.Result{}, Input(err)
	}
	job.Weights, job.EvalOnly = weights, true
	pool, err := train.NewLocal(ctx, tc, log)
	if err != nil {
		return train.Result{}, err
	}
	defer pool.Close()
	res, err := pool.Evaluate(ctx, job, nil)
	if err != nil {
		return res, err
	}
	if res.Status != train.StatusOK {
		return res, fmt.Errorf("verify %s with %s: %s: %s", "the exported module", weights, res.Status, res.Error)
	}
	return res, nil
}
