package tree

import (
	"fmt"
)

// Test catalog modules with real PyTorch sources whose parameter counts the
// ParamPoly contract gives exactly (for the widths the tests use).
const (
	srcSE = `import torch
import torch.nn as nn


class SE(nn.Module):
    def __init__(self, channels, gate="sigmoid"):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels, 1)
        self.fc2 = nn.Conv2d(channels, channels, 1)
        self.gate = gate

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = self.fc2(torch.relu(self.fc1(s)))
        return x * (torch.sigmoid(s) if self.gate == "sigmoid" else torch.tanh(s).add(1).mul(0.5))
`
	srcDW = `import torch.nn as nn


def _act():
    return nn.ReLU()


class DWBlock(nn.Module):
    def __init__(self, channels, stride=1, kernel_size=3):
        super().__init__()
        self.dw = nn.Conv2d(channels, channels, kernel_size, stride=stride, padding=kernel_size // 2, groups=channels, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.act = _act()

    def forward(self, x):
        return self.act(self.bn(self.dw(x)))
`
	// Two different modules that both define class Block and _act: the
	// renderer must keep them apart.
	srcProj = `import torch.nn as nn


def _act():
    return nn.Identity()


class Block(nn.Module):
    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 1, bias=False)
        self.act = _act()

    def forward(self, x):
        return self.act(self.conv(x))
`
	srcMix = `import torch.nn as nn


class Block(nn.Module):
    """Same class name as proj's Block, different module."""

    def __init__(self, width, scale=1.0):
        super().__init__()
        self.scale = scale
        self.conv = nn.Conv2d(width, width, 3, padding=1, bias=True)

    def forward(self, x):
        return x + self.scale * self.conv(x)
`
)

// testCatalog returns four modules: two shape-preserving, one
// width-changing, one stride-capable, with exact ParamPoly.
func testCatalog() MapCatalog {
	return MapCatalog{
		"test/se": {ID: "test/se", Name: "SE", QualName: "test.SE", Category: "attention", Source: srcSE,
			InArg: "channels", SameWidth: true, PreservesShape: true, Inputs: 1,
			FixedArgs: map[string]any{"gate": "sigmoid"},
			Tunable:   []ArgRange{{Name: "gate", Type: "enum", Choices: []string{"sigmoid", "hardsigmoid"}, Default: "sigmoid"}},
			ParamPoly: [3]float64{0, 2, 2}, MACPoly: [3]float64{0, 0, 2}, RefHW: 1},
		"test/dw": {ID: "test/dw", Name: "DWBlock", QualName: "test.DWBlock", Category: "conv-block", Source: srcDW,
			InArg: "channels", SameWidth: true, StrideArg: "stride", PreservesShape: true, Inputs: 1,
			FixedArgs: map[string]any{"kernel_size": float64(3)},
			ParamPoly: [3]float64{0, 11, 0}, MACPoly: [3]float64{0, 9, 0}, RefHW: 8},
		"test/proj": {ID: "test/proj", Name: "Block", QualName: "test.proj.Block", Category: "conv-block", Source: srcProj,
			InArg: "in_ch", OutArg: "out_ch", Inputs: 1, PreservesShape: true,
			ParamPoly: [3]float64{0, 0, 1}, MACPoly: [3]float64{0, 0, 1}, RefHW: 1},
		"test/mix": {ID: "test/mix", Name: "Block", QualName: "test.mix.Block", Category: "conv-block", Source: srcMix,
			InArg: "width", SameWidth: true, PreservesShape: true, Inputs: 1,
			FixedArgs: map[string]any{"scale": 0.5},
			Tunable:   []ArgRange{{Name: "scale", Type: "float", Min: 0, Max: 2, Default: 1.0}},
			ParamPoly: [3]float64{0, 1, 9}, MACPoly: [3]float64{0, 0, 9}, RefHW: 1},
	}
}

