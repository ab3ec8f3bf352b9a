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
	"time"

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
// (Debian: python3-onnx). It runs in a child process of python with a
// scrubbed environment and a time limit.
func ExportONNX(ctx context.Context, python, module, weights, out string, input [3]int) (ONNXResult, error) {
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
	args := []string{script, "--export-onnx", abs(out), "--module", abs(module),
		"--input", strconv.Itoa(input[0]) + "," + strconv.Itoa(input[1]) + "," + strconv.Itoa(input[2])}
	if weights != "" {
		args = append(args, "--weights", abs(weights))
	}
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Dir, cmd.Env = dir, child.Env("CUDA_VISIBLE_DEVICES=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return ONNXResult{}, fmt.Errorf("train: ONNX export of %s: %v: %s", module, err, tail(stderr.String(), 2000))
	}
	for _, line := range bytes.Split(stdout.Bytes(), []byte("\n")) {
		var r ONNXResult
		if json.Unmarshal(line, &r) == nil && r.Path != "" {
			return r, nil
		}
	}
	return ONNXResult{}, fmt.Errorf("train: ONNX export of %s printed no result: %s", module, tail(stderr.String(), 2000))
}
