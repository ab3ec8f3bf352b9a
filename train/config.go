package train

import (
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/arbor-nas/arbor/train/child"
)

// Config configures local training: the interpreter, the worker pool, and
// the default recipe, dataset and limits of the jobs built from it.
type Config struct {
	// Python interpreter with torch; empty: the first of python3,
	// /usr/bin/python3 that can import torch.
	Python string `mapstructure:"python" yaml:"python"`
	// Parallel training processes.
	Workers int `mapstructure:"workers" yaml:"workers"`
	// CUDA device IDs; worker i sees devices[i mod len] through
	// CUDA_VISIBLE_DEVICES. Empty: inherited.
	Devices []string `mapstructure:"devices" yaml:"devices"`
	// Directory of the job directories; empty: a temporary directory.
	WorkDir string `mapstructure:"work_dir" yaml:"work_dir"`
	// Keep each job's directory (source, log, result) after it finishes.
	KeepDirs bool `mapstructure:"keep_dirs" yaml:"keep_dirs"`
	// TempDir is where the pool's temporary directory goes when WorkDir is
	// empty (default os.TempDir()). It is not a configuration key: arbor
	// evolve sets it to the run directory, so that kills leave nothing in
	// /tmp and the next process sweeps what a killed one left.
	TempDir string `mapstructure:"-" yaml:"-" json:"-"`
	// Keep one resident interpreter per worker that runs job after job with
	// torch imported and the dataset decoded, so jobs do not wait for Python
	// to start or data to load. false: a fresh interpreter per job.
	Prestart bool `mapstructure:"prestart" yaml:"prestart"`
	// How untrusted Python (the dry-run gate, training, the mine probe) is
	// confined: bwrap (bubblewrap: own PID namespace and /proc, no network,
	// read-only root, writes only to the job's folder, all capabilities
	// dropped; fails if bubblewrap cannot run), none (scrubbed environment
	// and own process group only), or auto (bwrap where it works, else a
	// loud warning and none).
	Sandbox string `mapstructure:"sandbox" yaml:"sandbox"`
	// Jobs one resident interpreter runs before a fresh one replaces it
	// (bounds what a leaky candidate can leave behind); 0 = no limit.
	WorkerJobs int `mapstructure:"worker_jobs" yaml:"worker_jobs"`
	// Start each child from its parent's trained weights wherever its tree
	// is unchanged (same path, same shape), the edited part initialised
	// fresh (Lamarckian inheritance; needs evolve.checkpoints.keep >= the
	// parents' pool). Off by default until it measures better.
	Inherit bool `mapstructure:"inherit" yaml:"inherit"`
	// Which candidates are also measured on the test set: `none` (the
	// search never reads it; `arbor train` and `arbor retrain` measure
	// their models) or `all` (every candidate, reported but never used for
	// selection, at the cost of one pass over the test set each).
	Test string `mapstructure:"test" yaml:"test"`
	// Seconds a stopped job gets between SIGTERM and SIGKILL.
	KillGraceS float64 `mapstructure:"kill_grace_s" yaml:"kill_grace_s"`
	// Seconds one dry-run check may take.
	GateTimeoutS float64 `mapstructure:"gate_timeout_s" yaml:"gate_timeout_s"`
	// Torch CPU threads of the dry-run check.
	GateThreads int `mapstructure:"gate_threads" yaml:"gate_threads"`

	// How each candidate is trained.
	Recipe Recipe `mapstructure:"recipe" yaml:"recipe"`
	// The data candidates train and validate on.
	Dataset Dataset `mapstructure:"dataset" yaml:"dataset"`
	// Bounds on one job; max_params and max_flops are also the gate's
	// constraints.
	Limits Limits `mapstructure:"limits" yaml:"limits"`

	// The Slurm backend (run.evaluator: slurm): each candidate is one sbatch
	// job running the embedded trainer; see docs/slurm.md.
	Slurm SlurmConfig `mapstructure:"slurm" yaml:"slurm"`
}

