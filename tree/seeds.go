package tree

import (
	"fmt"
	"strconv"
	"strings"
)

// Seeds lists the built-in seed architectures.
func Seeds() []string {
	return []string{"resnet20", "resnet32", "resnet56", "nb201-resnet", "vgg-small", "mobilenetv2-small"}
}

// Seed builds a built-in seed for the given input shape and class count
// (e.g. 3x32x32 with 10 classes for CIFAR-10, 1x28x28 for Fashion-MNIST).
//
//   - resnet20/32/56: CIFAR ResNets (He et al. 2016) with widths 16/32/64 and
//     (depth-2)/6 basic blocks per stage; downsampling blocks use the
//     automatic 1x1 conv + BN projection shortcut (option B).
//   - nb201-resnet: NAS-Bench-201's macro skeleton (NB201FromArch) with every
//     cell set to the ResNet genotype nb201ResNetArch, all cells tied.
//   - vgg-small: three VGG stages (32, 64, 128) of two conv-BN-ReLU and a max pool.
//   - mobilenetv2-small: a CIFAR-style MobileNetV2 with inverted residuals.
func Seed(name string, input Shape, classes int) (*Tree, error) {
	if input.C < 1 || input.H < 1 || input.W < 1 {
		return nil, fmt.Errorf("seed %s: input shape %s must be positive", name, input)
	}
	if classes < 1 {
		return nil, fmt.Errorf("seed %s: classes %d must be >= 1", name, classes)
	}
	var root *Node
	switch name {
	case "resnet20", "resnet32", "resnet56":
		depth, _ := strconv.Atoi(strings.TrimPrefix(name, "resnet"))
		root = resnetCIFAR((depth-2)/6, classes)
	case "nb201-resnet":
		t, err := NB201FromArch(nb201ResNetArch, input, classes)
		if err != nil {
			return nil, fmt.Errorf("seed %s: %w", name, err)
		}
		return t, nil
	case "vgg-small":
		root = vggSmall(classes)
	case "mobilenetv2-small":
		root = mobilenetV2Small(classes)
	default:
		return nil, fmt.Errorf("unknown seed %q; seeds are %s", name, strings.Join(Seeds(), ", "))
	}
	t := &Tree{Input: input, Classes: classes, Root: root}
	if err := Validate(t, nil); err != nil {
		return nil, fmt.Errorf("seed %s at input %s: %w", name, input, err)
	}
	return t, nil
}

// nb201ResNetArch is the ResNet of the NAS-Bench-201 paper written as a
// cell: two 3x3 convs in series plus a skip from the cell input.
const nb201ResNetArch = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|"

func conv(name string, out, kernel, stride int) *Node {
	args := A("out", out)
	if kernel != 3 {
		args["kernel"] = Int(kernel)
	}
	if stride != 1 {
		args["stride"] = Int(stride)
	}
	return Op(name, "conv2d", args)
}

func bn(name string) *Node      { return Op(name, "batchnorm2d", nil) }
func act(name, op string) *Node { return Op(name, op, nil) }
func classifier(classes int) []*Node {
	return []*Node{
		Op("pool", "adaptiveavgpool2d", nil),
		Op("flatten", "flatten", nil),
		Op("fc", "linear", A("out", classes)),
	}
}

func residual(name, actName string, children ...*Node) *Node {
	n := &Node{Kind: KindResidual, Name: name, Children: children}
	if actName != "" {
		n.Args = A("act", actName)
	}
	return n
}

func resnetCIFAR(blocks, classes int) *Node {
	root := Seq("", Seq("stem", conv("conv", 16, 3, 1), bn("bn"), act("relu", "relu")))
	for s, width := range []int{16, 32, 64} {
		stage := Seq("stage" + strconv.Itoa(s+1))
		for b := 0; b < blocks; b++ {
			stride := 1
			if s > 0 && b == 0 {
				stride = 2
			}
			stage.Children = append(stage.Children, residual("block"+strconv.Itoa(b+1), "relu",
				Seq("body", conv("conv1", width, 3, stride), bn("bn1"), act("relu1", "relu"),
					conv("conv2", width, 3, 1), bn("bn2"))))
		}
		root.Children = append(root.Children, stage)
	}
	root.Children = append(root.Children, Seq("head", classifier(classes)...))
	return root
}

func vggSmall(classes int) *Node {
	root := Seq("")
	for s, width := range []int{32, 64, 128} {
		root.Children = append(root.Children, Seq("stage"+strconv.Itoa(s+1),
			conv("conv1", width, 3, 1), bn("bn1"), act("relu1", "relu"),
			conv("conv2", width, 3, 1), bn("bn2"), act("relu2", "relu"),
			Op("pool", "maxpool2d", nil)))
	}
	root.Children = append(root.Children, Seq("head", classifier(classes)...))
	return root
}

func mobilenetV2Small(classes int) *Node {
	root := Seq("", Seq("stem", conv("conv", 32, 3, 1), bn("bn"), act("relu", "relu6")))
	in := 32
	// expansion t, width c, blocks n, first stride s
	cfg := [][4]int{{1, 16, 1, 1}, {6, 24, 2, 1}, {6, 32, 2, 2}, {6, 64, 2, 2}, {6, 96, 1, 1}}
	for s, c := range cfg {
		stage := Seq("stage" + strconv.Itoa(s+1))
		for b := 0; b < c[2]; b++ {
			stride := 1
			if b == 0 {
				stride = c[3]
			}
			var layers []*Node
			if c[0] != 1 {
				layers = append(layers, conv("expand", in*c[0], 1, 1), bn("bn1"), act("act1", "relu6"))
			}
			dw := conv("dw", 0, 3, stride)
			dw.Args = A("groups", 0)
			if stride != 1 {
				dw.Args["stride"] = Int(stride)
			}
			layers = append(layers, dw, bn("bn2"), act("act2", "relu6"), conv("project", c[1], 1, 1), bn("bn3"))
			name := "block" + strconv.Itoa(b+1)
			if stride == 1 && in == c[1] {
				stage.Children = append(stage.Children, residual(name, "", Seq("body", layers...)))
			} else {
				stage.Children = append(stage.Children, Seq(name, layers...))
			}
			in = c[1]
		}
		root.Children = append(root.Children, stage)
	}
	root.Children = append(root.Children, Seq("last", conv("conv", 256, 1, 1), bn("bn"), act("relu", "relu6")))
	root.Children = append(root.Children, Seq("head", classifier(classes)...))
	return root
}
