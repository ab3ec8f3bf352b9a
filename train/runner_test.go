package train

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestScrubbedEnv(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-1")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	t.Setenv("GITHUB_TOKEN", "t")
	t.Setenv("DB_PASSWORD", "p")
	t.Setenv("RANDOM_SETTING", "r")
	t.Setenv("OPENBLAS_CORETYPE", "Haswell")
	t.Setenv("OMP_NUM_THREADS", "2")
	t.Setenv("HOME", "/home/x")
	env := ScrubbedEnv("CUDA_VISIBLE_DEVICES=1", "MY_API_TOKEN=leak", "OMP_NUM_THREADS=4", "malformed")
	get := func(name string) (string, bool) {
		for _, kv := range env {
			if k, v, _ := strings.Cut(kv, "="); k == name {
				return v, true
			}
		}
		return "", false
	}
	for _, name := range []string{"OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "DB_PASSWORD", "RANDOM_SETTING", "MY_API_TOKEN", "malformed"} {
		if v, ok := get(name); ok {
			t.Errorf("%s=%s passed to the child", name, v)
		}
	}
	want := map[string]string{"OPENBLAS_CORETYPE": "Haswell", "OMP_NUM_THREADS": "4", "HOME": "/home/x",
		"CUDA_VISIBLE_DEVICES": "1", "PYTHONUNBUFFERED": "1"}
	for name, w := range want {
		if v, ok := get(name); !ok || v != w {
			t.Errorf("%s = %q (present %v), want %q", name, v, ok, w)
		}
	}
	names := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if names[k] {
			t.Errorf("%s appears twice", k)
		}
		names[k] = true
	}
}

// TestProcKillsGroup: whether the child is stopped or exits on its own, the
// background processes it started die with it.
func TestProcKillsGroup(t *testing.T) {
	cases := []struct {
		name   string
		script string
		stop   bool
	}{
		{"stopped", "sleep 300 & echo $!; wait", true},
		{"exits", "sleep 300 & echo $!; exit 3", false},
		{"ignores-term", "trap '' TERM; sleep 300 & echo $!; while :; do sleep 1; done", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pids := make(chan int, 1)
			p, err := StartProc(exec.Command("sh", "-c", tc.script), func(line []byte) {
				if n, err := strconv.Atoi(string(line)); err == nil {
					pids <- n
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			var pid int
			select {
			case pid = <-pids:
			case <-time.After(10 * time.Second):
				t.Fatal("no grandchild pid")
			}
			start := time.Now()
			if tc.stop {
				p.Stop(500 * time.Millisecond)
				if el := time.Since(start); el > 3*time.Second {
					t.Errorf("stop took %v", el)
				}
			}
			st, _ := p.Wait()
			if !tc.stop && st.ExitCode() != 3 {
				t.Errorf("exit code %d, want 3", st.ExitCode())
			}
			if !gone(pid, 3*time.Second) {
				t.Errorf("grandchild %d survived", pid)
			}
		})
	}
}

func TestProcStderrTail(t *testing.T) {
	p, err := StartProc(exec.Command("sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line$i >&2; i=$((i+1)); done"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
	tail := p.Stderr()
	if len(tail) > 8<<10 || !strings.HasSuffix(tail, "line1999\n") || strings.Contains(tail, "line0\n") {
		t.Errorf("stderr tail of %d bytes ends %q", len(tail), tail[max(0, len(tail)-20):])
	}
}

func TestDetectPythonFallsBack(t *testing.T) {
	torchPython(t)
	want, err := DetectPython(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DetectPython(t.Context(), "/nonexistent/python"); err != nil || got != want {
		t.Errorf("DetectPython(/nonexistent/python) = %q, %v; want the fallback %q", got, err, want)
	}
	// An interpreter without torch is passed over.
	noTorch := t.TempDir() + "/python"
	if err := writeExec(noTorch, "#!/bin/sh\nexit 1\n"); err != nil {
		t.Fatal(err)
	}
	if got, err := DetectPython(t.Context(), noTorch); err != nil || got == noTorch {
		t.Errorf("DetectPython(%s) = %q, %v", noTorch, got, err)
	}
}
