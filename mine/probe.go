package mine

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/arbor-nas/arbor/train/child"
)

//go:embed probe.py
var probeScript []byte

// Prober owns one persistent Python child (a train/child worker) that
// probes modules one at a time. torch is imported once; a module that hangs
// or crashes the child costs only itself: the worker kills the process
// group and the next probe starts a new child.
type Prober struct {
	dir    string
	cfg    Config
	log    *slog.Logger
	worker *child.Worker
}

// probeRequest is one line to the child.
type probeRequest struct {
	ModuleID  string         `json:"module_id"`
	Name      string         `json:"name"`
	QualName  string         `json:"qualname"`
	Source    string         `json:"source"`
	Kwargs    map[string]any `json:"kwargs"`
	InArg     string         `json:"in_arg,omitempty"`
	OutArg    string         `json:"out_arg,omitempty"`
	StrideArg string         `json:"stride_arg,omitempty"`
	Widths    [3]int         `json:"widths"`
	HW        int            `json:"hw"`
	// SizeArgs: forward also takes the spatial size ("size" or "hw").
	SizeArgs string `json:"size_args,omitempty"`
	// Divisors are arguments whose value must divide the width.
	Divisors map[string]int `json:"divisors,omitempty"`
	// Callables maps callable arguments to their kind; the probe takes the
	// kind's default from CallableDefaults, evaluated after Preamble.
	Callables        map[string]string `json:"callables,omitempty"`
	Optional         []string          `json:"optional,omitempty"` // callables with a default of their own
	NoneDefault      []string          `json:"none_default,omitempty"`
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
	HWAdd         int               `json:"hw_add"`
	HW            int               `json:"hw"` // the input size measured at (larger than asked for big patches)
	OutHW         int               `json:"out_hw"`
	CallablesUsed map[string]string `json:"callables"`
	CallableKinds map[string]string `json:"callable_kinds"`
	// CallablesRequired were passed in every probe run (not alternatives).
	CallablesRequired []string `json:"callables_required"`
}

// startupTimeout covers importing torch in a fresh child, which takes
// minutes on a loaded 2-core machine.
const startupTimeout = 5 * time.Minute

// probePrefix names the probe's temporary folders in the system temp dir.
const probePrefix = "arbor-probe-"

// NewProber finds the interpreter and starts the child in a private
// temporary working directory with the allow-listed environment (no API
// keys reach mined code).
func NewProber(ctx context.Context, cfg Config, log *slog.Logger) (*Prober, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	py, err := FindPython(ctx, cfg.Python)
	if err != nil {
		return nil, err
	}
	sandbox, err := child.NewSandbox(ctx, cfg.Sandbox, log)
	if err != nil {
		return nil, fmt.Errorf("mine.sandbox: %w", err)
	}
	// Probes killed with kill -9 could not remove their folders.
	child.SweepStale("", probePrefix, log)
	dir, err := child.MakeOwnedTemp("", probePrefix)
	if err != nil {
		return nil, fmt.Errorf("probe work dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "probe.py"), probeScript, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("write probe script: %w", err)
	}
	// Mined code may write only work/, never the probe script.
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("probe work dir: %w", err)
	}
	w := child.NewWorker(child.WorkerOptions{
		Path: py, Args: []string{"-u", filepath.Join(dir, "probe.py")}, Dir: work,
		Sandbox: sandbox, Writable: []string{work},
		Env: child.Env(fmt.Sprintf("ARBOR_PROBE_MEM_MB=%d", cfg.ProbeMemoryMB), "HOME="+work, "TMPDIR="+work,
			"PYTHONDONTWRITEBYTECODE=1", "OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1", "CUDA_VISIBLE_DEVICES="),
		Ready: func(line []byte) error {
			var hello struct {
				Ready bool `json:"ready"`
			}
			if json.Unmarshal(line, &hello) != nil || !hello.Ready {
				return errors.New("not the probe's hello")
			}
			return nil
		},
		StartTimeout: startupTimeout,
	})
	if err := w.Start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("probe child did not start: %w", err)
	}
	log.Debug("probe child started", "python", py)
	return &Prober{dir: dir, cfg: cfg, log: log, worker: w}, nil
}

// Close stops the child and removes its working directory.
func (p *Prober) Close() error {
	p.worker.Close()
	return os.RemoveAll(p.dir)
}

// probe sends one module; a timeout or crash kills the child (restarted on
// the next probe) and is reported as that module's failure.
func (p *Prober) probe(ctx context.Context, req probeRequest) (probeReply, error) {
	ans, err := p.worker.Call(ctx, req, p.cfg.ProbeTimeout)
	if err != nil {
		if ctx.Err() != nil {
			return probeReply{}, ctx.Err()
		}
		var ce *child.CallError
		if !errors.As(err, &ce) {
			return probeReply{}, fmt.Errorf("probe %s: %w", req.QualName, err)
		}
		state := "crashed"
		if errors.Is(err, child.ErrTimeout) {
			state = fmt.Sprintf("hung: timed out after %s", p.cfg.ProbeTimeout)
		}
		p.log.Warn("probe child lost; restarting", "module", req.QualName, "why", state)
		return probeReply{OK: false, Error: p.cfg.Redactor.Redact(fmt.Sprintf("probe %s; child restarted (stderr: %s)", state, lastLine(ce.Stderr)))}, nil
	}
	var r probeReply
	if err := json.Unmarshal(ans, &r); err != nil {
		return probeReply{OK: false, Error: p.cfg.Redactor.Redact(fmt.Sprintf("unreadable probe reply %q: %v", truncate(string(ans), 200), err))}, nil
	}
	// Whatever mined code said goes into the catalog and the log: redacted.
	r.Error = p.cfg.Redactor.Redact(r.Error)
	return r, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
