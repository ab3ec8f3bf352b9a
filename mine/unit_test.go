package mine

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/tree"
)

func TestFreeNames(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{"x = nn.Conv2d(a, b)", []string{"x", "nn", "a", "b"}},
		{"s = 'conv_helper' + \"other\" # comment_name\n", []string{"s"}},
		{"doc = r'''multi\nline helper'''\nafter = 1", []string{"doc", "after"}},
		{"f = f'{inside}' + b\"x\"", []string{"f"}},
		{"self.layer = Block(self.dim)", []string{"Block"}},
		{"if a and not b: return None", []string{"a", "b"}},
		{"x = obj.attr.deeper(arg)", []string{"x", "obj", "arg"}},
		{"'unterminated\nname_after", []string{"name_after"}},
	}
	for _, tc := range tests {
		if got := freeNames([]byte(tc.src)); !slices.Equal(got, tc.want) {
			t.Errorf("freeNames(%q) = %v, want %v", tc.src, got, tc.want)
		}
	}
}

func TestParseLiteral(t *testing.T) {
	tests := []struct{ src, want string }{
		{"3", "3"}, {"-1", "-1"}, {"1e-5", "0.00001"}, {"0.25", "0.25"}, {"True", "true"}, {"None", "null"},
		{"'zeros'", `"zeros"`}, {"(1, 2)", "[1,2]"}, {"[3, (1, 'a')]", `[3,[1,"a"]]`}, {"()", "[]"},
		{"nn.ReLU", ""}, {"1 + 2", ""}, {"'it\\'s'", ""}, {"float('inf')", ""},
	}
	for _, tc := range tests {
		got := string(parseLiteral(tc.src))
		if tc.want == "" {
			if got != "" {
				t.Errorf("parseLiteral(%q) = %s, want no literal", tc.src, got)
			}
			continue
		}
		var a, b any
		if err := json.Unmarshal([]byte(got), &a); err != nil {
			t.Fatalf("parseLiteral(%q) = %q: %v", tc.src, got, err)
		}
		_ = json.Unmarshal([]byte(tc.want), &b)
		if ja, jb := mustJSON(a), mustJSON(b); ja != jb {
			t.Errorf("parseLiteral(%q) = %s, want %s", tc.src, ja, jb)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func p(name string) Param { return Param{Name: name, Kind: "positional"} }
func pd(name, def string) Param {
	return Param{Name: name, Kind: "positional", Default: def, HasDefault: true, Literal: parseLiteral(def)}
}

func TestGuessArgs(t *testing.T) {
	tests := []struct {
		name     string
		params   []Param
		in, out  string
		stride   string
		fixed    string // JSON of Fixed
		missing  string
		tunables string
	}{
		{"conv", []Param{p("in_channels"), p("out_channels"), p("kernel_size"), pd("stride", "1"), pd("padding", "0")},
			"in_channels", "out_channels", "stride", `{"kernel_size":3,"padding":1}`, "", "kernel_size? no: padding exists"},
		{"resnet block", []Param{p("inplanes"), p("planes"), pd("stride", "1"), pd("downsample", "None")},
			"inplanes", "planes", "stride", `null`, "", ""},
		{"single width", []Param{p("dim"), pd("num_heads", "8"), pd("mlp_ratio", "4.0")}, "dim", "", "", `null`, "", "mlp_ratio"},
		{"softmax dim is not a width", []Param{pd("dim", "None")}, "", "", "", `null`, "", ""},
		{"channels with width default", []Param{pd("channels", "64")}, "channels", "", "", `null`, "", ""},
		{"stride None means set it", []Param{pd("kernel_size", "3"), pd("stride", "None")}, "", "", "stride", `{"stride":1}`, "", ""},
		{"hidden width fixed", []Param{p("in_features"), p("hidden_features"), p("out_features")}, "in_features", "out_features", "", `{"hidden_features":16}`, "", ""},
		{"unguessable", []Param{p("cfg"), p("channels"), p("norm_layer")}, "channels", "", "", `null`, "cfg", ""},
		{"batch_first forced for tokens", []Param{p("d_model"), p("nhead"), pd("batch_first", "False")}, "d_model", "", "", `{"batch_first":true,"nhead":2}`, "", ""},
		{"hidden_dim is the width when nothing else is", []Param{p("num_heads"), p("hidden_dim"), p("mlp_dim")}, "hidden_dim", "", "", `{"mlp_dim":16,"num_heads":2}`, "", ""},
		{"variadic ignored", []Param{{Name: "args", Kind: "var-positional"}, {Name: "kw", Kind: "var-keyword"}}, "", "", "", `null`, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, missing := guessArgs(tc.params)
			if g.InArg != tc.in || g.OutArg != tc.out || g.StrideArg != tc.stride {
				t.Errorf("in/out/stride = %q/%q/%q, want %q/%q/%q", g.InArg, g.OutArg, g.StrideArg, tc.in, tc.out, tc.stride)
			}
			if got := mustJSON(g.Fixed); got != tc.fixed {
				t.Errorf("fixed = %s, want %s", got, tc.fixed)
			}
			if got := strings.Join(missing, ","); got != tc.missing {
				t.Errorf("missing = %q, want %q", got, tc.missing)
			}
			var tn []string
			for _, r := range g.Tunable {
				tn = append(tn, r.Name)
			}
			if tc.tunables != "" && !strings.Contains(tc.tunables, "no:") && strings.Join(tn, ",") != tc.tunables {
				t.Errorf("tunables = %v, want %s", tn, tc.tunables)
			}
			if strings.Contains(tc.tunables, "no:") && len(tn) != 0 {
				t.Errorf("tunables = %v, want none (%s)", tn, tc.tunables)
			}
		})
	}
}

// Callable arguments are recognised by name, then by their default: a
// required one, a class default or None is a callable, a string is not.
// Divisor arguments get a width rule with the value the probe will use.
func TestGuessCallablesAndDivisors(t *testing.T) {
	g, missing := guessArgs([]Param{p("dim"), p("norm_layer"), pd("act_layer", "nn.GELU"), pd("conv_layer", "None"),
		pd("num_heads", "8"), p("groups"), pd("head_dim", "None"), pd("gate_layer", "'sigmoid'")})
	if len(missing) != 0 {
		t.Fatalf("missing %v", missing)
	}
	if got := mustJSON(g.Callables); got != `{"act_layer":"act","conv_layer":"conv","norm_layer":"norm"}` {
		t.Errorf("callables = %s", got)
	}
	if got := mustJSON(g.Optional); got != `{"act_layer":true,"conv_layer":true}` {
		t.Errorf("optional = %s", got)
	}
	if got := mustJSON(g.NoneDefault); got != `{"conv_layer":true}` {
		t.Errorf("none_default = %s", got)
	}
	if got := mustJSON(g.Divisors); got != `{"num_heads":8}` {
		t.Errorf("divisors = %s (groups guessed 1 is no rule, head_dim None is none)", got)
	}
}

func TestFitQuadratic(t *testing.T) {
	w := [3]int{8, 16, 32}
	for _, c := range [][3]float64{{0, 2, 9}, {32, 65, 0}, {7, 0, 0}, {0, 1.25, 0.5}} {
		var y [3]int64
		for i, x := range w {
			y[i] = int64(c[0] + c[1]*float64(x) + c[2]*float64(x*x))
		}
		got := fitQuadratic(w, y)
		for i := range c {
			if math.Abs(got[i]-c[i]) > 1e-9 {
				t.Errorf("fit(%v) = %v, want %v", y, got, c)
				break
			}
		}
	}
}

func TestCategorize(t *testing.T) {
	tests := []struct {
		name, file string
		subs       []Submodule
		want       string
	}{
		{"SqueezeExcitation", "misc.py", nil, CatAttention},
		{"SqueezeNet", "squeezenet.py", []Submodule{{"features", "nn.Sequential"}}, CatOther},
		{"FrozenBatchNorm2d", "misc.py", nil, CatNorm},
		{"AdaptiveAvgPool2d", "pooling.py", nil, CatPooling},
		{"FCNHead", "fcn.py", nil, CatHead},
		{"Hardswish", "activation.py", nil, CatActivation},
		{"BasicBlock", "resnet.py", nil, CatConvBlock},
		{"Threshold", "activation.py", nil, CatActivation},
		{"Mystery", "activation.py", nil, CatActivation},
		{"Mystery", "x.py", []Submodule{{"c", "nn.Conv2d"}}, CatConvBlock},
		{"Mystery", "x.py", nil, CatOther},
		// Whole words and CamelCase parts, never substrings across them:
		// DenseNet's blocks are "dense" + "block"/"layer", not "seblock".
		{"_DenseBlock", "densenet.py", []Submodule{{"denselayer1", "_DenseLayer"}}, CatConvBlock},
		{"_DenseLayer", "densenet.py", []Submodule{{"conv1", "nn.Conv2d"}}, CatConvBlock},
		{"_Transition", "densenet.py", []Submodule{{"conv", "nn.Conv2d"}}, CatConvBlock},
		{"SELayer", "senet.py", nil, CatAttention},
		{"se_block", "x.py", nil, CatAttention},
		{"LeakyReLU", "x.py", nil, CatActivation},
		{"PReLU", "x.py", nil, CatActivation},
		{"ReLU6", "x.py", nil, CatActivation},
		{"GELU", "x.py", nil, CatActivation},
		{"MBConv", "x.py", nil, CatConvBlock},
		{"MultiheadAttention", "x.py", nil, CatAttention},
		{"Identity", "x.py", nil, CatOther},  // not "unit"
		{"Condenser", "x.py", nil, CatOther}, // not "dense"
	}
	for _, tc := range tests {
		if got := categorize(tc.name, tc.file, tc.subs); got != tc.want {
			t.Errorf("categorize(%s, %s) = %s, want %s", tc.name, tc.file, got, tc.want)
		}
	}
}

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"_DenseBlock", []string{"dense", "block"}},
		{"FrozenBatchNorm2d", []string{"frozen", "batch", "norm", "2", "d"}},
		{"SELayer", []string{"se", "layer"}},
		{"ReLU6", []string{"re", "lu", "6"}},
		{"conv_bn_relu", []string{"conv", "bn", "relu"}},
		{"GELU", []string{"gelu"}},
		{"", nil},
	} {
		if got := splitWords(tc.name); !slices.Equal(got, tc.want) {
			t.Errorf("splitWords(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSpecs(t *testing.T) {
	yes, no := true, false
	cat := &Catalog{Version: CatalogVersion, Modules: []*Module{
		{ID: "a", Name: "Conv", QualName: "p.Conv", Category: CatConvBlock, Source: "class Conv: pass\n", Usable: &yes,
			Interface: &Interface{InArg: "cin", OutArg: "cout", StrideArg: "stride", Inputs: 1, FixedArgs: map[string]any{"k": 3.0},
				Tunable: []tree.ArgRange{{Name: "z"}, {Name: "a"}}, ParamPoly: [3]float64{0, 2, 9}, RefHW: 12}},
		{ID: "b", Name: "Block", QualName: "p.Block", Source: "class Block: pass\n", Usable: &yes,
			Interface: &Interface{InArg: "inplanes", OutArg: "planes", SameWidth: true, Inputs: 1}},
		{ID: "c", Name: "Bad", Usable: &no},
		{ID: "d", Name: "Unprobed"},
	}}
	specs := cat.Specs()
	if len(specs) != 2 {
		t.Fatalf("specs = %d, want 2 usable", len(specs))
	}
	a, _ := specs.Module("a")
	if a.InArg != "cin" || a.OutArg != "cout" || a.StrideArg != "stride" || a.ParamPoly != [3]float64{0, 2, 9} || a.FixedArgs["k"] != 3.0 || a.RefHW != 12 {
		t.Errorf("spec a = %+v", a)
	}
	if a.Tunable[0].Name != "a" {
		t.Errorf("tunables not sorted: %v", a.Tunable)
	}
	b, _ := specs.Module("b")
	if b.Name != "BlockSameWidth" || b.OutArg != "" || !b.SameWidth || !strings.Contains(b.Source, "class BlockSameWidth(Block):") ||
		!strings.Contains(b.Source, `kwargs["planes"] = inplanes`) {
		t.Errorf("same-width adapter spec = %+v\n%s", b, b.Source)
	}
}

// FuzzExtract feeds arbitrary bytes through the parser, the resolver and
// the bundler: nothing may panic and every span must lie inside the input.
func FuzzExtract(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(fixtureRoot, "*.py"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("class A(nn.Module):\n  class B(A):\n    def __init__(self, *, x=(1,\n"))
	f.Add([]byte("from . import *\nfrom .... import x as y\nclass C(y.Z): pass\n"))
	// Star imports of the file itself once made lookup branch exponentially.
	f.Add([]byte("from .mod import *\nfrom .mod import *\nfrom .mod import *\nA = B\nB = A\nclass C(Undefined, A): pass\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		ex := newExtractor()
		defer ex.Close()
		facts, err := ex.extract(context.Background(), src)
		if err != nil {
			return
		}
		for _, u := range facts.Units {
			if u.Start < 0 || u.End > len(src) || u.Start > u.End {
				t.Fatalf("unit span [%d,%d) outside %d bytes", u.Start, u.End, len(src))
			}
			for _, im := range u.Imports {
				if im.ModEnd > len(src) || im.ModStart > im.ModEnd {
					t.Fatalf("import span [%d,%d) outside %d bytes", im.ModStart, im.ModEnd, len(src))
				}
			}
		}
		for _, c := range facts.Classes {
			if c.Start < 0 || c.End > len(src) || c.Start > c.End || c.Unit >= len(facts.Units) {
				t.Fatalf("class %s span [%d,%d) unit %d out of range", c.Name, c.Start, c.End, c.Unit)
			}
		}
		ri := &rootIndex{info: Root{Path: "fuzz", Package: "pkg"}, byMod: map[string]*srcFile{}, moduleMemo: map[classKey]bool{}, missing: map[string]bool{}}
		sf := newSrcFile(ri, "sub/mod.py", src, facts)
		ri.byMod[sf.mod] = sf
		for _, m := range modulesOf(sf) {
			if m.Status == StatusOK && !strings.Contains(m.Source, m.Name) {
				t.Fatalf("ok module %s has a bundle without its name", m.Name)
			}
		}
	})
}

func TestMissingGuessable(t *testing.T) {
	tests := []struct{ err, want string }{
		{"TypeError: Conv2d.__init__() missing 1 required positional argument: 'kernel_size' (at x)", `{"kernel_size":3,"padding":1}`},
		{"TypeError: f() missing 2 required positional arguments: 'stride' and 'groups'", `{"groups":1,"stride":1}`},
		{"TypeError: f() missing 1 required keyword-only argument: 'eps'", `{"eps":0.00001}`},
		{"TypeError: f() missing 1 required positional argument: 'cfg'", `null`},
		{"RuntimeError: shapes differ", `null`},
	}
	for _, tc := range tests {
		if got := mustJSON(missingGuessable(tc.err, map[string]any{})); got != tc.want {
			t.Errorf("missingGuessable(%q) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

func TestAdoptProbes(t *testing.T) {
	yes := true
	cfg := DefaultConfig()
	mk := func(id, src string) *Module {
		return &Module{ID: id, Name: id, Status: StatusOK, Source: src, Guess: &Guess{}}
	}
	prev := &Catalog{Probe: &ProbeSettings{Widths: cfg.ProbeWidths, RefHW: cfg.RefHW}, Modules: []*Module{
		{ID: "same", Name: "same", Status: StatusOK, Source: "s", Usable: &yes, Interface: &Interface{InArg: "c"}},
		{ID: "edited", Name: "edited", Status: StatusOK, Source: "old", Usable: &yes, Interface: &Interface{}},
	}}
	tests := []struct {
		name string
		prev *Catalog
		want int
	}{
		{"same settings", prev, 1},
		{"never probed", &Catalog{Modules: prev.Modules}, 0},
		{"other widths", &Catalog{Probe: &ProbeSettings{Widths: [3]int{4, 8, 16}, RefHW: cfg.RefHW}, Modules: prev.Modules}, 0},
	}
	for _, tc := range tests {
		cur := &Catalog{Modules: []*Module{mk("same", "s"), mk("edited", "new"), mk("fresh", "x")}}
		if got := cur.AdoptProbes(tc.prev, cfg); got != tc.want {
			t.Errorf("%s: adopted %d, want %d", tc.name, got, tc.want)
		}
		if tc.want == 1 && (cur.Modules[0].Interface == nil || cur.Modules[1].Usable != nil || cur.Modules[2].Usable != nil) {
			t.Errorf("%s: adopted the wrong modules", tc.name)
		}
	}
}