// testCandidates mixes primitives, composites and catalog modules,
// shape-preserving and not.
func testCandidates() []*Node {
	return []*Node{
		Op("", "relu", nil),
		Op("", "batchnorm2d", nil),
		Op("", "conv2d", A("out", 8)),
		Op("", "conv2d", A("out", 32, "stride", 2)),
		Op("", "conv2d", A("kernel", 1)),
		Op("", "conv2d", A("groups", 0, "kernel", 5)),
		Op("", "maxpool2d", A("kernel", 3, "stride", 1, "padding", 1)),
		Op("", "maxpool2d", nil),
		Op("", "linear", A("out", 10)),
		Op("", "dropout", A("p", 0.1)),
		Op("", "zero", nil),
		{Kind: KindResidual, Name: "res", Children: []*Node{Seq("body", Op("conv", "conv2d", nil), Op("bn", "batchnorm2d", nil))}},
		{Kind: KindBranch, Name: "split", Children: []*Node{Op("a", "conv2d", A("out", 8, "kernel", 1)), Op("b", "identity", nil)}},
		{Kind: KindCell, Name: "cell", Args: A("e1_0", "nor_conv_3x3", "e2_1", "avg_pool_3x3", "e3_0", "skip_connect", "e3_2", "nor_conv_1x1")},
		{Kind: KindRepeat, Name: "rep", Args: A("n", 2), Children: []*Node{Op("c", "conv2d", A("out", 16))}},
		Module("se", "test/se", nil),
		Module("dw", "test/dw", A("stride", 2)),
		Module("proj", "test/proj", A("out_ch", 24)),
		Module("mix", "test/mix", A("scale", 1.5)),
		Module("missing", "test/nope", nil),
	}
}

// benchCatalog builds n plausible catalog modules and one candidate node
// for each: a third shape-preserving attention/activation-like, a third
// width-changing conv blocks with various output widths, a third
// stride-capable blocks (some at stride 2).
func benchCatalog(n int) (MapCatalog, []*Node) {
	cat := MapCatalog{}
	var cands []*Node
	widths := []int{16, 24, 32, 48, 64, 96, 128}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("fake/m%03d", i)
		switch i % 3 {
		case 0:
			cat[id] = &ModuleSpec{ID: id, Name: fmt.Sprintf("Attn%d", i), Category: "attention", Source: srcSE,
				InArg: "channels", SameWidth: true, PreservesShape: true, Inputs: 1,
				Tunable:   []ArgRange{{Name: "reduction", Type: "int", Min: 1, Max: 16, Default: 4.0}},
				FixedArgs: map[string]any{"reduction": float64(4)},
				ParamPoly: [3]float64{0, 1.25, 0.5}, MACPoly: [3]float64{0, 0, 0.5}, RefHW: 1}
			cands = append(cands, Module("", id, nil))
		case 1:
			cat[id] = &ModuleSpec{ID: id, Name: fmt.Sprintf("ConvBlock%d", i), Category: "conv-block", Source: srcProj,
				InArg: "in_ch", OutArg: "out_ch", Inputs: 1,
				ParamPoly: [3]float64{0, 2, 9}, MACPoly: [3]float64{0, 0, 9}, RefHW: 32}
			cands = append(cands, Module("", id, A("out_ch", widths[(i/3)%len(widths)])))
		default:
			cat[id] = &ModuleSpec{ID: id, Name: fmt.Sprintf("DW%d", i), Category: "conv-block", Source: srcDW,
				InArg: "channels", SameWidth: true, StrideArg: "stride", PreservesShape: true, Inputs: 1,
				ParamPoly: [3]float64{0, 11, 0}, MACPoly: [3]float64{0, 9, 0}, RefHW: 32}
			args := map[string]Value(nil)
			if (i/3)%4 == 0 {
				args = A("stride", 2)
			}
			cands = append(cands, Module("", id, args))
		}
	}
	return cat, cands
}
