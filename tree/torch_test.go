package tree

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/train/testenv"
)

// pythonWithTorch finds an interpreter that can import torch.
func pythonWithTorch(t *testing.T) string {
	t.Helper()
	return testenv.Require(t, testenv.Torch)
}

type torchCase struct {
	name    string
	tree    *Tree
	params  int64
	classes int
}

type torchResult struct {
	File   string `json:"file"`
	Params int64  `json:"params"`
	Output []int  `json:"output"`
	Finite bool   `json:"finite"`
	Error  string `json:"error"`
}

// runInTorch renders every case, instantiates all of them in one Python
// process and checks parameter counts and output shapes.
func runInTorch(t *testing.T, cases []torchCase, cat Catalog) {
	t.Helper()
	py := pythonWithTorch(t)
	dir := t.TempDir()
	type entry struct {
		File  string `json:"file"`
		Input []int  `json:"input"`
	}
	var manifest []entry
	byFile := map[string]torchCase{}
	for i, c := range cases {
		src, err := Render(c.tree, cat)
		if err != nil {
			t.Fatalf("%s: render: %v", c.name, err)
		}
		file := filepath.Join(dir, fmt.Sprintf("case%03d.py", i))
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		manifest = append(manifest, entry{file, []int{c.tree.Input.C, c.tree.Input.H, c.tree.Input.W}})
		byFile[file] = c
	}
	mf := filepath.Join(dir, "manifest.json")
	data, _ := json.Marshal(manifest)
	if err := os.WriteFile(mf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "check_rendered.py"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, script, mf)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "OMP_NUM_THREADS=1", "PYTHONHASHSEED=0"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r torchResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad python output %q: %v", sc.Text(), err)
		}
		c, ok := byFile[r.File]
		if !ok {
			t.Fatalf("python reported unknown file %s", r.File)
		}
		seen++
		if r.Error != "" {
			t.Errorf("%s: PyTorch failed:\n%s", c.name, r.Error)
			continue
		}
		if c.params >= 0 && r.Params != c.params { // -1: the count is an estimate
			t.Errorf("%s: PyTorch has %d parameters, Check says %d", c.name, r.Params, c.params)
		}
		if len(r.Output) != 2 || r.Output[0] != 2 || r.Output[1] != c.classes {
			t.Errorf("%s: output shape %v, want [2 %d]", c.name, r.Output, c.classes)
		}
		if !r.Finite {
			t.Errorf("%s: output is not finite", c.name)
		}
	}
	if seen != len(cases) {
		t.Fatalf("python reported %d of %d cases", seen, len(cases))
	}
}

func checkedCase(t *testing.T, name string, tr *Tree, cat Catalog) torchCase {
	t.Helper()
	r, err := Check(tr, cat)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return torchCase{name: name, tree: tr, params: r.Params, classes: tr.Classes}
}

// TestRenderedTreesInPyTorch instantiates every seed at the CIFAR and
// Fashion-MNIST shapes, the mixed tree with catalog modules, and a sample of
// fuzz-like transformed trees in real PyTorch: parameter counts must equal
// Check's to the unit and forward must give (N, classes).
func TestRenderedTreesInPyTorch(t *testing.T) {
	cat := testCatalog()
	var cases []torchCase
	for _, s := range Seeds() {
		cases = append(cases, checkedCase(t, s+"@3x32x32", mustSeed(t, s, Shape{3, 32, 32}, 10), cat))
		cases = append(cases, checkedCase(t, s+"@1x28x28", mustSeed(t, s, Shape{1, 28, 28}, 10), cat))
	}
	if r, _ := Check(mustSeed(t, "resnet32", Shape{3, 32, 32}, 10), nil); r.Params < 455_000 || r.Params > 475_000 {
		t.Errorf("resnet32 has %d parameters, want about 0.46 M", r.Params)
	}
	cases = append(cases, checkedCase(t, "mixed", mixedTree(), cat))
	changed, modules := 0, 0
	for i, tr := range fuzzSample(t, 24, cat) {
		cases = append(cases, checkedCase(t, fmt.Sprintf("fuzz%02d", i), tr, cat))
		seed := mustSeed(t, Seeds()[i%len(Seeds())], Shape{3, 16, 16}, 7)
		if Hash(tr) != Hash(seed) {
			changed++
		}
		tr.Walk(func(_ string, n *Node) bool {
			if n.Kind == KindModule {
				modules++
			}
			return true
		})
	}
	t.Logf("fuzz sample: %d of 24 trees differ from their seed, %d module nodes", changed, modules)
	if changed < 16 || modules == 0 {
		t.Fatalf("the fuzz sample is too tame: %d changed, %d modules", changed, modules)
	}
	runInTorch(t, cases, cat)
}

// fuzzSample makes n trees by random transformation sequences (1 to 6
// edits) from small-input seeds, with deterministic choices.
func fuzzSample(t *testing.T, n int, cat Catalog) []*Tree {
	cands := testCandidates()
	var out []*Tree
	for i := 0; i < n; i++ {
		seeds := Seeds()
		tr := mustSeed(t, seeds[i%len(seeds)], Shape{3, 16, 16}, 7)
		ch := &chooser{b: []byte(fmt.Sprintf("sample %d %x", i, i*7919))}
		for k := 0; k < 1+i%6; k++ {
			tr = randomEdit(t, ch, tr, cands, cat)
		}
		out = append(out, tr)
	}
	return out
}
