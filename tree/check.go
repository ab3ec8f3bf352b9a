package tree

import (
	"fmt"
)

// NodeInfo is what shape inference learned about one node. For the child of
// a repeat node it describes the first copy.
type NodeInfo struct {
	Kind   Kind  `json:"kind"`
	In     Shape `json:"in"`
	Out    Shape `json:"out"`
	Params int64 `json:"params"` // including descendants (all copies for repeat)
	MACs   int64 `json:"macs"`
}

// Report is the result of checking a tree.
type Report struct {
	Output Shape               `json:"output"`
	Params int64               `json:"params"` // equals PyTorch's parameter count of the rendered Candidate
	FLOPs  int64               `json:"flops"`  // multiply-accumulates of conv and linear layers (and module estimates)
	Hash   string              `json:"hash"`
	Nodes  map[string]NodeInfo `json:"nodes"` // keyed by path
}

// Check validates t (structure, arguments, shapes) and counts its parameters
// and MACs. cat may be nil when the tree has no module nodes. Errors are
// *NodeError, *ArgError or *ShapeError and name the node's path.
func Check(t *Tree, cat Catalog) (*Report, error) {
	c := checker{cat: cat, record: true, nodes: make(map[string]NodeInfo, 64)}
	out, params, macs, err := c.tree(t)
	if err != nil {
		return nil, err
	}
	return &Report{Output: out, Params: params, FLOPs: macs, Hash: Hash(t), Nodes: c.nodes}, nil
}

// Validate is Check without the report: nil when t is valid.
func Validate(t *Tree, cat Catalog) error {
	c := checker{cat: cat}
	_, _, _, err := c.tree(t)
	return err
}

// checker runs shape inference. With memo set it caches results by (node,
// input shape), which is what makes option enumeration incremental: trees
// that share subtrees with an already checked tree only re-infer the nodes
// on the edited path.
type checker struct {
	cat    Catalog
	record bool
	nodes  map[string]NodeInfo
	memo   map[memoKey]memoVal
	steps  int // node evaluations, bounded so nested repeats cannot explode
	slab   []pathRef
}

// maxDim bounds each input dimension.
const maxDim = 1 << 14

// maxSteps bounds the node evaluations of one check (repeat copies count).
const maxSteps = 1 << 20

type memoKey struct {
	n  *Node
	in Shape
}

type memoVal struct {
	out          Shape
	params, macs int64
}

// pathRef is a lazily built path: strings are only made for errors and
// records, which keeps inference allocation-free on the fast path.
type pathRef struct {
	parent *pathRef
	name   string
	depth  int
}

// child returns the path of p's child name. pathRefs live in the checker's
// slab, one per depth, so inference does not allocate them; an entry is
// only overwritten once the subtree that used it is done.
func (c *checker) child(p *pathRef, name string) *pathRef {
	d := p.depth + 1
	if d >= len(c.slab) {
		c.slab = append(c.slab, make([]pathRef, d+16-len(c.slab))...)
	}
	c.slab[d] = pathRef{parent: p, name: name, depth: d}
	return &c.slab[d]
}

// root returns the root path.
func (c *checker) root() *pathRef {
	if len(c.slab) == 0 {
		c.slab = make([]pathRef, 16)
	}
	c.slab[0] = pathRef{}
	return &c.slab[0]
}

func (p *pathRef) String() string {
	if p == nil || p.parent == nil {
		return "/"
	}
	return childPath(p.parent.String(), p.name)
}

func (c *checker) tree(t *Tree) (Shape, int64, int64, error) {
	c.steps = 0
	if t == nil || t.Root == nil {
		return Shape{}, 0, 0, &NodeError{Path: "/", Reason: "tree has no root"}
	}
	if t.Input.C < 1 || t.Input.H < 1 || t.Input.W < 1 || t.Input.C > maxDim || t.Input.H > maxDim || t.Input.W > maxDim {
		return Shape{}, 0, 0, &NodeError{Path: "/", Reason: fmt.Sprintf("input shape %s must be positive and at most %d per dimension", t.Input, maxDim)}
	}
	if t.Classes < 1 {
		return Shape{}, 0, 0, &NodeError{Path: "/", Reason: fmt.Sprintf("classes %d must be >= 1", t.Classes)}
	}
	out, params, macs, err := c.infer(t.Root, c.root(), t.Input)
	if err != nil {
		return out, params, macs, err
	}
	if want := (Shape{t.Classes, 1, 1}); out != want {
		return out, params, macs, &ShapeError{Path: "/", Want: want, Got: out,
			Reason: "the tree must output (classes, 1, 1): end with adaptiveavgpool2d, flatten and a linear with out=classes"}
	}
	return out, params, macs, nil
}

