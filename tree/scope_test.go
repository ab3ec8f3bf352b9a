package tree

import (
	"strings"
	"testing"
)

func TestInBody(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/", false}, {"", false}, {"/stem", false}, {"/stem/conv", false}, {"/head", false},
		{"/head/fc", false}, {"/lastact", false}, {"/classifier", false},
		{"/stage1", true}, {"/stage2/block1/body", true}, {"/stages/0", true}, {"/stemless", true},
	} {
		if got := InBody(tc.path); got != tc.want {
			t.Errorf("InBody(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

// Compose never offers a span of the root, the stem or the head, on any
// seed, and the transformation refuses one.
func TestComposeOnlyInsideStagesAndBodies(t *testing.T) {
	for _, seed := range []string{"resnet20", "vgg-small", "mobilenetv2-small", "nb201-resnet"} {
		tr := mustSeed(t, seed, Shape{3, 32, 32}, 10)
		opts := Options(tr, OpCompose, nil, nil)
		for _, o := range opts {
			if !InBody(o.Path) {
				t.Errorf("%s: compose offered at %s", seed, o.Path)
			}
		}
		if seed == "resnet20" && len(opts) == 0 {
			t.Errorf("%s: no compose option left inside the stages", seed)
		}
	}
	r20 := mustSeed(t, "resnet20", Shape{3, 32, 32}, 10)
	for _, p := range []string{"/", "/stem", "/head"} {
		_, err := Compose(r20, p, 0, 2, "", nil)
		if err == nil || !strings.Contains(err.Error(), "stage") {
			t.Errorf("Compose at %s: got %v, want an error naming the stage rule", p, err)
		}
	}
}

func TestBlockNameIsReadable(t *testing.T) {
	r20 := mustSeed(t, "resnet20", Shape{3, 32, 32}, 10)
	_, b, err := DefineBlock(r20, "/stage1/block1/body", 0, 3, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.Block, "conv3x3_bn_relu_") || !validName(b.Block) {
		t.Errorf("block name %q: want conv3x3_bn_relu_<hash>", b.Block)
	}
}
