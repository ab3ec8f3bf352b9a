package evolve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/tree"
)

// RNG purposes: each random decision of a proposal has its own stream,
// derived from the run seed and the proposal number.
const (
	rngParent uint64 = iota + 1
	rngOp
	rngOptions
	rngResolve
	rngChild
	rngPalette
)

// proposeGated makes the next proposal of the strategy, runs the gate on
// it and stores it. Rejected proposals are returned too (with Status
// rejected) so the caller can count the streak.
func (e *Engine) proposeGated(ctx context.Context) (*Candidate, error) {
	seq := e.seq + 1
	p, err := e.strategy.Propose(ctx, e.env, seq)
	if err != nil {
		return nil, err
	}
	if !p.gated && !p.Rejected() && p.Child != nil {
		e.cheapGate(p)
	}
	if !p.Rejected() {
		if err := e.dryRun(ctx, p); err != nil {
			return nil, err
		}
	}
	if !p.Rejected() {
		p.Candidate.Status = StatusPending
		p.Candidate.Gate = GatePass
	}
	p.Candidate.EngineMS = float64(time.Since(p.start).Microseconds()) / 1000
	e.seq = seq
	if err := e.record(ctx, p.Candidate, p.Planned); err != nil {
		return nil, err
	}
	if p.Candidate.Status == StatusPending && p.Child != nil {
		e.trees[p.Candidate.ID] = p.Child
	}
	return p.Candidate, nil
}

// decide is Env.Decide: options of op at parent, a resolver's choice, the
// transformation applied.
func (e *Engine) decide(ctx context.Context, p *Proposal, parent *Candidate, op, cat string, resolver llm.Resolver, trial int64) (*Proposal, error) {
	t := e.trees[parent.ID]
	if t == nil {
		return nil, fmt.Errorf("evolve: parent %s has no parsed tree", parent.ID)
	}
	p.Candidate.Op, p.Candidate.Category = op, cat

	// Options for the operation (repeat reuses the last win's operation).
	kinds, prefer := e.treeOps(op)
	opts, err := e.options(parent.ID, t, kinds, e.rngFor(trial, rngPalette))
	if err != nil {
		return p.Reject(GateProposal, "%s: enumerate options: %v", op, err), nil
	}
	if len(opts) == 0 {
		return p.Reject(GateProposal, "%s: no valid option at parent %s", op, parent.ID), nil
	}
	shown := diverseSample(opts, e.Config.MaxOptions, prefer, e.rngFor(trial, rngOptions))

	// Resolve: one option and its arguments.
	d := llm.Decision{Operation: string(op), Category: llm.Category(cat), Parent: e.parentSummary(parent, t),
		Options: make([]llm.Option, len(shown)), Trial: int(trial)}
	for i, o := range shown {
		d.Options[i] = o.decisionOption(fmt.Sprintf("o%d", i+1), e.Catalog)
	}
	if resolver == nil {
		resolver = llm.NewOffline(e.Config.Seed^uint64(rngResolve), llm.OfflineConfig{Args: "uniform"})
	}
	choice, err := resolver.Resolve(ctx, d)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return p.Reject(GateProposal, "%s: resolver: %v", op, err), nil
	}
	p.Candidate.Rationale = choice.Rationale
	p.SetUsage(choice.Usage)
	var picked *option
	for i := range d.Options {
		if d.Options[i].ID == choice.OptionID {
			picked = &shown[i]
		}
	}
	if picked == nil {
		return p.Reject(GateProposal, "%s: resolver chose %q, which was not offered", op, choice.OptionID), nil
	}
	c := p.Candidate
	c.Path, c.Module, c.Args, c.Transform = picked.Path, picked.moduleName(), choice.Args, string(picked.Op)

	// Transform.
	child, err := picked.apply(t, choice.Args, e.Catalog)
	if err != nil {
		return p.Reject(GateProposal, "%s at %s: %v", picked.Op, picked.Path, err), nil
	}
	p.Child = child
	return p, nil
}

