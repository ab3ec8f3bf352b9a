package child

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

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
			p, err := Start(exec.Command("sh", "-c", tc.script), func(line []byte) {
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
	p, err := Start(exec.Command("sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line$i >&2; i=$((i+1)); done"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
	tail := p.Stderr()
	if len(tail) > 8<<10 || !strings.HasSuffix(tail, "line1999\n") || strings.Contains(tail, "line0\n") {
		t.Errorf("stderr tail of %d bytes ends %q", len(tail), tail[max(0, len(tail)-20):])
	}
}

// gone waits up to d for pid to disappear (a zombie counts as gone).
func gone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		st := string(data)
		if i := strings.LastIndexByte(st, ')'); i >= 0 && i+2 < len(st) && st[i+2] == 'Z' {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
