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

// UseTable points eng at a NAS-Bench-201 table evaluator, for `arbor
// evolve` and the benchmarks alike: candidates are mapped to their cell
// string, only changes of a cell edge's operation are offered (the one
// edit that stays in the table's space), the input and classes are the
// dataset's, and no dry run is needed for a lookup.
func UseTable(eng *evolve.Engine, eval train.Evaluator, dataset string) error {
	classes, err := TabularClasses(dataset)
	if err != nil {
		return err
	}
	eng.Evaluator = eval
	eng.Arch = tree.NB201Arch
	eng.Filter = evolve.CellEdges
	eng.Job.Dataset = train.Dataset{Name: dataset}
	eng.Job.Input = [3]int{3, 32, 32}
	eng.Job.Classes = classes
	eng.Config.DryRun = false
	return nil
}
