package run

import (
	"testing"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/train"
)

func TestUseTable(t *testing.T) {
	for _, tc := range []struct {
		dataset string
		classes int
		ok      bool
	}{
		{"cifar10", 10, true},
		{"cifar100", 100, true},
		{"imagenet16-120", 0, false},
		{"", 0, false},
	} {
		eng := &evolve.Engine{Config: evolve.Config{DryRun: true}}
		var tab train.Evaluator = &train.Tabular{}
		err := UseTable(eng, tab, tc.dataset)
		if (err == nil) != tc.ok {
			t.Fatalf("%q: err %v, want ok=%v", tc.dataset, err, tc.ok)
		}
		if !tc.ok {
			continue
		}
		if eng.Job.Classes != tc.classes || eng.Job.Input != [3]int{3, 32, 32} || eng.Job.Dataset.Name != tc.dataset ||
			eng.Config.DryRun || eng.Arch == nil || eng.Filter == nil || eng.Evaluator != tab {
			t.Errorf("%q: engine not set up for the table: classes %d input %v dataset %q dry-run %v arch %v filter %v",
				tc.dataset, eng.Job.Classes, eng.Job.Input, eng.Job.Dataset.Name, eng.Config.DryRun, eng.Arch != nil, eng.Filter != nil)
		}
	}
}
