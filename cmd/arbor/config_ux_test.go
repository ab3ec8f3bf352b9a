package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve/run"
)

// The -update flag rewrites generated files (docs, goldens). Another test
// file of the package may define it too, so it is registered only once.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite generated files and goldens")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// runUX runs arbor in-process: stdout, stderr (with the returned error's
// message, as main prints it) and the exit code.
func runUX(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	code := 0
	if err != nil {
		code = exitCode(err)
		errb.WriteString("arbor: " + err.Error())
	}
	return out.String(), errb.String(), code
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigCheckBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, yaml string
		want       []string // substrings of the message, besides the file name
	}{
		{"unknown-key", "evolve:\n  budget:\n    trainedd: 5\n", []string{`unknown key "evolve.budget.trainedd"`, "evolve.budget.trained"}},
		{"unknown-section", "evolv:\n  seed: 1\n", []string{`unknown key "evolv.seed"`, `did you mean "evolve.seed"?`}},
		{"wrong-type", "evolve:\n  budget:\n    trained: lots\n", []string{"evolve.budget.trained", "int"}},
		{"bad-duration", "evolve:\n  grace: soon\n", []string{"evolve.grace", "duration"}},
		{"out-of-range", "train:\n  workers: 0\n", []string{"train.workers: must be >= 1"}},
		{"bad-choice", "run:\n  evaluator: cloud\n", []string{"run.evaluator", "local, slurm or tabular"}},
		{"bad-yaml", "evolve: [\n", []string{"yaml"}},
		{"missing-dataset", "train:\n  dataset:\n    name: fashion-mnist\n    path: /nonexistent/fmnist\n",
			[]string{"train.dataset.path", "/nonexistent/fmnist", "dataset-fashion-mnist"}},
		{"missing-cifar", "train:\n  dataset:\n    name: cifar10\n    path: /nonexistent/c10\n",
			[]string{"train.dataset.path", "cifar-10-python.tar.gz"}},
		{"empty-dataset-dir", "train:\n  dataset:\n    name: fashion-mnist\n    path: " + dir + "\n",
			[]string{"has no train-images-idx3-ubyte", "dataset-fashion-mnist"}},
		{"missing-table", "run:\n  evaluator: tabular\n  table: /nonexistent/nb201.csv\n", []string{"run.table", "/nonexistent/nb201.csv", "NAS-Bench-201"}},
		{"missing-catalog", "run:\n  catalog: /nonexistent/catalog.json\n", []string{"run.catalog", "arbor mine"}},
		{"missing-seed-file", "evolve:\n  seed_arch: /nonexistent/seed.json\n", []string{"evolve.seed_arch", "built-in seed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, tc.name+".yaml", tc.yaml)
			_, errOut, code := runUX(t, "config", "check", path)
			if code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, errOut)
			}
			for _, w := range append(tc.want, path) {
				if !strings.Contains(errOut, w) {
					t.Errorf("message lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
	for _, args := range [][]string{
		{"config", "check"},
		{"config", "check", "a.yaml", "b.yaml"},
		{"config", "check", filepath.Join(dir, "missing.yaml")},
		{"config", "check", "--bogus", "a.yaml"},
		{"config"},
		{"config", "docs", "extra"},
	} {
		if _, errOut, code := runUX(t, args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, want 2 with a message (%q)", args, code, errOut)
		}
	}
}

func TestConfigCheckEnvOverride(t *testing.T) {
	path := writeFile(t, t.TempDir(), "c.yaml", "evolve:\n  budget:\n    trained: 5\ntrain:\n  dataset:\n    name: synthetic\n")
	t.Setenv("ARBOR_EVOLVE_BUDGET_TRAINED", "7")
	out, errOut, code := runUX(t, "config", "check", path)
	if code != 0 || !strings.Contains(out, "budget 7 trained") {
		t.Fatalf("the environment did not override the file: exit %d: %s%s", code, out, errOut)
	}
	t.Setenv("ARBOR_TRAIN_WORKERS", "0")
	if _, errOut, code := runUX(t, "config", "check", path); code != 2 || !strings.Contains(errOut, "train.workers") {
		t.Fatalf("a bad environment value: exit %d: %s", code, errOut)
	}
}

// TestExampleConfigs checks every file in examples/: the schema must pass,
// and the file checks may only fail for data this machine lacks, each
// failure saying where to get it.
func TestExampleConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range files {
		have[filepath.Base(f)] = true
		t.Run(filepath.Base(f), func(t *testing.T) {
			if out, errOut, code := runUX(t, "config", "check", "--no-files", f); code != 0 {
				t.Fatalf("schema check: exit %d: %s%s", code, out, errOut)
			}
			_, errOut, code := runUX(t, "config", "check", f)
			if code == 0 {
				return
			}
			for _, line := range strings.Split(strings.TrimPrefix(errOut, "arbor: config "+f+": "), "\n") {
				if line == "" || strings.HasPrefix(line, "note:") {
					continue
				}
				if !strings.Contains(line, "does not exist") && !strings.Contains(line, "has no") {
					t.Errorf("not a missing-file error: %s", line)
				} else if !strings.Contains(line, "arbor mine") && !strings.Contains(line, "download") && !strings.Contains(line, "Debian") &&
					!strings.Contains(line, "point run.table") {
					t.Errorf("a missing file without a hint where to get it: %s", line)
				}
			}
		})
	}
	for _, want := range []string{"fashion-mnist.yaml", "cifar10-gpu.yaml", "nasbench201.yaml", "openai.yaml", "vllm.yaml", "ollama.yaml"} {
		if !have[want] {
			t.Errorf("examples/%s is missing", want)
		}
	}
	// cifar10-gpu.yaml is the paper's protocol.
	cfg, err := run.Load(filepath.Join("..", "..", "examples", "cifar10-gpu.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Evolve.SeedArch != "resnet32" || cfg.Train.Limits.MaxParams != 1_500_000 || cfg.Train.Limits.MaxFLOPs != 200_000_000 ||
		cfg.Evolve.Budget.Trained != 100 || cfg.Evolve.Parents.K != 5 || cfg.Evolve.Parents.Method != "topk" || cfg.Train.Dataset.Name != "cifar10" {
		t.Errorf("cifar10-gpu.yaml drifted from the paper's protocol: %+v", cfg.Evolve)
	}
}

// TestConfigDocsCommand: `arbor config docs` prints the generated reference.
func TestConfigDocsCommand(t *testing.T) {
	keys, _ := run.Reference()
	out, _, code := runUX(t, "config", "docs")
	if code != 0 || out != run.Markdown(keys) {
		t.Fatalf("arbor config docs: exit %d, output differs from the generated reference", code)
	}
}

// TestConfigInitCommand: init writes the commented default, refuses to
// overwrite without --force, and prints the same text with -o -.
func TestConfigInitCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "arbor.yaml")
	if _, errOut, code := runUX(t, "config", "init", "-o", path); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	text, _ := os.ReadFile(path)
	keys, _ := run.Reference()
	if string(text) != run.CommentedDefault(keys) {
		t.Errorf("init wrote something else than the commented default")
	}
	if out, _, code := runUX(t, "config", "check", path); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("check of the written default: exit %d: %s", code, out)
	}
	if _, errOut, code := runUX(t, "config", "init", "-o", path); code != 2 || !strings.Contains(errOut, "--force") {
		t.Errorf("init over an existing file: exit %d: %s", code, errOut)
	}
	if out, _, code := runUX(t, "config", "init", "-o", "-"); code != 0 || out != string(text) {
		t.Errorf("init -o - printed something else than the file (exit %d)", code)
	}
}
