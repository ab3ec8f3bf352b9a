package evolve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/arbor-nas/arbor/evolve/store"

	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/tree"
)

// Engine runs one search. Set the fields, then call Run once. Store,
// Planner, Evaluator, Strategy and Config are required; the others are
// optional.
type Engine struct {
	Store     *Store
	Planner   *Planner
	Evaluator train.Evaluator
	DryRun    DryRunner // optional; used when Config.DryRun
	// Strategy proposes the candidates: a built-in one from NewStrategy
	// (which checks what it requires) or a plug-in. Its name must be
	// Config.Strategy.
	Strategy Strategy
	// Catalog resolves module nodes; Modules are the usable catalog
	// modules offered to insert and swap.
	Catalog tree.Catalog
	Modules []*tree.ModuleSpec
	// Seeds are the starting architectures, added on a fresh run only.
	Seeds []*tree.Tree
	// Arch maps a tree to the evaluator's key (Job.Arch); optional. When
	// set, a child it cannot map is outside the evaluator's space and is
	// rejected at the gate (stage "space").
	Arch func(*tree.Tree) (string, error)
	// Filter, when set, keeps only the options it accepts (e.g. the cell
	// edges of a tabular search space).
	Filter func(t *tree.Tree, o tree.Option) bool
	// Job is the template every training job is built from: recipe,
	// dataset, limits, input shape and classes. Its Limits.MaxParams and
	// Limits.MaxFLOPs are also the gate's constraints.
	Job    train.Job
	Config Config
	// Events receives every event after it is stored; it must not block long.
	Events   func(Event)
	Progress func(train.Progress)
	Log      *slog.Logger
	// Redactor cleans every string that comes from outside (the resolver's
	// rationale, the coder's source, gate and training errors) before it is
	// stored or published; its zero value removes the known key shapes.
	Redactor llm.Redactor
	// Abort, when closed, cancels in-flight jobs at once (the second Ctrl-C).
	Abort <-chan struct{}
	// Checkpoints, when set, asks the evaluator for each candidate's
	// trained weights and keeps those of the candidates that may still be
	// a parent or a finalist.
	Checkpoints *Checkpoints
	// Inherit starts each child from its parent's kept weights where the
	// tree is unchanged (train.inherit); needs Checkpoints.
	Inherit bool

	strategy   Strategy
	env        *Env
	arch       *archive
	primitives []*tree.Node // insert/swap primitive palette, built once
	optCache   map[optionsKey][]option
	exhausted  map[optionsKey]bool   // (parent, op) with no option left that passes the gate
	filtered   map[string]int        // children the pre-gate removed, by stage
	noise      *Noise                // the proxy's measured noise (noise.go); nil before
	decisions  map[string][]byte     // the resolver's decision (JSON) by candidate ID, until stored
	composites map[string]*tree.Node // the run's composite blocks, by name: part of the palette
	gateTime   time.Duration         // time spent pre-gating options
	trees      map[string]*tree.Tree // parsed trees of feasible candidates, by ID
	seq        int64
	trained    int
	rejected   int
	inFlight   map[string]*Candidate
	llmCost    float64
	started    time.Time
	streak     int
	draining   bool
	stopWhy    string
	lastEvent  Event
}

// errNoParent: nothing feasible yet; wait for an in-flight job.
// errBudget: a budget ran out while proposing.
var (
	errNoParent = errors.New("no feasible parent yet")
	errBudget   = errors.New("budget reached")
)

// ErrExhausted ends a run whose proposals failed the gate
// Config.MaxRejectStreak times in a row: every child the strategy can
// reach from the archive is invalid or already known.
var ErrExhausted = errors.New("the space around the archive looks exhausted")

