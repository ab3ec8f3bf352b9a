package tree

import (
	"fmt"
	"strconv"
)

// The transformations are pure: they return a new tree that shares every
// untouched subtree with t and never modify t. Each returns a tree that
// passes Check, or a *TransformError whose Err is the typed cause
// (*ShapeError, *ArgError, *NodeError) when the edit itself was well formed
// but the result would be invalid.

// ChangeArg sets argument arg of the node at path to v; the zero Value
// removes the argument (back to its default). Changing an edge of a cell
// whose tie is non-empty changes that edge in every cell with the same tie.
func ChangeArg(t *Tree, path, arg string, v Value, cat Catalog) (*Tree, error) {
	nt, err := changeArg(t, path, arg, v, cat)
	if err != nil {
		return nil, err
	}
	return validated(OpChangeArg, path, nt, cat)
}

func changeArg(t *Tree, path, arg string, v Value, cat Catalog) (*Tree, error) {
	terr := func(reason string, err error) error {
		return &TransformError{Op: OpChangeArg, Path: path, Reason: reason, Err: err}
	}
	n, err := t.Find(path)
	if err != nil {
		return nil, terr("no such node", err)
	}
	if n.Kind == KindModule && cat == nil {
		return nil, terr("changing a module's argument needs the catalog", &NodeError{Path: path, Reason: "no catalog given"})
	}
	if !v.IsZero() {
		var spec *ArgSpec
		specs := ArgSpecs(n, cat)
		if spec = findSpec(specs, arg); spec == nil {
			return nil, terr("not a changeable argument", &ArgError{Path: path, Arg: arg, Reason: "unknown argument; known: " + specNames(specs)})
		}
		if r := checkValue(spec, v); r != "" {
			return nil, terr("bad value", &ArgError{Path: path, Arg: arg, Reason: r})
		}
	}
	set := func(n *Node) *Node {
		c := n.clone()
		if v.IsZero() {
			delete(c.Args, arg)
		} else {
			if c.Args == nil {
				c.Args = map[string]Value{}
			}
			c.Args[arg] = v
		}
		return c
	}
	if _, _, isEdge := parseEdge(arg); n.Kind == KindCell && isEdge && CellTie(n) != "" {
		tie := CellTie(n)
		var paths []string
		t.Walk(func(p string, m *Node) bool {
			if m.Kind == KindCell && CellTie(m) == tie {
				paths = append(paths, p)
			}
			return true
		})
		nt := t
		for _, p := range paths {
			if nt, err = replaceNode(nt, p, set); err != nil {
				return nil, terr("tied cell", err)
			}
		}
		return nt, nil
	}
	nt, err := replaceNode(t, path, set)
	if err != nil {
		return nil, terr("no such node", err)
	}
	return nt, nil
}

// Swap replaces the node at path with n, which takes over the old name so
// paths stay stable.
func Swap(t *Tree, path string, n *Node, cat Catalog) (*Tree, error) {
	nt, err := swap(t, path, n)
	if err != nil {
		return nil, err
	}
	return validated(OpSwap, path, nt, cat)
}

func swap(t *Tree, path string, n *Node) (*Tree, error) {
	if err := checkCandidate(OpSwap, path, n); err != nil {
		return nil, err
	}
	if path == "/" || path == "" {
		return nil, &TransformError{Op: OpSwap, Path: "/", Reason: "the root cannot be swapped; swap one of its children"}
	}
	nt, err := replaceNode(t, path, func(old *Node) *Node {
		c := *n
		c.Name = old.Name
		return &c
	})
	if err != nil {
		return nil, &TransformError{Op: OpSwap, Path: path, Reason: "no such node", Err: err}
	}
	return nt, nil
}

// Insert inserts n as child number index of the seq or branch at
// parentPath. An empty or clashing name is replaced by a unique one derived
// from the node (conv2d, conv2d_2, ...). To insert a residual block, insert
// a residual node; to wrap an existing node, use WrapResidual.
func Insert(t *Tree, parentPath string, index int, n *Node, cat Catalog) (*Tree, error) {
	nt, err := insert(t, parentPath, index, n)
	if err != nil {
		return nil, err
	}
	return validated(OpInsert, parentPath, nt, cat)
}

func insert(t *Tree, parentPath string, index int, n *Node) (*Tree, error) {
	if err := checkCandidate(OpInsert, parentPath, n); err != nil {
		return nil, err
	}
	p, err := t.Find(parentPath)
	if err != nil {
		return nil, &TransformError{Op: OpInsert, Path: parentPath, Reason: "no such parent", Err: err}
	}
	if p.Kind != KindSeq && p.Kind != KindBranch {
		return nil, &TransformError{Op: OpInsert, Path: parentPath, Reason: fmt.Sprintf("can only insert into a seq or branch, not a %s", p.Kind)}
	}
	if index < 0 || index > len(p.Children) {
		return nil, &TransformError{Op: OpInsert, Path: parentPath, Reason: fmt.Sprintf("index %d out of range [0, %d]", index, len(p.Children))}
	}
	c := *n
	c.Name = uniqueName(p.Children, nodeBaseName(n), -1)
	return replaceNode(t, parentPath, func(old *Node) *Node {
		np := *old
		np.Children = make([]*Node, 0, len(old.Children)+1)
		np.Children = append(np.Children, old.Children[:index]...)
		np.Children = append(np.Children, &c)
		np.Children = append(np.Children, old.Children[index:]...)
		return &np
	})
}

