package mine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/train/child"
	"github.com/arbor-nas/arbor/train/testenv"
	"github.com/arbor-nas/arbor/tree"
)

// timmLikeRoot is a small package written in timm's idioms (relative
// imports of a layers package, callable layer arguments, make_divisible
// widths, token blocks, expansion-ratio bottlenecks); the real timm is a
// benchmark input (BenchmarkSampledTimmModulesRunInResNet20).
const timmLikeRoot = "testdata/timmlike"

// stageHarness instantiates rendered ResNet-20 candidates, counts their
// parameters, runs a forward pass on a CIFAR-sized batch and one backward
// pass (a module that cannot be trained is not usable).
const stageHarness = `
import json, sys, torch
torch.manual_seed(0)
torch.set_num_threads(1)
for line in sys.stdin:
    job = json.loads(line)
    ns = {"__name__": "candidate_%d" % job["i"]}
    try:
        exec(compile(open(job["path"]).read(), job["path"], "exec"), ns)
        m = ns["Candidate"]()
        y = m(torch.randn(2, 3, 32, 32))
        y.sum().backward()
        res = {"i": job["i"], "ok": tuple(y.shape) == (2, 10) and bool(torch.isfinite(y).all()), "shape": list(y.shape),
               "params": sum(p.numel() for p in m.parameters())}
    except Exception as e:
        res = {"i": job["i"], "ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    print(json.dumps(res), flush=True)
`

// Every usable module is real: a seeded sample of usable timm-like and
// torchvision modules, with token-layout and expansion-ratio modules among
// them, is inserted into a ResNet-20 stage through tree.Options, rendered,
// instantiated, run forward and backward in PyTorch, and tree.Check's
// parameter count must equal PyTorch's wherever tree.CountExact says so.
func TestSampledUsableModulesRunInResNet20(t *testing.T) {
	sampledUsableRunInResNet20(t, timmLikeRoot)
}

// BenchmarkSampledTimmModulesRunInResNet20 is the same check on a sample of
// the real timm ($ARBOR_TIMM_ROOT or the team's ../shared/data/repos), and
// its time: go test -run '^$' -bench SampledTimm -benchtime 1x ./mine
func BenchmarkSampledTimmModulesRunInResNet20(b *testing.B) {
	root := testenv.Require(b, testenv.Timm)
	for b.Loop() {
		sampledUsableRunInResNet20(b, root)
	}
}

