package train

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLocalFailureClasses runs each kind of broken candidate through one
// pool, concurrently, in real child processes, and checks that every job
// ends in its class and the pool still trains a good candidate afterwards.
func TestLocalFailureClasses(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-test-must-not-leak")
	t.Setenv("ARBOR_TEST_SECRET_TOKEN", "also-secret")
	l := newTestPool(t, testConfig(t, 2))
	cases := []struct {
		name      string
		want      Status
		errSubstr string
	}{
		{"tiny", StatusOK, ""},
		{"init_raises", StatusBuildError, "width=-1"},
		{"syntax_error", StatusBuildError, "SyntaxError"},
		{"shape_error", StatusShapeError, "cannot be multiplied"},
		{"wrong_logits", StatusShapeError, "want (2, 4)"},
		{"nan_loss", StatusDiverged, "nan"},
		{"oom", StatusOOM, "allocate"},
		{"forward_bug", StatusCrashed, "AttributeError"},
		{"segfault", StatusCrashed, "without a result"},
		{"reads_secret", StatusOK, ""},
	}
	results := make([]Result, len(cases))
	var wg sync.WaitGroup
	for i, tc := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := l.Evaluate(context.Background(), tinyJob(tc.name, candidate(t, tc.name)), nil)
			if err != nil {
				t.Errorf("%s: Evaluate error: %v", tc.name, err)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	for i, tc := range cases {
		r := results[i]
		if r.Status != tc.want {
			t.Errorf("%s: status %q, want %q; error: %s", tc.name, r.Status, tc.want, r.Error)
			continue
		}
		if r.ID != tc.name {
			t.Errorf("%s: result ID %q", tc.name, r.ID)
		}
		if tc.errSubstr != "" && !strings.Contains(r.Error, tc.errSubstr) {
			t.Errorf("%s: error %q does not mention %q", tc.name, r.Error, tc.errSubstr)
		}
		if tc.want == StatusOK && (r.ValAcc < 80 || r.TestAcc < 80) {
			t.Errorf("%s: val %.1f%% test %.1f%%, want >= 80 on the synthetic data", tc.name, r.ValAcc, r.TestAcc)
		}
	}
	r, err := l.Evaluate(context.Background(), tinyJob("after", candidate(t, "tiny")), nil)
	if err != nil || r.Status != StatusOK {
		t.Fatalf("pool broken after failures: %v %+v", err, r)
	}
}

// TestLocalResult checks the measured fields, the streamed progress and that
// a fixed seed reproduces the run exactly.
func TestLocalResult(t *testing.T) {
	l := newTestPool(t, testConfig(t, 1))
	var mu sync.Mutex
	var ticks []Progress
	job := tinyJob("det", candidate(t, "tiny"))
	r1, err := l.Evaluate(context.Background(), job, func(p Progress) {
		mu.Lock()
		ticks = append(ticks, p)
		mu.Unlock()
	})
	if err != nil || r1.Status != StatusOK {
		t.Fatalf("%v %+v", err, r1)
	}
	// conv 1->4 3x3 (36+4) + linear 256->4 (1024+4); MACs 4*8*8*9 + 256*4.
	if r1.Params != 1068 || r1.FLOPs != 3328 {
		t.Errorf("params %d flops %d, want 1068 and 3328", r1.Params, r1.FLOPs)
	}
	if len(r1.Curve) != job.Recipe.Epochs {
		t.Errorf("curve has %d epochs, want %d", len(r1.Curve), job.Recipe.Epochs)
	}
	if r1.LatencyMS <= 0 || r1.PeakMemMB <= 0 || r1.WallS <= r1.TrainS || r1.TrainS <= 0 || r1.Device == "" {
		t.Errorf("unmeasured fields: %+v", r1)
	}
	mu.Lock()
	if len(ticks) == 0 || ticks[0].JobID != "det" || ticks[len(ticks)-1].Epoch != job.Recipe.Epochs {
		t.Errorf("progress: %+v", ticks)
	}
	for _, p := range ticks {
		if p.Steps <= 0 || p.Step > p.Steps || p.Loss <= 0 {
			t.Errorf("bad progress tick %+v", p)
		}
	}
	mu.Unlock()
	r2, err := l.Evaluate(context.Background(), job, nil)
	if err != nil || r2.Status != StatusOK {
		t.Fatalf("%v %+v", err, r2)
	}
	for i := range r1.Curve {
		a, b := r1.Curve[i], r2.Curve[i]
		if a.TrainLoss != b.TrainLoss || a.ValAcc != b.ValAcc {
			t.Errorf("epoch %d differs between runs with one seed: %+v vs %+v", i+1, a, b)
		}
	}
	job.Seed++
	r3, _ := l.Evaluate(context.Background(), job, nil)
	if r3.Curve[0].TrainLoss == r1.Curve[0].TrainLoss {
		t.Errorf("another seed gave the same loss %g", r3.Curve[0].TrainLoss)
	}
}

// TestLocalTimeoutKillsGroup: a job past its wall limit is killed together
// with the grandchild it started, and the pool goes on.
func TestLocalTimeoutKillsGroup(t *testing.T) {
	l := newTestPool(t, hostPIDConfig(t))
	pidfile := filepath.Join(t.TempDir(), "grandchild.pid")
	job := tinyJob("hang", hangSource(t, pidfile))
	job.Limits.WallSeconds = 4
	start := time.Now()
	r, err := l.Evaluate(context.Background(), job, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusTimeout {
		t.Fatalf("status %q, want timeout (%s)", r.Status, r.Error)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("timeout took %v for a 4 s limit", el)
	}
	pid := waitPID(t, pidfile, time.Second)
	if !gone(pid, 3*time.Second) {
		t.Errorf("grandchild %d survived the group kill", pid)
	}
	if r, _ := l.Evaluate(context.Background(), tinyJob("after", candidate(t, "tiny")), nil); r.Status != StatusOK {
		t.Fatalf("pool broken after timeout: %+v", r)
	}
}

// TestLocalCancel: cancelling the context stops a running job and its
// children within a few seconds.
func TestLocalCancel(t *testing.T) {
	l := newTestPool(t, hostPIDConfig(t))
	pidfile := filepath.Join(t.TempDir(), "grandchild.pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan Result, 1)
	go func() {
		r, err := l.Evaluate(ctx, tinyJob("cancel-me", hangSource(t, pidfile)), nil)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	pid := waitPID(t, pidfile, 60*time.Second)
	cancel()
	cancelled := time.Now()
	var r Result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("job still running 10 s after cancel")
	}
	if el := time.Since(cancelled); el > 3*time.Second {
		t.Errorf("cancel took %v", el)
	}
	if r.Status != StatusCancelled {
		t.Errorf("status %q, want cancelled (%s)", r.Status, r.Error)
	}
	if !gone(pid, 3*time.Second) {
		t.Errorf("grandchild %d survived cancellation", pid)
	}
	if r, _ := l.Evaluate(context.Background(), tinyJob("after", candidate(t, "tiny")), nil); r.Status != StatusOK {
		t.Fatalf("pool broken after cancel: %+v", r)
	}
}

// TestLocalDevicePinning: each worker sees its configured CUDA device.
func TestLocalDevicePinning(t *testing.T) {
	cfg := testConfig(t, 1)
	cfg.Devices = []string{"0"}
	cfg.Prestart = false
	l := newTestPool(t, cfg)
	src := strings.Replace(candidate(t, "tiny"), "super().__init__()",
		"super().__init__()\n        import os\n        assert os.environ.get('CUDA_VISIBLE_DEVICES') == '0', os.environ.get('CUDA_VISIBLE_DEVICES')", 1)
	r, err := l.Evaluate(context.Background(), tinyJob("pinned", src), nil)
	if err != nil || r.Status != StatusOK {
		t.Fatalf("%v %+v", err, r)
	}
}

// TestLocalClose: closing the pool stops running jobs (reported cancelled,
// children gone) and later jobs get ErrClosed.
func TestLocalClose(t *testing.T) {
	l := newTestPool(t, hostPIDConfig(t))
	pidfile := filepath.Join(t.TempDir(), "grandchild.pid")
	done := make(chan Result, 1)
	go func() {
		r, _ := l.Evaluate(context.Background(), tinyJob("closing", hangSource(t, pidfile)), nil)
		done <- r
	}()
	pid := waitPID(t, pidfile, 60*time.Second)
	start := time.Now()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Close took %v", el)
	}
	select {
	case r := <-done:
		if r.Status != StatusCancelled {
			t.Errorf("status %q, want cancelled (%s)", r.Status, r.Error)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("job still running 10 s after Close")
	}
	if !gone(pid, 3*time.Second) {
		t.Errorf("grandchild %d survived Close", pid)
	}
	if _, err := l.Evaluate(context.Background(), tinyJob("late", candidate(t, "tiny")), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Evaluate after Close: %v, want ErrClosed", err)
	}
}
