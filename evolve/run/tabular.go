package run

import (
	"fmt"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/tree"
)

// TabularClasses is the number of classes of a NAS-Bench-201 dataset
// (cifar10 or cifar100).
func TabularClasses(dataset string) (int, error) {
	switch dataset {
	case "cifar10":
		return 10, nil
	case "cifar100":
		return 100, nil
	}
	return 0, fmt.Errorf("tabular dataset %q: want cifar10 or cifar100", dataset)
}

// UseTable points eng at a NAS-Bench-201 table evaluator: candidates are
// mapped to their cell string, the input is CIFAR's, and no dry run is
// needed for a lookup.
func UseTable(eng *evolve.Engine, eval train.Evaluator, dataset string) error {
	classes, err := TabularClasses(dataset)
	if err != nil {
		return err
	}
	eng.Evaluator = eval
	eng.Arch = tree.NB201Arch
	// Only cell-edge changes stay in the table's space; every strategy
	// (random search's uniform cells included) sees just those.
	eng.Filter = evolve.CellEdges
	eng.Job.Input = [3]int{3, 32, 32}
	eng.Job.Classes = classes
	eng.Config.DryRun = false
	return nil
}
