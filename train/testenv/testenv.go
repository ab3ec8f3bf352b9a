// Package testenv decides whether a test's dependency is on this machine,
// so that no test skips silently.
//
// A test asks for what it needs with Require, which returns the path of the
// dependency. When it is missing the test is skipped with a message that
// names it and says how to install it, unless $ARBOR_TEST_REQUIRE asks for
// it: then the test fails. `make test` sets ARBOR_TEST_REQUIRE=all, so on a
// machine prepared by `make setup` nothing can pass by skipping.
//
// It imports no arbor package, so the tests of every package (train and
// train/child included) can use it.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RequireEnv names the switch: "all", or a comma-separated list of Dep
// names, whose absence fails a test instead of skipping it.
const RequireEnv = "ARBOR_TEST_REQUIRE"

// Dep is one thing a test may need from the machine.
type Dep string

// The dependencies. "all" covers those that `make setup` installs; the
// others (Slurm, the real NAS-Bench-201 table, the timm sources) must be
// named.
const (
	// Python is any python3 interpreter (torch not needed).
	Python Dep = "python"
	// Torch is a Python interpreter that can import torch, found in the
	// order train/child.FindPython uses: $ARBOR_TEST_PYTHON, python3 on
	// PATH, /usr/bin/python3.
	Torch Dep = "torch"
	// Torchvision is the directory of torchvision's model sources, the
	// input of `arbor mine` in the demo.
	Torchvision Dep = "torchvision"
	// FashionMNIST is the directory of Debian's Fashion-MNIST IDX files.
	FashionMNIST Dep = "fashion-mnist"
	// Chromium is a headless browser for the dashboard tests
	// ($ARBOR_CHROMIUM overrides).
	Chromium Dep = "chromium"
	// Graphviz is the dot command, which checks the DOT that `arbor
	// lineage --dot` writes.
	Graphviz Dep = "graphviz"
	// Bubblewrap is the bwrap sandbox untrusted children run in.
	Bubblewrap Dep = "bwrap"
	// Slurm is the slurm.conf of a running cluster, $ARBOR_SLURM_CONF;
	// `make test-slurm` starts a one-node cluster and sets it.
	Slurm Dep = "slurm"
	// NB201Real is the real NAS-Bench-201 table, $ARBOR_NB201_TABLE: a
	// benchmark input only (its licence forbids copying it into the
	// repository; tests use the generated table, NB201Table).
	NB201Real Dep = "nb201-real"
	// Timm is the timm package source, $ARBOR_TIMM_ROOT or the team's
	// ../shared/data/repos/pytorch-image-models/timm: a benchmark input.
	Timm Dep = "timm"
)

// TorchvisionModels is where Debian's python3-torchvision puts the model
// sources.
const TorchvisionModels = "/usr/lib/python3/dist-packages/torchvision/models"

// FashionMNISTDir is where Debian's dataset-fashion-mnist puts the data.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// Require returns the path of dep (an interpreter, a directory, a file).
// When dep is missing it skips tb, or fails it when $ARBOR_TEST_REQUIRE
// names dep (or is "all" and dep is one `make setup` installs).
func Require(tb testing.TB, dep Dep) string {
	tb.Helper()
	path, err := Find(dep)
	if err == nil {
		return path
	}
	if Required(os.Getenv(RequireEnv), dep) {
		tb.Fatalf("missing %s, which %s=%s requires: %v", dep, RequireEnv, os.Getenv(RequireEnv), err)
		return ""
	}
	tb.Skipf("missing %s: %v (%s=%s makes this a failure)", dep, err, RequireEnv, requireHint(dep))
	return ""
}

// requireHint is the switch value that would make dep's absence fail.
func requireHint(dep Dep) string {
	if bySetup(dep) {
		return "all"
	}
	return string(dep)
}

// bySetup reports whether `make setup` provides dep: those "all" means.
func bySetup(dep Dep) bool {
	switch dep {
	case Python, Torch, Torchvision, FashionMNIST, Chromium, Graphviz, Bubblewrap:
		return true
	}
	return false
}

// Required reports whether the switch value spec makes dep's absence a
// failure.
func Required(spec string, dep Dep) bool {
	for _, s := range strings.Split(spec, ",") {
		switch s = strings.TrimSpace(s); {
		case s == string(dep):
			return true
		case s == "all" && bySetup(dep):
			return true
		}
	}
	return false
}