// WrapResidual replaces the node at path with a residual whose body is that
// node (out = node(x) + x, with the automatic projection when the node
// changes the shape). The residual takes the node's name; the node keeps its
// name under it.
func WrapResidual(t *Tree, path string, cat Catalog) (*Tree, error) {
	nt, err := wrapResidual(t, path)
	if err != nil {
		return nil, err
	}
	return validated(OpWrapResidual, path, nt, cat)
}

func wrapResidual(t *Tree, path string) (*Tree, error) {
	if path == "/" || path == "" {
		return nil, &TransformError{Op: OpWrapResidual, Path: "/", Reason: "the root cannot be wrapped"}
	}
	nt, err := replaceNode(t, path, func(old *Node) *Node {
		return &Node{Kind: KindResidual, Name: old.Name, Children: []*Node{old}}
	})
	if err != nil {
		return nil, &TransformError{Op: OpWrapResidual, Path: path, Reason: "no such node", Err: err}
	}
	return nt, nil
}

// Delete removes the node at path from its seq or branch parent, or removes
// a residual's explicit shortcut (which leaves the identity or automatic
// projection).
func Delete(t *Tree, path string, cat Catalog) (*Tree, error) {
	nt, err := del(t, path)
	if err != nil {
		return nil, err
	}
	return validated(OpDelete, path, nt, cat)
}

func del(t *Tree, path string) (*Tree, error) {
	chain, err := t.chain(path)
	if err != nil {
		return nil, &TransformError{Op: OpDelete, Path: path, Reason: "no such node", Err: err}
	}
	if len(chain) < 2 {
		return nil, &TransformError{Op: OpDelete, Path: "/", Reason: "the root cannot be deleted"}
	}
	parent, n := chain[len(chain)-2], chain[len(chain)-1]
	idx := childIndex(parent, n)
	switch {
	case parent.Kind == KindSeq:
	case parent.Kind == KindBranch && len(parent.Children) > 1:
	case parent.Kind == KindResidual && idx == 1:
	default:
		return nil, &TransformError{Op: OpDelete, Path: path, Reason: fmt.Sprintf("cannot delete child %d of a %s with %d children (delete or swap the %s itself)", idx, parent.Kind, len(parent.Children), parent.Kind)}
	}
	return replaceNode(t, parentPathOf(path), func(old *Node) *Node {
		np := *old
		np.Children = make([]*Node, 0, len(old.Children)-1)
		np.Children = append(np.Children, old.Children[:idx]...)
		np.Children = append(np.Children, old.Children[idx+1:]...)
		return &np
	})
}

// Compose groups children [from, to) of the seq at parentPath into a new
// seq child named name (a unique name is derived when empty or clashing).
// The network computes the same function; the group becomes one block that
// later operations can swap, duplicate or wrap.
func Compose(t *Tree, parentPath string, from, to int, name string, cat Catalog) (*Tree, error) {
	nt, err := compose(t, parentPath, from, to, name)
	if err != nil {
		return nil, err
	}
	return validated(OpCompose, parentPath, nt, cat)
}

func compose(t *Tree, parentPath string, from, to int, name string) (*Tree, error) {
	p, err := t.Find(parentPath)
	if err != nil {
		return nil, &TransformError{Op: OpCompose, Path: parentPath, Reason: "no such parent", Err: err}
	}
	if p.Kind != KindSeq {
		return nil, &TransformError{Op: OpCompose, Path: parentPath, Reason: fmt.Sprintf("can only group children of a seq, not a %s", p.Kind)}
	}
	if from < 0 || to > len(p.Children) || from >= to {
		return nil, &TransformError{Op: OpCompose, Path: parentPath, Reason: fmt.Sprintf("range [%d, %d) is not a non-empty range of the %d children", from, to, len(p.Children))}
	}
	if !InBody(parentPath) {
		return nil, &TransformError{Op: OpCompose, Path: parentPath, Reason: "a composite block groups part of a stage or a block body, not of the root, the stem or the head: choose a seq inside a stage"}
	}
	if name == "" {
		name = "block"
	}
	rest := make([]*Node, 0, len(p.Children)-(to-from))
	rest = append(rest, p.Children[:from]...)
	rest = append(rest, p.Children[to:]...)
	if !validName(name) {
		return nil, &TransformError{Op: OpCompose, Path: parentPath, Reason: fmt.Sprintf("bad block name %q: names match [A-Za-z_][A-Za-z0-9_]*", name)}
	}
	group := Seq(uniqueName(rest, name, -1), append([]*Node(nil), p.Children[from:to]...)...)
	return replaceNode(t, parentPath, func(old *Node) *Node {
		np := *old
		np.Children = make([]*Node, 0, len(rest)+1)
		np.Children = append(np.Children, old.Children[:from]...)
		np.Children = append(np.Children, group)
		np.Children = append(np.Children, old.Children[to:]...)
		return &np
	})
}

