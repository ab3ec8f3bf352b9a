package evolve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/arbor-nas/arbor/train"
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
	if !p.gated && !p.Rejected() {
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

// cheapGate runs the gate stages that need no Python on a proposal the
// strategy made directly (seeds, plug-ins): shapes, the space,
// constraints, and dedup by structural and normalized-code hash.
func (e *Engine) cheapGate(p *Proposal) {
	if p.Child == nil {
		// A source without a tree (codegen): dedup by its normalized code;
		// the dry run and the constraints on its counts are the rest of
		// its gate.
		if c := p.Candidate; c.Source != "" {
			c.CodeHash = codeHash(c.Source)
			c.Hash = c.CodeHash
			if id, _, _ := e.arch.duplicateOf("", c.CodeHash); id != "" {
				p.Reject(GateDuplicate, "same code hash as %s", id)
			}
		}
		return
	}
	g, stage, reason := e.gateTree(p.Child, nil, nil)
	p.accept(g)
	if stage != "" {
		p.gated = false
		p.Reject(stage, "%s", reason)
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
	// The gate measures (PyTorch's own counts); evolve judges the constraints.
	r, err := e.DryRun.Check(ctx, p.Candidate.Source, e.Job.Input, e.Job.Classes)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("evolve: dry-run gate failed on %s: %w", p.Candidate.ID, err)
	}
	if r.Status != train.StatusOK {
		reason := string(r.Status)
		if r.Error != "" {
			reason += ": " + r.Error
		}
		p.Reject(GateDryRun, "%s", reason)
		return nil
	}
	if why := e.violates(r.Params, r.FLOPs); why != "" {
		p.Reject(GateConstraints, "dry-run: %s", why)
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
// shows the candidate to a strategy that learns from results.
func (e *Engine) keepTree(c *Candidate) error {
	t, err := e.treeOf(c)
	if err != nil {
		return err
	}
	e.registerBlocks(t)
	if o, ok := e.strategy.(Observer); ok {
		return o.Observe(e.env, c)
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

// archOf is t's evaluator key, "" when unknown.
func (e *Engine) archOf(t *tree.Tree) string {
	if t == nil || e.Arch == nil {
		return ""
	}
	a, _ := e.Arch(t)
	return a
}

// registerBlocks adds the composite blocks of a feasible tree to the
// run's palette. The blocks live in the stored trees, so a resumed run
// finds them again.
func (e *Engine) registerBlocks(t *tree.Tree) {
	if t == nil {
		return
	}
	t.Walk(func(_ string, n *tree.Node) bool {
		if n.Block != "" {
			if _, ok := e.composites[n.Block]; !ok {
				b := *n
				b.Name = n.Block
				e.composites[n.Block] = &b
			}
		}
		return true
	})
}
