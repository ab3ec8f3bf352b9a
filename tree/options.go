package tree

import (
	"fmt"
	"strconv"
)

// Option is one concrete place where a transformation yields a valid tree.
type Option struct {
	Op   OpKind `json:"op"`
	Path string `json:"path"` // the target node; the parent for insert and compose
	// Index is the insert position, or the first grouped child for compose.
	Index int `json:"index,omitempty"`
	// To ends the compose range [Index, To).
	To int `json:"to,omitempty"`
	// Node is the candidate for insert and swap; Candidate its index in the
	// candidates given to Options.
	Node      *Node `json:"node,omitempty"`
	Candidate int   `json:"candidate,omitempty"`
	// Arg and Range describe a change-arg option; Choices, when set, lists
	// every alternative value that keeps the tree valid (enum, bool and
	// small int ranges). The caller sets Value before Apply.
	Arg     string  `json:"arg,omitempty"`
	Range   ArgSpec `json:"range,omitzero"`
	Current Value   `json:"current,omitzero"`
	Choices []Value `json:"choices,omitempty"`
	Value   Value   `json:"value,omitzero"`
	// Name is the compose block's name (derived when empty).
	Name string `json:"name,omitempty"`
}

// String describes the option in one line (for prompts and logs).
func (o Option) String() string {
	switch o.Op {
	case OpInsert:
		return fmt.Sprintf("insert candidate %d at %s index %d", o.Candidate, o.Path, o.Index)
	case OpSwap:
		return fmt.Sprintf("swap %s with candidate %d", o.Path, o.Candidate)
	case OpCompose:
		return fmt.Sprintf("compose %s children [%d, %d)", o.Path, o.Index, o.To)
	case OpChangeArg:
		return fmt.Sprintf("change %s arg %s (now %s)", o.Path, o.Arg, o.Current)
	}
	return fmt.Sprintf("%s %s", o.Op, o.Path)
}

// Apply applies one option (for change-arg, o.Value must be set).
func Apply(t *Tree, o Option, cat Catalog) (*Tree, error) {
	switch o.Op {
	case OpChangeArg:
		if o.Value.IsZero() {
			return nil, &TransformError{Op: o.Op, Path: o.Path, Reason: "no value chosen: set Option.Value"}
		}
		return ChangeArg(t, o.Path, o.Arg, o.Value, cat)
	case OpSwap:
		return Swap(t, o.Path, o.Node, cat)
	case OpInsert:
		return Insert(t, o.Path, o.Index, o.Node, cat)
	case OpDelete:
		return Delete(t, o.Path, cat)
	case OpCompose:
		return Compose(t, o.Path, o.Index, o.To, o.Name, cat)
	case OpDuplicate:
		return Duplicate(t, o.Path, cat)
	case OpWrapResidual:
		return WrapResidual(t, o.Path, cat)
	}
	return nil, &TransformError{Op: o.Op, Path: o.Path, Reason: "unknown operation"}
}

// ApplyListed applies an option that Options listed for t, without
// validating the result: the caller checks the child anyway (tree.Check),
// so the validation Apply does would be a second full check.
func ApplyListed(t *Tree, o Option, cat Catalog) (*Tree, error) {
	switch o.Op {
	case OpChangeArg:
		if o.Value.IsZero() {
			return nil, &TransformError{Op: o.Op, Path: o.Path, Reason: "no value chosen: set Option.Value"}
		}
		return changeArg(t, o.Path, o.Arg, o.Value, cat)
	case OpSwap:
		return swap(t, o.Path, o.Node)
	case OpInsert:
		return insert(t, o.Path, o.Index, o.Node)
	case OpDelete:
		return del(t, o.Path)
	case OpCompose:
		return compose(t, o.Path, o.Index, o.To, o.Name)
	case OpDuplicate:
		return duplicate(t, o.Path)
	case OpWrapResidual:
		return wrapResidual(t, o.Path)
	}
	return nil, &TransformError{Op: o.Op, Path: o.Path, Reason: "unknown operation"}
}

