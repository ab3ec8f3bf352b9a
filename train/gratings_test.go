package train

import (
	"context"
	"fmt"
	"testing"

	"github.com/arbor-nas/arbor/tree"
)

// stagesSource renders a plain CNN with one conv-bn-relu-maxpool stage per
// width, as the smoke search's seed and its children look.
func stagesSource(t *testing.T, widths ...int) string {
	t.Helper()
	root := tree.Seq("")
	for i, w := range widths {
		root.Children = append(root.Children, tree.Seq(fmt.Sprintf("stage%d", i+1),
			tree.Op("conv", "conv2d", tree.A("out", w)), tree.Op("bn", "batchnorm2d", nil),
			tree.Op("relu", "relu", nil), tree.Op("pool", "maxpool2d", nil)))
	}
	root.Children = append(root.Children, tree.Seq("head", tree.Op("pool", "adaptiveavgpool2d", nil),
		tree.Op("flatten", "flatten", nil), tree.Op("fc", "linear", tree.A("out", 10))))
	src, err := tree.Render(&tree.Tree{Input: tree.Shape{C: 1, H: 28, W: 28}, Classes: 10, Root: root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestGratingsRewardCapacity: on the gratings dataset, with the smoke
// search's recipe (examples/synthetic.yaml), a one-stage net stays near
// chance, the two-stage seed is in the middle, and a deeper and wider
// three-stage net is far better, so the smoke search's rewards carry signal.
func TestGratingsRewardCapacity(t *testing.T) {
	l := newTestPool(t, testConfig(t, 2))
	r := ProxyRecipe()
	r.Epochs, r.BatchSize, r.Subset, r.LR, r.WarmupEpochs, r.Threads, r.Augment = 1, 32, 1024, 0.05, 0, 1, false
	job := func(id string, widths ...int) Job {
		return Job{ID: id, Source: stagesSource(t, widths...), Recipe: r, Seed: 1,
			Dataset: Dataset{Name: "gratings", ValSplit: 0.125}, Limits: Limits{WallSeconds: 300},
			Input: [3]int{1, 28, 28}, Classes: 10}
	}
	jobs := []Job{job("one-stage", 8), job("seed", 16, 32), job("deeper-wider", 16, 32, 64)}
	acc := make([]float64, len(jobs))
	done := make(chan error, len(jobs))
	for i, j := range jobs {
		go func() {
			res, err := l.Evaluate(context.Background(), j, nil)
			if err == nil && res.Status != StatusOK {
				err = fmt.Errorf("%s: %s: %s", j.ID, res.Status, res.Error)
			}
			acc[i] = res.ValAcc
			done <- err
		}()
	}
	for range jobs {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("val acc: one stage %.1f%%, seed %.1f%%, deeper and wider %.1f%%", acc[0], acc[1], acc[2])
	if acc[0] > 30 || acc[1] < acc[0]+15 || acc[2] < acc[1]+20 || acc[2] < 80 {
		t.Errorf("want capacity to pay: one stage near chance (10%%), the seed clearly above it, the deeper and wider net above 80%%; got %.1f / %.1f / %.1f", acc[0], acc[1], acc[2])
	}
}