// opAllowed: "repeat" needs an earlier success to repeat.
func (e *Engine) opAllowed(op string) bool {
	if op == OpRepeat {
		return e.arch.lastWin != nil && e.arch.lastWin.Op != OpSeed && e.arch.lastWin.Op != OpCodegen
	}
	return true
}

func (e *Engine) usableOps() []string {
	var ops []string
	for _, op := range e.Planner.Config().Ops {
		if e.opAllowed(op) {
			ops = append(ops, op)
		}
	}
	return ops
}

// cheapGate runs the gate stages that need no Python: shapes,
// constraints, and dedup by structural and normalized-code hash.
func (e *Engine) cheapGate(p *Proposal) {
	if js, err := p.Child.MarshalJSON(); err == nil {
		p.Candidate.Tree = js
	}
	rep, err := tree.Check(p.Child, e.Catalog)
	if err != nil {
		p.Reject(GateShape, "%v", err)
		return
	}
	p.Candidate.Params, p.Candidate.FLOPs, p.Candidate.Hash = rep.Params, rep.FLOPs, rep.Hash
	if e.Arch != nil {
		if _, err := e.Arch(p.Child); err != nil {
			p.Reject(GateSpace, "%v", err)
			return
		}
	}
	if l := e.Job.Limits; l.MaxParams > 0 && rep.Params > l.MaxParams {
		p.Reject(GateConstraints, "max_params: %d parameters > %d", rep.Params, l.MaxParams)
		return
	} else if l.MaxFLOPs > 0 && rep.FLOPs > l.MaxFLOPs {
		p.Reject(GateConstraints, "max_flops: %d FLOPs > %d", rep.FLOPs, l.MaxFLOPs)
		return
	}
	if id, which, dup := e.arch.duplicateOf(p.Candidate.Hash, ""); dup {
		p.Reject(GateDuplicate, "same %s as %s", which, id)
		return
	}
	src, err := tree.Render(p.Child, e.Catalog)
	if err != nil {
		p.Reject(GateShape, "render: %v", err)
		return
	}
	p.Candidate.Source = src
	p.Candidate.CodeHash = codeHash(src)
	if id, which, dup := e.arch.duplicateOf("", p.Candidate.CodeHash); dup {
		p.Reject(GateDuplicate, "same %s as %s", which, id)
	}
}

// codeHash is the SHA-256 of the whitespace-normalized source.
func codeHash(src string) string {
	h := sha256.Sum256([]byte(normalizeCode(src)))
	return hex.EncodeToString(h[:])
}

// dryRun runs the dry-run gate when configured.
func (e *Engine) dryRun(ctx context.Context, p *Proposal) error {
	if !e.Config.DryRun || e.DryRun == nil {
		return nil
	}
	r, err := e.DryRun.Check(ctx, p.Candidate.Source, e.Job.Input, e.Job.Classes, e.Job.Limits)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("evolve: dry-run gate failed on %s: %w", p.Candidate.ID, err)
	}
	if !r.OK() {
		reason := string(r.Status)
		if r.Violation != "" {
			p.Reject(GateConstraints, "dry-run: %s", r.Violation)
			return nil
		}
		if r.Error != "" {
			reason += ": " + r.Error
		}
		p.Reject(GateDryRun, "%s", reason)
	}
	return nil
}

// seedCandidate gates a seed architecture like any other candidate.
func (e *Engine) seedCandidate(ctx context.Context, seq int64, i int, t *tree.Tree) (*Candidate, error) {
	p := &Proposal{start: time.Now(), Child: t, Candidate: &Candidate{Seq: seq, ID: candidateID(seq), Strategy: e.Config.Strategy,
		Op: OpSeed, Reward: -1, ProposedAt: time.Now().UTC(), Rationale: fmt.Sprintf("seed architecture %d", i)}}
	e.cheapGate(p)
	if !p.Rejected() {
		if err := e.dryRun(ctx, p); err != nil {
			return nil, err
		}
	}
	if !p.Rejected() {
		p.Candidate.Status, p.Candidate.Gate = StatusPending, GatePass
		e.trees[p.Candidate.ID] = t
	}
	p.Candidate.EngineMS = float64(time.Since(p.start).Microseconds()) / 1000
	return p.Candidate, nil
}

