package evolve

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/arbor-nas/arbor/tree"
)

// OpSample marks a candidate drawn from the search space rather than
// derived from a parent: random search's draws, local search's restarts,
// regularized evolution's initial population.
const OpSample = "sample"

// maxChain bounds the random edit chain that samples an open-ended space:
// a draw applies 1..maxChain uniform valid edits to the seed.
const maxChain = 8

// seedTree is the run's first seed architecture, the origin of every
// sample from the space.
func (v *Env) seedTree() (*tree.Tree, error) {
	for _, c := range v.e.arch.order {
		if c.Op == OpSeed {
			return v.Tree(c)
		}
	}
	return nil, ErrNoParent
}

// SampleSpace draws one architecture from the search space around the
// seed, for proposal trial:
//   - in a categorical space, where every option the engine offers is a
//     choice among listed values (the cell edges of NAS-Bench-201), every
//     such choice is drawn uniformly: a uniform draw from the space;
//   - otherwise a random valid edit chain of uniform length 1..8 from the
//     seed, each edit a uniform usable operation (repeat excluded) and a
//     uniform option with uniform arguments.
//
// It returns the tree and a one-line description of how it was drawn.
func (v *Env) SampleSpace(ctx context.Context, trial int64) (*tree.Tree, string, error) {
	seed, err := v.seedTree()
	if err != nil {
		return nil, "", err
	}
	rng := v.Rand(trial, "space")
	if opts, ok := v.categorical(seed); ok {
		t := seed
		for _, o := range opts {
			vals := append([]tree.Value{o.Current}, o.Choices...)
			nt, err := o.applyValue(t, vals[rng.IntN(len(vals))], v.e.Catalog)
			if err != nil {
				return nil, "", fmt.Errorf("evolve: sampling the space: %s: %w", o.describe(), err)
			}
			t = nt
		}
		return t, fmt.Sprintf("uniform draw of %d categorical choices", len(opts)), nil
	}
	n := 1 + rng.IntN(maxChain)
	t, done := seed, 0
	for range 4 * n {
		if done == n {
			break
		}
		nt, err := v.randomEdit(t, rng)
		if err != nil {
			return nil, "", err
		}
		if nt != nil {
			t, done = nt, done+1
		}
	}
	return t, fmt.Sprintf("random chain of %d edits from the seed", done), nil
}

// categorical returns the options of t when the space is categorical:
// every option of every usable operation (after Engine.Filter) is a
// change of an argument among listed values, as on NAS-Bench-201's cell
// edges. One option is kept per tie group: a tied cell's edge is the same
// choice in every cell of the group.
func (v *Env) categorical(t *tree.Tree) ([]option, bool) {
	var opts []option
	seen := map[string]bool{}
	for _, op := range v.e.usableOps() {
		if op == OpRepeat {
			continue
		}
		kinds, _ := v.e.treeOps(op, nil)
		for _, k := range kinds {
			var palette []*tree.Node
			if k == tree.OpInsert || k == tree.OpSwap {
				palette = v.palette()
			}
			for _, o := range v.e.enumerate(t, k, palette) {
				if o.Op != tree.OpChangeArg || len(o.Choices) == 0 {
					return nil, false
				}
				if key := neighbourKey(t, o, tree.Value{}); !seen[key] {
					seen[key] = true
					opts = append(opts, o)
				}
			}
		}
	}
	return opts, len(opts) > 0
}

// palette is a fixed draw of the insert/swap palette, enough to tell
// whether those operations have any option in the space.
func (v *Env) palette() []*tree.Node {
	if v.e.primitives == nil {
		v.e.primitives = candidateNodes(nil)
	}
	return v.e.palette(rand.New(rand.NewPCG(v.e.Config.Seed, 0)))
}

