package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestExportWeightsVerifyONNX runs a small real search that keeps
// checkpoints, exports the best candidate with its state_dict, checks that
// the pair reproduces the stored validation accuracy within 0.1 point on
// the run's split, and writes an ONNX file that onnx.checker accepts.
func TestExportWeightsVerifyONNX(t *testing.T) {
	needTorch(t)
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	cfg := filepath.Join("..", "..", "examples", "synthetic.yaml")
	if out, err := arborCmd("evolve", "--config", cfg, "--run", runDir, "--budget", "3", "--quiet").CombinedOutput(); err != nil {
		t.Fatalf("evolve: %v\n%s", err, out)
	}
	kept, _ := filepath.Glob(filepath.Join(runDir, "checkpoints", "*.pt"))
	if len(kept) == 0 {
		t.Fatal("the run kept no checkpoint")
	}
	model := filepath.Join(dir, "best.py")
	out, err := arborCmd("best", runDir, "-o", model, "--verify", "--onnx", filepath.Join(dir, "best.onnx")).CombinedOutput()
	if err != nil {
		t.Fatalf("best: %v\n%s", err, out)
	}
	text := string(out)
	if _, err := os.Stat(filepath.Join(dir, "best.pt")); err != nil {
		t.Fatalf("no state_dict beside the export: %v\n%s", err, text)
	}
	m := regexp.MustCompile(`difference ([+-][0-9.]+) points`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no verification line:\n%s", text)
	}
	if d, _ := strconv.ParseFloat(m[1], 64); d > 0.1 || d < -0.1 {
		t.Errorf("exported weights give %s points against the stored validation accuracy:\n%s", m[1], text)
	}
	if !strings.Contains(text, "onnx.checker passed") {
		t.Errorf("ONNX not checked (install python3-onnx: make setup):\n%s", text)
	}
}
