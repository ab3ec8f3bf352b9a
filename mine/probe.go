package mine

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

//go:embed probe.py
var probeScript []byte

// Prober owns one persistent Python child that probes modules one at a
// time. torch is imported once; a module that hangs or crashes the child
// costs only itself: the process group is killed and a new child started.
type Prober struct {
	python string
	dir    string
	cfg    Config
	log    *slog.Logger

	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	seq   int
}

// probeRequest is one line to the child.
type probeRequest struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	QualName  string         `json:"qualname"`
	Source    string         `json:"source"`
	Kwargs    map[string]any `json:"kwargs"`
	InArg     string         `json:"in_arg,omitempty"`
	OutArg    string         `json:"out_arg,omitempty"`
	StrideArg string         `json:"stride_arg,omitempty"`
	Widths    [3]int         `json:"widths"`
	HW        int            `json:"hw"`
	// Divisors are arguments whose value must divide the width.
	Divisors map[string]int `json:"divisors,omitempty"`
	// Callables maps callable arguments to their kind; the probe takes the
	// kind's default from CallableDefaults, evaluated after Preamble.
	Callables        map[string]string `json:"callables,omitempty"`
	Optional         []string          `json:"optional,omitempty"` // callables with a default of their own
	CallableDefaults map[string]string `json:"callable_defaults,omitempty"`
	CallableExprs    map[string]string `json:"callable_exprs,omitempty"`
	Preamble         string            `json:"preamble,omitempty"`
	// SoftTimeout (seconds of CPU time) is enforced inside the child with
	// a profiling timer, so a slow module (a whole model at its full size)
	// fails without a restart; ProbeTimeout stays the wall-clock limit.
	SoftTimeout float64 `json:"soft_timeout,omitempty"`
}

// probeReply is the child's answer.
type probeReply struct {
	ID             string  `json:"id"`
	OK             bool    `json:"ok"`
	Error          string  `json:"error"`
	Params         []int64 `json:"params"`
	MACs           []int64 `json:"macs"`
	Shapes         [][]int `json:"shapes"`
	PreservesShape bool    `json:"preserves_shape"`
	SameWidth      bool    `json:"same_width"`
	StrideOK       bool    `json:"stride_ok"`

	Layout        string            `json:"layout"`
	Widths        []int             `json:"widths"`
	Ratio         int               `json:"ratio"`
	IdentityRatio bool              `json:"identity_ratio"`
	OutLinear     []float64         `json:"out_linear"`
	WidthMultiple int               `json:"width_multiple"`
	FixedOutArg   string            `json:"fixed_out_arg"`
	Downsample    int               `json:"downsample"`
	OutHW         int               `json:"out_hw"`
	CallablesUsed map[string]string `json:"callables"`
	CallableKinds map[string]string `json:"callable_kinds"`
}

// startupTimeout covers importing torch in a fresh child.
const startupTimeout = 120 * time.Second

// NewProber finds the interpreter and starts the child in a private
// temporary working directory.
func NewProber(ctx context.Context, cfg Config, log *slog.Logger) (*Prober, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	py, err := FindPython(ctx, cfg.Python)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "arbor-probe-*")
	if err != nil {
		return nil, fmt.Errorf("probe work dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "probe.py"), probeScript, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("write probe script: %w", err)
	}
	p := &Prober{python: py, dir: dir, cfg: cfg, log: log}
	if err := p.start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

func (p *Prober) start(ctx context.Context) error {
	cmd := exec.Command(p.python, "-u", filepath.Join(p.dir, "probe.py"))
	cmd.Dir = p.dir
	env := scrubbedEnv(os.Environ())
	env = append(env, fmt.Sprintf("ARBOR_PROBE_MEM_MB=%d", p.cfg.ProbeMemoryMB), "HOME="+p.dir, "TMPDIR="+p.dir, "PYTHONDONTWRITEBYTECODE=1", "OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1", "CUDA_VISIBLE_DEVICES=")
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("probe stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("probe stdout: %w", err)
	}
	cmd.Stderr = &tailWriter{max: 4096}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start probe %s: %w", p.python, err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	p.cmd, p.stdin, p.lines = cmd, stdin, lines
	line, err := p.readLine(ctx, startupTimeout)
	if err != nil {
		p.kill()
		return fmt.Errorf("probe child did not start: %w (stderr: %s)", err, cmd.Stderr.(*tailWriter).String())
	}
	p.log.Debug("probe child started", "python", p.python, "hello", line)
	return nil
}

var errProbeDied = errors.New("probe child exited")

func (p *Prober) readLine(ctx context.Context, limit time.Duration) (string, error) {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case l, ok := <-p.lines:
		if !ok {
			return "", errProbeDied
		}
		return l, nil
	case <-t.C:
		return "", fmt.Errorf("timed out after %s", limit)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// kill ends the whole process group (mined code may fork) and reaps it.
func (p *Prober) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.stdin.Close()
	_ = p.cmd.Wait()
	for range p.lines {
	}
	p.cmd = nil
}

// Close stops the child and removes its working directory.
func (p *Prober) Close() error {
	p.kill()
	return os.RemoveAll(p.dir)
}

// probe sends one module; a timeout or crash kills and restarts the child
// and is reported as that module's failure.
func (p *Prober) probe(ctx context.Context, req probeRequest) (probeReply, error) {
	if p.cmd == nil {
		if err := p.start(ctx); err != nil {
			return probeReply{}, err
		}
	}
	b, err := json.Marshal(req)
	if err != nil {
		return probeReply{}, fmt.Errorf("encode probe request for %s: %w", req.QualName, err)
	}
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		stderrW := p.cmd.Stderr.(*tailWriter)
		p.kill()
		stderr := stderrW.String()
		return probeReply{OK: false, Error: fmt.Sprintf("probe child died before the request: %v %s", err, lastLine(stderr))}, nil
	}
	line, err := p.readLine(ctx, p.cfg.ProbeTimeout)
	if err != nil {
		if ctx.Err() != nil {
			p.kill()
			return probeReply{}, ctx.Err()
		}
		stderrW := p.cmd.Stderr.(*tailWriter)
		state := ""
		p.kill()
		stderr := stderrW.String()
		if errors.Is(err, errProbeDied) {
			state = "crashed"
		} else {
			state = "hung: " + err.Error()
		}
		p.log.Warn("probe child lost; restarting", "module", req.QualName, "why", state)
		return probeReply{OK: false, Error: fmt.Sprintf("probe %s; child restarted (stderr: %s)", state, lastLine(stderr))}, nil
	}
	var r probeReply
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		p.kill()
		return probeReply{OK: false, Error: fmt.Sprintf("unreadable probe reply %q: %v", truncate(line, 200), err)}, nil
	}
	if r.ID != req.ID {
		p.kill()
		return probeReply{OK: false, Error: fmt.Sprintf("probe reply for %s while waiting for %s", r.ID, req.ID)}, nil
	}
	return r, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// tailWriter keeps the last bytes of the child's stderr for error messages.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailWriter) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(b), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