func (c *checker) infer(n *Node, p *pathRef, in Shape) (out Shape, params, macs int64, err error) {
	if p.depth > MaxDepth {
		// A tree built in memory (a chain of wraps) must stay parseable.
		return in, 0, 0, depthError(p.String())
	}
	if c.memo != nil {
		if v, ok := c.memo[memoKey{n, in}]; ok {
			return v.out, v.params, v.macs, nil
		}
	}
	if c.steps++; c.steps > maxSteps {
		return in, 0, 0, &NodeError{Path: p.String(), Reason: fmt.Sprintf("the tree expands to more than %d nodes (nested repeats?)", maxSteps)}
	}
	out, params, macs, err = c.inferNode(n, p, in)
	if err != nil {
		return out, params, macs, err
	}
	if c.memo != nil {
		c.memo[memoKey{n, in}] = memoVal{out, params, macs}
	}
	if c.record {
		c.nodes[p.String()] = NodeInfo{Kind: n.Kind, In: in, Out: out, Params: params, MACs: macs}
	}
	return out, params, macs, nil
}

func (c *checker) inferNode(n *Node, p *pathRef, in Shape) (out Shape, params, macs int64, err error) {
	if n == nil {
		return in, 0, 0, &NodeError{Path: p.String(), Reason: "null node"}
	}
	switch n.Kind {
	case KindSeq, KindResidual, KindBranch, KindRepeat:
		if err := checkChildNames(p, n); err != nil {
			return in, 0, 0, err
		}
		if err := checkArgs2(p, n, nodeArgSpecs(n)); err != nil {
			return in, 0, 0, err
		}
	case KindOp, KindModule, KindCell:
		if len(n.Children) != 0 {
			return in, 0, 0, &NodeError{Path: p.String(), Reason: fmt.Sprintf("a %s node has no children, got %d", n.Kind, len(n.Children))}
		}
	}
	switch n.Kind {
	case KindSeq:
		s := in
		for _, ch := range n.Children {
			o, pp, mm, err := c.infer(ch, c.child(p, ch.Name), s)
			if err != nil {
				return in, 0, 0, err
			}
			s, params, macs = o, params+pp, macs+mm
		}
		return s, params, macs, nil
	case KindResidual:
		return c.inferResidual(n, p, in)
	case KindBranch:
		if len(n.Children) == 0 {
			return in, 0, 0, &NodeError{Path: p.String(), Reason: "a branch needs at least one child"}
		}
		var first Shape
		for i, ch := range n.Children {
			cp := c.child(p, ch.Name)
			o, pp, mm, err := c.infer(ch, cp, in)
			if err != nil {
				return in, 0, 0, err
			}
			if i == 0 {
				first, out = o, o
			} else {
				if o.H != first.H || o.W != first.W {
					return in, 0, 0, &ShapeError{Path: cp.String(), Want: Shape{o.C, first.H, first.W}, Got: o,
						Reason: "branch children are concatenated on channels, so their H and W must agree with the first child's"}
				}
				out.C += o.C
			}
			params, macs = params+pp, macs+mm
		}
		return out, params, macs, nil
	case KindRepeat:
		if len(n.Children) != 1 {
			return in, 0, 0, &NodeError{Path: p.String(), Reason: fmt.Sprintf("a repeat node has exactly one child, got %d", len(n.Children))}
		}
		ch := n.Children[0]
		cp := c.child(p, ch.Name)
		s := in
		record := c.record
		for k := 0; k < intArg(n, "n", 1); k++ {
			o, pp, mm, err := c.infer(ch, cp, s)
			c.record = false // copies after the first share the child's path
			if err != nil {
				c.record = record
				return in, 0, 0, err
			}
			s, params, macs = o, params+pp, macs+mm
		}
		c.record = record
		return s, params, macs, nil
	case KindCell:
		if err := checkCell(p.String(), n); err != nil {
			return in, 0, 0, err
		}
		params, macs = cellCounts(n, in)
		return in, params, macs, nil
	case KindOp:
		spec := primitive(n.Op)
		if spec == nil {
			return in, 0, 0, &NodeError{Path: p.String(), Reason: fmt.Sprintf("unknown op %q; primitives are %v", n.Op, PrimitiveNames())}
		}
		if err := checkArgs2(p, n, spec.Args); err != nil {
			return in, 0, 0, err
		}
		return opOutput(n, p, in)
	case KindModule:
		return c.inferModule(n, p, in)
	}
	return in, 0, 0, &NodeError{Path: p.String(), Reason: fmt.Sprintf("unknown kind %q; kinds are %v", n.Kind, Kinds())}
}

// checkArgs2 is checkArgs with a lazy path.
func checkArgs2(p *pathRef, n *Node, specs []ArgSpec) error {
	if len(n.Args) == 0 && !hasRequired(specs) {
		return nil
	}
	return checkArgs(p.String(), n, specs)
}

