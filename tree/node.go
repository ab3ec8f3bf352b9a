package tree

import (
	"fmt"
	"strings"
)

// SchemaVersion is the version written in a tree's JSON "schema" field.
const SchemaVersion = 1

// Shape is the (C, H, W) shape of one sample; see the package doc.
type Shape struct{ C, H, W int }

// String formats the shape as CxHxW.
func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.C, s.H, s.W) }

// ParseShape reads "CxHxW" (e.g. 3x32x32).
func ParseShape(s string) (Shape, error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), "x")
	if len(parts) != 3 {
		return Shape{}, fmt.Errorf("shape %q: want CxHxW, e.g. 3x32x32", s)
	}
	var v [3]int
	for i, p := range parts {
		n, err := parseSmallInt(p)
		if err != nil || n < 1 || n > 1<<16 {
			return Shape{}, fmt.Errorf("shape %q: %q is not a positive integer", s, p)
		}
		v[i] = n
	}
	return Shape{v[0], v[1], v[2]}, nil
}

func parseSmallInt(p string) (int, error) {
	if p == "" || len(p) > 7 {
		return 0, fmt.Errorf("bad integer %q", p)
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad integer %q", p)
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// Kind is a node's kind.
type Kind string

// The node kinds.
const (
	KindSeq      Kind = "seq"      // children in order
	KindResidual Kind = "residual" // children[0] body, optional children[1] shortcut; out = body(x) + shortcut(x)
	KindBranch   Kind = "branch"   // children in parallel, concatenated on channels
	KindRepeat   Kind = "repeat"   // arg n copies of its single child, each with its own weights
	KindCell     Kind = "cell"     // a NAS-Bench-201-style DAG; edges are enum args e{j}_{i}
	KindOp       Kind = "op"       // a built-in primitive named by Op
	KindModule   Kind = "module"   // a catalog module named by Module
)

// Kinds lists the node kinds.
func Kinds() []Kind {
	return []Kind{KindSeq, KindResidual, KindBranch, KindRepeat, KindCell, KindOp, KindModule}
}

// Tree is a whole architecture, from input to logits.
type Tree struct {
	Input   Shape // shape of one input sample
	Classes int   // the tree's output must be (Classes, 1, 1)
	Root    *Node
}

// Node is one node of a tree. Nodes are immutable once in a tree.
type Node struct {
	Kind Kind
	// Name is the node's path segment, unique among its siblings; it must
	// match [A-Za-z_][A-Za-z0-9_]*. The root's name is ignored.
	Name string
	// Op is the primitive name for op nodes.
	Op string
	// Module is the catalog ID for module nodes.
	Module string
	// Args are the node's typed arguments: a primitive's arguments, a module's
	// constructor arguments, repeat's n, a residual's act, a cell's edges.
	Args map[string]Value
	// Children are the node's children (seq, residual, branch, repeat).
	Children []*Node
	// Block names the composite block a seq instantiates: a group of nodes
	// that a search defined once and placed in several sites. It does not
	// change what the seq computes (the structural hash ignores it); Render
	// gives each block its own nn.Module class. Only seq nodes have one.
	Block string
}

// Arg returns the named argument (the zero Value when absent).
func (n *Node) Arg(name string) Value { return n.Args[name] }

// clone returns a shallow copy whose Args map and Children slice are fresh,
// so the copy can be edited without touching n.
func (n *Node) clone() *Node {
	c := *n
	if n.Args != nil {
		c.Args = make(map[string]Value, len(n.Args))
		for k, v := range n.Args {
			c.Args[k] = v
		}
	}
	if n.Children != nil {
		c.Children = append([]*Node(nil), n.Children...)
	}
	return &c
}

// DeepCopy returns an independent copy of n and all its descendants.
func (n *Node) DeepCopy() *Node {
	c := n.clone()
	for i, ch := range c.Children {
		c.Children[i] = ch.DeepCopy()
	}
	return c
}

// Op returns an op node.
func Op(name, op string, args map[string]Value) *Node {
	return &Node{Kind: KindOp, Name: name, Op: op, Args: args}
}

// Seq returns a seq node.
func Seq(name string, children ...*Node) *Node {
	return &Node{Kind: KindSeq, Name: name, Children: children}
}

// Module returns a module node referring to a catalog ID.
func Module(name, id string, args map[string]Value) *Node {
	return &Node{Kind: KindModule, Name: name, Module: id, Args: args}
}

// A is a shorthand for building an argument map from name/value pairs.
func A(kv ...any) map[string]Value {
	m := make(map[string]Value, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		switch v := kv[i+1].(type) {
		case Value:
			m[k] = v
		default:
			if val, ok := valueFromAny(v); ok {
				m[k] = val
			}
		}
	}
	return m
}

// validName reports whether s is a usable path segment (also a valid
// PyTorch submodule name).
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// childPath joins a parent path and a child name.
func childPath(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

// splitPath splits "/a/b" into ["a","b"]; "/" and "" give nil.
func splitPath(p string) ([]string, error) {
	if p == "" || p == "/" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("path %q must start with /", p)
	}
	parts := strings.Split(strings.TrimSuffix(p[1:], "/"), "/")
	for _, s := range parts {
		if s == "" {
			return nil, fmt.Errorf("path %q has an empty segment", p)
		}
	}
	return parts, nil
}

// Find returns the node at path ("/" is the root).
func (t *Tree) Find(path string) (*Node, error) {
	chain, err := t.chain(path)
	if err != nil {
		return nil, err
	}
	return chain[len(chain)-1], nil
}

// chain returns the nodes from the root down to path, inclusive.
func (t *Tree) chain(path string) ([]*Node, error) {
	if t == nil || t.Root == nil {
		return nil, fmt.Errorf("tree has no root")
	}
	parts, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	chain := make([]*Node, 0, len(parts)+1)
	n := t.Root
	chain = append(chain, n)
	for i, seg := range parts {
		var next *Node
		for _, c := range n.Children {
			if c.Name == seg {
				next = c
				break
			}
		}
		if next == nil {
			return nil, fmt.Errorf("path %q: no node %q under %q", path, seg, "/"+strings.Join(parts[:i], "/"))
		}
		n = next
		chain = append(chain, n)
	}
	return chain, nil
}

// Walk calls fn for every node in depth-first pre-order with its path; fn
// returning false skips the node's children.
func (t *Tree) Walk(fn func(path string, n *Node) bool) {
	if t == nil || t.Root == nil {
		return
	}
	walk("/", t.Root, fn)
}

func walk(path string, n *Node, fn func(string, *Node) bool) {
	if !fn(path, n) {
		return
	}
	for _, c := range n.Children {
		walk(childPath(path, c.Name), c, fn)
	}
}

// Paths lists every node's path in pre-order.
func (t *Tree) Paths() []string {
	var out []string
	t.Walk(func(p string, _ *Node) bool { out = append(out, p); return true })
	return out
}
