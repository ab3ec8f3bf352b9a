package train

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/train/child"
	"github.com/arbor-nas/arbor/train/testenv"
)

// poolSource is a small model for any (C,H,W) input and class count.
func poolSource(channels, classes int) string {
	return fmt.Sprintf(`import torch.nn as nn


class Candidate(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(%d, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, %d)

    def forward(self, x):
        return self.fc(self.pool(self.conv(x).relu()).flatten(1))
`, channels, classes)
}

// runTrainerDir runs the trainer the way the Slurm backend does:
// python3 trainer.py --job job.json --out result.json inside the job dir.
func runTrainerDir(t *testing.T, py string, job Job) (Result, []string) {
	t.Helper()
	dir := t.TempDir()
	if err := WriteJobDir(dir, job); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, ScriptFile, "--job", JobFile, "--out", ResultFile)
	cmd.Dir = dir
	cmd.Env = child.Env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: trainer exited with %v (it must exit 0 for candidate failures): %s", job.ID, err, stderr.String())
	}
	r, err := ReadResult(dir)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if _, err := os.Stat(filepath.Join(dir, ResultFile+".tmp")); !os.IsNotExist(err) {
		t.Errorf("%s: temporary result file left behind", job.ID)
	}
	return r, lines
}

// TestTrainerDatasets trains on every dataset format from tiny files made in
// the real on-disk layouts, plus Fashion-MNIST from Debian.
func TestTrainerDatasets(t *testing.T) {
	py := torchPython(t)
	root := t.TempDir()
	if out, err := exec.Command(py, filepath.Join("testdata", "make_datasets.py"), root).CombinedOutput(); err != nil {
		t.Fatalf("make datasets: %v: %s", err, out)
	}
	fmnist := "/usr/share/datasets/fashion-mnist"
	cases := []struct {
		name, path string
		input      [3]int
		classes    int
		subset     float64
		wantTrain  int // training images after the validation split and subset
		wantStatus Status
		errSubstr  string
	}{
		{"cifar10", filepath.Join(root, "cifar10"), [3]int{3, 32, 32}, 10, 0, 180, StatusOK, ""},
		{"cifar100", filepath.Join(root, "cifar100"), [3]int{3, 32, 32}, 100, 0.5, 90, StatusOK, ""},
		{"imagenet16-120", filepath.Join(root, "imagenet16"), [3]int{3, 16, 16}, 120, 0, -1, StatusOK, ""},
		{"fashion-mnist", fmnist, [3]int{1, 28, 28}, 10, 512, 512, StatusOK, ""},
		{"cifar10", filepath.Join(root, "cifar10"), [3]int{1, 28, 28}, 10, 0, 0, StatusCrashed, "images of shape"},
		{"cifar10", filepath.Join(root, "missing"), [3]int{3, 32, 32}, 10, 0, 0, StatusCrashed, "No such file"},
		{"svhn", "", [3]int{3, 32, 32}, 10, 0, 0, StatusCrashed, "unknown dataset"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.path == fmnist {
				testenv.Require(t, testenv.FashionMNIST)
			}
			job := tinyJob(tc.name, poolSource(tc.input[0], tc.classes))
			job.Recipe.Epochs, job.Recipe.Subset = 1, tc.subset
			job.Dataset = Dataset{Name: tc.name, Path: tc.path, ValSplit: 0.1}
			job.Input, job.Classes = tc.input, tc.classes
			r, lines := runTrainerDir(t, py, job)
			if r.Status != tc.wantStatus || !strings.Contains(r.Error, tc.errSubstr) {
				t.Fatalf("status %q error %q; want %q mentioning %q", r.Status, r.Error, tc.wantStatus, tc.errSubstr)
			}
			if tc.wantStatus != StatusOK {
				return
			}
			if len(r.Curve) != 1 || r.ImagesPerS <= 0 || r.Params == 0 {
				t.Errorf("result %+v", r)
			}
			var progress int
			for _, l := range lines {
				if p, _, ok := ParseTrainerLine([]byte(l)); ok && p != nil {
					progress++
				}
			}
			if progress == 0 {
				t.Errorf("no progress lines on stdout: %q", lines)
			}
			if tc.wantTrain > 0 {
				if got := int(r.ImagesPerS*r.TrainS + 0.5); got < tc.wantTrain-2 || got > tc.wantTrain+2 {
					t.Errorf("trained on about %d images, want %d", got, tc.wantTrain)
				}
			}
		})
	}
}
