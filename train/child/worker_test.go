package child

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/train/testenv"
)

// echoWorker is a JSON-lines worker in Python: it says it is ready, then
// answers each request by what its "do" field asks for.
const echoWorker = `
import json, os, sys, time
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    do = req.get("do")
    if do == "sleep":
        time.sleep(60)
    elif do == "crash":
        sys.stderr.write("boom: the request crashed the worker\n"); sys.stderr.flush()
        os._exit(7)
    elif do == "noise":
        print("not json", flush=True)
        print(json.dumps({"id": req["id"] + 1000, "echo": "wrong id"}), flush=True)
    elif do == "env":
        print(json.dumps({"id": req["id"], "env": sorted(os.environ)}), flush=True)
        continue
    print(json.dumps({"id": req["id"], "echo": req.get("x"), "pid": os.getpid()}), flush=True)
`

func newEcho(t *testing.T) *Worker {
	t.Helper()
	py := testenv.Require(t, testenv.Python)
	dir := t.TempDir()
	script := filepath.Join(dir, "worker.py")
	if err := os.WriteFile(script, []byte(echoWorker), 0o644); err != nil {
		t.Fatal(err)
	}
	w := NewWorker(WorkerOptions{Path: py, Args: []string{script}, Dir: dir, Env: Env(),
		Ready: func(line []byte) error {
			if !strings.Contains(string(line), `"ready": true`) {
				return errors.New("no ready flag")
			}
			return nil
		}})
	t.Cleanup(func() { w.Close() })
	return w
}

type echoAnswer struct {
	ID   int64    `json:"id"`
	Echo string   `json:"echo"`
	PID  int      `json:"pid"`
	Env  []string `json:"env"`
}

func call(t *testing.T, w *Worker, req map[string]any, timeout time.Duration) (echoAnswer, error) {
	t.Helper()
	line, err := w.Call(context.Background(), req, timeout)
	if err != nil {
		return echoAnswer{}, err
	}
	var a echoAnswer
	if err := json.Unmarshal(line, &a); err != nil {
		t.Fatalf("answer %q: %v", line, err)
	}
	return a, nil
}

// TestWorker: answers match their requests, stray output is passed over,
// a hang or a crash costs a restart with the right error, and the next
// request is answered by a fresh process.
func TestWorker(t *testing.T) {
	w := newEcho(t)
	first, err := call(t, w, map[string]any{"x": "a"}, 30*time.Second)
	if err != nil || first.Echo != "a" || first.ID != 1 {
		t.Fatalf("first call: %+v, %v", first, err)
	}
	steps := []struct {
		name    string
		req     map[string]any
		timeout time.Duration
		want    error // nil: an answer echoing x
		stderr  string
	}{
		{"same process", map[string]any{"x": "b"}, 30 * time.Second, nil, ""},
		{"stray lines", map[string]any{"do": "noise", "x": "c"}, 30 * time.Second, nil, ""},
		{"hang", map[string]any{"do": "sleep"}, 300 * time.Millisecond, ErrTimeout, ""},
		{"after hang", map[string]any{"x": "d"}, 30 * time.Second, nil, ""},
		{"crash", map[string]any{"do": "crash"}, 30 * time.Second, ErrExited, "boom"},
		{"after crash", map[string]any{"x": "e"}, 30 * time.Second, nil, ""},
	}
	pid := first.PID
	for _, s := range steps {
		a, err := call(t, w, s.req, s.timeout)
		if s.want != nil {
			var ce *CallError
			if !errors.Is(err, s.want) || !errors.As(err, &ce) || !strings.Contains(ce.Stderr, s.stderr) {
				t.Fatalf("%s: err %v, want %v with stderr %q", s.name, err, s.want, s.stderr)
			}
			if !gone(pid, 3*time.Second) {
				t.Fatalf("%s: process %d survived", s.name, pid)
			}
			continue
		}
		if err != nil || a.Echo != s.req["x"] {
			t.Fatalf("%s: %+v, %v", s.name, a, err)
		}
		if strings.HasPrefix(s.name, "after") == (a.PID == pid) {
			t.Errorf("%s: answered by pid %d, previous %d", s.name, a.PID, pid)
		}
		pid = a.PID
	}
}

// TestWorkerEnv: an API key in arbor's environment never reaches the child.
func TestWorkerEnv(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-secret")
	t.Setenv("ARBOR_LLM_API_KEY", "sk-secret")
	w := newEcho(t)
	a, err := call(t, w, map[string]any{"do": "env"}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range a.Env {
		if IsSecret(name) || name == "OPENAI_API_KEY" {
			t.Errorf("the child sees %s", name)
		}
	}
	if len(a.Env) == 0 {
		t.Error("the child saw no environment at all")
	}
}

func TestWorkerCancelAndClose(t *testing.T) {
	w := newEcho(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := w.Call(ctx, map[string]any{"do": "sleep"}, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled call: %v", err)
	}
	if _, err := call(t, w, map[string]any{"x": "f"}, 30*time.Second); err != nil {
		t.Fatalf("after cancel: %v", err)
	}
	w.Close()
	if _, err := w.Call(context.Background(), map[string]any{"x": "g"}, time.Second); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if _, err := w.Call(context.Background(), []int{1}, time.Second); err == nil {
		t.Fatal("a request that is not a JSON object was sent")
	}
}

func TestWorkerStartFailures(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		want         string
	}{
		{"exits", "import sys; sys.stderr.write('no torch here'); sys.exit(1)", "no torch here"},
		{"not ready", "print('hello', flush=True)\nimport time; time.sleep(60)", "instead of ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			script := filepath.Join(dir, "w.py")
			os.WriteFile(script, []byte(tc.script), 0o644)
			w := NewWorker(WorkerOptions{Path: "python3", Args: []string{script}, Dir: dir, Env: Env(),
				Ready: func(line []byte) error { return errors.New("not the ready line") }})
			defer w.Close()
			if err := w.Start(context.Background()); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("start: %v, want %q", err, tc.want)
			}
		})
	}
}