// Options lists every (place, candidate) at which op yields a valid tree,
// in a deterministic order (tree pre-order, then index, then candidate).
// candidates are used by insert and swap; invalid candidates are skipped.
// It returns nil when t itself is invalid.
//
// It is incremental: the tree is checked once with a cache keyed by (node,
// input shape); an option whose node keeps its local output shape is valid
// without looking further, and any other is checked on a copy that shares
// every untouched subtree, so only the edited path is inferred again.
func Options(t *Tree, op OpKind, candidates []*Node, cat Catalog) []Option {
	e := newEnumerator(t, cat)
	if e == nil {
		return nil
	}
	var cands []*Node
	var candIdx []int
	for i, c := range candidates {
		if c != nil && validateStructure("/", c) == nil {
			cands = append(cands, c)
			candIdx = append(candIdx, i)
		}
	}
	var out []Option
	var refs []optRef // insert and swap collect compact refs: Option is large
	if op == OpInsert || op == OpSwap {
		bound := 0
		for _, s := range e.sites {
			if op == OpSwap {
				bound++
			} else if s.n.Kind == KindSeq || s.n.Kind == KindBranch {
				bound += len(s.n.Children) + 1
			}
		}
		refs = make([]optRef, 0, bound*len(cands))
	}
	for _, s := range e.sites {
		switch op {
		case OpInsert:
			refs = e.insertOptions(refs, s, cands)
		case OpSwap:
			refs = e.swapOptions(refs, s, cands)
		case OpDelete:
			if ok, fast := e.deletable(s); ok && (fast || e.valid(func() (*Tree, error) { return del(t, s.path) }, s, s.in)) {
				out = append(out, Option{Op: op, Path: s.path})
			}
		case OpDuplicate:
			if s.parent != nil && s.parent.n.Kind == KindSeq && e.duplicateValid(s) {
				out = append(out, Option{Op: op, Path: s.path})
			}
		case OpWrapResidual:
			if s.parent != nil && s.n.Kind != KindResidual && e.valid(func() (*Tree, error) { return wrapResidual(t, s.path) }, s, s.out) {
				out = append(out, Option{Op: op, Path: s.path})
			}
		case OpCompose:
			// Only inside a stage or a block body (InBody): never the
			// root's stem-to-head sequence, the stem or the head.
			if s.n.Kind == KindSeq && InBody(s.path) {
				k := len(s.n.Children)
				for from := 0; from < k; from++ {
					for to := from + 2; to <= k; to++ {
						if from == 0 && to == k {
							continue // regrouping the whole seq adds nothing
						}
						out = append(out, Option{Op: op, Path: s.path, Index: from, To: to})
					}
				}
			}
		case OpChangeArg:
			out = e.changeArgOptions(out, s)
		}
	}
	if len(refs) > 0 {
		out = make([]Option, len(refs))
		for i, r := range refs {
			out[i] = Option{Op: op, Path: r.s.path, Index: int(r.index), Node: cands[r.cand], Candidate: candIdx[r.cand]}
		}
	}
	return out
}

// optRef is an insert or swap option before it is expanded.
type optRef struct {
	s     *site
	index int32
	cand  int32
}

// site is one node of the base tree with its context.
type site struct {
	n           *Node
	path        string
	parent      *site
	index       int   // position among the parent's children
	in, out     Shape // for a repeat's child: its first copy
	underRepeat bool  // inputs differ between copies: no local shortcut
}

type enumerator struct {
	t     *Tree
	cat   Catalog
	c     checker
	sites []*site
	// seen caches the validity of non-local edits by (site, index, new
	// output shape): most candidates produce one of a few shapes.
	seen map[seenKey]bool
}

type seenKey struct {
	s     *site
	index int
	out   Shape
	op    OpKind
}

func newEnumerator(t *Tree, cat Catalog) *enumerator {
	e := &enumerator{t: t, cat: cat, c: checker{cat: cat, memo: make(map[memoKey]memoVal, 512)}, seen: map[seenKey]bool{}}
	if _, _, _, err := e.c.tree(t); err != nil {
		return nil
	}
	e.collect(t.Root, "/", nil, 0, t.Input, false)
	return e
}

// collect walks the checked tree, reading shapes from the memo.
func (e *enumerator) collect(n *Node, path string, parent *site, index int, in Shape, underRepeat bool) Shape {
	s := &site{n: n, path: path, parent: parent, index: index, in: in, underRepeat: underRepeat}
	e.sites = append(e.sites, s)
	s.out = e.c.memo[memoKey{n, in}].out
	switch n.Kind {
	case KindSeq:
		x := in
		for i, c := range n.Children {
			x = e.collect(c, childPath(path, c.Name), s, i, x, underRepeat)
		}
	case KindResidual, KindBranch:
		for i, c := range n.Children {
			e.collect(c, childPath(path, c.Name), s, i, in, underRepeat)
		}
	case KindRepeat:
		e.collect(n.Children[0], childPath(path, n.Children[0].Name), s, 0, in, underRepeat || intArg(n, "n", 1) > 1)
	}
	return s.out
}

// valid runs a full (memoized) check of the edited tree.
func (e *enumerator) valid(build func() (*Tree, error), s *site, _ Shape) bool {
	nt, err := build()
	if err != nil {
		return false
	}
	_, _, _, err = e.c.tree(nt)
	return err == nil
}

// local infers candidate c at input in, memoized by (c, in).
func (e *enumerator) local(c *Node, in Shape) (Shape, bool) {
	e.c.steps = 0
	out, _, _, err := e.c.infer(c, e.c.root(), in)
	return out, err == nil
}

