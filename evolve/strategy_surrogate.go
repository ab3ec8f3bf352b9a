package evolve

import (
	"context"
	"errors"
	"fmt"
)

// StrategySurrogate is thompson with K children screened by a surrogate.
const StrategySurrogate = "thompson+surrogate"

// surrogateStrategy is thompson+surrogate: K children are drawn as
// thompson would draw them and cheaply gated; the Screener picks the one
// to train. The others are not stored: they cost nothing and may be
// proposed again later.
type surrogateStrategy struct{}

func (surrogateStrategy) Name() string { return StrategySurrogate }

func (surrogateStrategy) Check(e *Engine) error {
	if e.Screener == nil {
		return errors.New("evolve.strategy: thompson+surrogate needs a surrogate screener; none is wired in")
	}
	return nil
}

func (surrogateStrategy) Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error) {
	k := env.Config().Surrogate.K
	var passed []*Proposal
	var last *Proposal
	for i := range k {
		p, err := plannedChild(ctx, env, env.NewProposal(seq), seq*int64(k)+int64(i)+1<<40)
		if err != nil {
			return nil, err
		}
		env.Gate(p)
		last = p
		if !p.Rejected() {
			passed = append(passed, p)
		} else if p.Planned {
			// A child that fails the gate teaches the planner even when unstored.
			env.Planner().Update(p.Candidate.Op, p.Candidate.Category, false)
		}
	}
	// The escape from local optima: draws from the whole space compete
	// with the children, so a stalled search can jump.
	for i := range env.Config().Surrogate.Global {
		trial := seq*int64(k) + int64(i) + 1<<41
		p, err := env.sampleProposal(ctx, env.NewProposal(seq), trial)
		if err != nil {
			return nil, err
		}
		env.Gate(p)
		if !p.Rejected() {
			p.Candidate.Rationale = "surrogate escape: " + p.Candidate.Rationale
			passed = append(passed, p)
		}
	}
	if len(passed) == 0 {
		// Store the last failure so the rejection is visible; its planner
		// update already happened above.
		last.Planned = false
		return last, nil
	}
	if len(passed) == 1 {
		return passed[0], nil
	}
	children := make([]Sample, len(passed))
	for i, p := range passed {
		children[i] = env.e.sample(p.Candidate, p.Child)
	}
	best, err := env.Engine().Screener.Pick(ctx, children)
	if err != nil {
		return nil, fmt.Errorf("evolve: surrogate screener: %w", err)
	}
	if best < 0 || best >= len(passed) {
		return nil, fmt.Errorf("evolve: surrogate screener picked child %d of %d", best, len(passed))
	}
	p := passed[best]
	p.Candidate.Rationale += fmt.Sprintf(" (surrogate picked 1 of %d gated children)", len(passed))
	return p, nil
}

func (surrogateStrategy) ValidateConfig(c Config) error {
	if err := c.Surrogate.Validate(); err != nil {
		return fmt.Errorf("evolve.%w", err)
	}
	return nil
}
