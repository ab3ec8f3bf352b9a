package run

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestLoadPathRule: every path key follows one rule. Values from the file
// are relative to the file's folder, values from flags and ARBOR_
// variables to the working directory; program names and built-in seeds
// are left alone.
func TestLoadPathRule(t *testing.T) {
	root := t.TempDir()
	cfgDir := filepath.Join(root, "cfgs")
	cwd := filepath.Join(root, "cwd")
	for _, d := range []string{cfgDir, cwd} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(cwd)
	const file = `run:
  dir: runs/a
  catalog: ../cat.json
  table: tables/nb.csv
  evaluator: tabular
evolve:
  seed_arch: seed.json
train:
  python: python3
  work_dir: work
  dataset:
    path: data
llm:
  prompts:
    dir: /abs/prompts
mine:
  python: venv/bin/python
`
	path := filepath.Join(cfgDir, "cfg.yaml")
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		env       map[string]string
		overrides map[string]any
		want      func(c Config) map[string]string
	}{
		{
			name: "file",
			want: func(c Config) map[string]string {
				return map[string]string{
					"run.dir": filepath.Join(cfgDir, "runs", "a"), "run.catalog": filepath.Join(root, "cat.json"),
					"run.table": filepath.Join(cfgDir, "tables", "nb.csv"), "evolve.seed_arch": filepath.Join(cfgDir, "seed.json"),
					"train.python": "python3", "train.work_dir": filepath.Join(cfgDir, "work"),
					"train.dataset.path": filepath.Join(cfgDir, "data"), "llm.prompts.dir": "/abs/prompts",
					"mine.python": filepath.Join(cfgDir, "venv", "bin", "python"),
				}
			},
		},
		{
			name:      "flags and environment",
			env:       map[string]string{"ARBOR_RUN_TABLE": "t.csv", "ARBOR_EVOLVE_SEED_ARCH": "resnet20"},
			overrides: map[string]any{"run.dir": "rel/x"},
			want: func(c Config) map[string]string {
				return map[string]string{
					"run.dir": filepath.Join(cwd, "rel", "x"), "run.table": filepath.Join(cwd, "t.csv"),
					"evolve.seed_arch": "resnet20", "run.catalog": filepath.Join(root, "cat.json"),
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := Load("../cfgs/cfg.yaml", tc.overrides)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, k := range pathKeys(&c) {
				got[k.key] = *k.ptr
			}
			for k, want := range tc.want(c) {
				if got[k] != want {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
		})
	}
}

// TestStoredPathsFollowTheRun: a run's stored configuration keeps the
// paths inside the run directory relative to it, so a moved run resumes
// with them under its new place, and those outside it unchanged.
func TestStoredPathsFollowTheRun(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	cfg := Default()
	cfg.Run.Dir = "old"
	cfg.Run.Catalog = filepath.Join(root, "cat.json")
	cfg.Train.WorkDir = "old/work"
	cfg.Evolve.SeedArch = "old/seed.json"
	cfg.Train.Dataset.Name = "synthetic"
	if err := os.MkdirAll("old", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("old/seed.json", []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("cat.json", []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := Create(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	if err := os.Rename("old", "new"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir("elsewhere", 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir("elsewhere")
	store, got, err := Resume(ctx, "../new", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	want := map[string]string{
		"run.dir": filepath.Join(root, "new"), "run.catalog": filepath.Join(root, "cat.json"),
		"train.work_dir": filepath.Join(root, "new", "work"), "evolve.seed_arch": filepath.Join(root, "new", "seed.json"),
	}
	for _, k := range pathKeys(&got) {
		if w, ok := want[k.key]; ok && *k.ptr != w {
			t.Errorf("%s = %q after the move, want %q", k.key, *k.ptr, w)
		}
	}
}
