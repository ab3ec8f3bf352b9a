package store

import "time"

// Settings is what the readers of a run (status, report, dashboard) show
// of the configuration it was started with. Only the run's assembly can
// decode that configuration (run.Settings fills this), so a reader that
// takes Settings needs no engine.
type Settings struct {
	Strategy  string
	Seed      uint64
	Evaluator string
	Parallel  int
	// Budget is evolve.budget.trained, WallTime evolve.budget.wall_time
	// (0: no limit).
	Budget   int
	WallTime time.Duration
	// MaxParams and MaxFLOPs are the constraints (0: none).
	MaxParams int64
	MaxFLOPs  int64
	// Catalog is the module catalog's path ("" for none).
	Catalog string
	// Epochs is train.recipe.epochs: what a trained run's accuracies are
	// after (a tabular run's come from the table).
	Epochs int
}
