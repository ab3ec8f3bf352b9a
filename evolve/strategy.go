package evolve

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/arbor-nas/arbor/evolve/names"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/tree"
)

// Strategy decides what the next candidate is. The engine owns everything
// around the decision: the loop, the gate, the store, budgets, resume and
// the planner's reward. A strategy only proposes: it picks a parent (or
// none), and produces a child tree, either directly (a random sample, a
// regularized-evolution mutation) or through the planner, the option tools
// and a resolver (Env.Resolve), or a source without a tree (codegen).
//
// A strategy sees the run only through Env. Each built-in one is one file
// (strategy_<name>.go) with its constructor and its StrategyDef, and one
// line in Builtins; strategytest.Run checks any strategy, built-in or not.
type Strategy interface {
	// Name is the evolve.strategy value that selects it.
	Name() string
	// Propose returns the next proposal for proposal number seq, made with
	// env.NewProposal. A proposal the strategy itself found unusable is
	// returned rejected (Proposal.Reject), not as an error; an error stops
	// the run, except ErrNoParent (nothing feasible yet: the engine waits
	// for a job in flight).
	Propose(ctx context.Context, env *Env, seq int64) (*Proposal, error)
}

// Observer is implemented by strategies that learn from results (the
// surrogate's model): the engine calls Observe once per feasible trained
// candidate, in finishing order, on resume too (replaying the store), so a
// resumed strategy knows what an uninterrupted one would.
type Observer interface {
	Observe(env *Env, c *Candidate) error
}

// Dep is a dependency a strategy may need from the run it joins. The
// run's assembly (run.Build, bench) provides what the strategy's
// StrategyDef lists, and NewStrategy fails, before the search starts, when
// a required one is missing: the model is go/analysis's Analyzer.Requires.
type Dep string

const (
	// DepResolver: a resolver to pick among the tools' options
	// (Deps.Resolver; the offline one when no endpoint is configured).
	DepResolver Dep = "a resolver"
	// DepCoder: an online LLM that rewrites sources (Deps.Coder).
	DepCoder Dep = "an LLM coder"
	// DepScreener: a screener to rank children (Deps.Screener).
	DepScreener Dep = "a screener"
	// DepDryRun: the dry-run gate (Deps.DryRun), the only check of a
	// candidate without a tree.
	DepDryRun Dep = "the dry-run gate"
)

// Deps are the dependencies a run hands to a strategy's constructor; each
// strategy uses the ones its StrategyDef lists.
type Deps struct {
	Resolver llm.Resolver
	Coder    Coder
	Screener Screener
	// DryRun says the dry-run gate runs (evolve.dry_run and a local evaluator).
	DryRun bool
}

// has reports whether d provides dep.
func (d Deps) has(dep Dep) bool {
	switch dep {
	case DepResolver:
		return d.Resolver != nil
	case DepCoder:
		return d.Coder != nil
	case DepScreener:
		return d.Screener != nil
	case DepDryRun:
		return d.DryRun
	}
	return false
}

// hint says how a run gets dep.
func (dep Dep) hint() string {
	switch dep {
	case DepCoder:
		return " (an LLM endpoint: set llm.base_url)"
	case DepDryRun:
		return " (set evolve.dry_run: true and use a local evaluator: a rewritten source has no tree to check, so only the dry run can check it)"
	}
	return ""
}

// StrategyDef describes a strategy to the run's assembly: what it is
// called, what it requires, how to check its own configuration section and
// how to build it. It plays the part of go/analysis's Analyzer.
type StrategyDef struct {
	Name string
	// Doc is one line for `arbor config docs` and error messages.
	Doc string
	// Requires lists what New needs in its Deps; Uses what it takes when
	// the run has it (a nil resolver: a seeded uniform choice).
	Requires []Dep
	Uses     []Dep
	// Validate checks the strategy's own section of the configuration
	// (nil: it has none).
	Validate func(Config) error
	// New builds the strategy from its section of cfg and deps.
	New func(cfg Config, deps Deps) (Strategy, error)
}

// Wants reports whether the strategy requires or uses dep: what the
// run's assembly should provide.
func (d *StrategyDef) Wants(dep Dep) bool {
	return slices.Contains(d.Requires, dep) || slices.Contains(d.Uses, dep)
}

// Builtins is the registry of the built-in strategies, in a fixed order:
// run.Build and bench both build strategies from it (NewStrategy), and
// evolve.strategy names one of them. Adding a strategy is its file and one
// line here.
func Builtins() []*StrategyDef {
	return []*StrategyDef{
		thompsonDef,
		randomDef,
		randomWalkDef,
		localSearchDef,
		evolutionDef,
		codegenDef,
		surrogateDef,
	}
}

