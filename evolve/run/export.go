package run

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/child"
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

// ExportONNX writes the ONNX file out of an exported model (the PyTorch
// file module, class Candidate, with the state_dict file weights) for
// inputs of shape input, in a child confined the way the run in dir
// confines its training (train.sandbox, train.python): the module is
// untrusted code.
func ExportONNX(ctx context.Context, dir, module, weights, out string, input [3]int, log *slog.Logger) (train.ONNXResult, error) {
	s, err := OpenReadOnly(dir)
	if err != nil {
		return train.ONNXResult{}, err
	}
	cfg, ok, err := StoredConfig(ctx, s)
	s.Close()
	if err == nil && !ok {
		err = Input(fmt.Errorf("run %s has no stored configuration", dir))
	}
	if err != nil {
		return train.ONNXResult{}, err
	}
	python, err := child.FindPython(ctx, cfg.Train.Python)
	if err != nil {
		return train.ONNXResult{}, err
	}
	sb, err := child.NewSandbox(ctx, cfg.Train.Sandbox, log)
	if err != nil {
		return train.ONNXResult{}, Input(err)
	}
	return train.ExportONNX(ctx, python, sb, module, weights, out, input)
}