// Duplicate deepens the network: it inserts a copy of the node at path
// (own weights; the copy's input width is inferred, so it follows the
// original) right after it in its seq, named name_2, name_3, ...
func Duplicate(t *Tree, path string, cat Catalog) (*Tree, error) {
	nt, err := duplicate(t, path)
	if err != nil {
		return nil, err
	}
	return validated(OpDuplicate, path, nt, cat)
}

func duplicate(t *Tree, path string) (*Tree, error) {
	chain, err := t.chain(path)
	if err != nil {
		return nil, &TransformError{Op: OpDuplicate, Path: path, Reason: "no such node", Err: err}
	}
	if len(chain) < 2 || chain[len(chain)-2].Kind != KindSeq {
		return nil, &TransformError{Op: OpDuplicate, Path: path, Reason: "only a child of a seq can be duplicated"}
	}
	parent, n := chain[len(chain)-2], chain[len(chain)-1]
	idx := childIndex(parent, n)
	c := *n // shares the subtree: nodes are immutable and render gives each occurrence its own weights
	c.Name = uniqueName(parent.Children, n.Name, -1)
	return replaceNode(t, parentPathOf(path), func(old *Node) *Node {
		np := *old
		np.Children = make([]*Node, 0, len(old.Children)+1)
		np.Children = append(np.Children, old.Children[:idx+1]...)
		np.Children = append(np.Children, &c)
		np.Children = append(np.Children, old.Children[idx+1:]...)
		return &np
	})
}

// validated checks the result of a transformation.
func validated(op OpKind, path string, nt *Tree, cat Catalog) (*Tree, error) {
	if err := Validate(nt, cat); err != nil {
		return nil, &TransformError{Op: op, Path: path, Reason: "the result is invalid", Err: err}
	}
	return nt, nil
}

// checkCandidate validates a node that is being put into a tree.
func checkCandidate(op OpKind, path string, n *Node) error {
	if n == nil {
		return &TransformError{Op: op, Path: path, Reason: "no node given"}
	}
	if err := validateStructure("/", n); err != nil {
		return &TransformError{Op: op, Path: path, Reason: "the node is malformed", Err: err}
	}
	return nil
}

// replaceNode returns a copy of t where the node at path is fn(old); only
// the ancestors of path are copied.
func replaceNode(t *Tree, path string, fn func(old *Node) *Node) (*Tree, error) {
	chain, err := t.chain(path)
	if err != nil {
		return nil, err
	}
	return rebuild(t, chain, fn(chain[len(chain)-1])), nil
}

// rebuild replaces chain's last node by repl and copies the ancestors.
func rebuild(t *Tree, chain []*Node, repl *Node) *Tree {
	for i := len(chain) - 2; i >= 0; i-- {
		p := *chain[i]
		p.Children = append([]*Node(nil), p.Children...)
		p.Children[childIndex(chain[i], chain[i+1])] = repl
		repl = &p
	}
	return &Tree{Input: t.Input, Classes: t.Classes, Root: repl}
}

func childIndex(p, c *Node) int {
	for i, x := range p.Children {
		if x == c {
			return i
		}
	}
	return -1
}

func parentPathOf(path string) string {
	for i := len(path) - 1; i > 0; i-- {
		if path[i] == '/' {
			return path[:i]
		}
	}
	return "/"
}

// nodeBaseName derives a name for a node being inserted.
func nodeBaseName(n *Node) string {
	if validName(n.Name) {
		return n.Name
	}
	var s string
	switch n.Kind {
	case KindOp:
		s = n.Op
	case KindModule:
		s = n.Module
	default:
		s = string(n.Kind)
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isIdentByte(c, len(b) == 0) {
			b = append(b, c)
		} else if len(b) > 0 && b[len(b)-1] != '_' && isIdentByte(c, false) {
			b = append(b, c)
		} else if len(b) > 0 && b[len(b)-1] != '_' {
			b = append(b, '_')
		}
	}
	if len(b) > 48 {
		b = b[:48]
	}
	if len(b) == 0 || !validName(string(b)) {
		return "node"
	}
	return string(b)
}

// uniqueName returns base, or base_2, base_3, ... not used by siblings
// (ignoring sibling skip).
func uniqueName(siblings []*Node, base string, skip int) string {
	taken := func(s string) bool {
		for i, c := range siblings {
			if i != skip && c.Name == s {
				return true
			}
		}
		return false
	}
	if !taken(base) {
		return base
	}
	for k := 2; ; k++ {
		s := base + "_" + strconv.Itoa(k)
		if !taken(s) {
			return s
		}
	}
}
