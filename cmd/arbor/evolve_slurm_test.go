package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train/testenv"
)

// TestSlurmEvolveKillResume runs `arbor evolve` with run.evaluator: slurm
// against the real one-node cluster of `make test-slurm`: a search of 6
// candidates on the synthetic dataset, kill -9 of arbor while jobs are in
// the queue, and --resume, which must re-attach by the stored job IDs and
// never submit a second copy (checked with squeue -t all).
func TestSlurmEvolveKillResume(t *testing.T) {
	conf := testenv.Require(t, testenv.Slurm)
	tmp := t.TempDir()
	// The job name carries the run directory's name; make it unique, since
	// the test cluster remembers finished jobs for an hour.
	runName := fmt.Sprintf("slurmrun%d", time.Now().UnixNano()%1_000_000_000)
	dir := filepath.Join(tmp, runName)
	cfg := strings.Replace(crashConfig, "evaluator: local", "evaluator: slurm", 1)
	cfg = strings.Replace(cfg, "trained: 7", "trained: 6", 1)
	cfg += fmt.Sprintf(`  slurm:
    python: /usr/bin/python3
    max_in_flight: 2
    time: "10"
    run_dir: %s
`, filepath.Join(tmp, "jobs"))
	cfgPath := filepath.Join(tmp, "cfg.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"SLURM_CONF=" + conf}

	var out1 bytes.Buffer
	first := arborCmd("evolve", "--config", cfgPath, "--run", dir)
	first.Env = append(first.Env, env...)
	first.Stdout, first.Stderr = &out1, &out1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	waitTrained(t, dir, 2, first, &out1)
	if err := first.Process.Kill(); err != nil { // kill -9 while jobs are in flight
		t.Fatal(err)
	}
	first.Wait()

	var out2 bytes.Buffer
	second := arborCmd("evolve", "--resume", dir)
	second.Env = append(second.Env, env...)
	second.Stdout, second.Stderr = &out2, &out2
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- second.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("resume: %v\nfirst run:\n%s\nresume:\n%s", err, out1.String(), out2.String())
		}
	case <-ctx.Done():
		second.Process.Kill()
		t.Fatalf("resume did not finish:\n%s", out2.String())
	}

	st, err := store.OpenStoreReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sum, err := st.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Trained != 6 {
		t.Fatalf("trained %d, want 6\n%s", sum.Trained, out2.String())
	}
	cs, err := st.Candidates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	handles := map[string]bool{}
	for _, c := range cs {
		if c.Status == store.StatusTrained && c.Result.Handle == "" {
			t.Errorf("%s trained without a Slurm job ID", c.ID)
		}
		if c.Result.Handle != "" {
			handles[c.Result.Handle] = true
		}
	}
	// Every job Slurm ever ran for this run (its name prefix) must be one
	// the store knows (the start-up probe jobs aside): no duplicate
	// submissions after the resume.
	q := exec.Command("squeue", "-h", "-t", "all", "-o", "%i %j")
	q.Env = append(os.Environ(), env...)
	raw, err := q.CombinedOutput()
	if err != nil {
		t.Fatalf("squeue: %v %s", err, raw)
	}
	jobs := 0
	// The proxy-noise repeats of the seed (evolve.noise) are jobs of their
	// own, not candidates: each is submitted once, and the resume (after
	// the noise was stored) submits none again.
	noise := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		id, name, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(name, "arbor-"+runName+"-") || name == "arbor-"+runName+"-probe" {
			continue
		}
		if strings.Contains(name, "-noise") {
			noise[name]++
			continue
		}
		jobs++
		if !handles[id] {
			t.Errorf("slurm job %s (%s) is not recorded in the store: submitted twice?", id, name)
		}
	}
	if jobs != len(handles) {
		t.Errorf("%d Slurm jobs for the run, %d recorded handles", jobs, len(handles))
	}
	if want := evolve.DefaultNoiseConfig().Repeats; len(noise) != want {
		t.Errorf("%d noise-repeat jobs %v, want %d", len(noise), noise, want)
	}
	for name, n := range noise {
		if n != 1 {
			t.Errorf("noise job %s submitted %d times", name, n)
		}
	}
	t.Logf("6 trained through Slurm, %d jobs submitted in all, across a kill -9 and a resume", jobs)
}
