package evolve

import (
	"fmt"
	"math"
	"slices"

	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/tree"
)

// edit is what a candidate changed in its parent, read back from the two
// trees: the prompt categories and repeat are defined in these terms.
type edit struct {
	c             *Candidate
	transform     tree.OpKind
	path          string
	module        string // what insert or swap brought in
	target        string // the op or module at path in the parent (delete, wrap, duplicate)
	arg           string // change-arg
	before, after tree.Value
	delta         float64 // child's val acc minus its parent's, in points; 0 when unknown
}

// editOf reconstructs c's edit. Values it cannot read stay zero.
func (e *Engine) editOf(c *Candidate) edit {
	ed := edit{c: c, transform: tree.OpKind(c.Transform), path: c.Path, module: c.Module}
	parent := e.arch.byID[c.ParentID]
	if parent != nil && c.Status == StatusTrained && parent.Feasible() {
		ed.delta = c.Result.ValAcc - parent.Result.ValAcc
	}
	if ed.transform == tree.OpChangeArg {
		for k := range c.Args {
			ed.arg = k
		}
	}
	var pt *tree.Tree
	if parent != nil {
		pt, _ = e.treeOf(parent)
	}
	if pt != nil {
		if n, err := pt.Find(c.Path); err == nil {
			ed.target = nodeName(n)
			if ed.arg != "" {
				ed.before = argValue(n, ed.arg, e.Catalog)
			}
		}
	}
	if ed.arg != "" {
		if ct, err := e.treeOf(c); err == nil && ct != nil {
			if n, err := ct.Find(c.Path); err == nil {
				ed.after = argValue(n, ed.arg, e.Catalog)
			}
		}
	}
	return ed
}

func argValue(n *tree.Node, arg string, cat tree.Catalog) tree.Value {
	for _, s := range tree.ArgSpecs(n, cat) {
		if s.Name == arg {
			return tree.EffectiveArg(n, s)
		}
	}
	return n.Args[arg]
}

func nodeName(n *tree.Node) string {
	switch n.Kind {
	case tree.KindModule:
		return n.Module
	case tree.KindOp:
		return n.Op
	}
	return string(n.Kind)
}

// direction is the sign of a numeric change (0 when not numeric).
func direction(before, after tree.Value) int {
	b, ok1 := before.AsFloat()
	a, ok2 := after.AsFloat()
	if !ok1 || !ok2 {
		return 0
	}
	switch {
	case a > b:
		return 1
	case a < b:
		return -1
	}
	return 0
}

// repeats is repeat's filter: does applying option o with value v make
// the same kind of change as ed (same module or argument, same
// direction)? The site may differ; the very same child is a duplicate
// and never passes the gate.
func (ed edit) repeats(t *tree.Tree) func(o option, v tree.Value) bool {
	return func(o option, v tree.Value) bool {
		if o.Op != ed.transform {
			return false
		}
		switch o.Op {
		case tree.OpChangeArg:
			if dir := direction(ed.before, ed.after); dir != 0 {
				return o.Arg == ed.arg && direction(o.Current, v) == dir
			}
			// Enum, bool or string: the same value, set on the same argument
			// or on an argument of the same kind elsewhere (another cell edge).
			return v.Equal(ed.after) && (o.Arg == ed.arg || sameArgKind(o.Arg, ed.arg))
		case tree.OpInsert, tree.OpSwap:
			return o.moduleName() == ed.module
		default: // delete, wrap, duplicate, compose: the same kind of node
			n, err := t.Find(o.Path)
			return err == nil && (ed.target == "" || nodeName(n) == ed.target)
		}
	}
}

// sameArgKind: NAS-Bench-201 cell edges e{j}_{i} are one kind of argument.
func sameArgKind(a, b string) bool {
	return len(a) > 1 && len(b) > 1 && a[0] == 'e' && b[0] == 'e' && a[1] >= '0' && a[1] <= '9' && b[1] >= '0' && b[1] <= '9'
}

// lineageWin is the most recent successful edit on parent's line of
// descent (parent included): what repeat repeats.
func (e *Engine) lineageWin(parent *Candidate) *Candidate {
	for c := parent; c != nil && c.Op != OpSeed; c = e.arch.byID[c.ParentID] {
		if c.Reward == 1 && c.Transform != "" && c.Op != OpCodegen {
			return c
		}
	}
	return nil
}

// historyAncestors and historyTried bound what a decision shows of the
// lineage and of the parent's children already tried.
const (
	historyAncestors = 6
	historyTried     = 6
)

// parentSummary is what the resolver sees of the parent: its outline,
// metrics, and the edits around it, with values before and after and the
// accuracy change: its ancestors' (oldest first), then its children
// already tried (oldest first, marked Tried).
func (e *Engine) parentSummary(parent *Candidate, t *tree.Tree) llm.ParentSummary {
	s := llm.ParentSummary{Outline: outline(t), Metrics: map[string]float64{
		"val_acc": parent.Result.ValAcc, "params": float64(parent.Params), "flops": float64(parent.FLOPs)}}
	var anc []llm.Step
	for c := parent; c != nil && c.Op != OpSeed && len(anc) < historyAncestors; c = e.arch.byID[c.ParentID] {
		anc = append(anc, e.step(c, false))
	}
	slices.Reverse(anc)
	var tried []llm.Step
	for i := len(e.arch.order) - 1; i >= 0 && len(tried) < historyTried; i-- {
		c := e.arch.order[i]
		if c.ParentID == parent.ID && (c.Status == StatusTrained || c.Status == StatusFailed) && c.Transform != "" {
			tried = append(tried, e.step(c, true))
		}
	}
	slices.Reverse(tried)
	s.History = append(anc, tried...)
	return s
}

func (e *Engine) step(c *Candidate, tried bool) llm.Step {
	ed := e.editOf(c)
	st := llm.Step{Op: c.Op, Transform: c.Transform, Path: c.Path, Module: c.Module, Arg: ed.arg,
		Reward: float64(max(c.Reward, 0)), Delta: math.Round(ed.delta*100) / 100, Tried: tried}
	if ed.arg != "" {
		st.Before, st.After = choiceString(ed.before), choiceString(ed.after)
	}
	if c.Status == StatusFailed {
		st.Note = "failed: " + string(c.Result.Status)
	}
	if st.Module == "" && ed.target != "" && c.Transform != string(tree.OpChangeArg) {
		st.Note = joinNote(st.Note, "node "+ed.target)
	}
	switch tree.OpKind(c.Transform) {
	case tree.OpSwap:
		st.Replaced = e.replacedNode(c)
	case tree.OpCompose:
		if def, ok := c.Args["definition"].(string); ok {
			st.Replaced = fmt.Sprintf("block %s = %s", c.Module, def)
			if at, ok := c.Args["placed_at"].(string); ok {
				st.Replaced += ", a copy placed at " + at
			}
		}
	}
	return st
}

// replacedNode describes the node a swap took out of c's parent, with
// its arguments: what a reverse prompt offers to go back to.
func (e *Engine) replacedNode(c *Candidate) string {
	parent := e.arch.byID[c.ParentID]
	if parent == nil {
		return ""
	}
	pt, err := e.treeOf(parent)
	if err != nil || pt == nil {
		return ""
	}
	n, err := pt.Find(c.Path)
	if err != nil {
		return ""
	}
	if n.Block != "" {
		return "composite block " + n.Block
	}
	return blockSummary(&tree.Node{Children: []*tree.Node{n}})
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
