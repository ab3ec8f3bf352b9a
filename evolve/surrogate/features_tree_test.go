package surrogate

import (
	"maps"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/tree"
)

func nb201Tree(t *testing.T, arch string) *tree.Tree {
	t.Helper()
	tr, err := tree.NB201FromArch(arch, tree.Shape{C: 3, H: 32, W: 32}, 10)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestFromTreeNB201 checks the tree encoding of an NB201 network carries
// exactly one copy of its genotype's cell encoding, plus skeleton tokens
// that every NB201 tree shares.
func TestFromTreeNB201(t *testing.T) {
	archs := []string{
		"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
		"|avg_pool_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_1x1~2|",
	}
	var skeletons []Features
	for _, arch := range archs {
		f, err := FromTree(nb201Tree(t, arch))
		if err != nil {
			t.Fatal(err)
		}
		cell := nb201Features(t, arch)
		rest := Features{}
		for k, v := range f {
			if strings.HasPrefix(k, "cell/") {
				if cell[k] != v {
					t.Errorf("%s: token %s = %v, cell encoding has %v", arch, k, v, cell[k])
				}
				delete(cell, k)
				continue
			}
			rest[k] = v
		}
		if len(cell) != 0 {
			t.Errorf("%s: cell tokens missing from the tree encoding: %v", arch, cell)
		}
		if rest["kind:cell@2"] != 15 || rest["op:conv2d@3"] != 6 {
			t.Errorf("%s: skeleton counts %v", arch, rest)
		}
		skeletons = append(skeletons, rest)
	}
	if !maps.Equal(skeletons[0], skeletons[1]) {
		t.Errorf("skeleton tokens differ between genotypes:\n%v\n%v", skeletons[0], skeletons[1])
	}
	if _, err := FromTree(nil); err == nil {
		t.Error("nil tree accepted")
	}
}

// TestFromTreeStructure: an edit outside cells moves the encoding.
func TestFromTreeStructure(t *testing.T) {
	a := nb201Tree(t, "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
	b := &tree.Tree{Input: a.Input, Classes: a.Classes, Root: a.Root.DeepCopy()}
	b.Root.Children = append(b.Root.Children[:1], append([]*tree.Node{tree.Op("extra", "conv2d", tree.A("out", 16, "kernel", 5))}, b.Root.Children[1:]...)...)
	fa, _ := FromTree(a)
	fb, err := FromTree(b)
	if err != nil {
		t.Fatal(err)
	}
	if fb["op:conv2d@1"] != fa["op:conv2d@1"]+1 || fb["arg:conv2d.kernel@1=5"] != 1 {
		t.Errorf("inserted conv not encoded: %v", fb)
	}
}