// keepTree parses a feasible candidate's tree so it can be a parent, and
// shows it to the screener.
func (e *Engine) keepTree(c *Candidate) error {
	t, err := e.treeOf(c)
	if err != nil {
		return err
	}
	if e.Screener != nil {
		if err := e.Screener.Observe(e.sample(c, t)); err != nil {
			return fmt.Errorf("evolve: surrogate: %w", err)
		}
	}
	return nil
}

// treeOf returns c's parsed tree (nil for a codegen candidate), parsing
// the stored JSON once.
func (e *Engine) treeOf(c *Candidate) (*tree.Tree, error) {
	if t := e.trees[c.ID]; t != nil || len(c.Tree) == 0 {
		return t, nil
	}
	t, err := tree.Parse(c.Tree)
	if err != nil {
		return nil, fmt.Errorf("run store: candidate %s has an unreadable tree: %w", c.ID, err)
	}
	e.trees[c.ID] = t
	return t, nil
}

func (e *Engine) sample(c *Candidate, t *tree.Tree) Sample {
	s := Sample{ID: c.ID, Tree: t, Op: c.Op, ValAcc: c.Result.ValAcc, Params: c.Params, FLOPs: c.FLOPs}
	if t != nil && e.Arch != nil {
		s.Arch, _ = e.Arch(t)
	}
	return s
}

// parentSummary is what the resolver sees of the parent.
func (e *Engine) parentSummary(parent *Candidate, t *tree.Tree) llm.ParentSummary {
	s := llm.ParentSummary{Outline: outline(t), Metrics: map[string]float64{
		"val_acc": parent.Result.ValAcc, "params": float64(parent.Params), "flops": float64(parent.FLOPs)}}
	// Lineage, oldest first, at most 5 steps.
	var steps []llm.Step
	for c := parent; c != nil && c.Op != OpSeed && len(steps) < 5; c = e.arch.byID[c.ParentID] {
		steps = append(steps, llm.Step{Op: c.Op, Path: c.Path, Module: c.Module, Reward: float64(max(c.Reward, 0))})
	}
	for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
		steps[i], steps[j] = steps[j], steps[i]
	}
	s.History = steps
	return s
}

// diverseSample bounds the options: it shuffles them, then takes them
// round-robin across groups (the module or primitive they bring, or the
// argument they change), so a large catalog never offers the same few
// modules every time. When prefer matches some options (repeat: the same
// change as the last win), only those are offered.
func diverseSample(opts []option, n int, prefer func(option) bool, rng *rand.Rand) []option {
	if len(opts) <= n && prefer == nil {
		return opts
	}
	var first []option
	if prefer != nil {
		for _, o := range opts {
			if prefer(o) {
				first = append(first, o)
			}
		}
		if len(first) > 0 {
			rng.Shuffle(len(first), func(i, j int) { first[i], first[j] = first[j], first[i] })
			return first[:min(n, len(first))]
		}
		if len(opts) <= n {
			return opts
		}
	}
	// Indices, not option copies: a large tree has thousands of options.
	perm := rng.Perm(len(opts))
	slot := map[groupKey]int{}
	var groups [][]int
	for _, i := range perm {
		g := opts[i].group()
		k, ok := slot[g]
		if !ok {
			k = len(groups)
			slot[g] = k
			groups = append(groups, nil)
		}
		if len(groups[k]) < n { // no group can contribute more than n
			groups[k] = append(groups[k], i)
		}
	}
	out := make([]option, 0, n)
	for round := 0; len(out) < n; round++ {
		added := false
		for _, g := range groups {
			if round < len(g) && len(out) < n {
				out = append(out, opts[g[round]])
				added = true
			}
		}
		if !added {
			break
		}
	}
	return out
}