// StrategyNames lists the built-in strategies, in registry order.
func StrategyNames() []string {
	var names []string
	for _, d := range Builtins() {
		names = append(names, d.Name)
	}
	return names
}

// LookupStrategy returns the built-in strategy with the given name.
func LookupStrategy(name string) (*StrategyDef, error) {
	for _, d := range Builtins() {
		if d.Name == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("evolve.strategy: %q is not one of %v%s", name, StrategyNames(), names.Hint(name, StrategyNames()))
}

// NewStrategy builds the strategy cfg.Strategy names from def (nil: the
// built-in one), after checking that deps provide everything it requires
// and that its configuration section is valid. This is where a run that
// cannot work fails: when it is assembled, not when it first proposes.
func NewStrategy(def *StrategyDef, cfg Config, deps Deps) (Strategy, error) {
	if def == nil {
		var err error
		if def, err = LookupStrategy(cfg.Strategy); err != nil {
			return nil, err
		}
	}
	for _, dep := range def.Requires {
		if !deps.has(dep) {
			return nil, fmt.Errorf("evolve.strategy %s requires %s, and the run has none%s", def.Name, dep, dep.hint())
		}
	}
	if def.Validate != nil {
		if err := def.Validate(cfg); err != nil {
			return nil, err
		}
	}
	return def.New(cfg, deps)
}

// ErrNoParent means nothing feasible can be a parent yet.
var ErrNoParent = errNoParent

// Proposal is a child before the gate: its candidate row, partly filled
// by the strategy (Op, Category, Path, Module, Args, Transform,
// Rationale, LLM usage), and its tree.
type Proposal struct {
	// Candidate is the row to store. The engine fills Seq, ID, Strategy and
	// ProposedAt (NewProposal) and, at the gate, the hashes, counts, source
	// and status.
	Candidate *Candidate
	// Child is the proposed tree; nil for a strategy without trees
	// (codegen), which sets Candidate.Source instead.
	Child *tree.Tree
	// Planned: Op and Category came from the planner, so the planner
	// learns from the proposal's outcome (a gate rejection is a failure).
	Planned bool
	// gated: the cheap gate already ran (surrogate screening gates its K
	// children itself); the engine does not run it again.
	gated bool
	start time.Time
}

// Reject marks the proposal rejected at stage, with a reason, and returns it.
func (p *Proposal) Reject(stage, format string, a ...any) *Proposal {
	p.Candidate.Status = StatusRejected
	p.Candidate.Gate = stage
	p.Candidate.Reason = fmt.Sprintf(format, a...)
	return p
}

// Rejected reports whether the proposal has been rejected.
func (p *Proposal) Rejected() bool { return p.Candidate.Status == StatusRejected }

// SetParent records the parent the child derives from.
func (p *Proposal) SetParent(c *Candidate) { p.Candidate.ParentID = c.ID }

// SetUsage records what the LLM spent on the proposal.
func (p *Proposal) SetUsage(u llm.Usage) {
	p.Candidate.Fallback = p.Candidate.Fallback || u.Fallback
	p.Candidate.LLMTokens += u.PromptTokens + u.CompletionTokens
	p.Candidate.LLMCost += u.CostUSD
}

// Env is what a strategy may see and use of the running engine: the
// archive, parsed trees, seeded random streams, the planner, the option
// tools and the resolver. It is valid during Engine.Run.
type Env struct{ e *Engine }

// Config is the run's evolve configuration.
func (v *Env) Config() Config { return v.e.Config }

// Job is the template of every training job: input shape, classes and
// the limits the gate enforces.
func (v *Env) Job() train.Job { return v.e.Job }

// ArchKey is t's key in the evaluator's space (the tabular arch string),
// "" when the run has none or t lies outside it.
func (v *Env) ArchKey(t *tree.Tree) string { return v.e.archOf(t) }

// NewProposal starts proposal number seq.
func (v *Env) NewProposal(seq int64) *Proposal {
	return &Proposal{start: time.Now(), Candidate: &Candidate{Seq: seq, ID: candidateID(seq), Strategy: v.e.Config.Strategy,
		Reward: -1, ProposedAt: time.Now().UTC()}}
}

// Rand is a random stream that depends only on the run seed, the trial
// (usually the proposal number) and the stream's name, so a resumed run
// draws exactly what an uninterrupted one would. Streams with different
// names are independent.
func (v *Env) Rand(trial int64, stream string) *rand.Rand {
	return v.e.rngFor(trial, streamID(stream))
}

// Named random streams of a proposal. The first ones keep the numbers the
// engine has always used, so runs stay reproducible across versions.
const (
	StreamParent  = "parent"
	StreamOp      = "op"
	StreamOptions = "options"
	StreamResolve = "resolve"
	StreamChild   = "child"
	StreamPalette = "palette"
)

func streamID(name string) uint64 {
	switch name {
	case StreamParent:
		return rngParent
	case StreamOp:
		return rngOp
	case StreamOptions:
		return rngOptions
	case StreamResolve:
		return rngResolve
	case StreamChild:
		return rngChild
	case StreamPalette:
		return rngPalette
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64() | 1<<63 // never one of the numbered streams
}

// Feasible returns the trained-OK candidates in finishing order (the
// ages regularized evolution needs). The slice must not be modified.
func (v *Env) Feasible() []*Candidate { return v.e.arch.feasible }

// Population is the most recent size feasible candidates.
func (v *Env) Population(size int) []*Candidate { return v.e.arch.population(size) }

// Ranked returns the feasible candidates, best validation accuracy first.
func (v *Env) Ranked() []*Candidate { return ranked(v.e.arch.feasible) }

// Candidates returns every candidate in proposal order, rejected ones
// included. The slice must not be modified.
func (v *Env) Candidates() []*Candidate { return v.e.arch.order }

// Candidate returns the candidate with the given ID, or nil.
func (v *Env) Candidate(id string) *Candidate { return v.e.arch.byID[id] }

// Best is the feasible candidate with the best validation accuracy, or nil.
func (v *Env) Best() *Candidate { return v.e.arch.best }

// LastWin is the most recent candidate with reward 1, or nil.
func (v *Env) LastWin() *Candidate { return v.e.arch.lastWin }

// SelectParent draws a parent as evolve.parents configures; nil when
// nothing is feasible yet.
func (v *Env) SelectParent(rng *rand.Rand) *Candidate {
	return v.e.arch.selectParent(v.e.Config.Parents, rng)
}

// Tree returns a candidate's parsed tree (nil for a codegen candidate).
func (v *Env) Tree(c *Candidate) (*tree.Tree, error) {
	t, err := v.e.treeOf(c)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("evolve: candidate %s has no tree", c.ID)
	}
	return t, nil
}

// Planner is the run's hierarchical Thompson sampler.
func (v *Env) Planner() *Planner { return v.e.Planner }

// UsableOps are the planner's configured operations that can be applied
// now (repeat needs an earlier success).
func (v *Env) UsableOps() []string { return v.e.usableOps() }

// Duplicate returns the ID of an earlier candidate with the same
// structural hash or normalized-code hash ("" for none).
func (v *Env) Duplicate(hash, codeHash string) string {
	id, _, _ := v.e.arch.duplicateOf(hash, codeHash)
	return id
}

// Gate runs the cheap gate (shapes, space, constraints, dedup) on p now,
// so a strategy can compare gated children; the engine does not run it a
// second time.
func (v *Env) Gate(p *Proposal) {
	if !p.Rejected() {
		v.e.cheapGate(p)
	}
	p.gated = true
}

// Offers lists up to quota pre-gated options of operation op at parent
// (quota <= 0: evolve.max_options): every one already applied and passed
// the cheap gate. trial keys the random streams.
func (v *Env) Offers(parent *Candidate, op string, trial int64, quota int) (*Offers, error) {
	if quota <= 0 {
		quota = v.e.Config.MaxOptions
	}
	return v.e.cachedOffers(parent, op, trial, quota, 1)
}

// PlannedOffers draws the planner's operation and category at parent,
// masking for this draw every operation without a pre-gated option (no
// reward update). ok is false when no operation has one.
func (v *Env) PlannedOffers(parent *Candidate, trial int64, quota int) (op, cat string, offers *Offers, ok bool, err error) {
	if quota <= 0 {
		quota = v.e.Config.MaxOptions
	}
	return v.e.plannedOffers(parent, trial, quota)
}

// UniformOffers is PlannedOffers with a uniform operation draw.
func (v *Env) UniformOffers(parent *Candidate, trial int64, quota int) (op string, offers *Offers, ok bool, err error) {
	if quota <= 0 {
		quota = v.e.Config.MaxOptions
	}
	return v.e.uniformOffers(parent, trial, quota)
}

// Resolve asks resolver (nil: a seeded uniform offline choice) to pick
// one of offers in prompt category cat and fills p with the chosen child,
// already gated.
func (v *Env) Resolve(ctx context.Context, p *Proposal, offers *Offers, cat string, resolver llm.Resolver, trial int64) (*Proposal, error) {
	return v.e.resolve(ctx, p, offers, cat, resolver, trial)
}

// ParentsFrom is the order in which to try parents after first: the rest
// of the feasible archive, best first. A strategy moves on when a parent's
// neighbourhood has nothing left to offer.
func (v *Env) ParentsFrom(first *Candidate) []*Candidate { return v.e.parentsFrom(first) }
