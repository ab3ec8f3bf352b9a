package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train/testenv"
)

// arborCmd runs this test binary as the arbor CLI in a real child process.
func arborCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), reexecEnv+"=1")
	return cmd
}

func needTorch(t *testing.T) {
	t.Helper()
	testenv.Require(t, testenv.Torch)
}

const crashConfig = `
run:
  evaluator: local
evolve:
  strategy: thompson
  seed: 5
  seed_arch: vgg-small
  parallel: 2
  budget:
    trained: 7
  dry_run: false
  grace: 5s
train:
  workers: 2
  recipe:
    epochs: 1
    batch_size: 32
    optimizer: sgd
    lr: 0.05
    momentum: 0.9
    warmup_epochs: 0
    augment: false
    subset: 64
    amp: false
    threads: 1
  dataset:
    name: synthetic
    val_split: 0.25
  limits:
    wall_s: 120
`

// TestCrashResume starts a real search, kill -9s it after k results,
// resumes it, and checks that the store ends with exactly the budget
// trained, no architecture trained twice, and every earlier result intact.
func TestCrashResume(t *testing.T) {
	needTorch(t)
	tmp := t.TempDir()
	cfgPath := filepath.Join(tmp, "cfg.yaml")
	if err := os.WriteFile(cfgPath, []byte(crashConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "run")
	ctx := context.Background()

	// Stage 1: Ctrl-C after the first result drains: the process exits by
	// itself, stores what finished, and leaves cut-short jobs re-queueable.
	var out0 bytes.Buffer
	zero := arborCmd("evolve", "--config", cfgPath, "--run", dir)
	zero.Stdout, zero.Stderr = &out0, &out0
	if err := zero.Start(); err != nil {
		t.Fatal(err)
	}
	waitTrained(t, dir, 1, zero, &out0)
	if err := zero.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := zero.Wait(); err == nil || !strings.Contains(out0.String(), "arbor evolve --resume") {
		t.Fatalf("interrupted run: err %v, output:\n%s", err, out0.String())
	}
	if st, err := store.OpenStoreReadOnly(dir); err != nil {
		t.Fatal(err)
	} else {
		cs, err := st.Candidates(ctx)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Status == store.StatusPending && c.Attempts != c.Interrupted {
				t.Fatalf("after a drain, %s is pending with %d attempts and %d interruptions; a drain must record its cut as an interruption", c.ID, c.Attempts, c.Interrupted)
			}
		}
	}

	// Stage 2: resume, then kill -9 after k results.
	var out1 bytes.Buffer
	first := arborCmd("evolve", "--resume", dir)
	first.Stdout, first.Stderr = &out1, &out1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	const k = 4
	deadline := time.Now().Add(5 * time.Minute)
	var before []store.Candidate
	for {
		if time.Now().After(deadline) {
			first.Process.Kill()
			first.Wait()
			t.Fatalf("no %d results within 5 minutes:\n%s", k, out1.String())
		}
		time.Sleep(100 * time.Millisecond)
		st, err := store.OpenStoreReadOnly(dir)
		if err != nil {
			continue // not created yet
		}
		n, err := st.TrainedCount(ctx)
		if err == nil && n >= k {
			if err := first.Process.Kill(); err != nil { // SIGKILL: no drain, no flush
				t.Fatal(err)
			}
			before, err = st.Candidates(ctx)
			st.Close()
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		st.Close()
	}
	first.Wait()

	// Stage 3: resume to the end.
	second := arborCmd("evolve", "--resume", dir)
	out2, err := second.CombinedOutput()
	if err != nil {
		t.Fatalf("resume failed: %v\nfirst run:\n%s\nresume:\n%s", err, out1.String(), out2)
	}
	if !strings.Contains(string(out2), "resumed") {
		t.Fatalf("the second run did not report resuming:\n%s", out2)
	}

	st, err := store.OpenStoreReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	after, err := st.Candidates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	trained, seeds, pending := 0, 0, 0
	hashes := map[string]string{}
	for _, c := range after {
		switch c.Status {
		case store.StatusTrained, store.StatusFailed:
			trained++
		case store.StatusPending:
			pending++
		}
		if c.Op == store.OpSeed {
			seeds++
		}
		if c.Gate == store.GatePass {
			if prev, dup := hashes[c.Hash]; dup {
				t.Errorf("%s and %s passed the gate with the same hash %s", prev, c.ID, c.Hash)
			}
			hashes[c.Hash] = c.ID
		}
	}
	if trained != 7 || pending != 0 || seeds != 1 {
		t.Fatalf("after resume: %d trained (want 7), %d pending (want 0), %d seeds (want 1)\n%s", trained, pending, seeds, out2)
	}
	byID := map[string]store.Candidate{}
	for _, c := range after {
		byID[c.ID] = c
	}
	kept := 0
	for _, b := range before {
		a, ok := byID[b.ID]
		if !ok {
			t.Fatalf("candidate %s was lost", b.ID)
		}
		if b.Status == store.StatusTrained || b.Status == store.StatusFailed {
			kept++
			if a.Status != b.Status || a.Result.ValAcc != b.Result.ValAcc || a.Hash != b.Hash || a.Attempts != b.Attempts {
				t.Errorf("result of %s changed across the resume: %+v -> %+v", b.ID, b.Result, a.Result)
			}
		}
		if b.Status == store.StatusPending && (a.Status != store.StatusTrained && a.Status != store.StatusFailed) {
			t.Errorf("in-flight candidate %s was not re-queued: status %s", b.ID, a.Status)
		}
	}
	if kept < k {
		t.Fatalf("only %d results stored before the kill, want >= %d", kept, k)
	}
	sum, err := st.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Trained != 7 {
		t.Fatalf("status says %d trained", sum.Trained)
	}
}

// waitTrained polls the store until n candidates are trained.
func waitTrained(t *testing.T, dir string, n int, cmd *exec.Cmd, out *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		st, err := store.OpenStoreReadOnly(dir)
		if err != nil {
			continue
		}
		got, err := st.TrainedCount(context.Background())
		st.Close()
		if err == nil && got >= n {
			return
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Fatalf("no %d results within 5 minutes:\n%s", n, out.String())
}

func TestEvolveBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"evolve"}, "--config"},
		{[]string{"evolve", "--config", "/nonexistent/cfg.yaml"}, "/nonexistent/cfg.yaml"},
		{[]string{"evolve", "--resume", "/nonexistent/run"}, "/nonexistent/run"},
		{[]string{"evolve", "--resume", "x", "--seed", "3"}, "only --budget may change"},
		{[]string{"evolve", "stray"}, "no arguments"},
		{[]string{"status"}, "exactly one RUN_DIR"},
		{[]string{"status", "/nonexistent/run"}, "run directory"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			root := newRootCmd()
			root.SetArgs(tc.args)
			root.SetOut(&strings.Builder{})
			root.SetErr(&strings.Builder{})
			err := root.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if exitCode(err) != 2 {
				t.Fatalf("exit code %d, want 2 (usage)", exitCode(err))
			}
		})
	}
}
