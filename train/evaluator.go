// Package train turns rendered candidates into measured numbers: the
// Evaluator interface, the embedded PyTorch trainer, datasets, the dry-run
// gate and the local, Slurm and tabular backends. It never decides what to
// train.
package train

import "context"

// Status is the outcome class of one training job.
type Status string

const (
	StatusOK         Status = "ok"
	StatusBuildError Status = "build-error" // the module failed to construct
	StatusShapeError Status = "shape-error" // forward raised a shape mismatch
	StatusOOM        Status = "oom"
	StatusDiverged   Status = "diverged" // NaN/inf loss
	StatusTimeout    Status = "timeout"
	StatusCrashed    Status = "crashed"
	StatusCancelled  Status = "cancelled"
)

// Recipe is how a candidate is trained.
type Recipe struct {
	// Training epochs per candidate (the paper: NAS-Bench-201's 200).
	Epochs int `json:"epochs" mapstructure:"epochs"`
	// Mini-batch size.
	BatchSize int `json:"batch_size" mapstructure:"batch_size"`
	// `sgd` or `adamw`.
	Optimizer string `json:"optimizer" mapstructure:"optimizer"` // sgd | adamw
	// Peak learning rate (cosine schedule after warm-up).
	LR float64 `json:"lr" mapstructure:"lr"`
	// SGD momentum, in [0, 1).
	Momentum float64 `json:"momentum" mapstructure:"momentum"`
	// Nesterov momentum (needs momentum > 0).
	Nesterov bool `json:"nesterov" mapstructure:"nesterov"`
	// Weight decay.
	WeightDecay float64 `json:"weight_decay" mapstructure:"weight_decay"`
	// Linear warm-up, in epochs (may be fractional).
	WarmupEpochs float64 `json:"warmup_epochs" mapstructure:"warmup_epochs"`
	// Label smoothing, in [0, 1).
	LabelSmoothing float64 `json:"label_smoothing" mapstructure:"label_smoothing"`
	// Random crop and flip augmentation.
	Augment bool `json:"augment" mapstructure:"augment"`
	// Training images used: 0 = all, a fraction in (0, 1], or a count.
	Subset float64 `json:"subset" mapstructure:"subset"`
	// Mixed precision (used only on CUDA).
	AMP bool `json:"amp" mapstructure:"amp"` // used only on CUDA
	// Torch CPU threads per job; 0 = torch's default.
	Threads int `json:"threads" mapstructure:"threads"` // CPU threads; 0 = torch default
}

// Dataset names the data a job trains on.
type Dataset struct {
	// fashion-mnist, mnist, cifar10, cifar100, imagenet16-120, synthetic
	// (generated: class templates under noise, linearly separable, for unit
	// tests) or gratings (generated: oriented gratings under noise, where
	// capacity pays, for smoke searches).
	Name string `json:"name" mapstructure:"name"`
	// Dataset folder; empty: /usr/share/datasets/NAME (Debian's
	// dataset-fashion-mnist for fashion-mnist). cifar10/100 and
	// imagenet16-120 need it.
	Path string `json:"path" mapstructure:"path"`
	// Fraction of the training set held out for validation accuracy, which
	// the search ranks by (the test set is never used for selection).
	ValSplit float64 `json:"val_split" mapstructure:"val_split"` // fraction of train carved out for validation
}

// Limits bound one job.
type Limits struct {
	// Seconds one job may run before it is killed (status timeout); 0 = no
	// limit.
	WallSeconds float64 `json:"wall_s" mapstructure:"wall_s"`
	// Most parameters a candidate may have (the paper: 1.5 M); 0 = no limit.
	MaxParams int64 `json:"max_params" mapstructure:"max_params"`
	// Most FLOPs (multiply-accumulates) of one forward pass at the dataset's
	// input size (the paper: 0.2 G on CIFAR); 0 = no limit.
	MaxFLOPs int64 `json:"max_flops" mapstructure:"max_flops"`
}