// Find locates dep without a test: its path, or an error that says what is
// missing and how to get it.
func Find(dep Dep) (string, error) {
	switch dep {
	case Python:
		return firstOnPath([]string{"python3", "/usr/bin/python3"}, nil, "install python3 (`make setup`)")
	case Torch:
		return firstOnPath([]string{os.Getenv("ARBOR_TEST_PYTHON"), "python3", "/usr/bin/python3"},
			func(p string) error { return run(p, "-c", "import torch") },
			"install PyTorch with `make setup` (Debian python3-torch) or set ARBOR_TEST_PYTHON")
	case Torchvision:
		return existing(TorchvisionModels, "install it with `make setup` (Debian python3-torchvision)")
	case FashionMNIST:
		if _, err := existing(filepath.Join(FashionMNISTDir, "train-images-idx3-ubyte.gz"), ""); err != nil {
			return "", fmt.Errorf("%w; install it with `make setup` (Debian dataset-fashion-mnist)", err)
		}
		return FashionMNISTDir, nil
	case Chromium:
		return firstOnPath([]string{os.Getenv("ARBOR_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"}, nil,
			"install it with `make setup` (Debian chromium) or set ARBOR_CHROMIUM")
	case Graphviz:
		return firstOnPath([]string{"dot"}, nil, "install it with `make setup` (Debian graphviz)")
	case Bubblewrap:
		return firstOnPath([]string{"bwrap"}, nil, "install it with `make setup` (Debian bubblewrap)")
	case Slurm:
		return fromEnv("ARBOR_SLURM_CONF", "`make test-slurm` starts a one-node Slurm cluster and sets it")
	case NB201Real:
		return fromEnv("ARBOR_NB201_TABLE", "set it to the real nb201-cifar.csv; tests use the generated table")
	case Timm:
		if p := os.Getenv("ARBOR_TIMM_ROOT"); p != "" {
			return existing(p, "ARBOR_TIMM_ROOT names no directory")
		}
		root, err := RepoRoot()
		if err != nil {
			return "", err
		}
		return existing(filepath.Join(root, "..", "shared", "data", "repos", "pytorch-image-models", "timm"),
			"set ARBOR_TIMM_ROOT to timm's package directory")
	}
	return "", fmt.Errorf("testenv: unknown dependency %q", dep)
}

// firstOnPath returns the absolute path of the first of names found on
// PATH that passes ok (nil: any).
func firstOnPath(names []string, ok func(string) error, hint string) (string, error) {
	var tried []string
	for _, name := range names {
		if name == "" {
			continue
		}
		path, err := exec.LookPath(name)
		if err != nil {
			tried = append(tried, name+" (not found)")
			continue
		}
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		if ok != nil {
			if err := ok(path); err != nil {
				tried = append(tried, fmt.Sprintf("%s (%v)", path, err))
				continue
			}
		}
		return path, nil
	}
	return "", fmt.Errorf("tried %s; %s", strings.Join(tried, ", "), hint)
}

// run runs a short command and returns its last line of output as the error.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	if msg == "" {
		return err
	}
	return errors.New(msg)
}

func existing(path, hint string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		if hint == "" {
			return "", err
		}
		return "", fmt.Errorf("%w; %s", err, hint)
	}
	return path, nil
}

func fromEnv(name, hint string) (string, error) {
	p := os.Getenv(name)
	if p == "" {
		return "", fmt.Errorf("%s is not set; %s", name, hint)
	}
	return existing(p, name+" names no file")
}

// RepoRoot is the directory holding go.mod, found by walking up from the
// working directory (a test runs in its package's directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// NB201TablePath is the generated NAS-Bench-201 table, relative to the
// repository root (train/traintest writes it).
const NB201TablePath = "testdata/nasbench201/nb201-generated.csv.gz"

// NB201Table returns the path of the generated NAS-Bench-201 table that
// tests search over. It is committed, so its absence fails the test.
func NB201Table(tb testing.TB) string {
	tb.Helper()
	root, err := RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(root, NB201TablePath)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("generated NAS-Bench-201 table: %v (regenerate it: go generate ./train/traintest)", err)
	}
	return p
}
