package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve/store"
)

// pathsConfig is a small gratings search whose paths are all relative:
// run.dir and the seed tree file, both relative to the config's folder.
const pathsConfig = `run:
  dir: runs/from-file
  evaluator: local
evolve:
  strategy: thompson
  seed: 2
  seed_arch: seed.json
  parallel: 1
  budget:
    trained: 2
  dry_run: true
  grace: 5s
train:
  workers: 1
  recipe:
    epochs: 1
    batch_size: 32
    optimizer: sgd
    lr: 0.05
    momentum: 0.9
    warmup_epochs: 0
    augment: false
    subset: 256
    amp: false
    threads: 1
  dataset:
    name: gratings
    val_split: 0.125
  limits:
    wall_s: 300
`

// TestRelativePathsFromAnywhere runs real searches (dry-run gate and
// local pool, both of which start Python inside the run directory) with
// relative paths from working directories other than the config's: a
// relative --run is the working directory's, the config's own relative
// run.dir and seed_arch are the config folder's, and a run directory that
// is then moved still resumes from a third directory, to the budget, with
// nothing crashed.
func TestRelativePathsFromAnywhere(t *testing.T) {
	needTorch(t)
	root := t.TempDir()
	cfgDir, cwd, third := filepath.Join(root, "configs"), filepath.Join(root, "work"), filepath.Join(root, "elsewhere")
	for _, d := range []string{cfgDir, cwd, third} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	seed, err := os.ReadFile(filepath.Join("..", "..", "examples", "synthetic-seed.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfgDir, "seed.json", string(seed))
	writeFile(t, cfgDir, "cfg.yaml", pathsConfig)

	arbor := func(dir string, args ...string) string {
		t.Helper()
		cmd := arborCmd(args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("arbor %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
		}
		return string(out)
	}

	// --run rel/x from cwd: the run lives under cwd, the seed file is found
	// beside the config.
	arbor(cwd, "evolve", "--config", "../configs/cfg.yaml", "--run", "rel/x", "--quiet")
	checkTrained(t, filepath.Join(cwd, "rel", "x"), 2)

	// No --run: run.dir is the config folder's runs/from-file, not cwd's.
	arbor(cwd, "evolve", "--config", filepath.Join(cfgDir, "cfg.yaml"), "--budget", "1", "--quiet")
	checkTrained(t, filepath.Join(cfgDir, "runs", "from-file"), 1)
	if _, err := os.Stat(filepath.Join(cwd, "runs")); err == nil {
		t.Errorf("run.dir from the config file was created under the working directory")
	}

	// Move the first run, resume it from a third directory by a relative
	// path, with a larger budget.
	moved := filepath.Join(root, "moved-run")
	if err := os.Rename(filepath.Join(cwd, "rel", "x"), moved); err != nil {
		t.Fatal(err)
	}
	out := arbor(third, "evolve", "--resume", "../moved-run", "--budget", "3", "--quiet")
	if !strings.Contains(out, "moved-run: 3 trained") {
		t.Errorf("the summary line does not name the moved run:\n%s", out)
	}
	checkTrained(t, moved, 3)
}

// checkTrained fails unless the run in dir trained exactly n candidates,
// every one of them ok (a path bug makes each job crash at start).
func checkTrained(t *testing.T, dir string, n int) {
	t.Helper()
	st, err := store.OpenStoreReadOnly(dir)
	if err != nil {
		t.Fatalf("no run store where expected: %v", err)
	}
	defer st.Close()
	cs, err := st.Candidates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	trained := 0
	for _, c := range cs {
		switch c.Status {
		case store.StatusTrained:
			trained++
		case store.StatusFailed:
			t.Errorf("%s: %s failed (%s): %s", dir, c.ID, c.Result.Status, c.Result.Error)
		}
		if c.Gate == store.GateDryRun {
			t.Errorf("%s: %s rejected at the dry run: %s", dir, c.ID, c.Reason)
		}
	}
	if trained != n {
		t.Errorf("%s: %d trained, want %d", dir, trained, n)
	}
}
