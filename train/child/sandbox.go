package child

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Sandbox modes (train.sandbox).
const (
	// SandboxAuto uses bubblewrap where it works and warns once where not.
	SandboxAuto = "auto"
	// SandboxBwrap requires bubblewrap: a child never runs unconfined.
	SandboxBwrap = "bwrap"
	// SandboxNone runs children with only the scrubbed environment and
	// their own process group.
	SandboxNone = "none"
)

// Sandbox confines untrusted children with bubblewrap (Debian's
// bubblewrap): a fresh PID namespace and /proc, so arbor's own environ
// cannot be read; no network; the whole root read-only; writes only to the
// directories the caller names; every capability dropped (a root child could
// otherwise remount / read-write); a new session; killed with its parent.
// NVIDIA devices are bound through when the machine has them.
//
// A nil *Sandbox, or one built for "none", runs commands unconfined. One
// Sandbox is built per process and shared, so the probe of bwrap (and the
// warning when it fails) happens once.
type Sandbox struct {
	bwrap   string   // the bwrap binary; "" = unconfined
	devices []string // /dev/nvidia* to bind through
}

// ValidSandboxMode reports whether mode is auto, bwrap or none.
func ValidSandboxMode(mode string) bool {
	switch mode {
	case SandboxAuto, SandboxBwrap, SandboxNone:
		return true
	}
	return false
}

// NewSandbox builds the sandbox for mode. "bwrap" fails with a clear error
// when bubblewrap is missing or cannot create namespaces here; "auto" then
// logs one loud warning and runs children unconfined.
func NewSandbox(ctx context.Context, mode string, log *slog.Logger) (*Sandbox, error) {
	if log == nil {
		log = slog.Default()
	}
	switch mode {
	case SandboxNone:
		return &Sandbox{}, nil
	case SandboxAuto, SandboxBwrap, "":
	default:
		return nil, fmt.Errorf("train.sandbox: want auto, bwrap or none, got %q", mode)
	}
	s, err := probeBwrap(ctx)
	if err == nil {
		return s, nil
	}
	if mode == SandboxBwrap {
		return nil, fmt.Errorf("train.sandbox: bwrap: %w (install Debian's bubblewrap, or set train.sandbox: none to run untrusted code unconfined)", err)
	}
	log.Warn("SANDBOX OFF: untrusted Python (mined modules, candidates) runs without namespaces or filesystem limits; "+
		"install Debian's bubblewrap or set train.sandbox: none to silence this", "why", err)
	return &Sandbox{}, nil
}

// probeBwrap finds bwrap and runs /bin/true under the full confinement once.
func probeBwrap(ctx context.Context) (*Sandbox, error) {
	path, err := exec.LookPath("bwrap")
	if err != nil {
		return nil, fmt.Errorf("not found on PATH: %w", err)
	}
	devs, _ := filepath.Glob("/dev/nvidia*")
	s := &Sandbox{bwrap: path, devices: devs}
	dir, err := os.MkdirTemp("", "arbor-sandbox-probe-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	t, err := exec.LookPath("true")
	if err != nil {
		return nil, err
	}
	cmd := s.Command(t, nil, dir, dir)
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	cmd.Env = Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s cannot start a sandbox here: %w: %s", path, err, strings.TrimSpace(string(out)))
	}
	return s, nil
}

// Confined reports whether children run under bwrap.
func (s *Sandbox) Confined() bool { return s != nil && s.bwrap != "" }

// Command returns the command that runs path with args in dir, confined
// when the sandbox is on: only the writable directories (which must exist)
// may be written. Env, pipes and process attributes are the caller's, as
// for exec.Command.
func (s *Sandbox) Command(path string, args []string, dir string, writable ...string) *exec.Cmd {
	if !s.Confined() {
		cmd := exec.Command(path, args...)
		cmd.Dir = dir
		return cmd
	}
	a := BwrapArgs(s.devices, writable...)
	if dir != "" {
		a = append(a, "--chdir", dir)
	}
	a = append(a, "--", path)
	cmd := exec.Command(s.bwrap, append(a, args...)...)
	cmd.Dir = dir
	return cmd
}

// BwrapArgs are bwrap's options for the confinement Sandbox describes,
// binding devices through and writable read-write; the caller adds
// --chdir and "--" with the command. The Slurm job script uses them too.
func BwrapArgs(devices []string, writable ...string) []string {
	a := []string{
		"--die-with-parent", "--new-session",
		"--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
		"--cap-drop", "ALL",
		"--ro-bind", "/", "/",
		"--proc", "/proc",
		"--dev", "/dev",
	}
	for _, d := range devices {
		a = append(a, "--dev-bind-try", d, d)
	}
	for _, w := range writable {
		a = append(a, "--bind", w, w)
	}
	return a
}
