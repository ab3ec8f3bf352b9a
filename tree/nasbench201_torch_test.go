package tree

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nb201Reference is NAS-Bench-201's TinyNetwork (infer) re-stated from
// the benchmark's source: the rendered tree must have exactly its
// parameter count.
const nb201Reference = `
import torch, torch.nn as nn

class ReLUConvBN(nn.Module):
    def __init__(s, ci, co, k, st, p):
        super().__init__()
        s.op = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(ci, co, k, st, p, bias=False), nn.BatchNorm2d(co, affine=True))
    def forward(s, x):
        return s.op(x)

class ResNetBasicblock(nn.Module):
    def __init__(s, inplanes, planes, stride):
        super().__init__()
        s.conv_a = ReLUConvBN(inplanes, planes, 3, stride, 1)
        s.conv_b = ReLUConvBN(planes, planes, 3, 1, 1)
        s.downsample = nn.Sequential(nn.AvgPool2d(kernel_size=2, stride=2, padding=0), nn.Conv2d(inplanes, planes, 1, 1, 0, bias=False))
    def forward(s, x):
        return s.downsample(x) + s.conv_b(s.conv_a(x))

def OP(name, C):
    return {"skip_connect": lambda: nn.Identity(),
            "avg_pool_3x3": lambda: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
            "nor_conv_1x1": lambda: ReLUConvBN(C, C, 1, 1, 0),
            "nor_conv_3x3": lambda: ReLUConvBN(C, C, 3, 1, 1)}[name]()

class InferCell(nn.Module):
    def __init__(s, genotype, C):
        super().__init__()
        s.layers = nn.ModuleList()
        s.node_IN, s.node_IX = [], []
        for node in genotype:
            ins, ixs = [], []
            for op, j in node:
                if op == "none":
                    continue
                ins.append(j); ixs.append(len(s.layers)); s.layers.append(OP(op, C))
            s.node_IN.append(ins); s.node_IX.append(ixs)
    def forward(s, x):
        nodes = [x]
        for ins, ixs in zip(s.node_IN, s.node_IX):
            nodes.append(sum(s.layers[k](nodes[j]) for j, k in zip(ins, ixs)) if ins else torch.zeros_like(x))
        return nodes[-1]

class TinyNetwork(nn.Module):
    def __init__(s, arch, C=16, N=5, classes=10):
        super().__init__()
        genotype = [[(t.split("~")[0], int(t.split("~")[1])) for t in n.strip("|").split("|")] for n in arch.split("+")]
        s.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        cells, cp = [], C
        for c, red in zip([C]*N + [C*2] + [C*2]*N + [C*4] + [C*4]*N, [False]*N + [True] + [False]*N + [True] + [False]*N):
            cells.append(ResNetBasicblock(cp, c, 2) if red else InferCell(genotype, c)); cp = c
        s.cells = nn.ModuleList(cells)
        s.lastact = nn.Sequential(nn.BatchNorm2d(cp), nn.ReLU(inplace=True))
        s.global_pooling = nn.AdaptiveAvgPool2d(1)
        s.classifier = nn.Linear(cp, classes)
    def forward(s, x):
        x = s.stem(x)
        for c in s.cells:
            x = c(x)
        return s.classifier(s.global_pooling(s.lastact(x)).flatten(1))
`

// TestNB201RendersInPyTorch renders one NB201 tree with every op kind,
// instantiates it in real PyTorch, runs a forward pass, and checks the
// output shape and that its parameter count equals both the tree's check
// and NAS-Bench-201's own TinyNetwork for the same arch string.
func TestNB201RendersInPyTorch(t *testing.T) {
	py := pythonWithTorch(t)
	const arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
	tr, err := NB201FromArch(arch, cifar, 10)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Check(tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := Render(tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "candidate.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	script := nb201Reference + `
import sys
sys.path.insert(0, sys.argv[1])
torch.manual_seed(0)
from candidate import Candidate
m = Candidate().eval()
ref = TinyNetwork(sys.argv[2]).eval()
x = torch.randn(2, 3, 32, 32)
with torch.no_grad():
    y, yr = m(x), ref(x)
count = lambda mod: sum(p.numel() for p in mod.parameters())
print(tuple(y.shape) == (2, 10), tuple(yr.shape) == (2, 10), bool(torch.isfinite(y).all()), count(m), count(ref))
`
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", script, dir, arch)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "OMP_NUM_THREADS=1"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	f := strings.Fields(strings.TrimSpace(string(out)))
	if len(f) != 5 {
		t.Fatalf("unexpected output %q", out)
	}
	if f[0] != "True" || f[1] != "True" || f[2] != "True" {
		t.Fatalf("forward: shape ok %s, reference shape ok %s, finite %s", f[0], f[1], f[2])
	}
	got, _ := strconv.ParseInt(f[3], 10, 64)
	ref, _ := strconv.ParseInt(f[4], 10, 64)
	if got != rep.Params || got != ref {
		t.Fatalf("params: rendered %d, tree check %d, NAS-Bench-201 TinyNetwork %d", got, rep.Params, ref)
	}
	t.Logf("%s: %d parameters in PyTorch, check and the NB201 reference", arch, got)
}