// noParent explains why nothing can be a parent when nothing is in flight.
func (e *Engine) noParent() error {
	for _, c := range e.arch.order {
		if c.Op == OpSeed && (c.Status == StatusFailed || c.Status == StatusRejected) {
			return fmt.Errorf("evolve: the seed %s did not train (%s %s: %s); nothing can be a parent — check it with arbor train",
				c.ID, c.Status, c.Result.Status, firstNonEmpty(c.Result.Error, c.Reason))
		}
	}
	return errors.New("evolve: no candidate has trained successfully, so nothing can be a parent")
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

type jobDone struct {
	id  string
	res train.Result
	err error
	// noise: the accuracies of the seed's repeated trainings, when this
	// job measured the proxy's noise (measured true).
	noise    []float64
	measured bool
}

// Run runs the search until a budget is reached, the space is exhausted,
// or ctx is cancelled. Cancelling ctx drains: no new job starts, in-flight
// jobs get Config.Grace to finish and are then cancelled, and every result
// is stored before Run returns ctx's error. A store that already holds
// candidates is resumed.
func (e *Engine) Run(ctx context.Context) error {
	if err := e.check(); err != nil {
		return err
	}
	queue, err := e.load(ctx)
	if err != nil {
		return e.Redactor.Error(err)
	}
	e.started = time.Now()

	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	if e.Abort != nil {
		go func() {
			select {
			case <-e.Abort:
				cancelJobs()
			case <-jobCtx.Done():
			}
		}()
	}
	results := make(chan jobDone, e.Config.Parallel+len(queue))
	var grace <-chan time.Time
	var fatal error

	for {
		if ctx.Err() != nil && !e.draining {
			e.draining = true
			e.emit(ctx, Event{Kind: EventDraining, Message: fmt.Sprintf("interrupted: no new jobs; %d in flight get %s to finish", len(e.inFlight), e.Config.Grace)})
			grace = time.After(e.Config.Grace)
		}
		if e.stopWhy == "" {
			e.stopWhy = e.budgetReached()
			if e.stopWhy != "" {
				e.emit(ctx, Event{Kind: EventBudgetReached, Message: e.stopWhy})
			}
		}
		for fatal == nil && !e.draining && e.stopWhy == "" && len(e.inFlight) < e.Config.Parallel && e.roomForJob() {
			var c *Candidate
			if len(queue) > 0 {
				c, queue = queue[0], queue[1:]
			} else {
				c, err = e.next(ctx)
				if errors.Is(err, errBudget) || (errors.Is(err, errNoParent) && len(e.inFlight) > 0) {
					break // the next turn notes the budget, or waits for a result
				}
				if errors.Is(err, errNoParent) {
					fatal = e.noParent()
					break
				}
				if err != nil {
					if ctx.Err() != nil {
						break // interrupted while proposing: drain
					}
					fatal = err
					break
				}
			}
			if err := e.start(ctx, jobCtx, c, results); err != nil {
				fatal = err
			}
		}
		if fatal != nil && !e.draining {
			e.draining = true
			grace = time.After(e.Config.Grace)
		}
		if len(e.inFlight) == 0 {
			break
		}
		select {
		case d := <-results:
			if err := e.finish(ctx, d); err != nil && fatal == nil {
				fatal = err
				e.draining = true
				grace = time.After(e.Config.Grace)
			}
		case <-ctx.Done():
			// loop around to start draining
			if e.draining {
				select {
				case d := <-results:
					if err := e.finish(ctx, d); err != nil && fatal == nil {
						fatal = err
					}
				case <-grace:
					cancelJobs()
				}
			}
		case <-grace:
			cancelJobs()
			grace = nil
		}
	}
	msg := e.stopWhy
	fatal = e.Redactor.Error(fatal)
	switch {
	case fatal != nil:
		msg = "stopped by error: " + fatal.Error()
	case ctx.Err() != nil:
		msg = "interrupted; resume with --resume"
	}
	e.emit(ctx, Event{Kind: EventRunFinished, Message: msg})
	if fatal != nil {
		return fatal
	}
	return ctx.Err()
}

func (e *Engine) check() error {
	switch {
	case e.Store == nil:
		return errors.New("evolve: Engine.Store is nil")
	case e.Planner == nil:
		return errors.New("evolve: Engine.Planner is nil")
	case e.Evaluator == nil:
		return errors.New("evolve: Engine.Evaluator is nil")
	case e.Strategy == nil:
		return errors.New("evolve: Engine.Strategy is nil (evolve.NewStrategy builds the one evolve.strategy names)")
	}
	e.strategy = e.Strategy
	if e.Config.Strategy != e.strategy.Name() {
		return fmt.Errorf("evolve.strategy: the config says %q, but Engine.Strategy is %q", e.Config.Strategy, e.strategy.Name())
	}
	if err := e.Config.validate(e.strategy.Name()); err != nil {
		return err
	}
	e.env = &Env{e}
	if e.Log == nil {
		e.Log = slog.Default()
	}
	return nil
}

// roomForJob: the trained budget counts finished and in-flight jobs, so
// the run never trains more than the budget.
func (e *Engine) roomForJob() bool {
	b := e.Config.Budget.Trained
	return b == 0 || e.trained+len(e.inFlight) < b
}

// budgetReached returns why the search must stop proposing, or "".
func (e *Engine) budgetReached() string {
	b := e.Config.Budget
	switch {
	case b.Trained > 0 && e.trained >= b.Trained:
		return fmt.Sprintf("budget reached: %d candidates trained", e.trained)
	case b.WallTime > 0 && time.Since(e.started) >= b.WallTime:
		return fmt.Sprintf("budget reached: wall time %s", b.WallTime)
	case b.LLMUSD > 0 && e.llmCost >= b.LLMUSD:
		return fmt.Sprintf("budget reached: LLM spend $%.4f >= $%.4f", e.llmCost, b.LLMUSD)
	case b.TargetAcc > 0 && e.arch.bestAcc() >= b.TargetAcc:
		return fmt.Sprintf("target reached: val acc %.2f%% >= %.2f%% (%s)", e.arch.bestAcc(), b.TargetAcc, e.arch.best.ID)
	}
	return ""
}

// rngFor is the per-candidate random stream: it depends only on the run
// seed and the proposal number, so a resumed run draws exactly what an
// uninterrupted one would.
func (e *Engine) rngFor(seq int64, purpose uint64) *rand.Rand {
	return rand.New(rand.NewPCG(e.Config.Seed^purpose*0x9e3779b97f4a7c15, uint64(seq)))
}

// next proposes candidates until one passes the gate; rejected ones are
// stored as they go. It returns the pending candidate, already stored.
func (e *Engine) next(ctx context.Context) (*Candidate, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := e.proposeGated(ctx)
		if err != nil {
			return nil, err
		}
		if c.Status == StatusPending {
			e.streak = 0
			return c, nil
		}
		e.streak++
		if e.streak >= e.Config.MaxRejectStreak {
			return nil, fmt.Errorf("evolve: %d proposals in a row failed the gate (last: %s: %s); %w — raise evolve.max_reject_streak, relax evolve.constraints or add catalog modules", e.streak, c.Gate, c.Reason, ErrExhausted)
		}
		if e.budgetReached() != "" {
			return nil, errBudget
		}
	}
}

