package tree

import (
	"cmp"
	"errors"
	"strings"
	"testing"
)

// Hand-written modules for each part of the module contract that mined
// modules rely on: token and channels-last layouts behind adapters, an
// expansion ratio, an output width linear in the input, width rules that
// are enforced or adapted, and callable arguments from the table.
const (
	srcTokens = `import torch.nn as nn


class TokenMlp(nn.Module):
    def __init__(self, dim, num_heads=4, act_layer=nn.GELU):
        super().__init__()
        assert dim % num_heads == 0, "dim must be divisible by num_heads"
        self.fc = nn.Linear(dim, dim)
        self.act = act_layer()

    def forward(self, x):
        B, N, C = x.shape
        return self.act(self.fc(x))
`
	srcNHWC = `import torch.nn as nn


class ChannelsLastNorm(nn.Module):
    def __init__(self, dim, norm_layer):
        super().__init__()
        self.norm = norm_layer(dim)

    def forward(self, x):
        B, H, W, C = x.shape
        return self.norm(x)
`
	srcBottleneck = `import torch.nn as nn


class Bneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, norm_layer):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = norm_layer(planes)
        self.conv2 = nn.Conv2d(planes, planes * 4, 1, bias=False)

    def forward(self, x):
        return x + self.conv2(self.bn1(self.conv1(x)))
`
	srcConcat = `import torch
import torch.nn as nn


class Concat(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        self.b = nn.Conv2d(in_channels, 8, 1)

    def forward(self, x):
        return torch.cat([x, self.b(x)], 1)
`
	srcGrouped = `import torch.nn as nn


class Grouped(nn.Module):
    def __init__(self, channels, groups=8):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1, groups=groups, bias=False)

    def forward(self, x):
        return self.conv(x)
`
	srcSeq = `import torch.nn as nn


class Seq1d(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(x)
`
)

const srcResize = `import torch.nn as nn


class Merge(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 2, stride=2, bias=False)

    def forward(self, x):
        return self.conv(x)


class GPool(nn.Module):
    def forward(self, x):
        return nn.functional.adaptive_avg_pool2d(x, 1)


class Pad(nn.Module):
    def forward(self, x):
        return nn.functional.pad(x, (1, 1, 1, 1))


class NormLinear(nn.Module):
    def __init__(self, in_features):
        super().__init__()
        self.bn = nn.BatchNorm1d(in_features)
        self.fc = nn.Linear(in_features, 5)

    def forward(self, x):
        return self.fc(self.bn(x))


class MeanHead(nn.Module):
    def __init__(self, in_features):
        super().__init__()
        self.fc = nn.Linear(in_features, 8)

    def forward(self, x):
        return self.fc(x.mean((2, 3)))
`

func layoutCatalog() MapCatalog {
	return MapCatalog{
		"t/tokens": {ID: "t/tokens", Name: "TokenMlp", Source: srcTokens, InArg: "dim", SameWidth: true, PreservesShape: true, Inputs: 1,
			Layout: LayoutTokens, WidthRules: []WidthRule{{Arg: "num_heads", Value: 4}},
			CallableArgs: []CallableArg{{Arg: "act_layer", Kind: CallableAct}},
			ParamPoly:    [3]float64{0, 1, 1}, MACPoly: [3]float64{0, 0, 144}, RefHW: 12},
		"t/nhwc": {ID: "t/nhwc", Name: "ChannelsLastNorm", Source: srcNHWC, InArg: "dim", SameWidth: true, PreservesShape: true, Inputs: 1,
			Layout: LayoutNHWC, CallableArgs: []CallableArg{{Arg: "norm_layer", Kind: CallableTokenNorm, Default: "LayerNorm"}},
			ParamPoly: [3]float64{0, 2, 0}, RefHW: 12},
		"t/bneck": {ID: "t/bneck", Name: "Bneck", Source: srcBottleneck, InArg: "inplanes", OutArg: "planes", SameWidth: true, OutRatio: 4,
			PreservesShape: true, Inputs: 1, CallableArgs: []CallableArg{{Arg: "norm_layer", Kind: CallableNorm, Default: "BatchNorm2d"}},
			// conv1 w*w/4 + bn 2*w/4 + conv2 w/4*w
			ParamPoly: [3]float64{0, 0.5, 0.5}, RefHW: 12},
		"t/concat": {ID: "t/concat", Name: "Concat", Source: srcConcat, InArg: "in_channels", Inputs: 1, OutLinear: &[2]float64{8, 1},
			ParamPoly: [3]float64{8, 8, 0}, RefHW: 12},
		"t/grouped": {ID: "t/grouped", Name: "Grouped", Source: srcGrouped, InArg: "channels", SameWidth: true, PreservesShape: true, Inputs: 1,
			WidthRules: []WidthRule{{Arg: "groups", Value: 8}}, ParamPoly: [3]float64{0, 0, 0.125}, RefHW: 12},
		"t/merge": {ID: "t/merge", Name: "Merge", Source: srcResize, InArg: "dim", SameWidth: true, Inputs: 1, Downsample: 2,
			ParamPoly: [3]float64{0, 0, 4}, RefHW: 12},
		"t/gpool": {ID: "t/gpool", Name: "GPool", Source: srcResize, SameWidth: true, Inputs: 1, OutHW: 1, RefHW: 12},
		"t/head": {ID: "t/head", Name: "MeanHead", Source: srcResize, InArg: "in_features", Inputs: 1, Layout: LayoutPooled, OutHW: 1,
			OutLinear: &[2]float64{8, 0}, ParamPoly: [3]float64{8, 8, 0}, RefHW: 12},
		"t/pad": {ID: "t/pad", Name: "Pad", Source: srcResize, SameWidth: true, Inputs: 1, HWAdd: 2, RefHW: 12},
		"t/vec": {ID: "t/vec", Name: "NormLinear", Source: srcResize, InArg: "in_features", Inputs: 1, Layout: LayoutVec,
			OutLinear: &[2]float64{5, 0}, ParamPoly: [3]float64{5, 7, 0}, RefHW: 12},
		"t/seq": {ID: "t/seq", Name: "Seq1d", Source: srcSeq, InArg: "channels", SameWidth: true, PreservesShape: true, Inputs: 1,
			Layout: LayoutNCL, ParamPoly: [3]float64{0, 1, 3}, RefHW: 12},
	}
}

