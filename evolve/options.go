package evolve

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/tree"
)

// option is one enumerated tree option, as the engine offers it to the
// resolver and applies the choice.
type option struct {
	tree.Option
	cat tree.Catalog
}

// treeOps maps a planner operation to the tree transformations that
// realise it. Insert includes "wrap in residual" and duplicate (deepen),
// the paper's insert variants. Repeat reuses the last win's
// transformation and prefers the very same change (path and module or
// argument) when it is still valid on the new parent.
func (e *Engine) treeOps(op string) ([]tree.OpKind, func(option) bool) {
	switch op {
	case OpChangeArg:
		return []tree.OpKind{tree.OpChangeArg}, nil
	case OpSwap:
		return []tree.OpKind{tree.OpSwap}, nil
	case OpInsert:
		return []tree.OpKind{tree.OpInsert, tree.OpWrapResidual, tree.OpDuplicate}, nil
	case OpDelete:
		return []tree.OpKind{tree.OpDelete}, nil
	case OpCompose:
		return []tree.OpKind{tree.OpCompose}, nil
	case OpRepeat:
		w := e.arch.lastWin
		if w == nil || w.Transform == "" {
			return nil, nil
		}
		arg := ""
		if tree.OpKind(w.Transform) == tree.OpChangeArg {
			for k := range w.Args {
				arg = k
			}
		}
		return []tree.OpKind{tree.OpKind(w.Transform)}, func(o option) bool {
			return o.Path == w.Path && o.moduleName() == w.Module && o.Arg == arg
		}
	}
	return nil, nil
}

// options enumerates every valid option of the given kinds on t. Insert
// and swap bring in the primitive palette plus a seeded sample of at most
// paletteModules catalog modules: a 300-module catalog would otherwise
// enumerate tens of thousands of options per proposal, and a fresh sample
// each time keeps the offers diverse.
func (e *Engine) options(parentID string, t *tree.Tree, kinds []tree.OpKind, rng *rand.Rand) ([]option, error) {
	if len(kinds) == 0 {
		return nil, fmt.Errorf("no transformation to enumerate")
	}
	if e.primitives == nil {
		e.primitives = candidateNodes(nil)
	}
	var out []option
	for _, k := range kinds {
		if k == tree.OpInsert || k == tree.OpSwap {
			out = append(out, e.enumerate(t, k, e.palette(rng))...)
			continue
		}
		// Trees are immutable, so a parent's options of a palette-free kind
		// never change: parents are drawn again and again from the top-k.
		key := optionsKey{parentID, k}
		opts, ok := e.optCache[key]
		if !ok {
			opts = e.enumerate(t, k, nil)
			if len(e.optCache) >= optCacheSize {
				clear(e.optCache)
			}
			e.optCache[key] = opts
		}
		out = append(out, opts...)
	}
	return out, nil
}

type optionsKey struct {
	parent string
	kind   tree.OpKind
}

// optCacheSize bounds the cache of enumerated options (a few parents' worth).
const optCacheSize = 64

func (e *Engine) enumerate(t *tree.Tree, k tree.OpKind, palette []*tree.Node) []option {
	var out []option
	for _, o := range tree.Options(t, k, palette, e.Catalog) {
		if e.Filter != nil && !e.Filter(t, o) {
			continue
		}
		out = append(out, option{Option: o, cat: e.Catalog})
	}
	return out
}

// paletteModules bounds the catalog modules offered per proposal.
const paletteModules = 24

func (e *Engine) palette(rng *rand.Rand) []*tree.Node {
	nodes := slices.Clone(e.primitives)
	var mods []*tree.ModuleSpec
	for _, m := range e.Modules {
		if m.Inputs <= 1 {
			mods = append(mods, m)
		}
	}
	if len(mods) > paletteModules {
		// A uniform sample without replacement, kept in catalog order.
		idx := rng.Perm(len(mods))[:paletteModules]
		slices.Sort(idx)
		sample := make([]*tree.ModuleSpec, len(idx))
		for i, j := range idx {
			sample[i] = mods[j]
		}
		mods = sample
	}
	for _, m := range mods {
		nodes = append(nodes, tree.Module("", m.ID, nil))
	}
	return nodes
}