// record stores a newly proposed candidate (pending or rejected) together
// with the planner state and its events, then updates the archive.
func (e *Engine) record(ctx context.Context, c *Candidate, planned bool) error {
	if c.Status == StatusRejected && planned {
		e.Planner.Update(c.Op, c.Category, false)
	}
	c.Rationale, c.Reason = e.Redactor.Redact(c.Rationale), e.Redactor.Redact(c.Reason)
	state, err := e.Planner.MarshalBinary()
	if err != nil {
		return err
	}
	evs := []Event{e.event(Event{Kind: EventProposed, CandidateID: c.ID, ParentID: c.ParentID, Op: c.Op, Category: c.Category, Path: c.Path, Module: c.Module, Params: c.Params, FLOPs: c.FLOPs})}
	if c.Status == StatusRejected {
		e.rejected++
		evs = append(evs, e.event(Event{Kind: EventRejected, CandidateID: c.ID, ParentID: c.ParentID, Op: c.Op, Gate: c.Gate, Reason: c.Reason}))
	}
	pre, err := json.Marshal(e.filtered)
	if err != nil {
		return err
	}
	meta := map[string]string{MetaPreGate: string(pre)}
	if d, ok := e.decisions[c.ID]; ok {
		// The decision exactly as the resolver saw it: `arbor llm try
		// --run --candidate` renders its prompt again.
		meta[store.DecisionKey(c.ID)] = string(d)
		delete(e.decisions, c.ID)
	}
	if err := e.Store.Apply(ctx, Write{Insert: c, Planner: state, Events: evs, Meta: meta}); err != nil {
		return err
	}
	e.arch.add(c)
	e.llmCost += c.LLMCost
	e.publish(evs...)
	return nil
}

