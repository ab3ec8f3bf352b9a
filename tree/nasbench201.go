package tree

import (
	"fmt"
	"slices"
	"strings"
)

// NB201Tie is the tie group shared by the 15 cells of an NB201 tree, so a
// ChangeArg on any one cell edge changes the genotype of all of them.
const NB201Tie = "nb201"

// nb201Widths are the channel widths of the three stages (N = 5 cells each).
var nb201Widths = [3]int{16, 32, 64}

const nb201CellsPerStage = 5

// NB201Genotype is one cell genotype: the ops on edges 1←0, 2←0, 2←1,
// 3←0, 3←1, 3←2, the order of the arch string.
type NB201Genotype [6]string

// nb201Edges are (j, i) for the genotype positions.
var nb201Edges = [6][2]int{{1, 0}, {2, 0}, {2, 1}, {3, 0}, {3, 1}, {3, 2}}

// ParseNB201Arch reads a NAS-Bench-201 arch string,
// |op~0|+|op~0|op~1|+|op~0|op~1|op~2|.
func ParseNB201Arch(arch string) (NB201Genotype, error) {
	var g NB201Genotype
	nodes := strings.Split(arch, "+")
	if len(nodes) != 3 {
		return g, fmt.Errorf("nasbench201 arch %q: want 3 nodes joined by '+', like |nor_conv_3x3~0|+|none~0|skip_connect~1|+|...~0|...~1|...~2|", arch)
	}
	k := 0
	for j, node := range nodes {
		if len(node) < 2 || node[0] != '|' || node[len(node)-1] != '|' {
			return g, fmt.Errorf("nasbench201 arch %q: node %d %q must start and end with '|'", arch, j+1, node)
		}
		toks := strings.Split(node[1:len(node)-1], "|")
		if len(toks) != j+1 {
			return g, fmt.Errorf("nasbench201 arch %q: node %d has %d inputs, want %d", arch, j+1, len(toks), j+1)
		}
		for i, tok := range toks {
			op, from, ok := strings.Cut(tok, "~")
			if !ok || from != fmt.Sprint(i) {
				return g, fmt.Errorf("nasbench201 arch %q: token %q must be op~%d", arch, tok, i)
			}
			if !slices.Contains(CellOps(), op) {
				return g, fmt.Errorf("nasbench201 arch %q: op %q is not one of %v", arch, op, CellOps())
			}
			g[k] = op
			k++
		}
	}
	return g, nil
}

// String is the arch string.
func (g NB201Genotype) String() string {
	var b strings.Builder
	for k, op := range g {
		j, i := nb201Edges[k][0], nb201Edges[k][1]
		if k > 0 && i == 0 {
			b.WriteByte('+')
		}
		fmt.Fprintf(&b, "|%s~%d", op, i)
		if i == j-1 {
			b.WriteByte('|')
		}
	}
	return b.String()
}

// NB201Cell is the cell node of genotype g in tie group NB201Tie.
func NB201Cell(name string, g NB201Genotype) *Node {
	args := map[string]Value{"nodes": Int(4), "tie": String(NB201Tie)}
	for k, op := range g {
		args[edgeName(nb201Edges[k][0], nb201Edges[k][1])] = String(op)
	}
	return &Node{Kind: KindCell, Name: name, Args: args}
}

// NB201FromArch builds the NAS-Bench-201 macro skeleton with every cell set
// to arch: stem conv+BN, 5 cells (16 channels), a residual reduction
// block, 5 cells (32), a reduction, 5 cells (64), BN+ReLU, global average
// pooling and a linear classifier. The reductions are NAS-Bench-201's
// ResNetBasicblock: ReLU-Conv(stride 2)-BN, ReLU-Conv-BN, with an
// AvgPool(2)+1x1 conv shortcut.
func NB201FromArch(arch string, input Shape, classes int) (*Tree, error) {
	g, err := ParseNB201Arch(arch)
	if err != nil {
		return nil, err
	}
	return NB201FromGenotype(g, input, classes)
}

// NB201FromGenotype is NB201FromArch for a parsed genotype.
func NB201FromGenotype(g NB201Genotype, input Shape, classes int) (*Tree, error) {
	if classes < 1 {
		return nil, fmt.Errorf("nasbench201: classes must be >= 1, got %d", classes)
	}
	t := nb201Build(g, input, classes)
	if err := Validate(t, nil); err != nil {
		return nil, fmt.Errorf("nasbench201 skeleton for input %s: %w", input, err)
	}
	return t, nil
}

