package tree

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// DefineBlock groups children [from, to) of the seq at path into a
// composite block (a seq whose Block is its name) and returns the new tree
// and the block node, which can then be placed elsewhere with Insert or
// Swap. An empty name derives one from the block's content. Grouping alone
// computes the same function, so the result hashes like t.
func DefineBlock(t *Tree, path string, from, to int, name string) (*Tree, *Node, error) {
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
		name = BlockName(group)
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

// BlockName derives a composite block's name from its content: the kinds
// of its children and a short hash of its structure, so equal definitions
// get equal names.
func BlockName(n *Node) string {
	var parts []string
	for _, c := range n.Children {
		parts = append(parts, nodeBaseName(&Node{Kind: c.Kind, Op: c.Op, Module: c.Module, Block: c.Block}))
	}
	base := strings.Join(parts, "_")
	if len(base) > 32 {
		base = base[:32]
	}
	plain := *n
	plain.Name, plain.Block = "", ""
	sum := sha256.Sum256(appendNode(nil, &plain, false, true))
	return strings.TrimRight(base, "_") + "_" + hex.EncodeToString(sum[:3])
}
