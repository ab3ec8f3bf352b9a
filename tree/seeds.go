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
//   - nb201-resnet: NAS-Bench-201's macro skeleton (C=16, N=5) with every
//     cell set to the ResNet genotype
//     |nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|,
//     all cells tied ("nb201"), and NAS-Bench-201's residual reduction blocks.
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
		root = nb201Macro(16, 5, classes, map[string]string{
			"e1_0": CellConv3x3, "e2_1": CellConv3x3, "e3_0": CellSkip,
		}, "nb201")
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

// nb201Macro is NAS-Bench-201's skeleton: stem conv+BN, N cells of width C,
// a residual reduction to 2C, N cells, a reduction to 4C, N cells, BN-ReLU,
// global pooling and a linear classifier. Every cell gets edges and tie.
func nb201Macro(c, n, classes int, edges map[string]string, tie string) *Node {
	root := Seq("", Seq("stem", conv("conv", c, 3, 1), bn("bn")))
	for s, width := range []int{c, 2 * c, 4 * c} {
		if s > 0 {
			root.Children = append(root.Children, residual("reduce"+strconv.Itoa(s), "",
				Seq("body", act("relu_a", "relu"), conv("conv_a", width, 3, 2), bn("bn_a"),
					act("relu_b", "relu"), conv("conv_b", width, 3, 1), bn("bn_b")),
				Seq("shortcut", Op("pool", "avgpool2d", A("kernel", 2)), conv("conv", width, 1, 1))))
		}
		stage := Seq("stage" + strconv.Itoa(s+1))
		for i := 0; i < n; i++ {
			cell := &Node{Kind: KindCell, Name: "cell" + strconv.Itoa(i+1), Args: map[string]Value{}}
			for k, v := range edges {
				cell.Args[k] = String(v)
			}
			if tie != "" {
				cell.Args["tie"] = String(tie)
			}
			stage.Children = append(stage.Children, cell)
		}
		root.Children = append(root.Children, stage)
	}
	head := Seq("head", bn("bn"), act("relu", "relu"))
	head.Children = append(head.Children, classifier(classes)...)
	root.Children = append(root.Children, head)
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
