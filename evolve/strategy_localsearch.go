package evolve

import (
	"context"
	"fmt"
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

var localSearchDef = &StrategyDef{
	Name: StrategyLocalSearch,
	Doc:  "first-improvement hill climbing with random restarts",
	New:  func(Config, Deps) (Strategy, error) { return localSearchStrategy{}, nil },
}

func (localSearchStrategy) Name() string { return StrategyLocalSearch }

func (localSearchStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	cur := climbPoint(env.Feasible())
	if cur == nil {
		return nil, ErrNoParent
	}
	p := env.NewProposal(seq)
	// The offers are pre-gated: every child in them is new to the archive.
	_, offers, ok, err := env.UniformOffers(cur, seq, env.Config().MaxOptions)
	if err != nil {
		return nil, err
	}
	if ok {
		p.SetParent(cur)
		if p, err = env.Resolve(ctx, p, offers, CatDiversity, nil, seq); err != nil {
			return nil, err
		}
		p.Candidate.Category = ""
		p.Candidate.Rationale = "local search: unexplored neighbour of the current point " + cur.ID + " (" + p.Candidate.Rationale + ")"
		return p, nil
	}
	if _, err := env.Draw(ctx, p, seq); err != nil {
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
