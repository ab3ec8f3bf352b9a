package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve/store"
)

// TestFailedStartLeavesNothing: a start that fails, on a file the config
// names or on a seed the gate rejects, exits with a usage error that names
// the key and the path, and leaves no run directory behind, so the same
// command works once the cause is fixed (no "use --resume").
func TestFailedStartLeavesNothing(t *testing.T) {
	tests := []struct {
		name  string
		torch bool // the failure comes after the run store was made
		over  string
		code  int
		want  []string
	}{
		{
			name: "missing dataset path",
			over: "train:\n  dataset:\n    name: fashion-mnist\n    path: no/such/fmnist\n",
			code: 2,
			want: []string{"train.dataset.path", filepath.Join("no", "such", "fmnist"), "does not exist"},
		},
		{
			name: "missing table",
			over: "run:\n  evaluator: tabular\n  table: no-table.csv\nevolve:\n  seed_arch: nb201-resnet\n",
			code: 2,
			want: []string{"run.table", "no-table.csv", "does not exist"},
		},
		{
			name: "missing seed file",
			over: "evolve:\n  seed_arch: no-seed.json\n",
			code: 2,
			want: []string{"evolve.seed_arch", "no-seed.json"},
		},
		{
			name:  "seed over the constraints",
			torch: true,
			over:  "evolve:\n  seed_arch: vgg-small\ntrain:\n  workers: 1\n  dataset:\n    name: gratings\n  limits:\n    max_params: 1000\n",
			code:  1,
			want:  []string{"seed architecture", "constraints", "nothing kept"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.torch {
				needTorch(t)
			}
			dir := t.TempDir()
			cfg := writeFile(t, dir, "cfg.yaml", "run:\n  dir: run\n"+strings.Replace(tc.over, "run:\n", "", 1))
			for try := range 2 { // the second try fails the same way: nothing sticky
				var out bytes.Buffer
				cmd := arborCmd("evolve", "--config", cfg, "--quiet")
				cmd.Stdout, cmd.Stderr = &out, &out
				err := cmd.Run()
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != tc.code {
					t.Fatalf("try %d: want exit %d, got %v:\n%s", try, tc.code, err, out.String())
				}
				for _, w := range tc.want {
					if !strings.Contains(out.String(), w) {
						t.Errorf("try %d: the error does not say %q:\n%s", try, w, out.String())
					}
				}
				if strings.Contains(out.String(), "--resume") {
					t.Errorf("try %d: a failed start asks for --resume:\n%s", try, out.String())
				}
				if _, err := os.Stat(filepath.Join(dir, "run")); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("try %d: the failed start left %s behind (%v)", try, filepath.Join(dir, "run"), err)
				}
			}
		})
	}
}

// TestOneWriterAndDeadRuns: while a search runs, a second start or resume
// of its run is refused naming the owner's pid, and status says running;
// after a kill -9 status says the run is stopped and how to resume it;
// two resumes started together: one continues, the other is refused, and
// the run ends at its budget with nothing trained twice.
func TestOneWriterAndDeadRuns(t *testing.T) {
	needTorch(t)
	tmp := t.TempDir()
	cfg := gratingsConfig(t, tmp, 4, 1)
	run := filepath.Join(tmp, "run")

	var out0 bytes.Buffer
	first := arborCmd("evolve", "--config", cfg, "--quiet")
	first.Stdout, first.Stderr = &out0, &out0
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	waitTrained(t, run, 1, first, &out0)
	pid := strconv.Itoa(first.Process.Pid)
	for _, args := range [][]string{{"evolve", "--resume", run}, {"evolve", "--config", cfg}} {
		out, err := arborCmd(args...).CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "pid "+pid) {
			t.Errorf("arbor %s while pid %s runs it: %v, want exit 2 naming the pid:\n%s", strings.Join(args, " "), pid, err, out)
		}
	}
	if out := status(t, run); !strings.Contains(out, "run "+run+": running") {
		t.Errorf("status of a live run:\n%s", out)
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	want := "run " + run + ": stopped (process gone); resume with `arbor evolve --resume " + run + "`"
	if out := status(t, run); !strings.Contains(out, want) {
		t.Errorf("status of a killed run does not say %q:\n%s", want, out)
	}

	// Two resumes at once.
	var outs [2]bytes.Buffer
	var cmds [2]*exec.Cmd
	for i := range cmds {
		cmds[i] = arborCmd("evolve", "--resume", run, "--quiet")
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	ok, refused := 0, 0
	for i, c := range cmds {
		err := c.Wait()
		var exit *exec.ExitError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &exit) && exit.ExitCode() == 2 && strings.Contains(outs[i].String(), "in use"):
			refused++
			t.Logf("refused: %s", strings.TrimSpace(outs[i].String()))
		default:
			t.Errorf("resume %d: %v\n%s", i, err, outs[i].String())
		}
	}
	if ok != 1 || refused != 1 {
		t.Fatalf("two concurrent resumes: %d finished, %d refused; want 1 and 1", ok, refused)
	}
	s, err := store.OpenStoreReadOnly(run)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cs, err := s.Candidates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	trained, hashes := 0, map[string]string{}
	for _, c := range cs {
		if c.Status == store.StatusFailed {
			t.Errorf("%s failed: %s", c.ID, c.Result.Error)
		}
		if c.Status != store.StatusTrained {
			continue
		}
		trained++
		if c.Attempts-c.Interrupted != 1 {
			t.Errorf("%s trained to the end %d times", c.ID, c.Attempts-c.Interrupted)
		}
		if prev, dup := hashes[c.Hash]; dup {
			t.Errorf("%s and %s trained the same architecture", prev, c.ID)
		}
		hashes[c.Hash] = c.ID
	}
	if trained != 4 {
		t.Errorf("%d trained, want the budget of 4", trained)
	}
	if out := status(t, run); !strings.Contains(out, "run "+run+": finished") {
		t.Errorf("status of the finished run:\n%s", out)
	}
}

// status is `arbor status dir`'s output.
func status(t *testing.T, dir string) string {
	t.Helper()
	out, err := arborCmd("status", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("arbor status %s: %v\n%s", dir, err, out)
	}
	return string(out)
}