// randomEdit applies one uniform valid edit to t: a uniform usable
// operation (repeat excluded: it needs a lineage), a uniform option of it
// and a uniform one of its values (the listed or discretised values the
// option tools offer). It returns nil when the drawn operation has no
// option on t or the edit does not apply.
func (v *Env) randomEdit(t *tree.Tree, rng *rand.Rand) (*tree.Tree, error) {
	ops := slices.DeleteFunc(slices.Clone(v.e.usableOps()), func(op string) bool { return op == OpRepeat })
	if len(ops) == 0 {
		return nil, fmt.Errorf("evolve.planner.ops: no operation can sample the space")
	}
	op := ops[rng.IntN(len(ops))]
	kinds, _ := v.e.treeOps(op, nil)
	var opts []option
	for _, k := range kinds {
		var palette []*tree.Node
		if k == tree.OpInsert || k == tree.OpSwap {
			if v.e.primitives == nil {
				v.e.primitives = candidateNodes(nil)
			}
			palette = v.e.palette(rng)
		}
		opts = append(opts, v.e.enumerate(t, k, palette)...)
	}
	if len(opts) == 0 {
		return nil, nil
	}
	o := opts[rng.IntN(len(opts))]
	vals := v.e.optionValues(o)
	if len(vals) == 0 {
		return nil, nil
	}
	nt, err := o.applyValue(t, vals[rng.IntN(len(vals))], v.e.Catalog)
	if err != nil {
		return nil, nil
	}
	return nt, nil
}

// Draw fills p with a draw from the space (no parent): random search's
// proposal, and the restarts of the strategies that need one.
func (v *Env) Draw(ctx context.Context, p *Proposal, trial int64) (*Proposal, error) {
	t, how, err := v.SampleSpace(ctx, trial)
	if err != nil {
		return nil, err
	}
	p.Candidate.Op = OpSample
	p.Candidate.Rationale = how
	p.Child = t
	return p, nil
}

// uniformChild fills p with a uniformly drawn unexplored child of parent:
// (option, value) pairs of a uniform usable operation are tried in a
// seeded random order and the first child that passes the cheap gate
// (shape, space, constraints, dedup against every earlier proposal) is
// taken. It is the uniform mutation of evolution and random-walk, without
// gating the whole neighbourhood to train one child. It reports false
// when no operation has a passing child at parent.
func (v *Env) uniformChild(p *Proposal, parent *Candidate, trial int64) (bool, error) {
	t, err := v.Tree(parent)
	if err != nil {
		return false, err
	}
	rng := v.Rand(trial, StreamChild)
	ops := slices.DeleteFunc(slices.Clone(v.e.usableOps()), func(op string) bool { return op == OpRepeat })
	rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	m := tree.NewMeasurer(v.e.Catalog)
	for _, op := range ops {
		kinds, _ := v.e.treeOps(op, parent)
		opts, err := v.e.options(parent.ID, t, kinds)
		if err != nil || len(opts) == 0 {
			continue
		}
		type pair struct {
			o int
			v tree.Value
		}
		var pairs []pair
		for i, o := range opts {
			for _, val := range v.e.optionValues(o) {
				pairs = append(pairs, pair{i, val})
			}
		}
		rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
		for _, pr := range pairs[:min(len(pairs), maxUniformTries)] {
			o := opts[pr.o]
			child, err := o.applyValue(t, pr.v, v.e.Catalog)
			if err != nil {
				continue
			}
			g, stage, _ := v.e.gateTree(child, nil, m)
			if stage != "" {
				continue
			}
			p.SetParent(parent)
			c := p.Candidate
			c.Op, c.Path, c.Module, c.Transform = op, o.Path, o.moduleName(), string(o.Op)
			if o.Op == tree.OpChangeArg {
				c.Args = map[string]any{o.Arg: valueAny(pr.v)}
			}
			c.Rationale = "uniform mutation: " + o.describe()
			p.accept(g)
			p.gated = true
			return true, nil
		}
	}
	return false, nil
}

// maxUniformTries bounds the children gated per operation by uniformChild.
const maxUniformTries = 256

// Mutate is one uniform random edit of parent (uniformChild); when parent
// has no unexplored child left, the next parents from the best down are
// tried, so an exhausted neighbourhood does not stop the search.
func (v *Env) Mutate(p *Proposal, parent *Candidate, trial int64) (*Proposal, error) {
	for _, par := range v.ParentsFrom(parent) {
		ok, err := v.uniformChild(p, par, trial)
		if err != nil || ok {
			return p, err
		}
	}
	p.SetParent(parent)
	return p.Reject(GateProposal, "no operation has an option that passes the gate at any feasible parent: the space around the archive is exhausted"), nil
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
