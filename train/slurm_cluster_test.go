package train

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/train/child"
	"github.com/arbor-nas/arbor/train/testenv"
)

// These tests run against a real Slurm cluster: `make test-slurm` starts a
// one-node one with testdata/slurm/start.sh and sets ARBOR_SLURM_CONF.
// Without it they skip (testenv.Slurm is not in `make test`'s
// ARBOR_TEST_REQUIRE=all), so plain `make test` needs no Slurm.

type slurmEnv struct {
	conf   string
	python string
	env    []string
}

func needSlurm(t testing.TB) slurmEnv {
	t.Helper()
	conf := testenv.Require(t, testenv.Slurm)
	// The cluster is up, so a missing torch is a broken setup, not a skip.
	python := "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import torch").CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import torch (run `make setup`): %v %s", python, err, out)
	}
	return slurmEnv{conf: conf, python: python, env: append(os.Environ(), "SLURM_CONF="+conf)}
}

// config is a Slurm config for a fresh run directory. The poll interval is
// the default one second.
func (e slurmEnv) config(t testing.TB, dir string) SlurmConfig {
	c := DefaultSlurmConfig()
	c.RunDir = dir
	c.Python = e.python
	c.MaxInFlight = 4
	c.Time = "10"
	// Slurm finishes writing a job's log after the trainer wrote its
	// result, so wait for the cluster to go idle before the test's temp
	// dir (registered earlier, removed later) is deleted.
	t.Cleanup(func() {
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			cmd := exec.Command("squeue", "-h", "-t", "PD,R,CG", "-o", "%i")
			cmd.Env = e.env
			if out, err := cmd.Output(); err == nil && strings.TrimSpace(string(out)) == "" {
				return
			}
		}
	})
	return c
}

func (e slurmEnv) squeue(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("squeue", args...)
	cmd.Env = e.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("squeue %v: %v %s", args, err, out)
	}
	return string(out)
}

// runJobs is the job names of run that squeue lists with the given states,
// one entry per Slurm job (so duplicates show), without the probe job.
func (e slurmEnv) runJobs(t testing.TB, run string, states string) []string {
	var names []string
	for _, line := range strings.Split(e.squeue(t, "-h", "-t", states, "-o", "%j|%T"), "\n") {
		if strings.HasPrefix(line, "arbor-"+run+"-") && !strings.HasPrefix(line, "arbor-"+run+"-probe|") {
			names = append(names, line)
		}
	}
	sort.Strings(names)
	return names
}

// uniqueRun names a run so that jobs of earlier test runs, which the
// cluster keeps for an hour, never match.
func uniqueRun(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1e9)
}

// candidateSource is a small real CNN for the synthetic dataset (1×8×8,
// 4 classes); width varies the architecture.
func candidateSource(width int) string {
	return fmt.Sprintf(`import torch.nn as nn

class Candidate(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, %[1]d, 3, padding=1), nn.BatchNorm2d(%[1]d), nn.ReLU())
        self.head = nn.Linear(%[1]d * 64, 4)

    def forward(self, x):
        return self.head(self.body(x).flatten(1))
`, width)
}

// shapeBugSource fails in forward: the head expects the wrong width.
const shapeBugSource = `import torch.nn as nn

class Candidate(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Conv2d(1, 8, 3, padding=1)
        self.head = nn.Linear(7 * 64, 4)

    def forward(self, x):
        return self.head(self.body(x).flatten(1))
`

func syntheticJob(run, id, source string, epochs int) Job {
	return Job{
		ID: id, RunName: run, Source: source, Seed: 1,
		Recipe:  Recipe{Epochs: epochs, BatchSize: 64, Optimizer: "sgd", LR: 0.05, Momentum: 0.9, Threads: 1},
		Dataset: Dataset{Name: "synthetic", ValSplit: 0.2},
		Input:   [3]int{1, 8, 8}, Classes: 4,
	}
}

func quietLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestSlurmSearch trains seven candidates as Slurm jobs, six good and one
// with a shape bug, through a probed evaluator, and checks that every
// candidate was submitted exactly once.
func TestSlurmSearch(t *testing.T) {
	e := needSlurm(t)
	run := uniqueRun("search")
	var mu sync.Mutex
	handles := map[string][]string{}
	// A credential in arbor's environment must not reach the jobs.
	env := append(e.env, "ARBOR_TEST_API_KEY=sk-must-not-leak")
	s, err := NewSlurm(context.Background(), e.config(t, t.TempDir()), SlurmOptions{
		RunName: run, Env: env, Logger: quietLogger(t),
		OnSubmit: func(cand, h string) { mu.Lock(); handles[cand] = append(handles[cand], h); mu.Unlock() },
	})
	if err != nil {
		t.Fatalf("NewSlurm: %v", err)
	}
	defer s.Close()

	jobs := []Job{}
	for i, w := range []int{2, 4, 6, 8, 12, 16} {
		jobs = append(jobs, syntheticJob(run, fmt.Sprintf("c%02d", i), candidateSource(w), 2))
	}
	jobs = append(jobs, syntheticJob(run, "bug", shapeBugSource, 2))
	// c00 also records the environment it trains in.
	jobs[0].Source = "import os\nwith open('env.txt', 'w') as f:\n    f.write('\\n'.join(sorted(os.environ)))\n" + jobs[0].Source
	results := make([]Result, len(jobs))
	var progressed sync.Map
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			results[i], err = s.Evaluate(context.Background(), job, func(p Progress) { progressed.Store(p.JobID, p) })
			if err != nil {
				t.Errorf("Evaluate(%s): %v", job.ID, err)
			}
		}()
	}
	wg.Wait()

	seen := map[string]bool{}
	for i, r := range results {
		job := jobs[i]
		t.Logf("%s: status=%s val_acc=%.1f params=%d wall=%.1fs handle=%s", job.ID, r.Status, r.ValAcc, r.Params, r.WallS, r.Handle)
		if r.ID != job.ID || r.Handle == "" || seen[r.Handle] {
			t.Errorf("%s: ID %q handle %q (want own ID and a fresh handle)", job.ID, r.ID, r.Handle)
		}
		seen[r.Handle] = true
		if len(handles[job.ID]) != 1 || handles[job.ID][0] != r.Handle {
			t.Errorf("%s: OnSubmit saw %v, want exactly [%s]", job.ID, handles[job.ID], r.Handle)
		}
		if job.ID == "bug" {
			if r.Status != StatusShapeError || !strings.Contains(r.Error, "mat1 and mat2") {
				t.Errorf("bug: status %s error %q, want shape-error from the trainer", r.Status, r.Error)
			}
			continue
		}
		// Four classes: chance is 25 %; these nets learn the templates.
		if r.Status != StatusOK || r.ValAcc < 50 || len(r.Curve) != 2 || r.Params == 0 {
			t.Errorf("%s: %+v, want ok with val_acc >= 50 and a 2-epoch curve", job.ID, r)
		}
		if _, ok := progressed.Load(job.ID); !ok {
			t.Logf("%s: no progress line seen while running (job shorter than one poll)", job.ID)
		}
		// The job dir holds what the issue promises.
		for _, f := range []string{"candidate.py", "job.json", "trainer.py", "job.sh", "result.json", "slurm-" + r.Handle + ".log"} {
			if !fileExists(filepath.Join(s.JobDir(job.ID), f)) {
				t.Errorf("%s: job dir lacks %s", job.ID, f)
			}
		}
	}
	envNames, err := os.ReadFile(filepath.Join(s.JobDir("c00"), "env.txt"))
	if err != nil {
		t.Errorf("c00 left no env.txt: %v", err)
	}
	if names := "\n" + string(envNames) + "\n"; strings.Contains(names, "\nARBOR_TEST_API_KEY\n") || !strings.Contains(names, "\nPATH\n") {
		t.Errorf("job environment %q: want PATH and no ARBOR_TEST_API_KEY", envNames)
	}
	if got := e.runJobs(t, run, "all"); len(got) != len(jobs) {
		t.Errorf("squeue -t all lists %d jobs of the run, want %d: %v", len(got), len(jobs), got)
	}
}

