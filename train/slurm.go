package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/arbor-nas/arbor/train/child"
)

// ErrNoSlurmJob is returned by Attach when there is nothing to attach to
// or collect: the candidate was never submitted, or its job was cancelled
// or forgotten by Slurm without a result. The caller should Evaluate it.
var ErrNoSlurmJob = errors.New("no slurm job or result to attach to")

// errSlurmClosed means Close ran while the job was being submitted.
var errSlurmClosed = errors.New("slurm evaluator closed")

// slurmCmdTimeout bounds one sbatch/squeue/scontrol/scancel call; a
// slurmctld busy for longer than this is treated as a failed poll.
const slurmCmdTimeout = 2 * time.Minute

// slurmNoExport are allowlisted variables that must not follow a job to
// its node: Slurm sets the GPU binding there from --gres.
var slurmNoExport = map[string]bool{"CUDA_VISIBLE_DEVICES": true, "NVIDIA_VISIBLE_DEVICES": true}

// SlurmOptions are the run-specific parts of a Slurm evaluator.
type SlurmOptions struct {
	// RunName names the jobs (arbor-<run>-<candidate>) unless Job.RunName is set.
	RunName string
	Logger  *slog.Logger
	// OnSubmit is called with the candidate ID and the Slurm job ID right
	// after every sbatch, before the job is waited for, so the caller can
	// persist the handle and later Attach to it instead of submitting again.
	OnSubmit func(candidateID, handle string)
	// Env is the environment of the Slurm client commands (SLURM_CONF
	// lives here); nil means this process's environment.
	Env []string
	// Sandbox is train.sandbox: the job script runs the trainer under
	// bubblewrap on the compute node (bwrap: or fails the job; auto: or
	// warns in the job's log and runs it unconfined; none: unconfined).
	Sandbox string
}

// Slurm trains each candidate as one Slurm batch job that runs the embedded
// trainer on a compute node. One goroutine polls every job in flight.
type Slurm struct {
	cfg   SlurmConfig
	opts  SlurmOptions
	log   *slog.Logger
	env   []string
	slots chan struct{}

	mu      sync.Mutex
	watched map[string]*slurmWatch // by Slurm job ID
	closed  bool

	stop chan struct{}
	done chan struct{}
}

// slurmWatch is one job the poller follows until it ends.
type slurmWatch struct {
	id    string
	dir   string
	final chan slurmFinal // buffered; receives exactly once
	state string          // last state seen, poller-owned

	candidate string
	progress  func(Progress)
	logOff    int64 // bytes of the log already scanned for progress, poller-owned
}

type slurmFinal struct {
	state      string
	haveResult bool
}

