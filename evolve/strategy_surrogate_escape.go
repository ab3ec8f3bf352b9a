package evolve

import (
	"context"
	"errors"
	"fmt"
)

// errJump stops a planned proposal because the surrogate prefers a jump.
var errJump = errors.New("evolve: the surrogate prefers a draw from the space")

// escapeJump is thompson+surrogate's escape from one-edit local optima:
// n draws from the whole space (random search's draws, Env.SampleSpace)
// are gated and scored by the surrogate together with the children the
// planner's operation offers at the parent. When the best score is a
// draw's, that draw is the next candidate (a jump out of the basin);
// otherwise it returns nil and the children go on to the resolver. While
// the surrogate has too few observations to score, it never jumps.
func (s surrogateStrategy) escapeJump(ctx context.Context, env *Env, o *Offers, seq int64) (*Proposal, error) {
	r, ok := s.screener.(Ranker)
	n := s.cfg.Global
	if n <= 0 || !ok {
		return nil, nil
	}
	var samples []Observation
	for _, c := range o.Children() {
		samples = append(samples, Observation{Tree: c.Tree, Arch: env.ArchKey(c.Tree), Op: o.Op, Params: c.Params, FLOPs: c.FLOPs})
	}
	children := len(samples)
	var draws []*Proposal
	for i := range n {
		p, err := env.Draw(ctx, env.NewProposal(seq), seq<<8|int64(i)|1<<50)
		if err != nil {
			return nil, err
		}
		env.Gate(p)
		if p.Rejected() {
			continue
		}
		draws = append(draws, p)
		samples = append(samples, Observation{Tree: p.Child, Arch: env.ArchKey(p.Child), Op: OpSample, Params: p.Candidate.Params, FLOPs: p.Candidate.FLOPs})
	}
	if len(draws) == 0 {
		return nil, nil
	}
	scores, err := r.Scores(ctx, samples)
	if err != nil || scores == nil {
		return nil, err
	}
	best := 0
	for i, s := range scores {
		if s > scores[best] {
			best = i
		}
	}
	if best < children {
		return nil, nil
	}
	p := draws[best-children]
	p.Candidate.Rationale = fmt.Sprintf("surrogate escape: %s scores above all %d children of %s (%s)", OpSample, children, o.Parent().ID, p.Candidate.Rationale)
	return p, nil
}
