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

// proposal is a child before the gate: its candidate row (partly filled)
// and its tree.
type proposal struct {
	c       *Candidate
	child   *tree.Tree
	planned bool // Op/Category came from the planner, so the planner learns from the outcome
	start   time.Time
}

// reject marks p rejected at stage with reason.
func (p *proposal) reject(stage, format string, a ...any) *proposal {
	p.c.Status = StatusRejected
	p.c.Gate = stage
	p.c.Reason = fmt.Sprintf(format, a...)
	return p
}

func (p *proposal) rejected() bool { return p.c.Status == StatusRejected }

// proposeGated makes the next proposal of the configured strategy, runs
// the gate on it and stores it. Rejected proposals are returned too (with
// Status rejected) so the caller can count the streak.
func (e *Engine) proposeGated(ctx context.Context) (*Candidate, error) {
	seq := e.seq + 1
	var p *proposal
	var err error
	switch e.Config.Strategy {
	case StrategySurrogate:
		p, err = e.screened(ctx, seq)
	default:
		p, err = e.proposeOne(ctx, seq, seq)
		if err == nil && !p.rejected() && p.child != nil { // codegen has no tree: execution is its gate
			e.cheapGate(p)
		}
	}
	if err != nil {
		return nil, err
	}
	if !p.rejected() {
		if err := e.dryRun(ctx, p); err != nil {
			return nil, err
		}
	}
	if !p.rejected() {
		p.c.Status = StatusPending
		p.c.Gate = GatePass
	}
	p.c.EngineMS = float64(time.Since(p.start).Microseconds()) / 1000
	e.seq = seq
	if err := e.record(ctx, p.c, p.planned); err != nil {
		return nil, err
	}
	if p.c.Status == StatusPending && p.child != nil {
		e.trees[p.c.ID] = p.child
	}
	return p.c, nil
}