func smallNet(mods ...*Node) *Tree {
	children := []*Node{Op("stem", "conv2d", A("out", 16))}
	children = append(children, mods...)
	children = append(children, classifier(10)...)
	return &Tree{Input: Shape{3, 8, 8}, Classes: 10, Root: Seq("", children...)}
}

func TestModuleContractShapes(t *testing.T) {
	cat := layoutCatalog()
	tests := []struct {
		name   string
		mods   []*Node
		width  int   // width after the modules
		params int64 // of the modules alone (exact cases)
		exact  bool
		errArg string // an *ArgError on this argument, or a *ShapeError when "shape"
		hw     int    // output H and W when not the input's 8
	}{
		{name: "tokens", mods: []*Node{Module("m", "t/tokens", nil)}, width: 16, params: 16*16 + 16, exact: true},
		{name: "tokens with GELU swapped for SiLU", mods: []*Node{Module("m", "t/tokens", A("act_layer", "SiLU"))}, width: 16, params: 16*16 + 16, exact: true},
		{name: "callable of the wrong kind", mods: []*Node{Module("m", "t/tokens", A("act_layer", "BatchNorm2d"))}, errArg: "act_layer"},
		{name: "nhwc", mods: []*Node{Module("m", "t/nhwc", nil)}, width: 16, params: 32, exact: true},
		{name: "bottleneck keeps width", mods: []*Node{Module("m", "t/bneck", nil)}, width: 16, params: 16*4 + 8 + 4*16, exact: true},
		{name: "bottleneck at a width not divisible by 4", mods: []*Node{Op("c", "conv2d", A("out", 18)), Module("m", "t/bneck", nil)}, errArg: "planes"},
		{name: "concat widens by 8", mods: []*Node{Module("m", "t/concat", nil)}, width: 24, params: 8 + 8*16, exact: true},
		{name: "groups 8 divides 16", mods: []*Node{Module("m", "t/grouped", nil)}, width: 16, params: 32, exact: true},
		{name: "groups adapted at width 12", mods: []*Node{Op("c", "conv2d", A("out", 12)), Module("m", "t/grouped", nil)}, width: 12},
		{name: "groups set explicitly must divide", mods: []*Node{Module("m", "t/grouped", A("groups", 3))}, errArg: "groups"},
		{name: "patch merging halves H and W", mods: []*Node{Module("m", "t/merge", nil)}, width: 16, params: 4 * 16 * 16, exact: true, hw: 4},
		{name: "merging needs even H and W", mods: []*Node{Op("p", "maxpool2d", A("kernel", 2, "stride", 1)), Module("m", "t/merge", nil)}, errArg: "shape"},
		{name: "global pool", mods: []*Node{Module("m", "t/gpool", nil)}, width: 16, params: 0, exact: true, hw: 1},
		{name: "padding grows H and W", mods: []*Node{Module("m", "t/pad", nil)}, width: 16, params: 0, exact: true, hw: 10},
		{name: "pooling head", mods: []*Node{Module("m", "t/head", nil)}, width: 8, params: 8*16 + 8, exact: true, hw: 1},
		{name: "features after the pool", mods: []*Node{Op("p", "adaptiveavgpool2d", nil), Module("m", "t/vec", nil)}, width: 5, params: 2*16 + 16*5 + 5, exact: true, hw: 1},
		{name: "features need the pool first", mods: []*Node{Module("m", "t/vec", nil)}, errArg: "shape"},
		{name: "ncl", mods: []*Node{Module("m", "t/seq", nil)}, width: 16, params: 16*16*3 + 16, exact: true},
	}
	var torch []torchCase
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := smallNet(tc.mods...)
			rep, err := Check(tr, cat)
			if tc.errArg == "shape" {
				var se *ShapeError
				if !errors.As(err, &se) {
					t.Fatalf("got %v, want a shape error", err)
				}
				return
			}
			if tc.errArg != "" {
				var ae *ArgError
				if !errors.As(err, &ae) || ae.Arg != tc.errArg {
					t.Fatalf("got %v, want an argument error on %s", err, tc.errArg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			last := tc.mods[len(tc.mods)-1]
			info := rep.Nodes["/"+last.Name]
			if info.Out.C != tc.width {
				t.Errorf("output width %d, want %d", info.Out.C, tc.width)
			}
			if hw := cmp.Or(tc.hw, 8); info.Out.H != hw || info.Out.W != hw {
				t.Errorf("output %dx%d, want %dx%d", info.Out.H, info.Out.W, hw, hw)
			}
			spec, _ := cat.Module(last.Module)
			if got := CountExact(last, spec, info.In); got != tc.exact {
				t.Errorf("CountExact = %v, want %v", got, tc.exact)
			}
			if tc.exact && info.Params != tc.params {
				t.Errorf("params %d, want %d", info.Params, tc.params)
			}
			torch = append(torch, torchCase{name: tc.name, tree: tr, params: rep.Params, classes: 10})
		})
	}
	// PyTorch must agree on every exact count and run every valid tree.
	runInTorch(t, exactOnly(t, torch, cat), cat)
}

