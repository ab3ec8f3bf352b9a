package evolve

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"testing"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train"
)

// noisy is synthetic's accuracy plus a training-seed effect of up to 1.5
// points: the same architecture scores differently with every seed.
type noisy struct{ jobs []train.Job }

func (*noisy) Close() error { return nil }

func (n *noisy) Evaluate(ctx context.Context, job train.Job, _ func(train.Progress)) (train.Result, error) {
	n.jobs = append(n.jobs, job)
	h := sha256.Sum256([]byte(job.Source))
	acc := 50 + float64(binary.BigEndian.Uint16(h[:2])%4000)/100 + float64(uint64(job.Seed)%4)*0.5
	return train.Result{ID: job.ID, Status: train.StatusOK, ValAcc: acc}, nil
}

// TestNoiseMeasuredAndRewardsClearIt: the seed is trained Repeats more
// times with other training seeds before anything else; the standard
// deviation is stored, survives a resume, and a child must beat its
// parent by more than Margin times it to be rewarded.
func TestNoiseMeasuredAndRewardsClearIt(t *testing.T) {
	dir := t.TempDir()
	rs, err := store.CreateStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := composeEngine(t, rs, 4, OpChangeArg)
	ev := &noisy{}
	e.Evaluator = ev
	e.Config.Noise = NoiseConfig{Repeats: 2, Margin: 1.5}
	runEngine(t, e)
	if len(ev.jobs) != 4+2 || ev.jobs[1].ID != ev.jobs[0].ID+"-noise1" || ev.jobs[1].Seed == ev.jobs[0].Seed {
		t.Fatalf("jobs %d (want the seed, 2 repeats with other training seeds, then 3 children): first IDs %s %s", len(ev.jobs), ev.jobs[0].ID, ev.jobs[1].ID)
	}
	n := e.noise
	if n == nil || len(n.Values) != 3 || n.Sigma <= 0 || math.Abs(n.Margin-1.5*n.Sigma) > 1e-12 {
		t.Fatalf("noise %+v: want 3 values, sigma > 0, margin 1.5 sigma", n)
	}
	seed := e.arch.order[0]
	if seed.Result.ValAcc != n.Values[0] {
		t.Fatalf("the seed's own result %v is not the first value of %v", seed.Result.ValAcc, n.Values)
	}
	child := &Candidate{ParentID: seed.ID, Status: StatusTrained, Result: train.Result{Status: train.StatusOK}}
	for _, tc := range []struct {
		gain float64
		want int
	}{{n.Margin * 0.9, 0}, {n.Margin + 0.01, 1}, {-1, 0}} {
		child.Result.ValAcc = seed.Result.ValAcc + tc.gain
		if got := e.reward(child); got != tc.want {
			t.Errorf("a child %+.3f points above its parent (margin %.3f): reward %d, want %d", tc.gain, n.Margin, got, tc.want)
		}
	}
	rs.Close()

	rs2, err := store.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer rs2.Close()
	e2 := composeEngine(t, rs2, 6, OpChangeArg)
	ev2 := &noisy{}
	e2.Evaluator = ev2
	e2.Config.Noise = e.Config.Noise
	runEngine(t, e2)
	if e2.noise == nil || e2.noise.Sigma != n.Sigma || len(ev2.jobs) != 2 {
		t.Fatalf("after resume: noise %+v (want %+v), %d jobs (want the 2 new children, no repeat)", e2.noise, n, len(ev2.jobs))
	}
}

func TestNoiseFrom(t *testing.T) {
	for _, tc := range []struct {
		first   float64
		repeats []float64
		sigma   float64
	}{{80, []float64{82, 84}, 2}, {80, nil, 0}, {70, []float64{70}, 0}} {
		if n := noiseFrom(tc.first, tc.repeats); math.Abs(n.Sigma-tc.sigma) > 1e-12 || len(n.Values) != 1+len(tc.repeats) {
			t.Errorf("noiseFrom(%v, %v) = %+v, want sigma %v", tc.first, tc.repeats, n, tc.sigma)
		}
	}
}