// start marks c started (attempts+1, stored before the job runs, so a
// killed process leaves the evidence) and launches its evaluation.
func (e *Engine) start(ctx, jobCtx context.Context, c *Candidate, results chan<- jobDone) error {
	handle := c.Result.Handle
	reattach := c.Attempts > 0
	c.Attempts++
	c.StartedAt = time.Now().UTC()
	ev := e.event(Event{Kind: EventStarted, CandidateID: c.ID, ParentID: c.ParentID, Op: c.Op, Params: c.Params})
	e.inFlight[c.ID] = c
	ev.InFlight = len(e.inFlight)
	if err := e.Store.Apply(ctx, Write{Update: c, Events: []Event{ev}}); err != nil {
		delete(e.inFlight, c.ID)
		return err
	}
	e.publish(ev)
	job := e.job(c)
	noise := e.measuresNoise(c)
	go func() {
		var res train.Result
		var err error
		if a, ok := e.Evaluator.(Attacher); ok && reattach {
			res, err = a.Attach(jobCtx, job, handle, e.Progress)
			if err != nil {
				e.Log.Info("evolve: could not re-attach; training again", "candidate", c.ID, "err", err)
				res, err = e.Evaluator.Evaluate(jobCtx, job, e.Progress)
			}
		} else {
			res, err = e.Evaluator.Evaluate(jobCtx, job, e.Progress)
		}
		d := jobDone{id: job.ID, res: res, err: err}
		if noise && err == nil && res.Status == train.StatusOK {
			d.noise, d.measured = e.repeatSeed(jobCtx, job), true
		}
		results <- d
	}()
	return nil
}

func (e *Engine) job(c *Candidate) train.Job {
	j := e.Job
	j.ID = c.ID
	j.Source = c.Source
	j.Seed = int64(e.Config.Seed)
	j.FLOPs = c.FLOPs
	if e.Checkpoints != nil {
		j.Checkpoint = e.Checkpoints.Path(c.ID)
		if e.Inherit && c.ParentID != "" {
			j.Inherit = e.Checkpoints.Path(c.ParentID)
		}
	}
	if e.Arch != nil {
		if t, err := e.treeOf(c); err == nil && t != nil {
			if a, err := e.Arch(t); err == nil {
				j.Arch = a
			}
		}
	}
	return j
}

