package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/arbor-nas/arbor/train/child"
)

// ErrClosed is returned by an evaluator used after Close.
var ErrClosed = errors.New("train: evaluator is closed")

// Local trains jobs on this machine: at most Workers at a time, each in a
// child process with its own working directory, process group, scrubbed
// environment, wall-time limit and (optionally) pinned GPU. With Prestart
// (the default) each worker slot keeps one resident interpreter that runs
// job after job with torch imported and the dataset decoded; a job that
// times out, is cancelled or kills its interpreter costs a fresh one, and
// WorkerJobs bounds how many jobs one interpreter runs. A failing or killed
// child only fails its own job.
type Local struct {
	cfg     Config
	python  string
	root    string
	ownDir  bool
	log     *slog.Logger
	slots   chan int
	sandbox *child.Sandbox

	mu      sync.Mutex
	closed  bool
	idle    []*trainer // per worker slot: a resident interpreter waiting for a job
	running map[*trainer]struct{}
}

// trainer is one trainer process, the sink its stdout lines go to and the
// number of jobs it has taken.
type trainer struct {
	proc *child.Proc
	jobs int
	mu   sync.Mutex
	sink func([]byte)
}

func (c *trainer) onLine(line []byte) {
	c.mu.Lock()
	sink := c.sink
	c.mu.Unlock()
	if sink != nil {
		sink(line)
	}
}

func (c *trainer) setSink(f func([]byte)) {
	c.mu.Lock()
	c.sink = f
	c.mu.Unlock()
}