func hasRequired(specs []ArgSpec) bool {
	for i := range specs {
		if specs[i].Required {
			return true
		}
	}
	return false
}

func checkChildNames(p *pathRef, n *Node) error {
	switch n.Kind {
	case KindResidual:
		if len(n.Children) < 1 || len(n.Children) > 2 {
			return &NodeError{Path: p.String(), Reason: fmt.Sprintf("a residual has a body and an optional shortcut (1 or 2 children), got %d", len(n.Children))}
		}
	}
	// Few children: compare pairwise without allocating; many: a set, so
	// a wide node costs linear time.
	var seen map[string]bool
	if len(n.Children) > 16 {
		seen = make(map[string]bool, len(n.Children))
	}
	for i, ch := range n.Children {
		if ch == nil {
			return &NodeError{Path: p.String(), Reason: fmt.Sprintf("child %d is null", i)}
		}
		if !validName(ch.Name) {
			return &NodeError{Path: p.String(), Reason: fmt.Sprintf("child %d has bad name %q: names match [A-Za-z_][A-Za-z0-9_]*", i, ch.Name)}
		}
		dup := false
		if seen != nil {
			dup = seen[ch.Name]
			seen[ch.Name] = true
		} else {
			for _, prev := range n.Children[:i] {
				dup = dup || prev.Name == ch.Name
			}
		}
		if dup {
			return &NodeError{Path: p.String(), Reason: fmt.Sprintf("two children are named %q: names must be unique among siblings", ch.Name)}
		}
	}
	return nil
}

func (c *checker) inferResidual(n *Node, p *pathRef, in Shape) (Shape, int64, int64, error) {
	body := n.Children[0]
	out, params, macs, err := c.infer(body, c.child(p, body.Name), in)
	if err != nil {
		return in, 0, 0, err
	}
	if len(n.Children) == 2 {
		sc := n.Children[1]
		sp := c.child(p, sc.Name)
		o, pp, mm, err := c.infer(sc, sp, in)
		if err != nil {
			return in, 0, 0, err
		}
		if o != out {
			return in, 0, 0, &ShapeError{Path: sp.String(), Want: out, Got: o, Reason: "the shortcut's output must match the body's"}
		}
		return out, params + pp, macs + mm, nil
	}
	if out == in {
		return out, params, macs, nil
	}
	if _, ok := projectionStride(in, out); !ok {
		return in, 0, 0, &ShapeError{Path: p.String(), Want: in, Got: out,
			Reason: "the body changes H or W in a way no strided 1x1 projection shortcut can match; keep the body's shape or shrink H and W by an integer stride"}
	}
	pc, mc := projectionCounts(in, out)
	return out, params + pc, macs + mc, nil
}

// projectionStride finds the stride of the automatic 1x1 projection that
// maps in's H and W to out's.
func projectionStride(in, out Shape) (int, bool) {
	if out.H > in.H || out.W > in.W || out.H < 1 || out.W < 1 {
		return 0, false
	}
	for s := 1; s <= in.H && s <= in.W; s++ {
		if (in.H-1)/s+1 == out.H && (in.W-1)/s+1 == out.W {
			return s, true
		}
		if (in.H-1)/s+1 < out.H {
			break
		}
	}
	return 0, false
}

// projectionCounts are the automatic projection's conv (no bias) + BN.
func projectionCounts(in, out Shape) (params, macs int64) {
	ci, co := int64(in.C), int64(out.C)
	return ci*co + 2*co, ci * co * int64(out.H) * int64(out.W)
}

