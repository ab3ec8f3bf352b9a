package evolve

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/tree"
)

// option is one enumerated tree option, as the engine offers it to the
// resolver and applies the choice.
type option struct {
	*tree.Option // shared with the options cache: never modified
	cat          tree.Catalog
	// place is where compose puts the new block besides grouping the
	// span in place (a seq path and an index in it).
	place *placement
}

type placement struct {
	path  string
	index int
}

// treeOps maps a planner operation to the tree transformations that
// realise it, and for repeat a filter. Insert includes "wrap in residual"
// and duplicate (deepen), the paper's insert variants. Repeat re-applies
// the last successful transformation of parent's lineage: the same kind,
// the same module or argument, in the same direction, at another site or
// by a further step (the very same edit is a duplicate, which the gate
// removes).
func (e *Engine) treeOps(op string, parent *Candidate) ([]tree.OpKind, func(option, tree.Value) bool) {
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
		w := e.lineageWin(parent)
		if w == nil {
			return nil, nil
		}
		t, err := e.treeOf(parent)
		if err != nil || t == nil {
			return nil, nil
		}
		if w.Transform == string(tree.OpCompose) {
			// Repeating a compose places the winning block again at
			// another site (it is in the palette), rather than defining
			// an unrelated new one.
			block := w.Module
			if _, ok := e.composites[block]; !ok {
				return nil, nil
			}
			return []tree.OpKind{tree.OpInsert}, func(o option, _ tree.Value) bool {
				return o.Op == tree.OpInsert && o.moduleName() == block
			}
		}
		return []tree.OpKind{tree.OpKind(w.Transform)}, e.editOf(w).repeats(t)
	}
	return nil, nil
}

// options enumerates every valid option of the given kinds on t. Insert
// and swap bring in the primitive palette plus a seeded sample of at most
// paletteModules catalog modules: a 300-module catalog would otherwise
// enumerate tens of thousands of options per proposal, and a fresh sample
// each time keeps the offers diverse.
func (e *Engine) options(parentID string, t *tree.Tree, kinds []tree.OpKind) ([]option, error) {
	if len(kinds) == 0 {
		return nil, fmt.Errorf("no transformation to enumerate")
	}
	if e.primitives == nil {
		e.primitives = candidateNodes(nil)
	}
	// Trees are immutable, so a parent's options never change for one
	// palette, and parents are drawn again and again from the top-k: the
	// list is cached (shared, never modified). Insert and swap bring in a
	// palette sample that is drawn afresh every paletteEpoch proposals from
	// the same parent.
	key := optionsKey{parent: parentID, kind: kinds[0], n: len(kinds)}
	palette := slices.Contains(kinds, tree.OpInsert) || slices.Contains(kinds, tree.OpSwap)
	if palette {
		key.epoch = e.arch.children[parentID] / paletteEpoch
	}
	if opts, ok := e.optCache[key]; ok {
		return opts, nil
	}
	var nodes []*tree.Node
	if palette {
		nodes = e.palette(rand.New(rand.NewPCG(e.Config.Seed^uint64(rngPalette), uint64(key.epoch)<<32^hashString(parentID))))
	}
	var out []option
	for _, k := range kinds {
		switch k {
		case tree.OpInsert, tree.OpSwap:
			out = append(out, e.enumerate(t, k, nodes)...)
		case tree.OpCompose:
			out = append(out, e.composeOptions(parentID, t)...)
		default:
			out = append(out, e.enumerate(t, k, nil)...)
		}
	}
	if len(e.optCache) >= optCacheSize {
		clear(e.optCache)
	}
	e.optCache[key] = out
	return out, nil
}

// paletteEpoch is how many proposals from one parent share a palette sample.
const paletteEpoch = 4

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

type optionsKey struct {
	parent string
	kind   tree.OpKind // the first kind
	n      int         // how many kinds
	epoch  int
}

// optCacheSize bounds the cache of enumerated options (a few parents' worth).
const optCacheSize = 64