// proposeOne draws one child with the configured strategy. trial keys the
// random streams (it differs from seq only for surrogate screening, which
// draws K children per proposal).
func (e *Engine) proposeOne(ctx context.Context, seq, trial int64) (*proposal, error) {
	p := &proposal{start: time.Now(), c: &Candidate{Seq: seq, ID: candidateID(seq), Strategy: e.Config.Strategy,
		Reward: -1, ProposedAt: time.Now().UTC()}}
	var parent *Candidate
	switch e.Config.Strategy {
	case StrategyEvolution:
		pop := e.arch.population(e.Config.Evolution.Population)
		if len(pop) > 0 {
			parent = tournament(pop, e.Config.Evolution.Sample, e.rngFor(trial, rngParent))
		}
	default:
		parent = e.arch.selectParent(e.Config.Parents, e.rngFor(trial, rngParent))
	}
	if parent == nil {
		return nil, errNoParent
	}
	p.c.ParentID = parent.ID
	if e.Config.Strategy == StrategyCodegen {
		return e.codegen(ctx, p, parent, trial)
	}
	t := e.trees[parent.ID]
	if t == nil {
		return nil, fmt.Errorf("evolve: parent %s has no parsed tree", parent.ID)
	}

	// Operation and category.
	var op, cat string
	switch e.Config.Strategy {
	case StrategyThompson, StrategySurrogate:
		var ok bool
		op, cat, ok = e.Planner.Choose(e.opAllowed)
		if !ok {
			return nil, fmt.Errorf("evolve.planner.ops: no operation is usable")
		}
		p.planned = true
	default: // random, evolution: uniform operation, no LLM
		ops := e.usableOps()
		op = ops[e.rngFor(trial, rngOp).IntN(len(ops))]
		cat = string(llm.Diversity)
	}
	p.c.Op, p.c.Category = op, cat

	// Options for the operation (repeat reuses the last win's operation).
	kinds, prefer := e.treeOps(op)
	opts, err := e.options(parent.ID, t, kinds, e.rngFor(trial, rngPalette))
	if err != nil {
		return p.reject(GateProposal, "%s: enumerate options: %v", op, err), nil
	}
	if len(opts) == 0 {
		return p.reject(GateProposal, "%s: no valid option at parent %s", op, parent.ID), nil
	}
	shown := diverseSample(opts, e.Config.MaxOptions, prefer, e.rngFor(trial, rngOptions))

	// Resolve: one option and its arguments.
	d := llm.Decision{Operation: string(op), Category: llm.Category(cat), Parent: e.parentSummary(parent, t),
		Options: make([]llm.Option, len(shown)), Trial: int(trial)}
	for i, o := range shown {
		d.Options[i] = o.decisionOption(fmt.Sprintf("o%d", i+1), e.Catalog)
	}
	resolver := e.Resolver
	if resolver == nil || !p.planned {
		resolver = llm.NewOffline(e.Config.Seed^uint64(rngResolve), llm.OfflineConfig{Args: "uniform"})
	}
	choice, err := resolver.Resolve(ctx, d)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return p.reject(GateProposal, "%s: resolver: %v", op, err), nil
	}
	p.c.Rationale = choice.Rationale
	p.c.Fallback = choice.Usage.Fallback
	p.c.LLMTokens = choice.Usage.PromptTokens + choice.Usage.CompletionTokens
	p.c.LLMCost = choice.Usage.CostUSD
	var picked *option
	for i := range d.Options {
		if d.Options[i].ID == choice.OptionID {
			picked = &shown[i]
		}
	}
	if picked == nil {
		return p.reject(GateProposal, "%s: resolver chose %q, which was not offered", op, choice.OptionID), nil
	}
	p.c.Path, p.c.Module, p.c.Args, p.c.Transform = picked.Path, picked.moduleName(), choice.Args, string(picked.Op)

	// Transform.
	child, err := picked.apply(t, choice.Args, e.Catalog)
	if err != nil {
		return p.reject(GateProposal, "%s at %s: %v", picked.Op, picked.Path, err), nil
	}
	p.child = child
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
func (e *Engine) cheapGate(p *proposal) {
	if js, err := p.child.MarshalJSON(); err == nil {
		p.c.Tree = js
	}
	rep, err := tree.Check(p.child, e.Catalog)
	if err != nil {
		p.reject(GateShape, "%v", err)
		return
	}
	p.c.Params, p.c.FLOPs, p.c.Hash = rep.Params, rep.FLOPs, rep.Hash
	if e.Arch != nil {
		if _, err := e.Arch(p.child); err != nil {
			p.reject(GateSpace, "%v", err)
			return
		}
	}
	if l := e.Job.Limits; l.MaxParams > 0 && rep.Params > l.MaxParams {
		p.reject(GateConstraints, "max_params: %d parameters > %d", rep.Params, l.MaxParams)
		return
	} else if l.MaxFLOPs > 0 && rep.FLOPs > l.MaxFLOPs {
		p.reject(GateConstraints, "max_flops: %d FLOPs > %d", rep.FLOPs, l.MaxFLOPs)
		return
	}
	if id, which, dup := e.arch.duplicateOf(p.c.Hash, ""); dup {
		p.reject(GateDuplicate, "same %s as %s", which, id)
		return
	}
	src, err := tree.Render(p.child, e.Catalog)
	if err != nil {
		p.reject(GateShape, "render: %v", err)
		return
	}
	p.c.Source = src
	p.c.CodeHash = codeHash(src)
	if id, which, dup := e.arch.duplicateOf("", p.c.CodeHash); dup {
		p.reject(GateDuplicate, "same %s as %s", which, id)
	}
}

// codeHash is the SHA-256 of the whitespace-normalized source.
func codeHash(src string) string {
	h := sha256.Sum256([]byte(normalizeCode(src)))
	return hex.EncodeToString(h[:])
}

// dryRun runs the dry-run gate when configured.
func (e *Engine) dryRun(ctx context.Context, p *proposal) error {
	if !e.Config.DryRun || e.DryRun == nil {
		return nil
	}
	r, err := e.DryRun.Check(ctx, p.c.Source, e.Job.Input, e.Job.Classes, e.Job.Limits)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("evolve: dry-run gate failed on %s: %w", p.c.ID, err)
	}
	if !r.OK() {
		reason := string(r.Status)
		if r.Violation != "" {
			p.reject(GateConstraints, "dry-run: %s", r.Violation)
			return nil
		}
		if r.Error != "" {
			reason += ": " + r.Error
		}
		p.reject(GateDryRun, "%s", reason)
	}
	return nil
}