// TestSlurmNodeFailure covers failures outside the candidate: a missing
// interpreter on the nodes fails the probe, and a job whose interpreter
// is missing ends FAILED, which must come back as crashed with the log.
func TestSlurmNodeFailure(t *testing.T) {
	e := needSlurm(t)
	run := uniqueRun("fail")
	c := e.config(t, t.TempDir())
	c.Python = "/nonexistent/python3"
	if _, err := NewSlurm(context.Background(), c, SlurmOptions{RunName: run, Env: e.env, Logger: quietLogger(t)}); err == nil ||
		!strings.Contains(err.Error(), "train.slurm.python") {
		t.Fatalf("NewSlurm with a bad python: %v, want a train.slurm.python error", err)
	}
	c.SkipProbe = true
	s, err := NewSlurm(context.Background(), c, SlurmOptions{RunName: run, Env: e.env, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Evaluate(context.Background(), syntheticJob(run, "nopy", candidateSource(4), 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusCrashed || !strings.Contains(r.Error, "failed") || !strings.Contains(r.Error, "/nonexistent/python3") {
		t.Errorf("got %s %q, want crashed with the log tail naming the interpreter", r.Status, r.Error)
	}
}

// TestSlurmCancelRun cancels a run while its jobs are queued and running,
// as Ctrl-C of `arbor evolve` does; no job of the run may stay in squeue.
func TestSlurmCancelRun(t *testing.T) {
	e := needSlurm(t)
	run := uniqueRun("cancel")
	c := e.config(t, t.TempDir())
	c.SkipProbe = true
	s, err := NewSlurm(context.Background(), c, SlurmOptions{RunName: run, Env: e.env, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	running := make(chan struct{}, 16)
	results := make([]Result, 4)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// 500 epochs would take minutes: these jobs must be cut short.
			results[i], _ = s.Evaluate(ctx, syntheticJob(run, fmt.Sprintf("long%d", i), candidateSource(8), 500),
				func(Progress) { running <- struct{}{} })
		}()
	}
	select {
	case <-running:
	case <-time.After(2 * time.Minute):
		t.Fatal("no job reported training progress within 2 minutes")
	}
	if active := e.runJobs(t, run, "pending,running"); len(active) != 4 {
		t.Fatalf("before cancel: %d active jobs, want 4: %v", len(active), active)
	}
	start := time.Now()
	cancel()
	wg.Wait()
	t.Logf("cancel of 4 jobs took %.2fs", time.Since(start).Seconds())
	for i, r := range results {
		if r.Status != StatusCancelled || r.Handle == "" {
			t.Errorf("job %d: %s handle %q, want cancelled with its handle", i, r.Status, r.Handle)
		}
	}
	if left := e.runJobs(t, run, "pending,running,completing,configuring,suspended"); len(left) != 0 {
		t.Errorf("after cancel squeue still lists %v", left)
	}
	all := e.runJobs(t, run, "all")
	for _, j := range all {
		if !strings.HasSuffix(j, "|CANCELLED") {
			t.Errorf("job %s not CANCELLED", j)
		}
	}
	if len(all) != 4 {
		t.Errorf("squeue -t all lists %d jobs of the run, want 4", len(all))
	}
	// A resumed run must retrain a cancelled job, not record it as failed.
	if _, err := s.Attach(context.Background(), syntheticJob(run, "long0", candidateSource(8), 500), results[0].Handle, nil); !errors.Is(err, ErrNoSlurmJob) {
		t.Errorf("Attach(cancelled job) = %v, want ErrNoSlurmJob", err)
	}
	if n := len(e.runJobs(t, run, "all")); n != 4 {
		t.Errorf("Attach submitted a job: %d jobs of the run, want 4", n)
	}
}

// TestSlurmSubmitHelper is the "engine" that TestSlurmResumeAfterKill
// kills with SIGKILL: it submits jobs, records handles as they come, and
// waits. It does nothing unless run as that helper.
func TestSlurmSubmitHelper(t *testing.T) {
	dir := os.Getenv("ARBOR_SLURM_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process for TestSlurmResumeAfterKill") // skip-ok: runs only as that test's child
	}
	e := needSlurm(t)
	run, n := os.Getenv("ARBOR_SLURM_HELPER_RUN"), 4
	f, err := os.OpenFile(filepath.Join(dir, "handles.txt"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	c := e.config(t, filepath.Join(dir, "run"))
	c.SkipProbe = true
	s, err := NewSlurm(context.Background(), c, SlurmOptions{RunName: run, Env: e.env, OnSubmit: func(cand, h string) {
		// What the run store does: persist the handle durably, at once.
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(f, "%s %s\n", cand, h)
		f.Sync()
	}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Evaluate(context.Background(), syntheticJob(run, fmt.Sprintf("r%d", i), candidateSource(4+i), 6), nil)
		}()
	}
	wg.Wait()
	t.Fatal("helper was meant to be killed before its jobs finished")
}

// TestSlurmResumeAfterKill kills -9 a process that submitted jobs while
// they run, then re-attaches from a fresh evaluator by the persisted
// handles: every result is collected and nothing is submitted twice.
func TestSlurmResumeAfterKill(t *testing.T) {
	e := needSlurm(t)
	run := uniqueRun("resume")
	dir := t.TempDir()
	helper := exec.Command(os.Args[0], "-test.run=^TestSlurmSubmitHelper$", "-test.count=1", "-test.timeout=5m")
	helper.Env = append(os.Environ(), "ARBOR_SLURM_HELPER_DIR="+dir, "ARBOR_SLURM_HELPER_RUN="+run)
	helper.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &strings.Builder{}
	helper.Stdout, helper.Stderr = out, out
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	handles := map[string]string{}
	deadline := time.Now().Add(time.Minute)
	for len(handles) < 4 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		handles = readHandles(t, filepath.Join(dir, "handles.txt"))
	}
	if len(handles) < 4 {
		syscall.Kill(-helper.Process.Pid, syscall.SIGKILL)
		helper.Wait()
		t.Fatalf("helper recorded %d handles in a minute: %s", len(handles), out)
	}
	// Kill once at least one job trains, like a crash in the middle of a run.
	for time.Now().Before(deadline) && len(e.runJobs(t, run, "running")) == 0 {
		time.Sleep(100 * time.Millisecond)
	}
	syscall.Kill(-helper.Process.Pid, syscall.SIGKILL)
	helper.Wait()
	active := e.runJobs(t, run, "pending,running")
	t.Logf("killed the submitting process; %d jobs of the run still queued or running: %v", len(active), active)
	if len(active) == 0 {
		t.Fatalf("all jobs ended before the kill; the test proves nothing. helper output:\n%s", out)
	}

	c := e.config(t, filepath.Join(dir, "run"))
	c.SkipProbe = true
	var resubmits []string
	s, err := NewSlurm(context.Background(), c, SlurmOptions{RunName: run, Env: e.env, Logger: quietLogger(t),
		OnSubmit: func(cand, h string) { resubmits = append(resubmits, cand) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cands := make([]string, 0, len(handles))
	for cand := range handles {
		cands = append(cands, cand)
	}
	sort.Strings(cands)
	results := make([]Result, len(cands))
	var wg sync.WaitGroup
	for i, cand := range cands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			i4, _ := strconv.Atoi(strings.TrimPrefix(cand, "r"))
			job := syntheticJob(run, cand, candidateSource(4+i4), 6)
			h := handles[cand]
			if i == 0 {
				h = "" // the handle was lost: find the job by its name
			}
			var err error
			if results[i], err = s.Attach(context.Background(), job, h, nil); err != nil {
				t.Errorf("Attach(%s, %q): %v", cand, h, err)
			}
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.Status != StatusOK || r.ValAcc < 50 || r.Handle != handles[cands[i]] {
			t.Errorf("%s: %s val_acc %.1f handle %s (want ok from job %s): %s", cands[i], r.Status, r.ValAcc, r.Handle, handles[cands[i]], r.Error)
		}
	}
	if len(resubmits) != 0 {
		t.Errorf("Attach submitted %v", resubmits)
	}
	if all := e.runJobs(t, run, "all"); len(all) != 4 {
		t.Errorf("squeue -t all lists %d jobs of the run, want 4 (no duplicates): %v", len(all), all)
	}
	// A candidate that was never submitted has nothing to attach to.
	if _, err := s.Attach(context.Background(), syntheticJob(run, "never", candidateSource(4), 1), "", nil); !errors.Is(err, ErrNoSlurmJob) {
		t.Errorf("Attach(never submitted) = %v, want ErrNoSlurmJob", err)
	}
}

func readHandles(t testing.TB, path string) map[string]string {
	f, err := os.Open(path)
	if err != nil {
		return map[string]string{}
	}
	defer f.Close()
	handles := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if cand, h, ok := strings.Cut(sc.Text(), " "); ok {
			if old, dup := handles[cand]; dup {
				t.Errorf("candidate %s submitted twice: %s and %s", cand, old, h)
			}
			handles[cand] = h
		}
	}
	return handles
}

// failNode marks the test node DOWN, which kills its jobs with NODE_FAIL,
// as a real hardware failure would. With ReturnToService=2 the node comes
// back as soon as slurmd answers again.
func (e slurmEnv) failNode(t testing.TB) {
	t.Helper()
	node := strings.TrimSpace(e.squeueNode(t))
	cmd := exec.Command("scontrol", "update", "nodename="+node, "state=down", "reason=arbor-test")
	cmd.Env = e.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scontrol update node %s down: %v %s", node, err, out)
	}
	cmd = exec.Command("scontrol", "update", "nodename="+node, "state=resume")
	cmd.Env = e.env
	cmd.Run() // refused when the node already returned to service
}

func (e slurmEnv) squeueNode(t testing.TB) string {
	cmd := exec.Command("sinfo", "-h", "-N", "-o", "%N")
	cmd.Env = e.env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sinfo: %v", err)
	}
	return strings.Fields(string(out))[0]
}

// waitRunning waits until squeue shows job jobID running.
func (e slurmEnv) waitRunning(t testing.TB, jobID string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if strings.TrimSpace(e.squeue(t, "-h", "-j", jobID, "-o", "%T")) == "RUNNING" {
			return
		}
	}
	t.Fatalf("job %s not running within a minute", jobID)
}

// TestSlurmNodeFailRequeue kills a job's node: the first NODE_FAIL is
// resubmitted (a new handle reaches OnSubmit), the second one fails the
// candidate.
func TestSlurmNodeFailRequeue(t *testing.T) {
	e := needSlurm(t)
	for _, failures := range []int{1, 2} {
		t.Run(fmt.Sprintf("failures=%d", failures), func(t *testing.T) {
			run := uniqueRun("nodefail")
			c := e.config(t, t.TempDir())
			c.SkipProbe = true
			submitted := make(chan string, 4)
			s, err := NewSlurm(context.Background(), c, SlurmOptions{RunName: run, Env: e.env, Logger: quietLogger(t),
				OnSubmit: func(_, h string) { submitted <- h }})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			done := make(chan Result, 1)
			go func() {
				r, err := s.Evaluate(context.Background(), syntheticJob(run, "nf", candidateSource(8), 3), nil)
				if err != nil {
					t.Error(err)
				}
				done <- r
			}()
			var handles []string
			for i := 0; i < failures; i++ {
				h := <-submitted
				handles = append(handles, h)
				e.waitRunning(t, h)
				e.failNode(t)
			}
			r := <-done
			close(submitted)
			for h := range submitted {
				handles = append(handles, h)
			}
			t.Logf("handles %v, result %s: %.200s", handles, r.Status, r.Error)
			switch failures {
			case 1:
				if len(handles) != 2 || r.Status != StatusOK || r.Handle != handles[1] {
					t.Errorf("one node failure: handles %v, result %s on %s; want ok on the second job", handles, r.Status, r.Handle)
				}
			case 2:
				if len(handles) != 2 || r.Status != StatusCrashed || !strings.Contains(r.Error, "NODE_FAIL") {
					t.Errorf("two node failures: handles %v, result %s %q; want crashed after one resubmission", handles, r.Status, r.Error)
				}
			}
		})
	}
}

// BenchmarkSlurmJob measures the engine's overhead per Slurm job: the time
// from Evaluate's call (job dir, sbatch) to the result being returned,
// minus the job's own run time on the node (job.started → job.ended). The
// baseline is the same job script run directly on this machine in the
// same iteration, so slurm/direct is the ratio. The overhead is split into
// submit (job dir + sbatch, arbor), launch (sbatch → script start, Slurm's
// scheduler and slurmd) and collect (script end → result returned, arbor's
// poller).
func BenchmarkSlurmJob(b *testing.B) {
	e := needSlurm(b)
	run := uniqueRun("bench")
	c := e.config(b, b.TempDir())
	c.SkipProbe, c.MaxInFlight = true, 1
	var submitted time.Time
	s, err := NewSlurm(context.Background(), c, SlurmOptions{RunName: run, Env: e.env,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnSubmit: func(string, string) { submitted = time.Now() }})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	directDir := filepath.Join(b.TempDir(), "direct")
	if err := s.prepare(directDir, syntheticJob(run, "direct", candidateSource(8), 1)); err != nil {
		b.Fatal(err)
	}
	var direct, viaSlurm, overhead, worst, submit, launch, collect time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		cmd := exec.Command("sh", filepath.Join(directDir, "job.sh"))
		cmd.Env = child.Env()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("direct run: %v %s", err, out)
		}
		direct += time.Since(t0)

		job := syntheticJob(run, fmt.Sprintf("b%d", i), candidateSource(8), 1)
		t0 = time.Now()
		r, err := s.Evaluate(context.Background(), job, nil)
		t1 := time.Now()
		if err != nil || r.Status != StatusOK {
			b.Fatalf("Evaluate: %v %s %s", err, r.Status, r.Error)
		}
		start, end, err := jobTimes(s.JobDir(job.ID))
		if err != nil {
			b.Fatal(err)
		}
		took := t1.Sub(t0)
		viaSlurm += took
		overhead += took - end.Sub(start)
		worst = max(worst, took-end.Sub(start))
		submit += submitted.Sub(t0)
		launch += start.Sub(submitted)
		collect += t1.Sub(end)
	}
	n := float64(b.N)
	b.ReportMetric(direct.Seconds()/n, "direct-s/job")
	b.ReportMetric(viaSlurm.Seconds()/n, "slurm-s/job")
	b.ReportMetric(overhead.Seconds()/n, "overhead-s/job")
	b.ReportMetric(worst.Seconds(), "worst-overhead-s")
	b.ReportMetric(submit.Seconds()/n, "submit-s/job")
	b.ReportMetric(launch.Seconds()/n, "launch-s/job")
	b.ReportMetric(collect.Seconds()/n, "collect-s/job")
	b.ReportMetric(viaSlurm.Seconds()/direct.Seconds(), "slurm/direct")
}

// jobTimes is when job.sh started and ended on the node, from its
// timestamps. The result is recorded as soon as result.json exists,
// possibly before job.ended is written; then the run ends at the result.
func jobTimes(dir string) (start, end time.Time, err error) {
	read := func(name string) (time.Time, error) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return time.Time{}, err
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(string(data)), 64)
		return time.Unix(0, int64(f*1e9)), err
	}
	if start, err = read("job.started"); err != nil {
		return start, end, err
	}
	if end, err = read("job.ended"); err != nil {
		st, serr := os.Stat(filepath.Join(dir, "result.json"))
		if serr != nil {
			return start, end, err
		}
		end, err = st.ModTime(), nil
	}
	return start, end, nil
}
