package tree

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// mixedTree uses every node kind, several primitives and four catalog
// modules, two of which define the same class and helper names.
func mixedTree() *Tree {
	return &Tree{Input: Shape{3, 16, 16}, Classes: 5, Root: Seq("",
		Seq("stem", Op("conv", "conv2d", A("out", 16, "bias", true)), Op("bn", "batchnorm2d", nil), Op("act", "hardswish", nil)),
		Module("se", "test/se", A("gate", "hardsigmoid")),
		Module("proj", "test/proj", A("out_ch", 24)),
		Module("mix", "test/mix", nil),
		Module("dw", "test/dw", A("stride", 2)),
		&Node{Kind: KindCell, Name: "cell", Args: A("e1_0", "nor_conv_3x3", "e2_0", "avg_pool_3x3", "e2_1", "nor_conv_1x1", "e3_0", "skip_connect", "e3_2", "nor_conv_3x3")},
		&Node{Kind: KindBranch, Name: "split", Children: []*Node{
			Op("a", "conv2d", A("out", 8, "kernel", 1)),
			Seq("b", Op("pool", "maxpool2d", A("kernel", 3, "stride", 1, "padding", 1)), Op("conv", "conv2d", A("out", 8, "groups", 4))),
		}},
		&Node{Kind: KindRepeat, Name: "rep", Args: A("n", 2), Children: []*Node{
			&Node{Kind: KindResidual, Name: "blk", Args: A("act", "silu"), Children: []*Node{
				Seq("body", Op("conv", "conv2d", A("out", 32, "stride", 2)), Op("bn", "batchnorm2d", nil)),
			}},
		}},
		&Node{Kind: KindResidual, Name: "res", Children: []*Node{
			Seq("body", Op("dw", "conv2d", A("groups", 0, "kernel", 5)), Op("act", "gelu", nil)),
			Seq("shortcut", Op("zero", "zero", nil)),
		}},
		Seq("head", Op("pool", "avgpool2d", A("kernel", 2)), Op("flatten", "flatten", nil),
			Op("drop", "dropout", A("p", 0.25)), Op("fc1", "linear", A("out", 20, "bias", false)),
			Op("training", "relu6", nil), Op("forward", "identity", nil), Op("forward_", "identity", nil), Op("fc2", "linear", A("out", 5))),
	)}
}

func TestRenderGolden(t *testing.T) {
	cat := testCatalog()
	cases := map[string]*Tree{
		"render_mixed.golden":    mixedTree(),
		"render_resnet20.golden": mustSeed(t, "resnet20", Shape{3, 32, 32}, 10),
	}
	for file, tr := range cases {
		t.Run(file, func(t *testing.T) {
			got, err := Render(tr, cat)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Render(tr, cat)
			if again != got {
				t.Fatal("rendering is not deterministic")
			}
			path := filepath.Join("testdata", file)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./tree -run TestRenderGolden -update)", err)
			}
			if got != string(want) {
				t.Fatalf("render differs from %s; rerun with -update after checking the change", path)
			}
		})
	}
}

func TestRenderModules(t *testing.T) {
	src, err := Render(mixedTree(), testCatalog())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"class Block(nn.Module):", "class Block_m3(nn.Module):", // same class name, second renamed
		"def _act():", "def _act_m4():", // clashing helper renamed too
		"Block(in_ch=16, out_ch=24)", "Block_m3(width=24, scale=0.5)",
		`SE(channels=16, gate="hardsigmoid")`, "DWBlock(channels=24, kernel_size=3, stride=2)",
		"class Candidate(nn.Module):",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("rendered source lacks %q", want)
		}
	}
	if n := strings.Count(src, "class SE(nn.Module)"); n != 1 {
		t.Errorf("SE source inlined %d times, want once", n)
	}
	if _, err := Render(mixedTree(), nil); err == nil || !strings.Contains(err.Error(), "catalog") {
		t.Errorf("render without catalog: %v", err)
	}
}