// ProxyRecipe is the cheap default: one epoch on 10,000 training images.
func ProxyRecipe() Recipe {
	return Recipe{
		Epochs: 1, BatchSize: 128, Optimizer: "sgd", LR: 0.1, Momentum: 0.9, Nesterov: true,
		WeightDecay: 5e-4, WarmupEpochs: 0.2, LabelSmoothing: 0, Augment: true,
		Subset: 10000, AMP: true,
	}
}

// DefaultConfig trains with the proxy recipe on Fashion-MNIST (an empty
// dataset path means Debian's /usr/share/datasets/<name>), one worker,
// under the paper's constraints (1.5 M parameters, 0.2 GFLOPs).
func DefaultConfig() Config {
	return Config{
		Workers:      1,
		Sandbox:      "auto",
		Prestart:     true,
		WorkerJobs:   100,
		Test:         TestNone,
		KillGraceS:   2,
		GateTimeoutS: 30,
		GateThreads:  1,
		Recipe:       ProxyRecipe(),
		Dataset:      Dataset{Name: "fashion-mnist", ValSplit: 0.1},
		Limits:       Limits{WallSeconds: 3600, MaxParams: 1_500_000, MaxFLOPs: 200_000_000},
		Slurm:        DefaultSlurmConfig(),
	}
}

// The values of Config.Test.
const (
	TestNone = "none"
	TestAll  = "all"
)

// DatasetShape is the (C,H,W) input and the class count of a named dataset.
// The generated datasets (synthetic, gratings) take any shape; their default
// mimics Fashion-MNIST.
func DatasetShape(name string) (input [3]int, classes int, err error) {
	switch name {
	case "fashion-mnist", "mnist", "synthetic", "gratings":
		return [3]int{1, 28, 28}, 10, nil
	case "cifar10":
		return [3]int{3, 32, 32}, 10, nil
	case "cifar100":
		return [3]int{3, 32, 32}, 100, nil
	case "imagenet16-120":
		return [3]int{3, 16, 16}, 120, nil
	}
	return input, 0, fmt.Errorf("unknown dataset %q (want fashion-mnist, mnist, cifar10, cifar100, imagenet16-120, synthetic or gratings)", name)
}

// Job builds a job for source from the configured recipe, dataset and limits.
func (c Config) Job(id, source string, seed int64) (Job, error) {
	input, classes, err := DatasetShape(c.Dataset.Name)
	if err != nil {
		return Job{}, fmt.Errorf("train.dataset.name: %w", err)
	}
	return Job{ID: id, Source: source, Recipe: c.Recipe, Dataset: c.Dataset, Seed: seed,
		Limits: c.Limits, Input: input, Classes: classes, Test: c.Test == TestAll}, nil
}

// workersPerUnit is how many training processes one CPU core or CUDA
// device may carry: beyond it they only contend for memory and time.
const workersPerUnit = 4

// MaxWorkers is the most train.workers this machine takes: workersPerUnit
// per CPU core, or per CUDA device in train.devices where there are more.
func MaxWorkers(devices int) int {
	return workersPerUnit * max(runtime.NumCPU(), devices)
}

// Validate checks every field and names the offending key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("train.%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if c.Workers < 1 {
		bad("workers", "must be >= 1, got %d", c.Workers)
	} else if limit := MaxWorkers(len(c.Devices)); c.Workers > limit {
		bad("workers", "%d is more than %d (%d per CPU core or CUDA device on this machine): each worker is a Python interpreter with torch loaded; use at most %d", c.Workers, limit, workersPerUnit, limit)
	}
	if !child.ValidSandboxMode(c.Sandbox) {
		bad("sandbox", "must be auto, bwrap or none, got %q", c.Sandbox)
	}
	for i, d := range c.Devices {
		if strings.TrimSpace(d) == "" || strings.ContainsAny(d, ", ") {
			bad(fmt.Sprintf("devices[%d]", i), "must be one CUDA device ID, got %q", d)
		}
	}
	if c.KillGraceS <= 0 {
		bad("kill_grace_s", "must be > 0, got %g", c.KillGraceS)
	}
	if c.GateTimeoutS <= 0 {
		bad("gate_timeout_s", "must be > 0, got %g", c.GateTimeoutS)
	}
	if c.WorkerJobs < 0 {
		bad("worker_jobs", "must be >= 0 (0 = no limit), got %d", c.WorkerJobs)
	}
	if c.Test != TestNone && c.Test != TestAll {
		bad("test", "must be %s or %s, got %q", TestNone, TestAll, c.Test)
	}
	if c.GateThreads < 1 {
		bad("gate_threads", "must be >= 1, got %d", c.GateThreads)
	}
	errs = append(errs, c.Recipe.validate("train.recipe")...)
	errs = append(errs, c.Dataset.validate("train.dataset")...)
	errs = append(errs, c.Limits.validate("train.limits")...)
	return errors.Join(errs...)
}