func (e *Engine) enumerate(t *tree.Tree, k tree.OpKind, palette []*tree.Node) []option {
	raw := tree.Options(t, k, palette, e.Catalog)
	out := make([]option, 0, len(raw))
	for i := range raw {
		if e.Filter != nil && !e.Filter(t, raw[i]) {
			continue
		}
		if raw[i].Node != nil && raw[i].Node.Block != "" && !tree.InBody(raw[i].Path) {
			continue // a composite block goes into a stage or a block body only
		}
		out = append(out, option{Option: &raw[i], cat: e.Catalog})
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
	// The run's composite blocks join the palette.
	for _, name := range slices.Sorted(maps.Keys(e.composites)) {
		nodes = append(nodes, e.composites[name])
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

// moduleName is what the option brings in: a module ID, a primitive
// name, or a composite block's name.
func (o option) moduleName() string {
	if o.Node == nil {
		return ""
	}
	if o.Node.Block != "" {
		return o.Node.Block
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
		at := ""
		if o.place != nil {
			at = fmt.Sprintf(" and place a copy into %s at position %d", o.place.path, o.place.index)
		}
		return fmt.Sprintf("define composite block %s = children %d..%d of %s (%s)%s", o.Name, o.Index, o.To-1, o.Path, blockSummary(o.Node), at)
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
	if o.Node.Block != "" {
		return fmt.Sprintf("composite block %s (%s)", o.Node.Block, blockSummary(o.Node))
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

// decisionOption converts the option for the resolver: what it does and,
// for a module, the module's interface and source. Argument values are
// added by the caller, from the pre-gated children.
func (o option) decisionOption(id string, cat tree.Catalog) llm.Option {
	d := llm.Option{ID: id, Path: o.Path, Description: o.describe()}
	if (o.Op == tree.OpInsert || o.Op == tree.OpSwap) && o.Node != nil && o.Node.Block != "" {
		// A composite block of this run: its definition is all there is.
		d.Module = &llm.ModuleInfo{ID: o.Node.Block, Name: o.Node.Block, Category: "composite block",
			Interface: "a sequence of " + blockSummary(o.Node)}
	} else if (o.Op == tree.OpInsert || o.Op == tree.OpSwap) && o.Node.Kind == tree.KindModule && cat != nil {
		if m, ok := cat.Module(o.Node.Module); ok {
			d.Module = &llm.ModuleInfo{ID: m.ID, Name: m.Name, Category: m.Category, Interface: moduleInterface(m), Source: m.Source}
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

// choiceString is how an offered value is named in an enum: strings bare
// (nor_conv_3x3, not "nor_conv_3x3"), other values as JSON.
func choiceString(v tree.Value) string {
	if s, ok := v.AsString(); ok {
		return s
	}
	return v.String()
}

// applyOption applies a tree option the tools listed for t; the result
// is checked by the gate. Compose defines the block (grouping the span in
// place, which computes the same function) and places a copy of it at
// another site, which makes the child a new network.
func (o option) applyOption(t *tree.Tree, to tree.Option, cat tree.Catalog) (*tree.Tree, error) {
	if o.Op != tree.OpCompose {
		return tree.ApplyListed(t, to, cat)
	}
	if o.place == nil {
		return nil, fmt.Errorf("compose: the block %s has no site to be placed at", o.Name)
	}
	g, block, err := tree.DefineBlock(t, o.Path, o.Index, o.To, o.Name, cat)
	if err != nil {
		return nil, err
	}
	return tree.ApplyListed(g, tree.Option{Op: tree.OpInsert, Path: o.place.path, Index: o.place.index, Node: block}, cat)
}

// composeSpans and composeSites bound compose's options per parent: a
// seeded sample of spans, each with a seeded sample of sites.
const (
	composeSpans = 8
	composeSites = 6
)

// composeOptions lists compose options at t: a contiguous span of two or
// more children of a seq inside a stage or a block body (tree.InBody:
// never the root, the stem or the head), defined as a composite block and
// placed at another valid site, again inside a stage or a block body (not
// inside itself, not right beside it).
func (e *Engine) composeOptions(parentID string, t *tree.Tree) []option {
	spans := tree.Options(t, tree.OpCompose, nil, e.Catalog)
	rng := rand.New(rand.NewPCG(e.Config.Seed^0xc0b1, hashString(parentID)))
	rng.Shuffle(len(spans), func(i, j int) { spans[i], spans[j] = spans[j], spans[i] })
	var out []option
	for _, sp := range spans[:min(len(spans), composeSpans)] {
		g, block, err := tree.DefineBlock(t, sp.Path, sp.Index, sp.To, "", e.Catalog)
		if err != nil {
			continue
		}
		self := strings.TrimSuffix(sp.Path, "/") + "/" + block.Name
		sites := tree.Options(g, tree.OpInsert, []*tree.Node{block}, e.Catalog)
		rng.Shuffle(len(sites), func(i, j int) { sites[i], sites[j] = sites[j], sites[i] })
		n := 0
		for _, s := range sites {
			if n == composeSites {
				break
			}
			inside := s.Path == self || strings.HasPrefix(s.Path, self+"/")
			beside := s.Path == sp.Path && (s.Index == sp.Index || s.Index == sp.Index+1)
			if inside || beside || !tree.InBody(s.Path) {
				continue
			}
			o := sp
			o.Name, o.Node = block.Block, block
			out = append(out, option{Option: &o, cat: e.Catalog, place: &placement{s.Path, s.Index}})
			n++
		}
	}
	return out
}

// blockSummary lists a block's children, e.g. "conv2d(out=16) -> batchnorm2d".
func blockSummary(n *tree.Node) string {
	if n == nil {
		return ""
	}
	var parts []string
	for _, c := range n.Children {
		label := nodeName(c)
		var args []string
		for _, k := range slices.Sorted(maps.Keys(c.Args)) {
			args = append(args, k+"="+c.Args[k].String())
		}
		if len(args) > 0 {
			label += "(" + strings.Join(args, ", ") + ")"
		}
		parts = append(parts, label)
	}
	return strings.Join(parts, " -> ")
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
// that stays inside the space. Cells tied to one genotype share their
// edges, so only the first cell of a tie group offers them: the same
// change offered once per cell would be gated 15 times on NAS-Bench-201's
// skeleton for one child.
func CellEdges(t *tree.Tree, o tree.Option) bool {
	if o.Op != tree.OpChangeArg || !strings.HasPrefix(o.Arg, "e") {
		return false
	}
	n, err := t.Find(o.Path)
	if err != nil || n.Kind != tree.KindCell {
		return false
	}
	tie := tree.CellTie(n)
	if tie == "" {
		return true
	}
	first := ""
	t.Walk(func(path string, m *tree.Node) bool {
		if first == "" && m.Kind == tree.KindCell && tree.CellTie(m) == tie {
			first = path
		}
		return first == ""
	})
	return first == o.Path
}
