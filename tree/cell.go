package tree

import (
	"fmt"
	"strconv"
)

// Cell edge operations, as NAS-Bench-201 defines them. nor_conv_KxK is
// ReLU -> Conv(C, C, K, padding K//2, bias=False) -> BatchNorm2d(C, affine).
const (
	CellNone       = "none"
	CellSkip       = "skip_connect"
	CellConv1x1    = "nor_conv_1x1"
	CellConv3x3    = "nor_conv_3x3"
	CellAvgPool3x3 = "avg_pool_3x3"
)

// CellOps lists the cell edge operations.
func CellOps() []string {
	return []string{CellNone, CellSkip, CellConv1x1, CellConv3x3, CellAvgPool3x3}
}

var (
	cellNodesSpec = ArgSpec{Name: "nodes", Type: TypeInt, Min: 2, Max: 8, Default: Int(4),
		Doc: "DAG nodes; node 0 is the input, the last node the output"}
	cellTieSpec = ArgSpec{Name: "tie", Type: TypeString, Default: String(""),
		Doc: "cells with the same non-empty tie share one genotype: changing an edge changes them all"}
)

func cellEdgeSpec(name string) ArgSpec {
	return ArgSpec{Name: name, Type: TypeEnum, Choices: CellOps(), Default: String(CellNone),
		Doc: "operation on the edge from node i to node j (name e{j}_{i}); node j sums its incoming edges"}
}

// edgeName returns the argument name of the edge i -> j.
func edgeName(j, i int) string { return "e" + strconv.Itoa(j) + "_" + strconv.Itoa(i) }

// parseEdge parses "e{j}_{i}".
func parseEdge(name string) (j, i int, ok bool) {
	if len(name) < 4 || name[0] != 'e' {
		return 0, 0, false
	}
	us := -1
	for k := 1; k < len(name); k++ {
		if name[k] == '_' {
			us = k
			break
		}
	}
	if us < 2 || us == len(name)-1 {
		return 0, 0, false
	}
	j, err1 := parseSmallInt(name[1:us])
	i, err2 := parseSmallInt(name[us+1:])
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return j, i, true
}

// cellNodes returns the cell's node count.
func cellNodes(n *Node) int { return intArg(n, "nodes", 4) }

// cellEdge returns the op on edge i -> j.
func cellEdge(n *Node, j, i int) string {
	if v, ok := n.Args[edgeName(j, i)]; ok {
		if s, ok := v.AsString(); ok {
			return s
		}
	}
	return CellNone
}

// CellTie returns a cell's tie group ("" when untied).
func CellTie(n *Node) string {
	if v, ok := n.Args["tie"]; ok {
		if s, ok := v.AsString(); ok {
			return s
		}
	}
	return ""
}

// checkCell validates a cell's arguments: the node count, the tie, and that
// every edge goes from a lower to a higher existing node (no cycles).
func checkCell(path string, n *Node) error {
	if len(n.Children) != 0 {
		return &NodeError{Path: path, Reason: "a cell has no children; its edges are arguments e{j}_{i}"}
	}
	if v, ok := n.Args["nodes"]; ok {
		if r := checkValue(&cellNodesSpec, v); r != "" {
			return &ArgError{Path: path, Arg: "nodes", Reason: r}
		}
	}
	if v, ok := n.Args["tie"]; ok {
		if r := checkValue(&cellTieSpec, v); r != "" {
			return &ArgError{Path: path, Arg: "tie", Reason: r}
		}
	}
	nodes := cellNodes(n)
	for _, k := range sortedKeys(n.Args) {
		if k == "nodes" || k == "tie" {
			continue
		}
		j, i, ok := parseEdge(k)
		if !ok {
			return &ArgError{Path: path, Arg: k, Reason: "unknown cell argument; want nodes, tie or an edge e{j}_{i} (i < j)"}
		}
		if i >= j {
			return &NodeError{Path: path, Reason: fmt.Sprintf("edge %s runs from node %d to node %d: cell edges must go from a lower to a higher node, otherwise the cell has a cycle", k, i, j)}
		}
		if j >= nodes {
			return &ArgError{Path: path, Arg: k, Reason: fmt.Sprintf("node %d does not exist: the cell has %d nodes (0..%d)", j, nodes, nodes-1)}
		}
		spec := cellEdgeSpec(k)
		if r := checkValue(&spec, n.Args[k]); r != "" {
			return &ArgError{Path: path, Arg: k, Reason: r}
		}
	}
	return nil
}

// cellCounts returns a cell's parameters and MACs at input shape in; cells
// keep the shape.
func cellCounts(n *Node, in Shape) (params, macs int64) {
	nodes := cellNodes(n)
	c := int64(in.C)
	hw := int64(in.H) * int64(in.W)
	for j := 1; j < nodes; j++ {
		for i := 0; i < j; i++ {
			switch cellEdge(n, j, i) {
			case CellConv1x1:
				params += c*c + 2*c
				macs += c * c * hw
			case CellConv3x3:
				params += 9*c*c + 2*c
				macs += 9 * c * c * hw
			}
		}
	}
	return params, macs
}
