package main

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/train/testenv"
)

// shippedExample says how TestShippedExamples runs one file of examples/,
// or why it cannot run on a CPU machine without services.
type shippedExample struct {
	// notHere: why the file is not run (it still passes config check in
	// TestExampleConfigs).
	notHere string
	// args: the command after "arbor", CFG standing for the config's
	// relative path; budget the candidates each run trains.
	args   []string
	budget int
	// env: overrides of the example (each documented where it is set).
	env []string
	// runs: the run directories it makes, relative to the copied checkout.
	runs []string
	deps []testenv.Dep
}

// TestShippedExamples runs every examples/*.yaml that needs no GPU, LLM
// endpoint or cluster, as a user would: from a copy of the checkout's
// examples/ (so the files' own relative paths, ../runs/..., ../catalog.json,
// ../demo/..., are used as shipped), from another working directory, by a
// relative --config, at a tiny budget; every run must train its budget
// with every candidate ok. synthetic.yaml is then killed (-9) mid-run from
// one directory and resumed from another, and must finish its budget with
// nothing crashed.
//
// What differs from the shipped files, to keep the time modest: --budget,
// and for the Fashion-MNIST configs 1 epoch on 512 images, one job at a
// time (ARBOR_TRAIN_RECIPE_*, ARBOR_EVOLVE_PARALLEL, ARBOR_TRAIN_WORKERS); nasbench201.yaml reads the generated table
// (ARBOR_RUN_TABLE), the real one being no part of the repository; the
// catalogs are mined from torchvision's resnet.py only.
func TestShippedExamples(t *testing.T) {
	small := []string{"ARBOR_TRAIN_RECIPE_EPOCHS=1", "ARBOR_TRAIN_RECIPE_SUBSET=512", "ARBOR_EVOLVE_PARALLEL=1", "ARBOR_TRAIN_WORKERS=1"}
	table := testenv.NB201Table(t)
	cases := map[string]shippedExample{
		"synthetic.yaml": {args: []string{"evolve", "--config", "CFG", "--budget", "2", "--quiet"}, budget: 2,
			runs: []string{"runs/synthetic"}, deps: []testenv.Dep{testenv.Torch}},
		"demo.yaml": {args: []string{"evolve", "--config", "CFG", "--budget", "2", "--quiet"}, budget: 2, env: small,
			runs: []string{"demo/run"}, deps: []testenv.Dep{testenv.Torch, testenv.FashionMNIST, testenv.Torchvision}},
		// demo.yaml's twin (another run dir and catalog path): its seed only.
		"fashion-mnist.yaml": {args: []string{"evolve", "--config", "CFG", "--budget", "1", "--quiet"}, budget: 1, env: small,
			runs: []string{"runs/fashion-mnist"}, deps: []testenv.Dep{testenv.Torch, testenv.FashionMNIST, testenv.Torchvision}},
		"nasbench201.yaml": {args: []string{"evolve", "--config", "CFG", "--budget", "6", "--quiet"}, budget: 6,
			env: []string{"ARBOR_RUN_TABLE=" + table}, runs: []string{"runs/nasbench201"}},
		"compare-fashion-mnist.yaml": {args: []string{"bench", "compare", "--config", "CFG", "--strategies", "random,thompson",
			"--seeds", "1", "--budget", "1", "-o", "../repo/cmp-fmnist"}, budget: 1, env: small,
			runs: []string{"cmp-fmnist/runs/random/seed-1", "cmp-fmnist/runs/thompson/seed-1"},
			deps: []testenv.Dep{testenv.Torch, testenv.FashionMNIST}},
		"cifar10-gpu.yaml": {notHere: "needs a GPU and the CIFAR-10 download"},
		"openai.yaml":      {notHere: "needs an LLM endpoint (OpenAI)"},
		"vllm.yaml":        {notHere: "needs an LLM endpoint (vLLM)"},
		"ollama.yaml":      {notHere: "needs an LLM endpoint (Ollama)"},
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	work := filepath.Join(root, "work")
	for _, d := range []string{filepath.Join(repo, "examples"), filepath.Join(repo, "demo"), work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var yamls []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, "examples", filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".yaml") {
			yamls = append(yamls, filepath.Base(f))
		}
	}
	for _, y := range yamls {
		if _, ok := cases[y]; !ok {
			t.Errorf("examples/%s is new: say in TestShippedExamples how it runs, or why it cannot run here", y)
		}
	}

	arbor := func(t *testing.T, dir string, env []string, args ...string) string {
		t.Helper()
		cmd := arborCmd(args...)
		cmd.Dir = dir
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("arbor %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, out)
		}
		return string(out)
	}
	mined := false
	catalog := func(t *testing.T) {
		if mined {
			return
		}
		mined = true
		// The demo's and fashion-mnist.yaml's catalogs, where the files
		// expect them: <checkout>/demo/catalog.json and <checkout>/catalog.json.
		arbor(t, work, nil, "mine", filepath.Join(testenv.TorchvisionModels, "resnet.py"), "--probe", "-o", "../repo/demo/catalog.json")
		b, err := os.ReadFile(filepath.Join(repo, "demo", "catalog.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, "catalog.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	for _, name := range slices.Sorted(maps.Keys(cases)) {
		ex := cases[name]
		t.Run(name, func(t *testing.T) {
			if ex.notHere != "" {
				t.Logf("not run: %s", ex.notHere)
				return
			}
			for _, d := range ex.deps {
				testenv.Require(t, d)
			}
			if slices.Contains(ex.deps, testenv.Torchvision) {
				catalog(t)
			}
			args := slices.Clone(ex.args)
			args[slices.Index(args, "CFG")] = filepath.Join("..", "repo", "examples", name)
			start := time.Now()
			arbor(t, work, ex.env, args...)
			t.Logf("%s: %s", strings.Join(args, " "), time.Since(start).Round(time.Second))
			for _, r := range ex.runs {
				checkTrained(t, filepath.Join(repo, r), ex.budget)
			}
		})
	}

	// kill -9 and resume, across working directories, as the README's
	// users do: start from one, resume from another.
	t.Run("synthetic.yaml killed and resumed", func(t *testing.T) {
		testenv.Require(t, testenv.Torch)
		third := filepath.Join(root, "third")
		if err := os.MkdirAll(third, 0o755); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		cmd := arborCmd("evolve", "--config", "../repo/examples/synthetic.yaml", "--run", "rel/x", "--budget", "3", "--quiet")
		cmd.Dir = work
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		run := filepath.Join(work, "rel", "x")
		waitTrained(t, run, 1, cmd, &out)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		st := arbor(t, third, nil, "status", "../work/rel/x")
		if !strings.Contains(st, "stopped (process gone); resume with `arbor evolve --resume ../work/rel/x`") {
			t.Errorf("status after kill -9 does not say the run stopped:\n%s", st)
		}
		arbor(t, third, nil, "evolve", "--resume", "../work/rel/x", "--quiet")
		checkTrained(t, run, 3)
		if st := arbor(t, third, nil, "status", "../work/rel/x"); !strings.Contains(st, "finished") {
			t.Errorf("status after the resume:\n%s", st)
		}
	})
}