// finish stores one job's outcome, whole, with the planner's update.
func (e *Engine) finish(ctx context.Context, d jobDone) error {
	c := e.inFlight[d.id]
	if c == nil {
		return fmt.Errorf("evolve: result for unknown job %q", d.id)
	}
	delete(e.inFlight, d.id)
	if d.err != nil {
		// The evaluator itself is broken: the candidate stays pending and
		// is retried on resume; the run stops.
		return fmt.Errorf("evolve: evaluator failed on %s: %w", c.ID, d.err)
	}
	if d.res.Status == train.StatusCancelled && e.draining {
		// Cut short by the drain: not the candidate's fault, so it stays
		// pending and is re-queued on resume, its interruption on record.
		c.Interrupted++
		c.Result.Handle = d.res.Handle
		return e.Store.Apply(ctx, Write{Update: c})
	}
	c.Result = d.res
	c.Result.ID = c.ID
	c.Result.Error = e.Redactor.Redact(c.Result.Error) // a child's stderr tail
	c.FinishedAt = time.Now().UTC()
	if d.res.Status == train.StatusOK {
		c.Status = StatusTrained
	} else {
		c.Status = StatusFailed
	}
	if c.Result.Params == 0 {
		c.Result.Params = c.Params
	}
	if c.Result.FLOPs == 0 {
		c.Result.FLOPs = c.FLOPs
	}
	var meta map[string]string
	if d.measured {
		e.noise = noiseFrom(c.Result.ValAcc, d.noise)
		e.noise.Margin = e.Config.Noise.Margin * e.noise.Sigma
		b, err := json.Marshal(e.noise)
		if err != nil {
			return err
		}
		meta = map[string]string{MetaNoise: string(b)}
		e.Log.Info("evolve: proxy noise measured", "seed_val_accs", e.noise.Values, "sigma", e.noise.Sigma, "win_margin", e.margin())
	}
	c.Reward = e.reward(c)
	if c.Category != "" || c.Op != OpSeed {
		e.Planner.Update(c.Op, c.Category, c.Reward == 1)
	}
	state, err := e.Planner.MarshalBinary()
	if err != nil {
		return err
	}
	prevBest := e.arch.best
	e.trained++
	newBest := e.arch.finished(c)
	evs := []Event{e.event(Event{Kind: EventFinished, CandidateID: c.ID, ParentID: c.ParentID, Op: c.Op, Path: c.Path,
		Module: c.Module, Status: string(c.Result.Status), ValAcc: c.Result.ValAcc, Params: c.Result.Params,
		FLOPs: c.Result.FLOPs, WallS: c.Result.WallS, Message: c.Result.Error})}
	if newBest {
		msg := "first feasible candidate"
		if prevBest != nil {
			msg = fmt.Sprintf("%.2f%% -> %.2f%%", prevBest.Result.ValAcc, c.Result.ValAcc)
		}
		evs = append(evs, e.event(Event{Kind: EventBestImproved, CandidateID: c.ID, ValAcc: c.Result.ValAcc, Params: c.Result.Params, Message: msg}))
	}
	if err := e.Store.Apply(ctx, Write{Update: c, Planner: state, Events: evs, Meta: meta}); err != nil {
		return err
	}
	if c.Feasible() {
		if err := e.keepTree(c); err != nil {
			return err
		}
	}
	if e.Checkpoints != nil {
		removed, err := e.Checkpoints.prune(rankForCheckpoints(e.arch.feasible))
		if err != nil {
			e.Log.Warn("evolve: pruning checkpoints", "err", err)
		}
		if len(removed) > 0 {
			e.Log.Debug("evolve: checkpoints dropped", "ids", removed)
		}
	}
	e.publish(evs...)
	return nil
}

// reward is the planner's Bernoulli outcome for a finished candidate.
func (e *Engine) reward(c *Candidate) int {
	if !c.Feasible() {
		return 0
	}
	switch e.Planner.Config().Reward {
	case RewardFeasible:
		return 1
	case RewardBeatsBest:
		if c.Result.ValAcc > e.arch.bestAcc()+e.margin() {
			return 1
		}
		return 0
	default:
		// A win beats the parent by more than the proxy's noise (noise.go).
		p := e.arch.byID[c.ParentID]
		if p == nil || c.Result.ValAcc > p.Result.ValAcc+e.margin() {
			return 1
		}
		return 0
	}
}

// event stamps the progress counters on ev.
func (e *Engine) event(ev Event) Event {
	ev.Time = time.Now().UTC()
	ev.Message, ev.Reason = e.Redactor.Redact(ev.Message), e.Redactor.Redact(ev.Reason)
	ev.Trained = e.trained
	ev.Budget = e.Config.Budget.Trained
	if ev.InFlight == 0 {
		ev.InFlight = len(e.inFlight)
	}
	ev.Rejected = e.rejected
	ev.BestValAcc = e.arch.bestAcc()
	ev.LLMCost = e.llmCost
	return ev
}

// emit stores and publishes a standalone event.
func (e *Engine) emit(ctx context.Context, ev Event) {
	ev = e.event(ev)
	if err := e.Store.Apply(ctx, Write{Events: []Event{ev}}); err != nil {
		e.Log.Warn("evolve: could not store event", "kind", ev.Kind, "err", err)
	}
	e.publish(ev)
}

func (e *Engine) publish(evs ...Event) {
	for _, ev := range evs {
		e.lastEvent = ev
		if e.Events != nil {
			e.Events(ev)
		}
	}
}