func (e *enumerator) insertOptions(out []optRef, s *site, cands []*Node) []optRef {
	if s.n.Kind != KindSeq && s.n.Kind != KindBranch {
		return out
	}
	x := s.in
	for i := 0; i <= len(s.n.Children); i++ {
		if s.n.Kind == KindSeq && i > 0 {
			x = e.c.memo[memoKey{s.n.Children[i-1], x}].out
		}
		for k, c := range cands {
			ok := false
			if s.n.Kind == KindSeq && !s.underRepeat {
				o, fine := e.local(c, x)
				switch {
				case !fine:
				case o == x:
					ok = true // shape-preserving: nothing downstream changes
				default:
					key := seenKey{s, i, o, OpInsert}
					v, hit := e.seen[key]
					if !hit {
						v = e.valid(func() (*Tree, error) { return insert(e.t, s.path, i, c) }, s, o)
						e.seen[key] = v
					}
					ok = v
				}
			} else {
				ok = e.valid(func() (*Tree, error) { return insert(e.t, s.path, i, c) }, s, x)
			}
			if ok {
				out = append(out, optRef{s, int32(i), int32(k)})
			}
		}
	}
	return out
}

func (e *enumerator) swapOptions(out []optRef, s *site, cands []*Node) []optRef {
	if s.parent == nil {
		return out
	}
	for k, c := range cands {
		ok := false
		if !s.underRepeat {
			o, fine := e.local(c, s.in)
			switch {
			case !fine:
			case o == s.out:
				ok = true
			default:
				key := seenKey{s, -1, o, OpSwap}
				v, hit := e.seen[key]
				if !hit {
					v = e.valid(func() (*Tree, error) { return swap(e.t, s.path, c) }, s, o)
					e.seen[key] = v
				}
				ok = v
			}
		} else {
			ok = e.valid(func() (*Tree, error) { return swap(e.t, s.path, c) }, s, s.in)
		}
		if ok {
			out = append(out, optRef{s, 0, int32(k)})
		}
	}
	return out
}

// deletable says whether s may be deleted at all, and whether that is
// certainly valid without a check (a shape-preserving child of a seq).
func (e *enumerator) deletable(s *site) (ok, fast bool) {
	if s.parent == nil {
		return false, false
	}
	switch p := s.parent.n; {
	case p.Kind == KindSeq:
		return true, s.in == s.out && !s.underRepeat
	case p.Kind == KindBranch:
		return len(p.Children) > 1, false
	case p.Kind == KindResidual:
		return s.index == 1, false
	}
	return false, false
}

func (e *enumerator) duplicateValid(s *site) bool {
	if !s.underRepeat {
		o, fine := e.local(s.n, s.out)
		if !fine {
			return false
		}
		if o == s.out {
			return true
		}
	}
	return e.valid(func() (*Tree, error) { return duplicate(e.t, s.path) }, s, s.out)
}

// changeArgOptions lists the changeable arguments of s's node. For enum,
// bool and small int ranges it keeps only valid alternatives and drops the
// option when there are none. Tied cells are listed once per tie group.
func (e *enumerator) changeArgOptions(out []Option, s *site) []Option {
	n := s.n
	if n.Kind == KindSeq || n.Kind == KindBranch || (n.Kind == KindModule && e.cat == nil) {
		return out
	}
	if n.Kind == KindCell && CellTie(n) != "" {
		for _, o := range e.sites {
			if o == s {
				break
			}
			if o.n.Kind == KindCell && CellTie(o.n) == CellTie(n) {
				return out // listed at the first cell of the group
			}
		}
	}
	for _, spec := range ArgSpecs(n, e.cat) {
		if n.Kind == KindCell && spec.Name == "tie" {
			continue
		}
		cur := EffectiveArg(n, spec)
		o := Option{Op: OpChangeArg, Path: s.path, Arg: spec.Name, Range: spec, Current: cur}
		if dom := domain(spec); dom != nil {
			for _, v := range dom {
				if v.Equal(cur) {
					continue
				}
				if e.valid(func() (*Tree, error) { return changeArg(e.t, s.path, spec.Name, v, e.cat) }, s, s.in) {
					o.Choices = append(o.Choices, v)
				}
			}
			if len(o.Choices) == 0 {
				continue
			}
		}
		out = append(out, o)
	}
	return out
}

// domain enumerates small argument domains (nil when too large).
func domain(spec ArgSpec) []Value {
	switch spec.Type {
	case TypeBool:
		return []Value{Bool(false), Bool(true)}
	case TypeEnum:
		d := make([]Value, len(spec.Choices))
		for i, c := range spec.Choices {
			d[i] = String(c)
		}
		return d
	case TypeInt:
		if spec.Max-spec.Min <= 16 && spec.Max >= spec.Min && spec.Name != "n" {
			var d []Value
			for i := int(spec.Min); i <= int(spec.Max); i++ {
				d = append(d, Int(i))
			}
			return d
		}
	}
	return nil
}

// OptionKey is a stable identifier for an option (for logs and dedup).
func OptionKey(o Option) string {
	return string(o.Op) + " " + o.Path + " " + strconv.Itoa(o.Index) + " " + strconv.Itoa(o.To) + " " + strconv.Itoa(o.Candidate) + " " + o.Arg
}
