package tree

import (
	"strings"
	"testing"
)

// composite groups children [from,to) of the seq at path into composite
// block name and inserts a copy of the block into the seq at placePath.
func composite(t *testing.T, tr *Tree, path string, from, to int, name, placePath string, index int) *Tree {
	t.Helper()
	g, err := Compose(tr, path, from, to, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := g.Find(path)
	if err != nil {
		t.Fatal(err)
	}
	block := *p.Children[from]
	block.Block = name
	g, err = replaceNode(g, path+"/"+block.Name, func(*Node) *Node { return &block })
	if err != nil {
		t.Fatal(err)
	}
	if Hash(g) != Hash(tr) {
		t.Fatal("grouping a span into a block changed the structural hash: it computes the same function")
	}
	out, err := Insert(g, placePath, index, &block, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCompositeBlockRendersAsClass(t *testing.T) {
	s := mustSeed(t, "resnet20", Shape{3, 32, 32}, 10)
	// conv2-bn2 of a stage-1 body, placed at the end of a stage-3 body
	// (input 64 channels): one generic class, two instances.
	tr := composite(t, s, "/stage1/block1/body", 3, 5, "conv_bn", "/stage3/block2/body", 5)
	src, err := Render(tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(src, "class Block_conv_bn(nn.Module):"); n != 1 {
		t.Fatalf("the block class is defined %d times:\n%s", n, src)
	}
	for _, want := range []string{"Block_conv_bn(16)", "Block_conv_bn(64)", "nn.Conv2d(c_in, 16"} {
		if !strings.Contains(src, want) {
			t.Errorf("rendered source lacks %q", want)
		}
	}
	js, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(js)
	if err != nil {
		t.Fatal(err)
	}
	if src2, _ := Render(back, nil); src2 != src {
		t.Fatal("the block does not survive a JSON round trip")
	}
	if _, err := Parse([]byte(strings.Replace(string(js), `"block":"conv_bn"`, `"block":"bad name"`, 1))); err == nil {
		t.Fatal("a bad block name was accepted")
	}
	// A block starting with batch norm uses its input width; a branch
	// with a skip makes widths depend on c_in + k: a class with fixed widths.
	tr2 := composite(t, s, "/stage2/block2/body", 1, 4, "bn_relu_conv", "/stage1/block3/body", 5)
	br := &Tree{Input: Shape{3, 16, 16}, Classes: 5, Root: Seq("",
		Op("c", "conv2d", A("out", 8)),
		&Node{Kind: KindSeq, Name: "cat", Block: "cat_conv", Children: []*Node{
			{Kind: KindBranch, Name: "b", Children: []*Node{Op("i", "identity", nil), Op("c", "conv2d", A("out", 4))}},
			Op("c2", "conv2d", A("out", 8))}},
		Op("pool", "adaptiveavgpool2d", nil), Op("flatten", "flatten", nil), Op("fc", "linear", A("out", 5)))}
	src3, err := Render(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(src3, "class Block_cat_conv(nn.Module)") || !strings.Contains(src3, "widths are fixed") {
		t.Fatalf("a width-dependent block is not rendered with fixed widths:\n%s", src3)
	}
	runInTorch(t, []torchCase{checkedCase(t, "conv_bn", tr, nil), checkedCase(t, "bn_relu_conv", tr2, nil), checkedCase(t, "cat_conv", br, nil)}, nil)
}
