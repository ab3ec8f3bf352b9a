package train

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/train/child"
)

// BenchmarkGateVsFreshProcess dry-runs ResNet-32 (CIFAR input) b.N times
// through the resident gate and b.N times through a fresh Python process per
// candidate (what the gate saves: interpreter start and `import torch`), and
// reports both and their ratio.
func BenchmarkGateVsFreshProcess(b *testing.B) {
	py := torchPython(b)
	input := [3]int{3, 32, 32}
	src := seedSource(b, "resnet32", input, 10)
	g := newTestGate(b, time.Minute)
	if r, err := g.Check(context.Background(), src, input, 10); err != nil || !r.OK() { // start + warm up
		b.Fatalf("%v %+v", err, r)
	}
	dir := b.TempDir()
	script := filepath.Join(dir, ScriptFile)
	if err := os.WriteFile(script, TrainerScript, 0o644); err != nil {
		b.Fatal(err)
	}
	req, _ := json.Marshal(map[string]any{"id": 1, "source": src, "input": input, "classes": 10})
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if r, err := g.Check(context.Background(), src, input, 10); err != nil || !r.OK() {
			b.Fatalf("%v %+v", err, r)
		}
	}
	resident := time.Since(start)
	start = time.Now()
	for i := 0; i < b.N; i++ {
		freshCheck(b, py, script, req)
	}
	fresh := time.Since(start)
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(resident.Milliseconds())/n, "resident-ms/cand")
	b.ReportMetric(float64(fresh.Milliseconds())/n, "fresh-ms/cand")
	b.ReportMetric(float64(fresh)/float64(resident), "speedup")
}

// freshCheck starts a new gate process, checks one candidate and exits.
func freshCheck(b *testing.B, py, script string, req []byte) {
	cmd := exec.Command(py, script, "--gate")
	cmd.Dir = filepath.Dir(script)
	cmd.Env = child.Env("ARBOR_GATE_THREADS=1", "CUDA_VISIBLE_DEVICES=")
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	in.Write(append(req, '\n'))
	in.Close()
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var ans struct {
		gateAnswer
		ID int64 `json:"id"`
	}
	for sc.Scan() {
		if json.Unmarshal(sc.Bytes(), &ans) == nil && ans.ID == 1 {
			break
		}
	}
	cmd.Wait()
	if ans.Status != StatusOK {
		b.Fatalf("fresh check: %+v", ans)
	}
}

// benchCNN is a small LeNet-like model that trains for about 2 s per job
// here, longer than a spare interpreter takes to import torch, as real jobs do.
const benchCNN = `import torch.nn as nn


class Candidate(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))
`

// BenchmarkLocalOverhead measures the pool's per-job overhead, the wall time
// not spent in the trainer's epoch loop (process start or hand-over, data,
// model build, probe, test evaluation, result I/O), for a small CNN trained
// for about two seconds on synthetic 28x28 data. "prestart" keeps a warm
// interpreter per worker (the default); "cold" starts Python per job.
func BenchmarkLocalOverhead(b *testing.B) {
	for _, mode := range []struct {
		name     string
		prestart bool
	}{{"prestart", true}, {"cold", false}} {
		b.Run(mode.name, func(b *testing.B) {
			cfg := testConfig(b, 1)
			cfg.Prestart = mode.prestart
			l := newTestPool(b, cfg)
			job := tinyJob("bench", benchCNN)
			job.Input, job.Classes = [3]int{1, 28, 28}, 10
			job.Recipe.Epochs = 3
			time.Sleep(1500 * time.Millisecond) // let the first spare import torch, as between real jobs
			var overhead, train time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, err := l.Evaluate(context.Background(), job, nil)
				if err != nil || r.Status != StatusOK {
					b.Fatalf("%v %+v", err, r)
				}
				overhead += time.Duration((r.WallS - r.TrainS) * float64(time.Second))
				train += time.Duration(r.TrainS * float64(time.Second))
			}
			b.StopTimer()
			b.ReportMetric(float64(overhead.Milliseconds())/float64(b.N), "overhead-ms/job")
			b.ReportMetric(float64(train.Milliseconds())/float64(b.N), "train-ms/job")
		})
	}
}