// NewSlurm validates cfg, starts the poller and, unless cfg.SkipProbe,
// runs a probe job that proves the run directory is shared with the nodes
// and that cfg.Python imports torch there.
func NewSlurm(ctx context.Context, cfg SlurmConfig, opts SlurmOptions) (*Slurm, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RunName == "" {
		opts.RunName = "run"
	}
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	// The job scripts name files in run_dir and run elsewhere.
	runDir, err := filepath.Abs(cfg.RunDir)
	if err != nil {
		return nil, fmt.Errorf("train.slurm.run_dir: %w", err)
	}
	cfg.RunDir = runDir
	if err := os.MkdirAll(filepath.Join(cfg.RunDir, "jobs"), 0o755); err != nil {
		return nil, fmt.Errorf("train.slurm.run_dir: %w", err)
	}
	s := &Slurm{
		cfg: cfg, opts: opts, log: opts.Logger.With("backend", "slurm"), env: env,
		slots:   make(chan struct{}, cfg.MaxInFlight),
		watched: make(map[string]*slurmWatch),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go s.poll()
	if !cfg.SkipProbe {
		if err := s.probe(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// JobDir is where candidate id's job lives: source, spec, trainer, log, result.
func (s *Slurm) JobDir(id string) string {
	return filepath.Join(s.cfg.RunDir, "jobs", slurmSafe(id))
}

// JobName is the Slurm job name of a candidate, as squeue shows it.
func (s *Slurm) JobName(job Job) string {
	run := job.RunName
	if run == "" {
		run = s.opts.RunName
	}
	return "arbor-" + slurmSafe(run) + "-" + slurmSafe(job.ID)
}

// Evaluate submits job and blocks until Slurm reports it finished. A
// cancelled ctx scancels the job and waits until Slurm confirms.
func (s *Slurm) Evaluate(ctx context.Context, job Job, progress func(Progress)) (Result, error) {
	if job.ID == "" {
		return Result{}, errors.New("slurm: job has no ID")
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return Result{ID: job.ID, Status: StatusCancelled, Error: "cancelled before submission"}, nil
	}
	defer func() { <-s.slots }()
	dir := s.JobDir(job.ID)
	if err := s.prepare(dir, job); err != nil {
		return Result{}, err
	}
	return s.follow(ctx, job, dir, "", progress)
}

// Attach follows a job submitted earlier, possibly by a process that has
// died since: a queued or running job is waited for, a finished one's
// result is collected. It never submits a second copy; the only sbatch it
// may run is the one resubmission after NODE_FAIL or PREEMPTED. With an
// empty handle it looks the job up by name (arbor-<run>-<candidate>), which
// covers a process killed between sbatch and persisting the handle.
// ErrNoSlurmJob means there is nothing to attach to: never submitted,
// or cancelled (e.g. by the Ctrl-C that stopped the previous process) or
// forgotten by Slurm without a result. Attached jobs do not count toward
// max_in_flight, because they are in flight already.
func (s *Slurm) Attach(ctx context.Context, job Job, handle string, progress func(Progress)) (Result, error) {
	if job.ID == "" {
		return Result{}, errors.New("slurm: job has no ID")
	}
	dir := s.JobDir(job.ID)
	if handle == "" {
		id, err := s.findByName(s.JobName(job))
		if err != nil {
			return Result{}, err
		}
		if id == "" {
			// Slurm forgot the job (MinJobAge) or never had it: only a
			// result already on disk can be collected.
			if !fileExists(filepath.Join(dir, "result.json")) {
				return Result{}, fmt.Errorf("attach %s: no job named %s: %w", job.ID, s.JobName(job), ErrNoSlurmJob)
			}
			res := readSlurmResult(dir, "(forgotten)")
			res.ID = job.ID
			return res, nil
		}
		handle = id
	}
	res, err := s.follow(ctx, job, dir, handle, progress)
	if err == nil && ctx.Err() == nil && res.Status != StatusOK && res.Error != "" &&
		(res.Status == StatusCancelled || strings.Contains(res.Error, slurmUnknownMsg)) {
		return Result{}, fmt.Errorf("attach %s to slurm job %s: %s: %w", job.ID, handle, firstLine(res.Error), ErrNoSlurmJob)
	}
	return res, err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Close cancels every job still in flight, waits briefly for Slurm to
// confirm, and stops the poller.
func (s *Slurm) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ids := s.watchedIDs()
	s.mu.Unlock()
	var err error
	if len(ids) > 0 {
		s.log.Info("cancelling jobs in flight", "jobs", len(ids))
		err = s.scancel(ids...)
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			s.mu.Lock()
			n := len(s.watched)
			s.mu.Unlock()
			if n == 0 {
				break
			}
			time.Sleep(s.cfg.PollInterval / 2)
		}
	}
	close(s.stop)
	<-s.done
	return err
}

// prepare writes the job directory and clears what an earlier attempt left.
func (s *Slurm) prepare(dir string, job Job) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("slurm job dir: %w", err)
	}
	for _, f := range []string{"result.json", "job.started", "job.ended"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("slurm job dir: %w", err)
		}
	}
	if err := WriteJobDir(dir, job); err != nil {
		return fmt.Errorf("slurm job dir %s: %w", dir, err)
	}
	// The job runs the trainer directly: no Go binary on the nodes. The
	// timestamps let us tell the job's own run time from our overhead.
	script := fmt.Sprintf(`#!/bin/sh
# arbor candidate %s, written by arbor's Slurm evaluator.
cd %s || exit 97
# Progress lines must reach the log while the job runs, not at exit.
PYTHONUNBUFFERED=1; export PYTHONUNBUFFERED
date +%%s.%%N > job.started
%s
rc=$?
date +%%s.%%N > job.ended
exit $rc
`, slurmSafe(job.ID), shellQuote(dir), sandboxedTrainer(s.opts.Sandbox, dir, s.cfg.Python))
	if err := os.WriteFile(filepath.Join(dir, "job.sh"), []byte(script), 0o755); err != nil {
		return fmt.Errorf("slurm job script: %w", err)
	}
	return nil
}