// seedCandidate gates a seed architecture like any other candidate.
func (e *Engine) seedCandidate(ctx context.Context, seq int64, i int, t *tree.Tree) (*Candidate, error) {
	p := &proposal{start: time.Now(), child: t, c: &Candidate{Seq: seq, ID: candidateID(seq), Strategy: e.Config.Strategy,
		Op: OpSeed, Reward: -1, ProposedAt: time.Now().UTC(), Rationale: fmt.Sprintf("seed architecture %d", i)}}
	e.cheapGate(p)
	if !p.rejected() {
		if err := e.dryRun(ctx, p); err != nil {
			return nil, err
		}
	}
	if !p.rejected() {
		p.c.Status, p.c.Gate = StatusPending, GatePass
		e.trees[p.c.ID] = t
	}
	p.c.EngineMS = float64(time.Since(p.start).Microseconds()) / 1000
	return p.c, nil
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

// screened is thompson+surrogate: K children are drawn and cheaply gated;
// the Screener picks the one to train. The others are not stored: they
// cost nothing and may be proposed again later.
func (e *Engine) screened(ctx context.Context, seq int64) (*proposal, error) {
	k := e.Config.Surrogate.K
	var passed []*proposal
	var last *proposal
	for i := range k {
		p, err := e.proposeOne(ctx, seq, seq*int64(k)+int64(i)+1<<40)
		if err != nil {
			return nil, err
		}
		if !p.rejected() {
			e.cheapGate(p)
		}
		last = p
		if !p.rejected() {
			passed = append(passed, p)
		} else if p.planned {
			// A child that fails the gate teaches the planner even when unstored.
			e.Planner.Update(p.c.Op, p.c.Category, false)
		}
	}
	if len(passed) == 0 {
		// Store the last failure so the rejection is visible; its planner
		// update already happened above.
		last.planned = false
		return last, nil
	}
	if len(passed) == 1 {
		return passed[0], nil
	}
	children := make([]Sample, len(passed))
	for i, p := range passed {
		children[i] = e.sample(p.c, p.child)
	}
	best, err := e.Screener.Pick(ctx, children)
	if err != nil {
		return nil, fmt.Errorf("evolve: surrogate screener: %w", err)
	}
	if best < 0 || best >= len(passed) {
		return nil, fmt.Errorf("evolve: surrogate screener picked child %d of %d", best, len(passed))
	}
	p := passed[best]
	p.c.Rationale += fmt.Sprintf(" (surrogate picked 1 of %d gated children)", len(passed))
	return p, nil
}

func (e *Engine) sample(c *Candidate, t *tree.Tree) Sample {
	s := Sample{ID: c.ID, Tree: t, Op: c.Op, ValAcc: c.Result.ValAcc, Params: c.Params, FLOPs: c.FLOPs}
	if t != nil && e.Arch != nil {
		s.Arch, _ = e.Arch(t)
	}
	return s
}

// codegen asks the Coder to rewrite the parent's source. Validity is
// execution only: the dry-run gate (and training) decide.
func (e *Engine) codegen(ctx context.Context, p *proposal, parent *Candidate, trial int64) (*proposal, error) {
	p.c.Op = OpCodegen
	src, usage, err := e.Coder.Rewrite(ctx, parent.Source, int(trial))
	p.c.LLMTokens = usage.PromptTokens + usage.CompletionTokens
	p.c.LLMCost = usage.CostUSD
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return p.reject(GateProposal, "%v", err), nil
	}
	p.c.Source = src
	p.c.CodeHash = codeHash(src)
	p.c.Hash = p.c.CodeHash
	if id, which, dup := e.arch.duplicateOf("", p.c.CodeHash); dup {
		return p.reject(GateDuplicate, "same %s as %s", which, id), nil
	}
	return p, nil
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
