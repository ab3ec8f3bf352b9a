package evolve

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/arbor-nas/arbor/llm"
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
			o.Value = vals[rng.IntN(len(vals))]
			nt, err := tree.Apply(t, o.Option, v.e.Catalog)
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
		nt, err := v.randomEdit(ctx, t, rng, trial)
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
		kinds, _ := v.e.treeOps(op)
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
// and uniform arguments. It returns nil when the drawn operation has no
// option on t or the edit does not apply.
func (v *Env) randomEdit(ctx context.Context, t *tree.Tree, rng *rand.Rand, trial int64) (*tree.Tree, error) {
	ops := slices.DeleteFunc(slices.Clone(v.e.usableOps()), func(op string) bool { return op == OpRepeat })
	if len(ops) == 0 {
		return nil, fmt.Errorf("evolve.planner.ops: no operation can sample the space")
	}
	op := ops[rng.IntN(len(ops))]
	kinds, _ := v.e.treeOps(op)
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
	d := llm.Decision{Operation: op, Category: llm.Diversity, Options: []llm.Option{o.decisionOption("o1", v.e.Catalog)}, Trial: int(trial)}
	choice, err := llm.NewOffline(rng.Uint64(), llm.OfflineConfig{Args: "uniform"}).Resolve(ctx, d)
	if err != nil {
		return nil, err
	}
	nt, err := o.apply(t, choice.Args, v.e.Catalog)
	if err != nil {
		return nil, nil
	}
	return nt, nil
}

// sampleProposal fills p with a draw from the space (no parent).
func (v *Env) sampleProposal(ctx context.Context, p *Proposal, trial int64) (*Proposal, error) {
	t, how, err := v.SampleSpace(ctx, trial)
	if err != nil {
		return nil, err
	}
	p.Candidate.Op = OpSample
	p.Candidate.Rationale = how
	p.Child = t
	return p, nil
}
