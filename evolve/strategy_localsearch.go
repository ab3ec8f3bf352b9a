package evolve

import (
	"context"
	"fmt"

	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/tree"
)

// StrategyLocalSearch is hill climbing with restarts.
const StrategyLocalSearch = "local-search"

// localSearchStrategy is first-improvement hill climbing with random
// restarts. The current point starts at the best seed; each proposal is
// an unexplored one-edit neighbour of it (uniformly drawn among those not
// yet in the archive); a trained neighbour that beats it becomes the
// current point. When the current point has no unexplored neighbour left
// (a local optimum), the search restarts from a fresh draw of the space
// (Env.SampleSpace), which becomes the current point once trained.
//
// The current point is derived from the archive, not kept, so a resumed
// run continues exactly.
type localSearchStrategy struct{}

func (localSearchStrategy) Name() string { return StrategyLocalSearch }

func (localSearchStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	cur := climbPoint(env.Feasible())
	if cur == nil {
		return nil, ErrNoParent
	}
	p := env.NewProposal(seq)
	ok, err := env.unexploredNeighbour(ctx, p, cur, seq)
	if err != nil || ok {
		return p, err
	}
	if _, err := env.sampleProposal(ctx, p, seq); err != nil {
		return nil, err
	}
	p.Candidate.Rationale = fmt.Sprintf("local search: restart (%s): %s is a local optimum, no unexplored neighbour left", p.Candidate.Rationale, cur.ID)
	return p, nil
}

// climbPoint replays hill climbing over the trained candidates in
// finishing order: the best seed first; a child of the current point
// that beats it takes its place; a draw from the space (a restart) takes
// its place unconditionally.
func climbPoint(feasible []*Candidate) *Candidate {
	var cur *Candidate
	for _, c := range feasible {
		switch {
		case c.Op == OpSeed:
			if cur == nil || (cur.Op == OpSeed && c.Result.ValAcc > cur.Result.ValAcc) {
				cur = c
			}
		case c.Op == OpSample:
			cur = c
		case cur != nil && c.ParentID == cur.ID && c.Result.ValAcc > cur.Result.ValAcc:
			cur = c
		}
	}
	return cur
}

// maxNeighbours bounds the neighbours tried per proposal on a large tree.
const maxNeighbours = 512

// edit is one concrete one-step change: an option and its arguments.
type edit struct {
	op   string // planner operation
	o    option
	args map[string]any
}

// unexploredNeighbour fills p with a uniformly drawn one-edit child of
// parent that is not yet in the archive (structural hash). It reports
// false when every neighbour it tried is known. Options with listed
// values contribute one neighbour per value; others one draw of uniform
// arguments. Tied cells (one genotype shared by several cells) are one
// neighbourhood, not one per cell.
func (v *Env) unexploredNeighbour(ctx context.Context, p *Proposal, parent *Candidate, trial int64) (bool, error) {
	t, err := v.Tree(parent)
	if err != nil {
		return false, err
	}
	rng := v.Rand(trial, "neighbour")
	var edits []edit
	seen := map[string]bool{}
	for _, op := range v.e.usableOps() {
		if op == OpRepeat {
			continue
		}
		kinds, _ := v.e.treeOps(op)
		for _, k := range kinds {
			var palette []*tree.Node
			if k == tree.OpInsert || k == tree.OpSwap {
				if v.e.primitives == nil {
					v.e.primitives = candidateNodes(nil)
				}
				palette = v.e.palette(rng)
			}
			for _, o := range v.e.enumerate(t, k, palette) {
				if len(o.Choices) == 0 {
					edits = append(edits, edit{op: op, o: o})
					continue
				}
				for _, c := range o.Choices {
					key := neighbourKey(t, o, c)
					if !seen[key] {
						seen[key] = true
						edits = append(edits, edit{op: op, o: o, args: map[string]any{o.Arg: choiceString(c)}})
					}
				}
			}
		}
	}
	rng.Shuffle(len(edits), func(i, j int) { edits[i], edits[j] = edits[j], edits[i] })
	for _, ed := range edits[:min(len(edits), maxNeighbours)] {
		args := ed.args
		if args == nil {
			d := llm.Decision{Operation: ed.op, Category: llm.Diversity, Options: []llm.Option{ed.o.decisionOption("o1", v.e.Catalog)}, Trial: int(trial)}
			ch, err := llm.NewOffline(rng.Uint64(), llm.OfflineConfig{Args: "uniform"}).Resolve(ctx, d)
			if err != nil {
				return false, err
			}
			args = ch.Args
		}
		child, err := ed.o.apply(t, args, v.e.Catalog)
		if err != nil || v.Duplicate(tree.Hash(child), "") != "" {
			continue
		}
		p.SetParent(parent)
		c := p.Candidate
		c.Op, c.Path, c.Module, c.Args, c.Transform = ed.op, ed.o.Path, ed.o.moduleName(), args, string(ed.o.Op)
		c.Rationale = fmt.Sprintf("local search: unexplored neighbour of %s: %s", parent.ID, ed.o.describe())
		p.Child = child
		return true, nil
	}
	return false, nil
}

// neighbourKey identifies the child a listed value makes: a tied cell's
// edge is the same change in every cell of its tie group.
func neighbourKey(t *tree.Tree, o option, val tree.Value) string {
	where := o.Path
	if n, err := t.Find(o.Path); err == nil && n.Kind == tree.KindCell {
		if tie := tree.CellTie(n); tie != "" {
			where = "tie:" + tie
		}
	}
	return where + "\x00" + o.Arg + "\x00" + val.String()
}

