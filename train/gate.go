package train

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GateResult is the dry-run verdict on one candidate.
type GateResult struct {
	// Status is ok when the candidate built and ran forward and backward;
	// otherwise the failure class (build-error, shape-error, oom, crashed,
	// timeout, cancelled).
	Status Status `json:"status"`
	Params int64  `json:"params"`
	FLOPs  int64  `json:"flops"` // multiply-accumulates per image
	Error  string `json:"error,omitempty"`
	// Violation names the broken constraint of a candidate that runs but is
	// too large; empty when within limits.
	Violation string        `json:"violation,omitempty"`
	Elapsed   time.Duration `json:"elapsed"`
}

// OK reports whether the candidate ran and satisfies the constraints.
func (r GateResult) OK() bool { return r.Status == StatusOK && r.Violation == "" }

// GateOptions tunes a Gate.
type GateOptions struct {
	Timeout time.Duration // per candidate; the process is killed and restarted past it
	Threads int           // torch CPU threads inside the gate
	Log     *slog.Logger
	// TempDir is where the gate's directory goes (default os.TempDir());
	// directories there left by killed gates are removed at start.
	TempDir string
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

	mu    sync.Mutex
	proc  *Proc
	lines chan []byte
	next  int64
}

const gatePrefix = "arbor-gate-"

// NewGate prepares a gate that runs python (see DetectPython). The process
// starts on the first Check.
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
	SweepStale(opts.TempDir, gatePrefix, opts.Log)
	dir, err := MakeOwnedTemp(opts.TempDir, gatePrefix)
	if err != nil {
		return nil, fmt.Errorf("train: gate dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ScriptFile), TrainerScript, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("train: write gate script into %s: %w", dir, err)
	}
	return &Gate{python: python, dir: dir, opts: opts}, nil
}

// start launches the gate process and waits for its ready line.
func (g *Gate) start(ctx context.Context) error {
	cmd := exec.Command(g.python, filepath.Join(g.dir, ScriptFile), "--gate")
	cmd.Dir = g.dir
	cmd.Env = ScrubbedEnv("ARBOR_GATE_THREADS="+strconv.Itoa(g.opts.Threads), "CUDA_VISIBLE_DEVICES=")
	lines := make(chan []byte, 16)
	p, err := StartProc(cmd, func(b []byte) {
		select {
		case lines <- bytes.Clone(b):
		default: // nobody asked; a stray line is dropped rather than block the reader
		}
	})
	if err != nil {
		return err
	}
	startup := 2 * time.Minute
	select {
	case line := <-lines:
		var ready struct {
			Ready bool `json:"ready"`
		}
		if json.Unmarshal(line, &ready) != nil || !ready.Ready {
			p.Stop(time.Second)
			return fmt.Errorf("train: gate %s said %q instead of ready", g.python, line)
		}
	case <-p.Exited():
		p.Wait()
		return fmt.Errorf("train: gate %s exited at start: %s", g.python, p.Stderr())
	case <-time.After(startup):
		p.Stop(time.Second)
		return fmt.Errorf("train: gate %s not ready after %v", g.python, startup)
	case <-ctx.Done():
		p.Stop(time.Second)
		return ctx.Err()
	}
	g.proc, g.lines = p, lines
	return nil
}

func (g *Gate) kill() {
	if g.proc != nil {
		g.proc.Stop(time.Second)
		g.proc, g.lines = nil, nil
	}
}

type gateRequest struct {
	ID      int64  `json:"id"`
	Source  string `json:"source"`
	Input   [3]int `json:"input"`
	Classes int    `json:"classes"`
}

type gateAnswer struct {
	ID     int64   `json:"id"`
	Status Status  `json:"status"`
	Params int64   `json:"params"`
	FLOPs  int64   `json:"flops"`
	Error  string  `json:"error"`
	MS     float64 `json:"ms"`
}

// Check dry-runs source (defining class Candidate) on an input of shape
// (C,H,W) with classes logits and checks limits.MaxParams and MaxFLOPs
// (0 = unbounded). The error is non-nil only when the gate itself cannot run
// or ctx ends; a failing candidate is a status.
func (g *Gate) Check(ctx context.Context, source string, input [3]int, classes int, limits Limits) (GateResult, error) {
	start := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dir == "" {
		return GateResult{}, ErrClosed
	}
	if g.proc != nil {
		select {
		case <-g.proc.Exited(): // died since the last check
			g.kill()
		default:
		}
	}
	if g.proc == nil {
		if err := g.start(ctx); err != nil {
			return GateResult{}, err
		}
	}
	g.next++
	req, err := json.Marshal(gateRequest{ID: g.next, Source: source, Input: input, Classes: classes})
	if err != nil {
		return GateResult{}, fmt.Errorf("train: encode gate request: %w", err)
	}
	if _, err := g.proc.Stdin().Write(append(req, '\n')); err != nil {
		stderr := g.proc.Stderr()
		g.kill()
		return GateResult{Status: StatusCrashed, Error: "gate process gone: " + stderr, Elapsed: time.Since(start)}, nil
	}
	timer := time.NewTimer(g.opts.Timeout)
	defer timer.Stop()
	for {
		select {
		case line := <-g.lines:
			var ans gateAnswer
			if err := json.Unmarshal(line, &ans); err != nil || ans.ID != g.next {
				continue // not the answer to this request
			}
			r := GateResult{Status: ans.Status, Params: ans.Params, FLOPs: ans.FLOPs, Error: ans.Error, Elapsed: time.Since(start)}
			if r.Status == StatusOK {
				r.Violation = violation(r, limits)
			}
			return r, nil
		case <-g.proc.Exited():
			g.proc.Wait()
			stderr := g.proc.Stderr()
			g.kill()
			return GateResult{Status: StatusCrashed, Error: "the candidate killed the gate process: " + tail(stderr, 2000), Elapsed: time.Since(start)}, nil
		case <-timer.C:
			g.kill()
			g.opts.Log.Warn("train: gate timed out; restarting", "timeout", g.opts.Timeout)
			return GateResult{Status: StatusTimeout, Error: fmt.Sprintf("dry run took longer than %v", g.opts.Timeout), Elapsed: time.Since(start)}, nil
		case <-ctx.Done():
			g.kill()
			return GateResult{Status: StatusCancelled, Error: context.Cause(ctx).Error(), Elapsed: time.Since(start)}, ctx.Err()
		}
	}
}

func violation(r GateResult, l Limits) string {
	var v []string
	if l.MaxParams > 0 && r.Params > l.MaxParams {
		v = append(v, fmt.Sprintf("params %d > max_params %d", r.Params, l.MaxParams))
	}
	if l.MaxFLOPs > 0 && r.FLOPs > l.MaxFLOPs {
		v = append(v, fmt.Sprintf("flops %d > max_flops %d", r.FLOPs, l.MaxFLOPs))
	}
	return strings.Join(v, "; ")
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// Close stops the gate process and removes its directory.
func (g *Gate) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.kill()
	if g.dir == "" {
		return nil
	}
	err := os.RemoveAll(g.dir)
	g.dir = ""
	return err
}