// Job is one candidate to train. Source is a standalone PyTorch file that
// defines class Candidate(nn.Module), constructible with no arguments.
type Job struct {
	ID      string  `json:"id"`
	RunName string  `json:"run_name,omitempty"`
	Source  string  `json:"source"`
	Recipe  Recipe  `json:"recipe"`
	Dataset Dataset `json:"dataset"`
	Seed    int64   `json:"seed"`
	Limits  Limits  `json:"limits"`
	// Input is the (C,H,W) the candidate expects and Classes its logits.
	Input   [3]int `json:"input"`
	Classes int    `json:"classes"`
	// Arch is an optional backend-specific key (the tabular backend's arch string).
	Arch string `json:"arch,omitempty"`
	// Test asks for the test accuracy too (Result.TestAcc); the search
	// leaves it off, so the test set plays no part in selection.
	Test bool `json:"test,omitempty"`
	// FLOPs is the candidate's MACs per image when already known (counted
	// on the tree or by the gate); the trainer then does not count again.
	FLOPs int64 `json:"flops,omitempty"`
	// Weights is a state_dict file (torch.save) the model loads before it
	// trains or is evaluated.
	Weights string `json:"weights,omitempty"`
	// EvalOnly measures the model (with Weights) on the validation split,
	// and the test set when Test, without training.
	EvalOnly bool `json:"eval_only,omitempty"`
	// Checkpoint is where the trained state_dict goes when the job
	// succeeds; empty: the weights are not kept. The local pool supports
	// Weights, Inherit and Checkpoint.
	Checkpoint string `json:"checkpoint,omitempty"`
	// Inherit is the parent's state_dict: the model starts from it for
	// every tensor whose name (tree path) and shape are unchanged, and
	// from a fresh initialisation elsewhere (train.inherit). A missing file
	// means a fresh start.
	Inherit string `json:"inherit,omitempty"`
}

// EpochStat is one point of the learning curve.
type EpochStat struct {
	Epoch     int     `json:"epoch"`
	TrainLoss float64 `json:"train_loss"`
	TrainAcc  float64 `json:"train_acc"`
	ValLoss   float64 `json:"val_loss"`
	ValAcc    float64 `json:"val_acc"`
	Seconds   float64 `json:"seconds"`
}

// Result is what a job measured. Accuracies are percentages in [0,100].
type Result struct {
	ID        string      `json:"id"`
	Status    Status      `json:"status"`
	ValAcc    float64     `json:"val_acc"`
	TestAcc   float64     `json:"test_acc"` // only when Job.Test; for reports, never for selection
	Curve     []EpochStat `json:"curve,omitempty"`
	Params    int64       `json:"params"`
	FLOPs     int64       `json:"flops"`
	LatencyMS float64     `json:"latency_ms"`
	WallS     float64     `json:"wall_s"`
	PeakMemMB float64     `json:"peak_mem_mb"`
	Device    string      `json:"device,omitempty"`
	Error     string      `json:"error,omitempty"`
	// TrainS is the trainer's time in the epoch loop (training and
	// validation); WallS minus TrainS is the overhead of getting there.
	TrainS     float64 `json:"train_s,omitempty"`
	ImagesPerS float64 `json:"images_per_s,omitempty"` // training throughput
	// Backend-specific handle (e.g. a Slurm job ID) so a resumed run can re-attach.
	Handle string `json:"handle,omitempty"`
	// InheritedParams is how many parameters started from the parent's
	// weights (Job.Inherit); Params minus it were initialised fresh.
	InheritedParams int64 `json:"inherited_params,omitempty"`
}

// Progress is one streamed line from a running job.
type Progress struct {
	JobID string  `json:"job_id"`
	Epoch int     `json:"epoch"`
	Step  int     `json:"step"`
	Steps int     `json:"steps"`
	Loss  float64 `json:"loss"`
}

// Evaluator trains jobs. Evaluate blocks until the job ends or ctx is
// cancelled (then Status is cancelled); it returns an error only when the
// evaluator itself is broken, never for a failing candidate.
type Evaluator interface {
	Evaluate(ctx context.Context, job Job, progress func(Progress)) (Result, error)
	Close() error
}