// exactOnly keeps the parameter check for cases whose module counts are
// exact and drops it (params -1) for the others.
func exactOnly(t *testing.T, cases []torchCase, cat Catalog) []torchCase {
	t.Helper()
	out := make([]torchCase, 0, len(cases))
	for _, c := range cases {
		rep, err := Check(c.tree, cat)
		if err != nil {
			t.Fatal(err)
		}
		ok := true
		c.tree.Walk(func(p string, n *Node) bool {
			if n.Kind == KindModule {
				spec, _ := cat.Module(n.Module)
				if !CountExact(n, spec, rep.Nodes[p].In) {
					ok = false
				}
			}
			return true
		})
		if !ok {
			c.params = -1
		}
		out = append(out, c)
	}
	return out
}

func TestRenderLayoutAdaptersAndCallables(t *testing.T) {
	cat := layoutCatalog()
	src, err := Render(smallNet(Module("a", "t/tokens", A("act_layer", "GELU")), Module("b", "t/nhwc", nil),
		Module("c", "t/seq", nil), Op("c12", "conv2d", A("out", 12)), Module("d", "t/grouped", nil)), cat)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"_Tokens(TokenMlp(dim=16, act_layer=_GELU))",
		"_NHWC(ChannelsLastNorm(dim=16, norm_layer=nn.LayerNorm))",
		"_NCL(Seq1d(channels=16))",
		"Grouped(channels=12, groups=6)",
		"def _GELU(",
		"class _Tokens(nn.Module):",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("rendered source lacks %q:\n%s", want, src)
		}
	}
}

func TestOptionsOfferOnlySitesThatFitWidthRules(t *testing.T) {
	cat := layoutCatalog()
	// A bottleneck needs a width divisible by 4 when it keeps the width.
	tr := smallNet(Op("c", "conv2d", A("out", 18)), Op("r", "relu", nil))
	opts := Options(tr, OpInsert, []*Node{Module("m", "t/bneck", nil)}, cat)
	for _, o := range opts {
		if o.Path == "/" && o.Index >= 2 && o.Index <= 3 {
			t.Errorf("insert offered at width 18: %v", o)
		}
	}
	if len(opts) == 0 {
		t.Fatal("no insert offered at width 16 either")
	}
}