// nb201Build assembles the skeleton without validating it.
func nb201Build(g NB201Genotype, input Shape, classes int) *Tree {
	stage := func(s int) *Node {
		cells := make([]*Node, nb201CellsPerStage)
		for c := range cells {
			cells[c] = NB201Cell(fmt.Sprintf("cell%d", c), g)
		}
		return Seq(fmt.Sprintf("stage%d", s+1), cells...)
	}
	reduce := func(name string, out int) *Node {
		body := Seq("body",
			Op("relu_a", "relu", nil),
			Op("conv_a", "conv2d", A("out", out, "kernel", 3, "stride", 2)),
			Op("bn_a", "batchnorm2d", nil),
			Op("relu_b", "relu", nil),
			Op("conv_b", "conv2d", A("out", out, "kernel", 3)),
			Op("bn_b", "batchnorm2d", nil),
		)
		shortcut := Seq("shortcut",
			Op("pool", "avgpool2d", A("kernel", 2, "stride", 2)),
			Op("conv", "conv2d", A("out", out, "kernel", 1)),
		)
		return &Node{Kind: KindResidual, Name: name, Children: []*Node{body, shortcut}}
	}
	root := Seq("nb201",
		Seq("stem", Op("conv", "conv2d", A("out", nb201Widths[0], "kernel", 3)), Op("bn", "batchnorm2d", nil)),
		stage(0),
		reduce("reduce1", nb201Widths[1]),
		stage(1),
		reduce("reduce2", nb201Widths[2]),
		stage(2),
		Seq("lastact", Op("bn", "batchnorm2d", nil), Op("relu", "relu", nil)),
		Op("gap", "adaptiveavgpool2d", A("size", 1)),
		Op("classifier", "linear", A("out", classes)),
	)
	return &Tree{Input: input, Classes: classes, Root: root}
}

// NB201Arch returns the arch string of a tree in the NAS-Bench-201 space,
// and an error naming what differs for any other tree: every cell must
// share one genotype and the rest must be exactly the NB201 skeleton.
func NB201Arch(t *Tree) (string, error) {
	g, err := NB201GenotypeOf(t)
	if err != nil {
		return "", err
	}
	return g.String(), nil
}

// NB201GenotypeOf is NB201Arch without formatting.
func NB201GenotypeOf(t *Tree) (NB201Genotype, error) {
	var g NB201Genotype
	if t == nil || t.Root == nil {
		return g, fmt.Errorf("nasbench201: tree has no root")
	}
	var cells []string
	var first *Node
	var mismatch error
	t.Walk(func(path string, n *Node) bool {
		if n.Kind != KindCell {
			return true
		}
		cells = append(cells, path)
		if first == nil {
			first = n
			return false
		}
		if mismatch == nil {
			for k := range nb201Edges {
				e := edgeName(nb201Edges[k][0], nb201Edges[k][1])
				if a, b := cellEdge(first, nb201Edges[k][0], nb201Edges[k][1]), cellEdge(n, nb201Edges[k][0], nb201Edges[k][1]); a != b {
					mismatch = fmt.Errorf("nasbench201: the tree is outside the space: cell %s has %s=%s but cell %s has %s (all cells must share one genotype)", path, e, b, cells[0], a)
					break
				}
			}
		}
		return false
	})
	if want := 3 * nb201CellsPerStage; len(cells) != want {
		return g, fmt.Errorf("nasbench201: the tree is outside the space: it has %d cells, the NB201 skeleton has %d", len(cells), want)
	}
	if mismatch != nil {
		return g, mismatch
	}
	if tie := CellTie(first); tie != NB201Tie {
		return g, fmt.Errorf("nasbench201: the tree is outside the space: cell %s has tie %q, want %q so that all cells share one genotype", cells[0], tie, NB201Tie)
	}
	if cellNodes(first) != 4 {
		return g, fmt.Errorf("nasbench201: the tree is outside the space: cell %s has %d nodes, want 4", cells[0], cellNodes(first))
	}
	for k := range nb201Edges {
		g[k] = cellEdge(first, nb201Edges[k][0], nb201Edges[k][1])
	}
	if t.Classes < 1 {
		return g, fmt.Errorf("nasbench201: the tree is outside the space: classes must be >= 1, got %d", t.Classes)
	}
	// The fast path compares node by node with the skeleton; the hash
	// comparison catches trees that differ only in how they are written
	// (an argument spelled out at its default, names).
	want := nb201Build(g, t.Input, t.Classes)
	if sameNodes(want.Root, t.Root) {
		return g, nil
	}
	if Hash(want) != Hash(t) {
		return g, fmt.Errorf("nasbench201: the tree is outside the space: its cells have genotype %s but the rest differs from the NB201 skeleton (stem, 3x5 cells, 2 residual reductions, BN-ReLU, GAP, linear)", g)
	}
	return g, nil
}

// sameNodes reports whether a and b are the same subtree up to names.
func sameNodes(a, b *Node) bool {
	if a.Kind != b.Kind || a.Op != b.Op || a.Module != b.Module || len(a.Args) != len(b.Args) || len(a.Children) != len(b.Children) {
		return false
	}
	for k, v := range a.Args {
		if w, ok := b.Args[k]; !ok || !v.Equal(w) {
			return false
		}
	}
	for i := range a.Children {
		if !sameNodes(a.Children[i], b.Children[i]) {
			return false
		}
	}
	return true
}
