package mine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/train/child"
	"github.com/arbor-nas/arbor/train/testenv"
	"github.com/arbor-nas/arbor/tree"
)

// renderHarness instantiates every rendered candidate in one Python
// process, counts its parameters and runs a forward pass.
const renderHarness = `
import json, sys, torch
torch.manual_seed(0)
for line in sys.stdin:
    job = json.loads(line)
    ns = {"__name__": "candidate_%d" % job["i"]}
    try:
        exec(compile(open(job["path"]).read(), job["path"], "exec"), ns)
        m = ns["Candidate"]()
        m.eval()
        with torch.no_grad():
            y = m(torch.randn(2, 3, job["hw"], job["hw"]))
        res = {"i": job["i"], "ok": tuple(y.shape) == (2, 10), "shape": list(y.shape),
               "params": sum(p.numel() for p in m.parameters())}
    except Exception as e:
        res = {"i": job["i"], "ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    print(json.dumps(res), flush=True)
`

type renderCase struct {
	name  string
	tree  *tree.Tree
	exact bool // in == out everywhere, so the fitted polynomial is exact
}

// Every torchvision module the probe marks usable must render inside a
// tree (conv stem -> module -> pool -> flatten -> linear), instantiate and
// forward in PyTorch, with tree.Check's parameter count equal to PyTorch's
// wherever tree.CountExact says it is exact.
func TestTorchvisionUsableModulesRenderAndRun(t *testing.T) {
	py := needTorch(t)
	root := testenv.Require(t, testenv.Torchvision)
	cfg := DefaultConfig()
	cat, _ := mineRoots(t, cfg, Options{}, root)
	err := ProbeCatalog(context.Background(), cat, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Go through catalog.json as `arbor evolve --catalog` does, so JSON
	// numbers (float64) reach the renderer as they will in real runs.
	saved := filepath.Join(t.TempDir(), "catalog.json")
	if err := cat.Save(saved); err != nil {
		t.Fatal(err)
	}
	if cat, err = LoadCatalog(saved); err != nil {
		t.Fatal(err)
	}
	specs := cat.Specs()
	if len(specs) < 8 {
		t.Fatalf("only %d torchvision modules usable; the probe regressed", len(specs))
	}
	var cases []renderCase
	for _, m := range cat.Modules {
		s := specs[m.ID]
		if s == nil {
			continue
		}
		// The stem gives the module a width that satisfies its width rules.
		width := 16
		if s.WidthMultiple > 1 {
			width = s.WidthMultiple * ((16 + s.WidthMultiple - 1) / s.WidthMultiple)
		}
		hw := max(16, s.MinHW)
		build := func(args map[string]tree.Value) *tree.Tree {
			if s.Layout == tree.LayoutVec { // (N, C) features: after the pool
				return &tree.Tree{Input: tree.Shape{C: 3, H: hw, W: hw}, Classes: 10, Root: tree.Seq("net",
					tree.Op("stem", "conv2d", tree.A("out", width)),
					tree.Op("pool", "adaptiveavgpool2d", nil),
					tree.Module("block", s.ID, args),
					tree.Op("flatten", "flatten", nil),
					tree.Op("fc", "linear", tree.A("out", 10)),
				)}
			}
			return &tree.Tree{Input: tree.Shape{C: 3, H: hw, W: hw}, Classes: 10, Root: tree.Seq("net",
				tree.Op("stem", "conv2d", tree.A("out", width)),
				tree.Module("block", s.ID, args),
				tree.Op("pool", "adaptiveavgpool2d", nil),
				tree.Op("flatten", "flatten", nil),
				tree.Op("fc", "linear", tree.A("out", 10)),
			)}
		}
		in := tree.Shape{C: width, H: hw, W: hw}
		if s.Layout == tree.LayoutVec {
			in.H, in.W = 1, 1
		}
		exact := tree.CountExact(tree.Module("block", s.ID, nil), s, in)
		cases = append(cases, renderCase{m.QualName, build(nil), exact})
		if s.OutArg != "" && !s.SameWidth {
			cases = append(cases, renderCase{m.QualName + " widened", build(map[string]tree.Value{s.OutArg: tree.Int(24)}), false})
		}
		if s.StrideArg != "" {
			cases = append(cases, renderCase{m.QualName + " stride 2", build(map[string]tree.Value{s.StrideArg: tree.Int(2)}), false})
		}
	}
	dir := t.TempDir()
	var jobs bytes.Buffer
	reports := make([]*tree.Report, len(cases))
	for i, c := range cases {
		rep, err := tree.Check(c.tree, specs)
		if err != nil {
			t.Errorf("%s: tree.Check: %v", c.name, err)
			continue
		}
		reports[i] = rep
		src, err := tree.Render(c.tree, specs)
		if err != nil {
			t.Errorf("%s: tree.Render: %v", c.name, err)
			continue
		}
		p := filepath.Join(dir, fmt.Sprintf("cand%d.py", i))
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(map[string]any{"i": i, "path": p, "hw": c.tree.Input.H})
		jobs.Write(append(b, '\n'))
	}
	want := strings.Count(jobs.String(), "\n")
	cmd := exec.Command(py, "-c", renderHarness)
	cmd.Dir = dir
	cmd.Env = child.Env("OMP_NUM_THREADS=1")
	cmd.Stdin = &jobs
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("render harness: %v\n%s", err, stderr.String())
	}
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r struct {
			I      int    `json:"i"`
			OK     bool   `json:"ok"`
			Shape  []int  `json:"shape"`
			Params int64  `json:"params"`
			Error  string `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("harness printed %q", sc.Text())
		}
		seen++
		c := cases[r.I]
		if !r.OK {
			t.Errorf("%s: rendered candidate failed in PyTorch: %s (shape %v)", c.name, r.Error, r.Shape)
			continue
		}
		if c.exact && reports[r.I] != nil && reports[r.I].Params != r.Params {
			t.Errorf("%s: tree.Check counts %d parameters, PyTorch %d", c.name, reports[r.I].Params, r.Params)
		}
	}
	if seen != want || want != len(cases) {
		t.Errorf("harness answered %d of %d candidates", seen, want)
	}
	t.Logf("%d usable torchvision modules, %d rendered trees ran in PyTorch", len(specs), seen)
}
