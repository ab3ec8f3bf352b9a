package train

import (
	"context"
	"fmt"
)

// TabularConfig configures the NAS-Bench-201 tabular backend.
type TabularConfig struct {
	// Table is the path of nb201-cifar.csv.
	Table string `mapstructure:"table" yaml:"table"`
	// Dataset selects the columns: cifar10 or cifar100.
	Dataset string `mapstructure:"dataset" yaml:"dataset"`
}

// Validate names the offending key.
func (c TabularConfig) Validate() error {
	if c.Table == "" {
		return fmt.Errorf("train.tabular.table: must be the path of the NAS-Bench-201 CSV")
	}
	if c.Dataset != "cifar10" && c.Dataset != "cifar100" {
		return fmt.Errorf("train.tabular.dataset: %q is not one of cifar10, cifar100", c.Dataset)
	}
	return nil
}

// Tabular answers jobs from the NAS-Bench-201 table instead of training.
//
// The search signal is Result.ValAcc: the 12-epoch validation accuracy on the
// chosen dataset, as the NAS-Bench-201 protocol prescribes. Result.TestAcc
// carries the 200-epoch test accuracy for the final report only; strategies
// must never read it (the engine selects on ValAcc alone).
//
// It reads Job.Arch, the cell string of the candidate (tree.NB201Arch
// produces it); a job whose Arch is empty or not in the table is outside the
// space and comes back as a build error that says so.
type Tabular struct {
	table   *NB201Table
	dataset string
}

// NewTabular serves dataset ("cifar10" or "cifar100") from table. The table
// is shared read-only, so many Tabular evaluators may use one table.
func NewTabular(table *NB201Table, dataset string) (*Tabular, error) {
	if table == nil {
		return nil, fmt.Errorf("tabular evaluator: nil table")
	}
	if dataset != "cifar10" && dataset != "cifar100" {
		return nil, fmt.Errorf("tabular evaluator: dataset %q is not one of cifar10, cifar100", dataset)
	}
	return &Tabular{table: table, dataset: dataset}, nil
}

// OpenTabular loads the table named by cfg and serves its dataset.
func OpenTabular(cfg TabularConfig) (*Tabular, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t, err := LoadNB201Table(cfg.Table)
	if err != nil {
		return nil, err
	}
	return NewTabular(t, cfg.Dataset)
}

// Dataset is the dataset whose columns are served.
func (t *Tabular) Dataset() string { return t.dataset }

// Table is the underlying table.
func (t *Tabular) Table() *NB201Table { return t.table }

// Deterministic reports that a table answers an architecture with the
// same figures every time: there is no training noise to measure.
func (t *Tabular) Deterministic() bool { return true }

// Evaluate implements Evaluator with a table lookup.
func (t *Tabular) Evaluate(ctx context.Context, job Job, progress func(Progress)) (Result, error) {
	res := Result{ID: job.ID, Device: "tabular:nasbench201/" + t.dataset}
	if err := ctx.Err(); err != nil {
		res.Status = StatusCancelled
		res.Error = err.Error()
		return res, nil
	}
	if job.Arch == "" {
		res.Status = StatusBuildError
		res.Error = "tabular evaluator: job has no Arch; the tree is outside the NAS-Bench-201 space (only the NB201 skeleton with one shared cell genotype can be looked up)"
		return res, nil
	}
	row, ok := t.table.Lookup(job.Arch)
	if !ok {
		res.Status = StatusBuildError
		res.Error = fmt.Sprintf("tabular evaluator: arch %q is not one of the %d NAS-Bench-201 cells; the tree is outside the space", job.Arch, t.table.Len())
		return res, nil
	}
	res.Status = StatusOK
	res.ValAcc = row.Signal(t.dataset)
	res.TestAcc = row.FinalTest(t.dataset)
	res.Handle = fmt.Sprintf("nb201:%d", row.Index)
	if progress != nil {
		progress(Progress{JobID: job.ID, Epoch: 12, Step: 1, Steps: 1})
	}
	return res, nil
}

// Close implements Evaluator; the table needs no cleanup.
func (t *Tabular) Close() error { return nil }

// RowOf returns the table row a result of this evaluator answered, from
// its Handle; reports use it to name the architecture and read columns
// the search never saw.
func (t *Tabular) RowOf(res Result) (NB201Row, bool) {
	var idx int
	if _, err := fmt.Sscanf(res.Handle, "nb201:%d", &idx); err != nil || idx < 0 || idx >= t.table.Len() {
		return NB201Row{}, false
	}
	return t.table.Row(idx), true
}
