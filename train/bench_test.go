package train

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/train/child"
	"github.com/arbor-nas/arbor/tree"
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

// compareJob is one candidate of examples/compare-fashion-mnist.yaml: its
// seed architecture and recipe (1 epoch on 3,000 Fashion-MNIST images, 3,000
// validation images, batch 64, one thread), with the MACs the engine hands
// over from the tree.
func compareJob(b *testing.B) Job {
	data, err := os.ReadFile(filepath.Join("..", "examples", "tiny-resnet-fmnist.json"))
	if err != nil {
		b.Fatal(err)
	}
	t, err := tree.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	rep, err := tree.Check(t, nil)
	if err != nil {
		b.Fatal(err)
	}
	src, err := tree.Render(t, nil)
	if err != nil {
		b.Fatal(err)
	}
	r := Recipe{Epochs: 1, BatchSize: 64, Optimizer: "sgd", LR: 0.05, Momentum: 0.9, Nesterov: true,
		WeightDecay: 5e-4, WarmupEpochs: 0.1, Subset: 3000, Threads: 1}
	return Job{ID: "cand", Source: src, Recipe: r, Seed: 1, FLOPs: rep.FLOPs,
		Dataset: Dataset{Name: "fashion-mnist", ValSplit: 0.05}, Limits: Limits{WallSeconds: 600},
		Input: [3]int{1, 28, 28}, Classes: 10}
}

// handLoop is testdata/handloop.py, resident: the data loaded once, one
// training + validation per call.
type handLoop struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startHandLoop(b *testing.B, py string) *handLoop {
	cmd := exec.Command(py, filepath.Join("testdata", "handloop.py"), "/usr/share/datasets/fashion-mnist")
	cmd.Env = child.Env()
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	h := &handLoop{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	b.Cleanup(func() { in.Close(); cmd.Wait() })
	if !h.out.Scan() {
		b.Fatal("hand loop did not start")
	}
	return h
}

// run trains job's candidate once and returns the loop's own seconds.
func (h *handLoop) run(b *testing.B, job Job) (seconds, valAcc float64) {
	n := 60000
	nVal := int(float64(n) * job.Dataset.ValSplit)
	req, _ := json.Marshal(map[string]any{"source": job.Source, "recipe": job.Recipe, "seed": job.Seed,
		"n_train": int(job.Recipe.Subset), "n_val": nVal})
	if _, err := h.in.Write(append(req, '\n')); err != nil {
		b.Fatal(err)
	}
	if !h.out.Scan() {
		b.Fatal("hand loop died")
	}
	var ans struct {
		Seconds float64 `json:"seconds"`
		ValAcc  float64 `json:"val_acc"`
	}
	if err := json.Unmarshal(h.out.Bytes(), &ans); err != nil {
		b.Fatalf("hand loop said %q: %v", h.out.Text(), err)
	}
	return ans.Seconds, ans.ValAcc
}

// BenchmarkPoolVsHandLoop pairs one candidate's evaluation through the
// local pool (resident worker, as arbor evolve runs it) with a hand-written
// PyTorch loop doing the same training and validation in one process,
// alternating the two in the same run so that load on the machine hits
// both alike. ratio is the pool's wall time per candidate (Evaluate, as the
// engine waits for it) over the loop's; the goal is at most 1.15.
func BenchmarkPoolVsHandLoop(b *testing.B) {
	py := torchPython(b)
	if _, err := os.Stat("/usr/share/datasets/fashion-mnist"); err != nil {
		b.Fatalf("Fashion-MNIST is missing (apt-get install dataset-fashion-mnist): %v", err)
	}
	job := compareJob(b)
	cfg := testConfig(b, 1)
	l := newTestPool(b, cfg)
	h := startHandLoop(b, py)
	// Warm both: the pool's worker decodes the dataset on its first job.
	if r, err := l.Evaluate(context.Background(), job, nil); err != nil || r.Status != StatusOK {
		b.Fatalf("%v %+v", err, r)
	}
	h.run(b, job)
	var pool, hand, overhead time.Duration
	var poolAcc, handAcc float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		r, err := l.Evaluate(context.Background(), job, nil)
		if err != nil || r.Status != StatusOK {
			b.Fatalf("%v %+v", err, r)
		}
		p := time.Since(start)
		pool += p
		overhead += time.Duration((r.WallS - r.TrainS) * float64(time.Second))
		s, acc := h.run(b, job)
		hand += time.Duration(s * float64(time.Second))
		poolAcc, handAcc = r.ValAcc, acc
		b.Logf("pair %d: pool %.2fs (trainer's epoch loop %.2fs), hand loop %.2fs, ratio %.3f", i+1, p.Seconds(), r.TrainS, s, p.Seconds()/s)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(pool.Seconds()/n, "pool-s/cand")
	b.ReportMetric(hand.Seconds()/n, "hand-s/cand")
	b.ReportMetric(overhead.Seconds()/n, "outside-epoch-s/cand")
	b.ReportMetric(float64(pool)/float64(hand), "ratio")
	b.Logf("validation accuracy: pool %.2f%%, hand loop %.2f%% (different splits and initialisations)", poolAcc, handAcc)
}