// sandboxedTrainer is the job script's line that runs the trainer: under
// bubblewrap, confined as the local pool's children are (the node's
// NVIDIA devices bound through, only the job folder writable), where the
// node can run it; otherwise as train.sandbox says.
func sandboxedTrainer(mode, dir, python string) string {
	// Whatever the node's environment holds that looks like a credential
	// goes before the trainer starts, as the local pool's allow-list does:
	// the trainer's (or bwrap's) initial environment is what /proc shows.
	var marks []string
	for _, m := range child.SecretMarks() {
		marks = append(marks, "*"+m+"*")
	}
	scrub := `for v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p'); do
  case "$(printf %s "$v" | tr a-z A-Z)" in ` + strings.Join(marks, "|") + `) unset "$v";; esac
done
`
	run := shellQuote(python) + " trainer.py --job job.json --out result.json"
	if mode == child.SandboxNone {
		return scrub + run
	}
	var q []string
	for _, a := range child.BwrapArgs(nil, dir) {
		q = append(q, shellQuote(a))
	}
	bw := strings.Join(q, " ")
	fallback := `echo "arbor: WARNING: bubblewrap cannot run on $(hostname); this candidate runs unconfined" >&2; ` + run
	if mode == child.SandboxBwrap {
		fallback = `echo "arbor: train.sandbox is bwrap, but bubblewrap cannot run on $(hostname)" >&2; (exit 96)`
	}
	return scrub + `set --
for d in /dev/nvidia*; do [ -e "$d" ] && set -- "$@" --dev-bind "$d" "$d"; done
if command -v bwrap >/dev/null 2>&1 && bwrap ` + bw + ` -- true 2>/dev/null; then
  bwrap ` + bw + ` "$@" --chdir ` + shellQuote(dir) + ` -- ` + run + `
else
  ` + fallback + `
fi`
}

// follow waits for jobID (submitting first when it is empty) and turns
// its end into a Result, resubmitting once after a node failure.
func (s *Slurm) follow(ctx context.Context, job Job, dir, jobID string, progress func(Progress)) (Result, error) {
	for attempt := 0; ; attempt++ {
		if jobID == "" {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if ctx.Err() != nil || closed {
				return Result{ID: job.ID, Status: StatusCancelled, Error: "cancelled before submission"}, nil
			}
			id, err := s.submit(job, dir)
			if err != nil {
				return Result{}, err
			}
			jobID = id
		}
		fin, cancelled, err := s.wait(ctx, jobID, dir, job.ID, progress)
		if err != nil {
			return Result{}, err
		}
		if cancelled {
			return Result{ID: job.ID, Status: StatusCancelled, Handle: jobID, Error: "cancelled; scancel " + jobID}, nil
		}
		out := classifySlurm(fin.state, fin.haveResult, attempt, jobID, logTail(filepath.Join(dir, "slurm-"+jobID+".log")))
		if out.Requeue {
			s.log.Warn("job died with its node; submitting once more", "candidate", job.ID, "job", jobID, "state", fin.state)
			jobID = ""
			continue
		}
		res := Result{Status: out.Status, Error: out.Error}
		if fin.haveResult {
			res = readSlurmResult(dir, jobID)
		}
		res.ID, res.Handle = job.ID, jobID
		s.log.Debug("job ended", "candidate", job.ID, "job", jobID, "state", fin.state, "status", res.Status)
		return res, nil
	}
}

// wait blocks until the poller reports jobID finished. On ctx cancel it
// scancels the job and waits (bounded) until Slurm confirms the end, so
// no job of a cancelled run is left in squeue.
func (s *Slurm) wait(ctx context.Context, jobID, dir, candidate string, progress func(Progress)) (slurmFinal, bool, error) {
	w, err := s.watch(jobID, dir, candidate, progress)
	if errors.Is(err, errSlurmClosed) {
		return slurmFinal{}, true, nil
	}
	if err != nil {
		return slurmFinal{}, false, err
	}
	select {
	case f := <-w.final:
		return f, false, nil
	case <-ctx.Done():
	case <-s.stop:
	}
	if err := s.scancel(jobID); err != nil {
		s.log.Warn("scancel failed", "job", jobID, "err", err)
	}
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case <-w.final:
	case <-s.done:
	case <-t.C:
		s.unwatch(jobID)
		s.log.Warn("job still not ended 30 s after scancel", "job", jobID)
	}
	return slurmFinal{}, true, nil
}

