package train

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/arbor-nas/arbor/train/atomicfile"
	"github.com/arbor-nas/arbor/train/child"
)

// ONNXResult is what an ONNX export did.
type ONNXResult struct {
	Path    string `json:"onnx"`
	Checked bool   `json:"checked"` // onnx.checker passed
	Version string `json:"onnx_version,omitempty"`
	Note    string `json:"note,omitempty"`
}

// ExportONNX loads class Candidate from the PyTorch file module with the
// state_dict in weights (none: initial weights), exports it to the ONNX
// file out for inputs of shape (N, C, H, W) with a dynamic batch size, and
// checks the file with onnx.checker when the onnx package is installed
// (Debian: python3-onnx). The module is untrusted code (mined modules,
// LLM-written source), so it runs in a child process of python inside sb
// (nil: unconfined) with a scrubbed environment and a time limit; the child
// writes only into its own folder, and the file is then moved to out
// atomically, so a failure never leaves a fragment at out.
func ExportONNX(ctx context.Context, python string, sb *child.Sandbox, module, weights, out string, input [3]int) (ONNXResult, error) {
	dir, err := os.MkdirTemp("", "arbor-onnx-")
	if err != nil {
		return ONNXResult{}, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, ScriptFile)
	if err := os.WriteFile(script, TrainerScript, 0o644); err != nil {
		return ONNXResult{}, err
	}
	abs := func(p string) string {
		if p == "" {
			return ""
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		return a
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		return ONNXResult{}, err
	}
	tmp := filepath.Join(work, "model.onnx")
	args := []string{script, "--export-onnx", tmp, "--module", abs(module),
		"--input", strconv.Itoa(input[0]) + "," + strconv.Itoa(input[1]) + "," + strconv.Itoa(input[2])}
	if weights != "" {
		args = append(args, "--weights", abs(weights))
	}
	cmd := sb.Command(python, args, work, work)
	cmd.Env = child.Env("CUDA_VISIBLE_DEVICES=")
	// Its own process group, killed whole when ctx ends (bwrap's
	// --die-with-parent takes the namespace with it).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := runContext(ctx, cmd); err != nil {
		return ONNXResult{}, fmt.Errorf("train: ONNX export of %s: %v: %s", module, err, tail(stderr.String(), 2000))
	}
	for _, line := range bytes.Split(stdout.Bytes(), []byte("\n")) {
		var r ONNXResult
		if json.Unmarshal(line, &r) == nil && r.Path != "" {
			data, err := os.ReadFile(tmp)
			if err != nil {
				return ONNXResult{}, fmt.Errorf("train: ONNX export of %s: %w", module, err)
			}
			if err := atomicfile.WriteFile(abs(out), data, 0o644); err != nil {
				return ONNXResult{}, fmt.Errorf("train: ONNX export: %w", err)
			}
			r.Path = abs(out)
			return r, nil
		}
	}
	return ONNXResult{}, fmt.Errorf("train: ONNX export of %s printed no result: %s", module, tail(stderr.String(), 2000))
}

// runContext runs cmd, started in its own process group, and when ctx
// ends first kills that whole group and waits for it.
func runContext(ctx context.Context, cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return ctx.Err()
	}
}