// candidateNodes is the primitive palette insert and swap may bring in,
// then the given catalog modules at their probed arguments.
func candidateNodes(mods []*tree.ModuleSpec) []*tree.Node {
	nodes := []*tree.Node{
		tree.Op("", "conv2d", tree.A("kernel", 3)),
		tree.Op("", "conv2d", tree.A("kernel", 1)),
		tree.Op("", "conv2d", tree.A("kernel", 5)),
		tree.Op("", "conv2d", tree.A("kernel", 3, "groups", 0)),
		tree.Op("", "batchnorm2d", nil),
		tree.Op("", "relu", nil),
		tree.Op("", "relu6", nil),
		tree.Op("", "gelu", nil),
		tree.Op("", "silu", nil),
		tree.Op("", "hardswish", nil),
		tree.Op("", "identity", nil),
		tree.Op("", "dropout", tree.A("p", 0.1)),
		tree.Op("", "maxpool2d", tree.A("kernel", 3, "stride", 1, "padding", 1)),
		tree.Op("", "avgpool2d", tree.A("kernel", 3, "stride", 1, "padding", 1)),
	}
	for _, m := range mods {
		if m.Inputs <= 1 {
			nodes = append(nodes, tree.Module("", m.ID, nil))
		}
	}
	return nodes
}

// moduleName is what the option brings in: a module ID or primitive name.
func (o option) moduleName() string {
	if o.Node == nil {
		return ""
	}
	if o.Node.Kind == tree.KindModule {
		return o.Node.Module
	}
	if o.Node.Kind == tree.KindOp {
		return o.Node.Op
	}
	return string(o.Node.Kind)
}

// groupKey is the diversity key of an option: what it brings in, which
// argument it changes, or (for structural edits) the parent it works under.
type groupKey struct {
	op   tree.OpKind
	name string
}

func (o option) group() groupKey {
	switch o.Op {
	case tree.OpInsert, tree.OpSwap:
		return groupKey{tree.OpInsert, o.moduleName()}
	case tree.OpChangeArg:
		return groupKey{o.Op, o.Arg}
	}
	i := strings.LastIndexByte(o.Path, '/')
	return groupKey{o.Op, o.Path[:max(i, 0)]}
}

// describe is the option's one-line description for the resolver.
func (o option) describe() string {
	switch o.Op {
	case tree.OpInsert:
		return fmt.Sprintf("insert %s into %s at position %d", o.nodeLabel(), o.Path, o.Index)
	case tree.OpSwap:
		return fmt.Sprintf("replace the node at %s with %s", o.Path, o.nodeLabel())
	case tree.OpChangeArg:
		return fmt.Sprintf("change argument %s of %s (now %s)", o.Arg, o.Path, o.Current)
	case tree.OpDelete:
		return fmt.Sprintf("delete the node at %s", o.Path)
	case tree.OpCompose:
		return fmt.Sprintf("group children %d..%d of %s into a new block and repeat it", o.Index, o.To-1, o.Path)
	case tree.OpDuplicate:
		return fmt.Sprintf("duplicate the node at %s (deepen)", o.Path)
	case tree.OpWrapResidual:
		return fmt.Sprintf("wrap the node at %s in a residual connection", o.Path)
	}
	return o.String()
}