func (s *Slurm) watch(jobID, dir, candidate string, progress func(Progress)) (*slurmWatch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		// Close is cancelling everything; a job submitted meanwhile
		// must not escape it.
		if err := s.scancel(jobID); err != nil {
			s.log.Warn("scancel failed", "job", jobID, "err", err)
		}
		return nil, errSlurmClosed
	}
	if w, ok := s.watched[jobID]; ok {
		return nil, fmt.Errorf("slurm job %s is already being followed (dir %s)", jobID, w.dir)
	}
	w := &slurmWatch{id: jobID, dir: dir, final: make(chan slurmFinal, 1), candidate: candidate, progress: progress}
	s.watched[jobID] = w
	return w, nil
}

func (s *Slurm) unwatch(jobID string) {
	s.mu.Lock()
	delete(s.watched, jobID)
	s.mu.Unlock()
}

// watchedIDs needs s.mu held.
func (s *Slurm) watchedIDs() []string {
	ids := make([]string, 0, len(s.watched))
	for id := range s.watched {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// submit runs sbatch for the job directory and reports the new job ID.
func (s *Slurm) submit(job Job, dir string) (string, error) {
	args := []string{"--parsable",
		"--job-name=" + s.JobName(job),
		"--chdir=" + dir,
		"--output=" + filepath.Join(dir, "slurm-%j.log"),
		// We resubmit ourselves after a node failure, exactly once, and
		// tell the caller the new handle.
		"--no-requeue",
		"--export=" + s.exportList(),
	}
	args = append(args, s.cfg.sbatchArgs(true)...)
	args = append(args, filepath.Join(dir, "job.sh"))
	// Not bound to the caller's ctx: a half-run sbatch would leave a job
	// we know nothing about. Cancellation scancels it right after.
	out, err := s.command(context.Background(), "sbatch", args...)
	if err != nil {
		return "", fmt.Errorf("submit %s: %w", job.ID, err)
	}
	id, err := parseSbatchID(out)
	if err != nil {
		return "", fmt.Errorf("submit %s: %w", job.ID, err)
	}
	// The job dir keeps every job ID it had, for people reading it later.
	if f, err := os.OpenFile(filepath.Join(dir, "slurm.jobids"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
		fmt.Fprintln(f, id)
		f.Close()
	}
	s.log.Info("submitted", "candidate", job.ID, "job", id, "name", s.JobName(job))
	if s.opts.OnSubmit != nil {
		s.opts.OnSubmit(job.ID, id)
	}
	return id, nil
}

// exportList is sbatch's --export value: the names of the variables the
// local runner's allowlist admits (never credentials), so a job on a node
// sees what a local child would. Candidates are untrusted code.
func (s *Slurm) exportList() string {
	var names []string
	for _, kv := range s.env {
		name, _, _ := strings.Cut(kv, "=")
		if name != "" && child.Passes(name) && !slurmNoExport[name] && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "NONE"
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// findByName returns the newest job named name that Slurm still knows.
func (s *Slurm) findByName(name string) (string, error) {
	out, err := s.command(context.Background(), "squeue", "-h", "-t", "all", "--name="+name, "-o", "%i|%T")
	if err != nil {
		return "", fmt.Errorf("look up job %s: %w", name, err)
	}
	best := ""
	for id := range parseSqueue(out) {
		if len(id) > len(best) || (len(id) == len(best) && id > best) {
			best = id
		}
	}
	return best, nil
}

func (s *Slurm) scancel(ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.command(context.Background(), "scancel", ids...)
	return err
}

// command runs one Slurm client command and returns its stdout.
func (s *Slurm) command(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, slurmCmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = s.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// readSlurmResult reads the trainer's result.json; an unreadable one is
// the candidate's crash, not the evaluator's.
func readSlurmResult(dir, jobID string) Result {
	path := filepath.Join(dir, "result.json")
	data, err := os.ReadFile(path)
	var res Result
	if err == nil {
		err = json.Unmarshal(data, &res)
	}
	if err != nil {
		return Result{Status: StatusCrashed, Error: fmt.Sprintf("slurm job %s: unreadable %s: %v", jobID, path, err)}
	}
	if res.Status == "" {
		res.Status = StatusCrashed
		res.Error = fmt.Sprintf("slurm job %s: %s has no status", jobID, path)
	}
	return res
}

// logTail is the last lines of a job's log, for error messages.
func logTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 2048
	if st, err := f.Stat(); err == nil && st.Size() > max {
		f.Seek(st.Size()-max, io.SeekStart)
	}
	data, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

// slurmSafe keeps job names and directory names to [A-Za-z0-9._-].
func slurmSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] == '.' {
		return "_" + string(b)
	}
	return string(b)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