// opOutput infers a primitive's output; arguments are already validated.
func opOutput(n *Node, p *pathRef, in Shape) (Shape, int64, int64, error) {
	switch n.Op {
	case "conv2d":
		k := intArg(n, "kernel", 3)
		s := intArg(n, "stride", 1)
		pad := intArg(n, "padding", k/2)
		cout := intArg(n, "out", in.C)
		g := intArg(n, "groups", 1)
		if g == 0 {
			g = in.C
		}
		if in.C%g != 0 || cout%g != 0 {
			return in, 0, 0, &ArgError{Path: p.String(), Arg: "groups", Reason: fmt.Sprintf("groups %d must divide the input width %d and out %d (use groups 0 for depthwise)", g, in.C, cout)}
		}
		h, w := (in.H+2*pad-k)/s+1, (in.W+2*pad-k)/s+1
		if in.H+2*pad < k || in.W+2*pad < k {
			return in, 0, 0, &ShapeError{Path: p.String(), Want: Shape{in.C, k - 2*pad, k - 2*pad}, Got: in, Reason: fmt.Sprintf("kernel %d is larger than the padded input", k)}
		}
		o := Shape{cout, h, w}
		per := int64(in.C/g) * int64(k) * int64(k)
		params := int64(cout) * per
		if b, _ := n.Args["bias"].AsBool(); b {
			params += int64(cout)
		}
		return o, params, int64(cout) * int64(h) * int64(w) * per, nil
	case "batchnorm2d":
		return in, 2 * int64(in.C), 0, nil
	case "maxpool2d", "avgpool2d":
		k := intArg(n, "kernel", 2)
		s := intArg(n, "stride", k)
		pad := intArg(n, "padding", 0)
		if pad > k/2 {
			return in, 0, 0, &ArgError{Path: p.String(), Arg: "padding", Reason: fmt.Sprintf("padding %d must be at most kernel//2 = %d", pad, k/2)}
		}
		if in.H+2*pad < k || in.W+2*pad < k {
			return in, 0, 0, &ShapeError{Path: p.String(), Want: Shape{in.C, k - 2*pad, k - 2*pad}, Got: in, Reason: fmt.Sprintf("pool kernel %d is larger than the padded input", k)}
		}
		return Shape{in.C, (in.H+2*pad-k)/s + 1, (in.W+2*pad-k)/s + 1}, 0, 0, nil
	case "adaptiveavgpool2d":
		sz := intArg(n, "size", 1)
		return Shape{in.C, sz, sz}, 0, 0, nil
	case "flatten":
		return Shape{in.C * in.H * in.W, 1, 1}, 0, 0, nil
	case "linear":
		if in.H != 1 || in.W != 1 {
			return in, 0, 0, &ShapeError{Path: p.String(), Want: Shape{in.C * in.H * in.W, 1, 1}, Got: in,
				Reason: "linear takes a (features, 1, 1) input: put flatten or adaptiveavgpool2d before it"}
		}
		cout := int64(intArg(n, "out", 1))
		params := int64(in.C) * cout
		if b, ok := n.Args["bias"].AsBool(); b || !ok {
			params += cout
		}
		return Shape{int(cout), 1, 1}, params, int64(in.C) * cout, nil
	}
	// relu, relu6, gelu, silu, hardswish, dropout, identity, zero
	return in, 0, 0, nil
}

// inferModule applies the ModuleSpec contract (see moduleCallAt).
func (c *checker) inferModule(n *Node, p *pathRef, in Shape) (Shape, int64, int64, error) {
	if c.cat == nil {
		return in, 0, 0, &NodeError{Path: p.String(), Reason: fmt.Sprintf("module %q needs a catalog, and none was given (pass --catalog)", n.Module)}
	}
	m, ok := c.cat.Module(n.Module)
	if !ok || m == nil {
		return in, 0, 0, &NodeError{Path: p.String(), Reason: fmt.Sprintf("module %q is not in the catalog", n.Module)}
	}
	if m.Inputs > 1 {
		return in, 0, 0, &NodeError{Path: p.String(), Reason: fmt.Sprintf("module %q takes %d tensor inputs; only single-input modules fit in a tree", n.Module, m.Inputs)}
	}
	if err := checkModuleArgs(p, n, m); err != nil {
		return in, 0, 0, err
	}
	call, err := moduleCallAt(n, m, in, p)
	if err != nil {
		return in, 0, 0, err
	}
	params, macs := call.counts(m, in)
	return call.out, params, macs, nil
}

func checkModuleArgs(p *pathRef, n *Node, m *ModuleSpec) error {
	if len(n.Args) == 0 {
		return nil
	}
	specs := moduleArgSpecs(m)
	for _, k := range sortedKeys(n.Args) {
		if m.InArg != "" && k == m.InArg {
			return &ArgError{Path: p.String(), Arg: k, Reason: "the input width is inferred from the predecessor; do not set it"}
		}
		if s := findSpec(specs, k); s != nil {
			if r := checkValue(s, n.Args[k]); r != "" {
				return &ArgError{Path: p.String(), Arg: k, Reason: r}
			}
			continue
		}
		if _, ok := m.FixedArgs[k]; ok {
			continue
		}
		return &ArgError{Path: p.String(), Arg: k, Reason: fmt.Sprintf("module %q has no such tunable argument; tunable: %s", n.Module, specNames(specs))}
	}
	return nil
}

// Measurer validates and counts many trees that share subtrees, such as
// the children of one parent: results are memoized by (node, input shape),
// so only the nodes on an edited path are inferred again. Its verdicts
// equal Check's; it keeps no per-node report.
type Measurer struct{ c checker }

// NewMeasurer returns a Measurer for trees resolved against cat.
func NewMeasurer(cat Catalog) *Measurer {
	return &Measurer{checker{cat: cat, memo: make(map[memoKey]memoVal, 1024)}}
}

// Measure validates t and returns its parameter and MAC counts.
func (m *Measurer) Measure(t *Tree) (params, macs int64, err error) {
	_, params, macs, err = m.c.tree(t)
	return params, macs, err
}
