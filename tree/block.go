package tree

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// DefineBlock groups children [from, to) of the seq at path into a
// composite block (a seq whose Block is its name) and returns the new tree
// and the block node, which can then be placed elsewhere with Insert or
// Swap. An empty name derives a readable one from the block's content
// (cat, when not nil, names mined modules). Grouping alone computes the
// same function, so the result hashes like t.
func DefineBlock(t *Tree, path string, from, to int, name string, cat Catalog) (*Tree, *Node, error) {
	g, err := compose(t, path, from, to, "block")
	if err != nil {
		return nil, nil, err
	}
	p, err := g.Find(path)
	if err != nil {
		return nil, nil, err
	}
	group := p.Children[from]
	block := *group
	if name == "" {
		name = BlockName(group, cat)
	}
	block.Block = name
	if !validName(name) {
		return nil, nil, &TransformError{Op: OpCompose, Path: path, Reason: "bad block name " + name}
	}
	g, err = replaceNode(g, childPath(path, group.Name), func(*Node) *Node { return &block })
	if err != nil {
		return nil, nil, err
	}
	return g, &block, nil
}

// BlockName derives a composite block's name from its content: a short
// readable label per child (conv3x3, bn, relu, a mined module's class
// name), runs of one label counted (conv3x3_bn_relu_x2), then a short hash
// of the structure, so equal definitions get equal names and a model or
// a reader sees what the block is: conv3x3_bn_relu_conv3x3_bn_3cd5ae.
func BlockName(n *Node, cat Catalog) string {
	var parts []string
	last, run := "", 0
	flush := func() {
		if last == "" {
			return
		}
		if run > 1 {
			parts = append(parts, fmt.Sprintf("%s_x%d", last, run))
		} else {
			parts = append(parts, last)
		}
	}
	for _, c := range n.Children {
		l := blockLabel(c, cat)
		if l == last {
			run++
			continue
		}
		flush()
		last, run = l, 1
	}
	flush()
	base := strings.Join(parts, "_")
	if len(base) > 40 {
		base = base[:40]
	}
	plain := *n
	plain.Name, plain.Block = "", ""
	sum := sha256.Sum256(appendNode(nil, &plain, false, true))
	base = strings.TrimRight(base, "_")
	if base == "" || !validName(base) {
		base = "block"
	}
	return base + "_" + hex.EncodeToString(sum[:3])
}

// blockLabel is one child's part of a block name.
func blockLabel(c *Node, cat Catalog) string {
	switch c.Kind {
	case KindOp:
		switch c.Op {
		case "conv2d":
			k, _ := c.Args["kernel"].AsInt()
			if k == 0 {
				k = 3
			}
			if g, ok := c.Args["groups"].AsInt(); ok && g == 0 {
				return fmt.Sprintf("dwconv%dx%d", k, k)
			}
			return fmt.Sprintf("conv%dx%d", k, k)
		case "batchnorm2d", "batchnorm1d":
			return "bn"
		case "linear":
			return "fc"
		case "dropout":
			return "drop"
		case "adaptiveavgpool2d":
			return "gap"
		}
		return nodeBaseName(&Node{Kind: c.Kind, Op: c.Op})
	case KindModule:
		if cat != nil {
			if m, ok := cat.Module(c.Module); ok && validName(m.Name) {
				return strings.ToLower(m.Name)
			}
		}
		return "module"
	}
	if c.Block != "" {
		return "block"
	}
	return nodeBaseName(&Node{Kind: c.Kind})
}
