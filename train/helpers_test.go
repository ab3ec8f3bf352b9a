package train

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/train/testenv"
	"github.com/arbor-nas/arbor/tree"
)

// torchPython returns an interpreter that can import torch.
func torchPython(t testing.TB) string {
	t.Helper()
	return testenv.Require(t, testenv.Torch)
}

// seedSource renders one of the tree package's built-in seeds, the same
// code `arbor train` and the engine hand to the trainer.
func seedSource(t testing.TB, name string, input [3]int, classes int) string {
	t.Helper()
	tr, err := tree.Seed(name, tree.Shape{C: input[0], H: input[1], W: input[2]}, classes)
	if err != nil {
		t.Fatal(err)
	}
	src, err := tree.Render(tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// candidate reads a hand-written test candidate from testdata.
func candidate(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".py"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// tinyJob is a job on the synthetic dataset with 1x8x8 images and 4 classes.
func tinyJob(id, source string) Job {
	r := ProxyRecipe()
	r.Epochs, r.BatchSize, r.Subset, r.LR, r.WarmupEpochs, r.Threads = 2, 64, 0, 0.05, 0.2, 1
	return Job{ID: id, Source: source, Recipe: r, Seed: 7,
		Dataset: Dataset{Name: "synthetic", ValSplit: 0.1},
		Limits:  Limits{WallSeconds: 120}, Input: [3]int{1, 8, 8}, Classes: 4, Test: true}
}

func testConfig(t testing.TB, workers int) Config {
	cfg := DefaultConfig()
	cfg.Python = torchPython(t)
	cfg.Workers = workers
	cfg.WorkDir = t.TempDir()
	cfg.KillGraceS = 1
	return cfg
}

// hostPIDConfig is a one-worker pool without the sandbox: the hang
// candidate writes its grandchild's PID outside its job folder, and only
// an unconfined child sees host PIDs. TestSandboxKillsEverything checks
// the same kills under bwrap.
func hostPIDConfig(t testing.TB) Config {
	cfg := testConfig(t, 1)
	cfg.Sandbox = "none"
	return cfg
}

func newTestPool(t testing.TB, cfg Config) *Local {
	t.Helper()
	l, err := NewLocal(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// hangSource is hang.py writing its grandchild's PID to pidfile.
func hangSource(t testing.TB, pidfile string) string {
	return strings.ReplaceAll(candidate(t, "hang"), "@PIDFILE@", pidfile)
}

// waitPID reads the PID the hang candidate wrote, waiting up to d.
func waitPID(t testing.TB, pidfile string, d time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(pidfile); err == nil {
			var pid int
			for _, c := range strings.TrimSpace(string(data)) {
				pid = pid*10 + int(c-'0')
			}
			return pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no pid in %s after %v", pidfile, d)
	return 0
}

// alive reports whether pid runs (a zombie counts as gone).
func alive(pid int) bool {
	data, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// gone waits up to d for pid to disappear.
func gone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return !alive(pid)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
