package train

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckpointWeightsInherit: a job stores its trained state_dict at
// Job.Checkpoint; evaluating those weights (EvalOnly) on the same split
// gives the job's validation accuracy exactly; a child whose tree differs
// in one layer inherits every other tensor of matching name and shape.
func TestCheckpointWeightsInherit(t *testing.T) {
	l := newTestPool(t, testConfig(t, 1))
	ckpt := filepath.Join(t.TempDir(), "ckpt", "a.pt")
	job := tinyJob("a", candidate(t, "tiny"))
	job.Checkpoint = ckpt
	a, err := l.Evaluate(context.Background(), job, nil)
	if err != nil || a.Status != StatusOK {
		t.Fatalf("%v %+v", err, a)
	}
	if st, err := os.Stat(ckpt); err != nil || st.Size() == 0 {
		t.Fatalf("no checkpoint at %s: %v", ckpt, err)
	}

	eval := tinyJob("eval", candidate(t, "tiny"))
	eval.Weights, eval.EvalOnly = ckpt, true
	e, err := l.Evaluate(context.Background(), eval, nil)
	if err != nil || e.Status != StatusOK {
		t.Fatalf("%v %+v", err, e)
	}
	if e.ValAcc != a.ValAcc || e.TestAcc != a.TestAcc {
		t.Errorf("stored weights give val %.2f test %.2f, the job measured val %.2f test %.2f", e.ValAcc, e.TestAcc, a.ValAcc, a.TestAcc)
	}

	for _, tc := range []struct {
		name string
		src  string
		want int64
	}{
		{"same tree", candidate(t, "tiny"), 1068},
		// conv 3x3 -> 5x5: its weight is new, its bias and the classifier are inherited.
		{"edited conv", strings.Replace(candidate(t, "tiny"), "nn.Conv2d(1, 4, 3, padding=1)", "nn.Conv2d(1, 4, 5, padding=2)", 1), 4 + 1028},
		{"no parent file", candidate(t, "tiny"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			child := tinyJob("child", tc.src)
			child.Inherit = ckpt
			if tc.want == 0 {
				child.Inherit = filepath.Join(t.TempDir(), "gone.pt")
			}
			r, err := l.Evaluate(context.Background(), child, nil)
			if err != nil || r.Status != StatusOK {
				t.Fatalf("%v %+v", err, r)
			}
			if r.InheritedParams != tc.want {
				t.Errorf("inherited %d parameters, want %d (of %d)", r.InheritedParams, tc.want, r.Params)
			}
		})
	}
}