func (r Recipe) validate(prefix string) []error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, a...)))
	}
	if r.Epochs < 1 {
		bad("epochs", "must be >= 1, got %d", r.Epochs)
	}
	if r.BatchSize < 1 {
		bad("batch_size", "must be >= 1, got %d", r.BatchSize)
	}
	if r.Optimizer != "sgd" && r.Optimizer != "adamw" {
		bad("optimizer", "must be sgd or adamw, got %q", r.Optimizer)
	}
	if !(r.LR > 0) {
		bad("lr", "must be > 0, got %g", r.LR)
	}
	if r.Momentum < 0 || r.Momentum >= 1 {
		bad("momentum", "must be in [0,1), got %g", r.Momentum)
	}
	if r.Nesterov && r.Momentum == 0 {
		bad("nesterov", "needs momentum > 0")
	}
	if r.WeightDecay < 0 {
		bad("weight_decay", "must be >= 0, got %g", r.WeightDecay)
	}
	if r.WarmupEpochs < 0 || (r.Epochs >= 1 && r.WarmupEpochs > float64(r.Epochs)) {
		bad("warmup_epochs", "must be in [0, epochs], got %g", r.WarmupEpochs)
	}
	if r.LabelSmoothing < 0 || r.LabelSmoothing >= 1 {
		bad("label_smoothing", "must be in [0,1), got %g", r.LabelSmoothing)
	}
	if r.Subset < 0 || (r.Subset > 1 && r.Subset != float64(int64(r.Subset))) {
		bad("subset", "must be 0 (all), a fraction in (0,1] or a whole count, got %g", r.Subset)
	}
	if r.Threads < 0 {
		bad("threads", "must be >= 0, got %d", r.Threads)
	}
	return errs
}

func (d Dataset) validate(prefix string) []error {
	var errs []error
	if _, _, err := DatasetShape(d.Name); err != nil {
		errs = append(errs, fmt.Errorf("%s.name: %w", prefix, err))
	}
	switch d.Name {
	case "cifar10", "cifar100", "imagenet16-120":
		if d.Path == "" {
			errs = append(errs, fmt.Errorf("%s.path: dataset %s needs the folder of its python pickle batches", prefix, d.Name))
		}
	}
	if d.ValSplit < 0 || d.ValSplit >= 1 {
		errs = append(errs, fmt.Errorf("%s.val_split: must be in [0,1), got %g", prefix, d.ValSplit))
	}
	return errs
}

func (l Limits) validate(prefix string) []error {
	var errs []error
	if l.WallSeconds < 0 {
		errs = append(errs, fmt.Errorf("%s.wall_s: must be >= 0 (0 = no limit), got %g", prefix, l.WallSeconds))
	}
	if l.MaxParams < 0 {
		errs = append(errs, fmt.Errorf("%s.max_params: must be >= 0 (0 = no limit), got %d", prefix, l.MaxParams))
	}
	if l.MaxFLOPs < 0 {
		errs = append(errs, fmt.Errorf("%s.max_flops: must be >= 0 (0 = no limit), got %d", prefix, l.MaxFLOPs))
	}
	return errs
}