// sampledUsableRunInResNet20 samples the usable modules of timmRoot (50)
// and of torchvision (30), and runs each in a ResNet-20 stage.
func sampledUsableRunInResNet20(t testing.TB, timmRoot string) {
	py := testenv.Require(t, testenv.Torch)
	tvRoot := testenv.Require(t, testenv.Torchvision)
	cfg := DefaultConfig()
	rng := rand.New(rand.NewPCG(14, 2026))
	// A seeded sample of each root's ok modules, plus a seeded few of the
	// bottleneck-like ones (an `expansion` attribute in the source), which
	// are rare but must be in it; the probe then decides what is usable.
	var sample, wide []*Module
	for _, root := range []string{timmRoot, tvRoot} {
		cat, _ := mineRoots(t, cfg, Options{}, root)
		var ok []*Module
		for _, m := range cat.Modules {
			switch {
			case m.Status != StatusOK:
			case strings.Contains(m.Source, "expansion = 4") || strings.Contains(m.Source, "expansion: int = 4"):
				wide = append(wide, m)
			default:
				ok = append(ok, m)
			}
		}
		rng.Shuffle(len(ok), func(i, j int) { ok[i], ok[j] = ok[j], ok[i] })
		n := 50
		if root == tvRoot {
			n = 30
		}
		sample = append(sample, ok[:min(n, len(ok))]...)
	}
	rng.Shuffle(len(wide), func(i, j int) { wide[i], wide[j] = wide[j], wide[i] })
	sample = append(sample, wide[:min(6, len(wide))]...)
	sub := &Catalog{Version: CatalogVersion, Modules: sample}
	if err := ProbeCatalog(context.Background(), sub, cfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	// Through catalog.json, as `arbor evolve` reads it.
	saved := filepath.Join(t.TempDir(), "catalog.json")
	if err := sub.Save(saved); err != nil {
		t.Fatal(err)
	}
	sub, err := LoadCatalog(saved)
	if err != nil {
		t.Fatal(err)
	}
	specs := sub.Specs()
	seed, err := tree.Seed("resnet20", tree.Shape{C: 3, H: 32, W: 32}, 10)
	if err != nil {
		t.Fatal(err)
	}
	type tc struct {
		name  string
		tree  *tree.Tree
		rep   *tree.Report
		exact bool
	}
	var cases []tc
	var tokens, ratios, linear, callables, ruled int
	for _, m := range sub.Modules {
		s := specs[m.ID]
		if s == nil {
			continue
		}
		cand := tree.Module("mined", s.ID, nil)
		var stage []tree.Option
		// A module on pooled (N, C) features fits only after the head's
		// global pool, like the tree's own linear.
		where := func(p string) bool { return strings.HasPrefix(p, "/stage") && strings.Count(p, "/") == 1 }
		if s.Layout == tree.LayoutVec {
			where = func(p string) bool { return p == "/head" }
		}
		for _, o := range tree.Options(seed, tree.OpInsert, []*tree.Node{cand}, specs) {
			if where(o.Path) {
				stage = append(stage, o)
			}
		}
		if len(stage) == 0 {
			t.Errorf("%s is usable but tree.Options offers no insert into a ResNet-20 stage", m.QualName)
			continue
		}
		o := stage[rng.IntN(len(stage))]
		child, err := tree.Apply(seed, o, specs)
		if err != nil {
			t.Errorf("%s: apply %s: %v", m.QualName, o, err)
			continue
		}
		rep, err := tree.Check(child, specs)
		if err != nil {
			t.Errorf("%s: check: %v", m.QualName, err)
			continue
		}
		in := rep.Nodes[o.Path+"/mined"].In
		cases = append(cases, tc{fmt.Sprintf("%s at %s[%d] (in %s)", m.QualName, o.Path, o.Index, in), child, rep, tree.CountExact(cand, s, in)})
		if s.Layout != "" {
			tokens++
		}
		if s.OutRatio > 1 {
			ratios++
		}
		if s.OutLinear != nil {
			linear++
		}
		if len(s.CallableArgs) > 0 {
			callables++
		}
		if len(s.WidthRules) > 0 || s.WidthMultiple > 1 {
			ruled++
		}
	}
	if len(cases) < 30 || tokens == 0 || ratios == 0 {
		t.Fatalf("the sample has %d usable modules (%d token-layout, %d expansion-ratio); want >= 30 with both kinds", len(cases), tokens, ratios)
	}
	dir := t.TempDir()
	var jobs bytes.Buffer
	for i, c := range cases {
		src, err := tree.Render(c.tree, specs)
		if err != nil {
			t.Fatalf("%s: render: %v", c.name, err)
		}
		p := filepath.Join(dir, fmt.Sprintf("cand%d.py", i))
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(map[string]any{"i": i, "path": p})
		jobs.Write(append(b, '\n'))
	}
	cmd := exec.Command(py, "-c", stageHarness)
	cmd.Dir = dir
	cmd.Env = child.Env("OMP_NUM_THREADS=1")
	cmd.Stdin = &jobs
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("harness: %v\n%s", err, stderr.String())
	}
	seen, exact := 0, 0
	var lines []string
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
			t.Errorf("%s: failed in PyTorch: %s (shape %v)", c.name, r.Error, r.Shape)
			continue
		}
		mark := "estimate"
		if c.exact {
			exact++
			mark = "exact"
			if c.rep.Params != r.Params {
				t.Errorf("%s: tree.Check counts %d parameters, PyTorch %d", c.name, c.rep.Params, r.Params)
			}
		}
		lines = append(lines, fmt.Sprintf("%s: %d params (%s), PyTorch %d", c.name, c.rep.Params, mark, r.Params))
	}
	if seen != len(cases) {
		t.Errorf("harness answered %d of %d", seen, len(cases))
	}
	sort.Strings(lines)
	t.Logf("%d sampled usable modules ran in ResNet-20 (%d token-layout, %d expansion-ratio, %d linear-width, %d callable-arg, %d width-rule); %d exact counts matched\n%s",
		len(cases), tokens, ratios, linear, callables, ruled, exact, strings.Join(lines, "\n"))
}