// NewLocal validates cfg, finds the interpreter and starts the pool.
func NewLocal(ctx context.Context, cfg Config, log *slog.Logger) (*Local, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	python, err := child.FindPython(ctx, cfg.Python)
	if err != nil {
		return nil, err
	}
	sandbox, err := child.NewSandbox(ctx, cfg.Sandbox, log)
	if err != nil {
		return nil, err
	}
	l := &Local{cfg: cfg, python: python, log: log, slots: make(chan int, cfg.Workers), sandbox: sandbox,
		idle: make([]*trainer, cfg.Workers), running: map[*trainer]struct{}{}}
	if cfg.WorkDir == "" {
		// Pools killed with kill -9 could not remove theirs.
		child.SweepStale(cfg.TempDir, poolPrefix, log)
		l.root, err = child.MakeOwnedTemp(cfg.TempDir, poolPrefix)
		l.ownDir = true
	} else {
		l.root, err = filepath.Abs(cfg.WorkDir)
		if err == nil {
			err = os.MkdirAll(l.root, 0o755)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("train.work_dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(l.root, ScriptFile), TrainerScript, 0o644); err != nil {
		return nil, fmt.Errorf("train: write trainer into %s: %w", l.root, err)
	}
	for i := 0; i < cfg.Workers; i++ {
		// Each worker slot has its own folder, the only one its sandboxed
		// interpreters may write: a candidate cannot touch another job's
		// files or the trainer script.
		if err := os.MkdirAll(l.slotDir(i), 0o755); err != nil {
			l.Close()
			return nil, fmt.Errorf("train.work_dir: %w", err)
		}
		child.SweepStale(l.slotDir(i), jobPrefix, log)
		l.slots <- i
		if cfg.Prestart {
			if l.idle[i], err = l.spawn(i); err != nil {
				l.Close()
				return nil, err
			}
		}
	}
	log.Debug("train: local pool ready", "python", python, "workers", cfg.Workers, "dir", l.root, "sandboxed", sandbox.Confined())
	return l, nil
}

// Python is the interpreter the pool runs.
func (l *Local) Python() string { return l.python }

// Sandbox is the pool's sandbox, for the gate to share.
func (l *Local) Sandbox() *child.Sandbox { return l.sandbox }

// slotDir is worker slot i's folder: its job directories and its
// interpreters' only writable place.
func (l *Local) slotDir(i int) string { return filepath.Join(l.root, fmt.Sprintf("slot-%d", i)) }

// spawn starts a trainer in --serve mode for a worker slot: it imports torch
// and then waits on stdin for jobs.
func (l *Local) spawn(slot int) (*trainer, error) {
	var extra []string
	if n := len(l.cfg.Devices); n > 0 {
		extra = append(extra, "CUDA_VISIBLE_DEVICES="+l.cfg.Devices[slot%n])
	}
	dir := l.slotDir(slot)
	extra = append(extra, "TMPDIR="+dir, "HOME="+dir)
	cmd := l.sandbox.Command(l.python, []string{filepath.Join(l.root, ScriptFile), "--serve"}, dir, dir)
	cmd.Env = child.Env(extra...)
	c := &trainer{}
	p, err := child.Start(cmd, c.onLine)
	if err != nil {
		return nil, err
	}
	c.proc = p
	return c, nil
}

// take returns the slot's resident interpreter if it is still alive, else a
// new one.
func (l *Local) take(slot int) (*trainer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	c := l.idle[slot]
	l.idle[slot] = nil
	if c != nil {
		select {
		case <-c.proc.Exited():
			l.log.Warn("train: resident interpreter died while idle; starting another",
				"slot", slot, "stderr", c.proc.Stderr())
			c.proc.Wait()
			c = nil
		default:
		}
	}
	var err error
	if c == nil {
		if c, err = l.spawn(slot); err != nil {
			return nil, err
		}
	}
	c.jobs++
	l.running[c] = struct{}{}
	return c, nil
}

// release ends a job on c. A resident interpreter that finished its job
// cleanly waits in the slot for the next; otherwise it is stopped and, with
// Prestart, a fresh one starts importing torch at once.
func (l *Local) release(slot int, c *trainer, clean bool) {
	grace := time.Duration(l.cfg.KillGraceS * float64(time.Second))
	l.mu.Lock()
	delete(l.running, c)
	keep := clean && l.cfg.Prestart && !l.closed && (l.cfg.WorkerJobs <= 0 || c.jobs < l.cfg.WorkerJobs)
	if keep {
		l.idle[slot] = c
		l.mu.Unlock()
		return
	}
	respawn := l.cfg.Prestart && !l.closed
	l.mu.Unlock()
	c.proc.Stdin().Close() // a finished trainer exits at the end of stdin
	select {
	case <-c.proc.Exited():
	case <-time.After(grace):
	}
	c.proc.Stop(grace)
	if !respawn {
		return
	}
	n, err := l.spawn(slot)
	if err != nil {
		l.log.Warn("train: cannot prestart interpreter", "slot", slot, "err", err)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.idle[slot] != nil {
		go n.proc.Stop(grace)
		return
	}
	l.idle[slot] = n
}

// Name prefixes of the pool's temporary directory and of its job directories.
const (
	poolPrefix = "arbor-train-"
	jobPrefix  = "job-"
)

// startupLimit bounds how long an interpreter may take to import torch and
// take its job, apart from the job's own wall-time limit.
const startupLimit = 3 * time.Minute

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Evaluate trains job in a child process and returns its result. Candidate
// failures, timeouts and cancellation are statuses, not errors.
func (l *Local) Evaluate(ctx context.Context, job Job, progress func(Progress)) (Result, error) {
	start := time.Now()
	res := Result{ID: job.ID}
	cancelled := func() (Result, error) {
		res.Status = StatusCancelled
		res.Error = fmt.Sprintf("cancelled: %v", context.Cause(ctx))
		res.WallS = time.Since(start).Seconds()
		return res, nil
	}
	var slot int
	select {
	case slot = <-l.slots:
		defer func() { l.slots <- slot }()
	case <-ctx.Done():
		return cancelled()
	}
	if ctx.Err() != nil {
		return cancelled()
	}

	name := unsafeName.ReplaceAllString(job.ID, "_")
	if len(name) > 64 {
		name = name[:64]
	}
	dir, err := child.MakeOwnedTemp(l.slotDir(slot), jobPrefix+name+"-")
	if err != nil {
		return res, fmt.Errorf("train: job dir for %q under %s: %w", job.ID, l.slotDir(slot), err)
	}
	if !l.cfg.KeepDirs {
		defer os.RemoveAll(dir)
	}
	if err := writeLocalJob(dir, job); err != nil {
		return res, err
	}
	c, err := l.take(slot)
	if err != nil {
		return res, err
	}
	clean := false
	defer func() { l.release(slot, c, clean) }()
	token := fmt.Sprintf("%s#%d", filepath.Base(dir), c.jobs)
	started, done := make(chan struct{}), make(chan struct{})
	var startOnce, doneOnce sync.Once
	c.setSink(func(line []byte) {
		if bytes.Equal(bytes.TrimSpace(line), startedLine) {
			startOnce.Do(func() { close(started) })
			return
		}
		if isDoneLine(line, token) {
			doneOnce.Do(func() { close(done) })
			return
		}
		p, ep, ok := ParseTrainerLine(line)
		switch {
		case !ok:
		case p != nil && progress != nil:
			p.JobID = job.ID
			progress(*p)
		case ep != nil:
			l.log.Debug("train: epoch", "job", job.ID, "epoch", ep.Epoch, "val_acc", ep.ValAcc, "seconds", ep.Seconds)
		}
	})
	defer c.setSink(nil)
	req, _ := json.Marshal(map[string]string{"dir": dir, "job": JobFile, "out": ResultFile, "token": token})
	if _, err := c.proc.Stdin().Write(append(req, '\n')); err != nil {
		l.log.Warn("train: cannot hand job to interpreter", "job", job.ID, "err", err)
	}
	if !l.cfg.Prestart {
		c.proc.Stdin().Close() // one job per process: it exits after this one
	}

	wall := job.Limits.WallSeconds
	if wall <= 0 {
		wall = l.cfg.Limits.WallSeconds
	}
	// The wall limit runs from the moment the interpreter takes the job, so
	// a slow interpreter start does not eat into the candidate's time; the
	// start itself is bounded separately.
	startup := time.NewTimer(startupLimit)
	defer startup.Stop()
	var limit <-chan time.Time
	grace := time.Duration(l.cfg.KillGraceS * float64(time.Second))
	var stopped Status
	var why string
	finished := false
wait:
	for {
		select {
		case <-started:
			started = nil
			startup.Stop()
			if wall > 0 {
				t := time.NewTimer(time.Duration(wall * float64(time.Second)))
				defer t.Stop()
				limit = t.C
			}
		case <-done:
			finished = true
			break wait
		case <-c.proc.Exited():
			break wait
		case <-ctx.Done():
			c.proc.Stop(grace)
			stopped = StatusCancelled
			break wait
		case <-limit:
			c.proc.Stop(grace)
			stopped, why = StatusTimeout, fmt.Sprintf("killed after the wall-time limit of %gs", wall)
			break wait
		case <-startup.C:
			c.proc.Stop(grace)
			stopped, why = StatusTimeout, fmt.Sprintf("the interpreter did not take the job within %v", startupLimit)
			break wait
		}
	}
	var state *os.ProcessState
	if !finished {
		state, _ = c.proc.Wait()
	}

	switch {
	case stopped == StatusCancelled:
		return cancelled()
	case stopped == StatusTimeout:
		res.Status = StatusTimeout
		res.Error = why
	default:
		r, err := ReadResult(dir)
		if err != nil {
			res.Status = StatusCrashed
			if l.isClosed() {
				res.Status = StatusCancelled
			}
			res.Error = fmt.Sprintf("trainer exited (%v) without a result; stderr tail:\n%s", state, c.proc.Stderr())
		} else {
			res = r
			res.ID = job.ID
			clean = finished
			if res.Status == StatusOK && job.Checkpoint != "" {
				if err := moveCheckpoint(filepath.Join(dir, checkpointFile), job.Checkpoint); err != nil {
					return res, fmt.Errorf("train: job %q: %w", job.ID, err)
				}
			}
		}
	}
	res.WallS = time.Since(start).Seconds()
	return res, nil
}

// isDoneLine reports whether line is the trainer's {"done": token}.
func isDoneLine(line []byte, token string) bool {
	line = bytes.TrimSpace(line)
	if !bytes.HasPrefix(line, []byte(`{"done"`)) {
		return false
	}
	var msg struct {
		Done *string `json:"done"`
	}
	return json.Unmarshal(line, &msg) == nil && msg.Done != nil && *msg.Done == token
}

func (l *Local) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// Close stops waiting interpreters and running jobs and removes the pool's
// temporary directory.
func (l *Local) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	var procs []*child.Proc
	for i, c := range l.idle {
		if c != nil {
			procs = append(procs, c.proc)
			l.idle[i] = nil
		}
	}
	for c := range l.running {
		procs = append(procs, c.proc)
	}
	l.mu.Unlock()
	grace := time.Duration(l.cfg.KillGraceS * float64(time.Second))
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() { defer wg.Done(); p.Stop(grace) }()
	}
	wg.Wait()
	if l.ownDir {
		return os.RemoveAll(l.root)
	}
	return nil
}
