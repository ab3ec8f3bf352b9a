package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/arbor-nas/arbor/train/child"
)

// GateResult is the dry-run verdict on one candidate.
type GateResult struct {
	// Status is ok when the candidate built and ran forward and backward;
	// otherwise the failure class (build-error, shape-error, oom, crashed,
	// timeout, cancelled).
	Status  Status        `json:"status"`
	Params  int64         `json:"params"`
	FLOPs   int64         `json:"flops"` // multiply-accumulates per image
	Error   string        `json:"error,omitempty"`
	Elapsed time.Duration `json:"elapsed"`
}

// OK reports whether the candidate built and ran. The gate measures; the
// caller (evolve) judges the constraints on Params and FLOPs.
func (r GateResult) OK() bool { return r.Status == StatusOK }

// GateOptions tunes a Gate.
type GateOptions struct {
	Timeout time.Duration // per candidate; the process is killed and restarted past it
	Threads int           // torch CPU threads inside the gate
	Log     *slog.Logger
	// TempDir is where the gate's directory goes (default os.TempDir());
	// directories there left by killed gates are removed at start.
	TempDir string
	// Sandbox confines the gate's interpreter (nil: unconfined).
	Sandbox *child.Sandbox
}

// Gate is the dry-run gate: one resident Python process (torch imported
// once) that builds each candidate, runs a forward and backward pass on a
// dummy batch of two and counts parameters and FLOPs. A candidate that hangs
// or kills the process costs a restart, never a wrong answer. Check calls
// are serialised.
type Gate struct {
	python string
	dir    string
	opts   GateOptions
	worker *child.Worker

	mu sync.Mutex // guards dir
}

const gatePrefix = "arbor-gate-"

// NewGate prepares a gate that runs python (see child.FindPython). The
// process starts on the first Check.
func NewGate(python string, opts GateOptions) (*Gate, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Threads <= 0 {
		opts.Threads = 1
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	child.SweepStale(opts.TempDir, gatePrefix, opts.Log)
	dir, err := child.MakeOwnedTemp(opts.TempDir, gatePrefix)
	if err != nil {
		return nil, fmt.Errorf("train: gate dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ScriptFile), TrainerScript, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("train: write gate script into %s: %w", dir, err)
	}
	// The candidate may write only work/, never the script the next
	// restart runs.
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("train: gate dir: %w", err)
	}
	w := child.NewWorker(child.WorkerOptions{
		Path: python, Args: []string{filepath.Join(dir, ScriptFile), "--gate"}, Dir: work,
		Env: child.Env("ARBOR_GATE_THREADS="+strconv.Itoa(opts.Threads), "CUDA_VISIBLE_DEVICES=",
			"TMPDIR="+work, "HOME="+work),
		Ready:   gateReady,
		Sandbox: opts.Sandbox, Writable: []string{work},
	})
	return &Gate{python: python, dir: dir, opts: opts, worker: w}, nil
}

// gateReady checks the gate's first line, {"ready": true}.
func gateReady(line []byte) error {
	var ready struct {
		Ready bool `json:"ready"`
	}
	if err := json.Unmarshal(line, &ready); err != nil {
		return err
	}
	if !ready.Ready {
		return errors.New("not ready")
	}
	return nil
}

type gateRequest struct {
	Source  string `json:"source"`
	Input   [3]int `json:"input"`
	Classes int    `json:"classes"`
}

type gateAnswer struct {
	Status Status  `json:"status"`
	Params int64   `json:"params"`
	FLOPs  int64   `json:"flops"`
	Error  string  `json:"error"`
	MS     float64 `json:"ms"`
}

// Check dry-runs source (defining class Candidate) on an input of shape
// (C,H,W) with classes logits and counts its parameters and FLOPs. The error is non-nil only when the gate itself cannot run
// or ctx ends; a failing candidate is a status.
func (g *Gate) Check(ctx context.Context, source string, input [3]int, classes int) (GateResult, error) {
	start := time.Now()
	g.mu.Lock()
	closed := g.dir == ""
	g.mu.Unlock()
	if closed {
		return GateResult{}, ErrClosed
	}
	line, err := g.worker.Call(ctx, gateRequest{Source: source, Input: input, Classes: classes}, g.opts.Timeout)
	var ce *child.CallError
	switch {
	case err == nil:
	case errors.As(err, &ce) && errors.Is(err, child.ErrTimeout):
		g.opts.Log.Warn("train: gate timed out; restarting", "timeout", g.opts.Timeout)
		return GateResult{Status: StatusTimeout, Error: fmt.Sprintf("dry run took longer than %v", g.opts.Timeout), Elapsed: time.Since(start)}, nil
	case errors.As(err, &ce):
		return GateResult{Status: StatusCrashed, Error: "the candidate killed the gate process: " + tail(ce.Stderr, 2000), Elapsed: time.Since(start)}, nil
	case ctx.Err() != nil:
		return GateResult{Status: StatusCancelled, Error: context.Cause(ctx).Error(), Elapsed: time.Since(start)}, ctx.Err()
	case errors.Is(err, child.ErrClosed):
		return GateResult{}, ErrClosed
	default:
		return GateResult{}, err
	}
	var ans gateAnswer
	if err := json.Unmarshal(line, &ans); err != nil {
		return GateResult{}, fmt.Errorf("train: gate answer %q: %w", tail(string(line), 200), err)
	}
	return GateResult{Status: ans.Status, Params: ans.Params, FLOPs: ans.FLOPs, Error: ans.Error, Elapsed: time.Since(start)}, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// Close stops the gate process and removes its directory.
func (g *Gate) Close() error {
	g.worker.Close()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dir == "" {
		return nil
	}
	err := os.RemoveAll(g.dir)
	g.dir = ""
	return err
}