func (o option) nodeLabel() string {
	if o.Node == nil {
		return "?"
	}
	if o.Node.Kind == tree.KindModule && o.cat != nil {
		if m, ok := o.cat.Module(o.Node.Module); ok {
			return fmt.Sprintf("module %s (%s)", m.Name, m.QualName)
		}
	}
	if o.Node.Kind == tree.KindOp {
		var args []string
		for _, k := range slices.Sorted(mapKeys(o.Node.Args)) {
			args = append(args, k+"="+o.Node.Args[k].String())
		}
		return fmt.Sprintf("%s(%s)", o.Node.Op, strings.Join(args, ", "))
	}
	return string(o.Node.Kind)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// tunable reports whether an argument of a brought-in node may be set by
// the resolver: widths and strides change shapes, and the option was
// validated with the node's own, so they stay as they are.
func tunable(spec tree.ArgSpec, n *tree.Node, m *tree.ModuleSpec) bool {
	switch spec.Name {
	case "out", "stride", "groups", "padding", "size":
		return false
	case "kernel":
		// A pool's padding does not follow its kernel, so the kernel changes the shape.
		if n.Kind == tree.KindOp && (n.Op == "maxpool2d" || n.Op == "avgpool2d") {
			return false
		}
	}
	if m != nil && (spec.Name == m.OutArg || spec.Name == m.StrideArg || spec.Name == m.InArg) {
		return false
	}
	return true
}

// decisionOption converts the option for the resolver.
func (o option) decisionOption(id string, cat tree.Catalog) llm.Option {
	d := llm.Option{ID: id, Path: o.Path, Description: o.describe()}
	switch o.Op {
	case tree.OpInsert, tree.OpSwap:
		var ms *tree.ModuleSpec
		if o.Node.Kind == tree.KindModule && cat != nil {
			if m, ok := cat.Module(o.Node.Module); ok {
				ms = m
				d.Module = &llm.ModuleInfo{ID: m.ID, Name: m.Name, Category: m.Category, Interface: moduleInterface(m), Source: m.Source}
			}
		}
		for _, spec := range tree.ArgSpecs(o.Node, cat) {
			if !tunable(spec, o.Node, ms) {
				continue
			}
			if r, ok := argRange(spec, o.Node.Args[spec.Name], nil); ok {
				d.Args = append(d.Args, r)
			}
		}
	case tree.OpChangeArg:
		if r, ok := argRange(o.Range, o.Current, o.Choices); ok {
			d.Args = []llm.ArgRange{r}
		}
	}
	return d
}

func moduleInterface(m *tree.ModuleSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: category %s", m.QualName, m.Category)
	if m.InArg != "" {
		fmt.Fprintf(&b, "; input width -> %s", m.InArg)
	}
	if m.OutArg != "" {
		fmt.Fprintf(&b, "; output width <- %s", m.OutArg)
	}
	if m.SameWidth {
		b.WriteString("; keeps the width")
	}
	if m.PreservesShape {
		b.WriteString("; preserves (C,H,W)")
	}
	return b.String()
}

// argRange converts a tree argument spec into the resolver's range. Small
// domains become enums of their valid values (so any answer is valid);
// wide integer ranges (widths) are narrowed to [cur/2, 2*cur].
func argRange(spec tree.ArgSpec, cur tree.Value, choices []tree.Value) (llm.ArgRange, bool) {
	r := llm.ArgRange{Name: spec.Name}
	if len(choices) > 0 {
		r.Type = llm.ArgEnum
		for _, c := range choices {
			r.Choices = append(r.Choices, choiceString(c))
		}
		// An answer that omits the argument gets the first valid alternative.
		r.Default = r.Choices[0]
		return r, true
	}
	switch spec.Type {
	case tree.TypeInt:
		r.Type, r.Min, r.Max = llm.ArgInt, spec.Min, spec.Max
		if c, ok := cur.AsInt(); ok && c > 0 && spec.Max-spec.Min > 64 {
			r.Min = math.Max(spec.Min, math.Floor(float64(c)/2))
			r.Max = math.Min(spec.Max, float64(2*c))
		}
		if i, ok := cur.AsInt(); ok {
			r.Default = i
		} else if i, ok := spec.Default.AsInt(); ok {
			r.Default = i
		}
	case tree.TypeFloat:
		r.Type, r.Min, r.Max = llm.ArgFloat, spec.Min, spec.Max
		if f, ok := cur.AsFloat(); ok {
			r.Default = f
		} else if f, ok := spec.Default.AsFloat(); ok {
			r.Default = f
		}
	case tree.TypeBool:
		r.Type = llm.ArgBool
		if b, ok := cur.AsBool(); ok {
			r.Default = b
		}
	case tree.TypeEnum:
		r.Type, r.Choices = llm.ArgEnum, spec.Choices
	default:
		return r, false // strings and int lists are not offered
	}
	return r, true
}

// choiceString is how an offered value is named in an enum: strings bare
// (nor_conv_3x3, not "nor_conv_3x3"), other values as JSON.
func choiceString(v tree.Value) string {
	if s, ok := v.AsString(); ok {
		return s
	}
	return v.String()
}

// toValue converts a resolver's argument back to a tree value. Enum
// answers for non-enum arguments are matched against the offered values.
func toValue(spec tree.ArgSpec, choices []tree.Value, x any) (tree.Value, error) {
	if len(choices) > 0 {
		s := fmt.Sprint(x)
		for _, c := range choices {
			if choiceString(c) == s {
				return c, nil
			}
		}
		return tree.Value{}, fmt.Errorf("argument %s: %q is not one of the offered values", spec.Name, s)
	}
	switch v := x.(type) {
	case int:
		if spec.Type == tree.TypeFloat {
			return tree.Float(float64(v)), nil
		}
		return tree.Int(v), nil
	case float64:
		if spec.Type == tree.TypeInt {
			return tree.Int(int(math.Round(v))), nil
		}
		return tree.Float(v), nil
	case bool:
		return tree.Bool(v), nil
	case string:
		return tree.String(v), nil
	case []int:
		return tree.Ints(v...), nil
	}
	return tree.Value{}, fmt.Errorf("argument %s: unsupported value %v (%T)", spec.Name, x, x)
}

// apply applies the option with the resolver's arguments.
func (o option) apply(t *tree.Tree, args map[string]any, cat tree.Catalog) (*tree.Tree, error) {
	to := o.Option
	switch o.Op {
	case tree.OpChangeArg:
		x, ok := args[o.Arg]
		if !ok {
			return nil, fmt.Errorf("the choice sets no value for %s", o.Arg)
		}
		v, err := toValue(o.Range, o.Choices, x)
		if err != nil {
			return nil, err
		}
		to.Value = v
	case tree.OpInsert, tree.OpSwap:
		if len(args) > 0 {
			n := *o.Node
			n.Args = make(map[string]tree.Value, len(o.Node.Args)+len(args))
			for k, v := range o.Node.Args {
				n.Args[k] = v
			}
			specs := tree.ArgSpecs(o.Node, cat)
			for _, k := range slices.Sorted(mapKeys(args)) {
				i := slices.IndexFunc(specs, func(s tree.ArgSpec) bool { return s.Name == k })
				if i < 0 {
					return nil, fmt.Errorf("argument %s is not an argument of %s", k, o.nodeLabel())
				}
				v, err := toValue(specs[i], nil, args[k])
				if err != nil {
					return nil, err
				}
				n.Args[k] = v
			}
			to.Node = &n
		}
	}
	nt, err := tree.Apply(t, to, cat)
	if err != nil || o.Op != tree.OpCompose {
		return nt, err
	}
	// Grouping alone computes the same function (and hashes the same as
	// the parent, so dedup would reject it): the new block is reused at
	// once by duplicating it, which is what makes a composite worth having.
	p, err := nt.Find(o.Path)
	if err != nil || o.Index >= len(p.Children) {
		return nil, fmt.Errorf("compose: the new block under %s is missing", o.Path)
	}
	block := strings.TrimSuffix(o.Path, "/") + "/" + p.Children[o.Index].Name
	return tree.Duplicate(nt, block, cat)
}

// outline is the parent tree as an indented list of paths, for the prompt.
func outline(t *tree.Tree) string {
	var b strings.Builder
	fmt.Fprintf(&b, "input %dx%dx%d, %d classes\n", t.Input.C, t.Input.H, t.Input.W, t.Classes)
	t.Walk(func(path string, n *tree.Node) bool {
		depth := strings.Count(path, "/")
		if path == "/" {
			depth = 0
		}
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(path)
		b.WriteString(" ")
		switch n.Kind {
		case tree.KindOp:
			b.WriteString(n.Op)
		case tree.KindModule:
			b.WriteString("module " + n.Module)
		default:
			b.WriteString(string(n.Kind))
		}
		for _, k := range slices.Sorted(mapKeys(n.Args)) {
			fmt.Fprintf(&b, " %s=%s", k, n.Args[k])
		}
		b.WriteByte('\n')
		return true
	})
	return b.String()
}

// CellEdges is an Engine.Filter for cell search spaces (NAS-Bench-201):
// it keeps only changes of a cell's edge operations, the one kind of edit
// that stays inside the space.
func CellEdges(t *tree.Tree, o tree.Option) bool {
	if o.Op != tree.OpChangeArg || !strings.HasPrefix(o.Arg, "e") {
		return false
	}
	n, err := t.Find(o.Path)
	return err == nil && n.Kind == tree.KindCell
}
