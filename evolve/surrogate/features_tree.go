package surrogate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/arbor-nas/arbor/tree"
)

// FromTree encodes a whole architecture:
//   - op, module and node-kind counts per depth ("op:conv2d@3"), so inserts,
//     deletes and swaps anywhere in the tree move the encoding;
//   - the value of every typed argument of ops and modules, binned per op
//     and depth ("arg:conv2d.out@3=64"), so width and kernel changes do;
//   - for each distinct cell genotype, the cell's edge one-hots and its
//     live input→output paths (AddCell), which is what a cell computes.
//
// Cells that share a genotype (a tie group, or NB201's 15 identical cells)
// are encoded once: repetition is already in the counts.
func FromTree(t *tree.Tree) (Features, error) {
	if t == nil || t.Root == nil {
		return nil, fmt.Errorf("surrogate: tree has no root")
	}
	f := Features{}
	seen := map[string]bool{}
	var err error
	var visit func(n *tree.Node, depth int)
	visit = func(n *tree.Node, depth int) {
		d := "@" + strconv.Itoa(depth)
		switch n.Kind {
		case tree.KindOp:
			f.Add("op:"+n.Op+d, 1)
			addArgs(f, n.Op, d, n.Args)
		case tree.KindModule:
			f.Add("mod:"+n.Module+d, 1)
			addArgs(f, n.Module, d, n.Args)
		case tree.KindCell:
			f.Add("kind:cell"+d, 1)
			edges := cellEdges(n)
			key := genotypeKey(edges)
			if !seen[key] && err == nil {
				seen[key] = true
				err = f.AddCell("cell", edges)
			}
		default:
			f.Add("kind:"+string(n.Kind)+d, 1)
			if n.Kind == tree.KindRepeat {
				addArgs(f, "repeat", d, n.Args)
			}
		}
		for _, c := range n.Children {
			visit(c, depth+1)
		}
	}
	visit(t.Root, 0)
	return f, err
}

// addArgs adds one token per argument value; numbers and enums alike are
// categorical here, because a width of 64 is not "twice" 32 to accuracy.
func addArgs(f Features, owner, depth string, args map[string]tree.Value) {
	for k, v := range args {
		f.Add("arg:"+owner+"."+k+depth+"="+v.String(), 1)
	}
}

// cellEdges lists every edge e{j}_{i} of a cell with its op; an edge left
// at its default is none.
func cellEdges(n *tree.Node) []CellEdge {
	nodes := 4
	if v, ok := n.Args["nodes"].AsInt(); ok {
		nodes = v
	}
	var edges []CellEdge
	for j := 1; j < nodes; j++ {
		for i := 0; i < j; i++ {
			op := noneOp
			if s, ok := n.Args["e"+strconv.Itoa(j)+"_"+strconv.Itoa(i)].AsString(); ok {
				op = s
			}
			edges = append(edges, CellEdge{From: i, To: j, Op: op})
		}
	}
	return edges
}

func genotypeKey(edges []CellEdge) string {
	var b strings.Builder
	for _, e := range edges {
		fmt.Fprintf(&b, "%d%d%s|", e.From, e.To, e.Op)
	}
	return b.String()
}
