package evolve

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/tree"
)

// load prepares the engine from the store: on a fresh store it writes the
// run's metadata and adds the seeds; on a store with candidates it resumes.
// It returns the pending candidates to (re)train first.
func (e *Engine) load(ctx context.Context) ([]*Candidate, error) {
	e.arch = newArchive()
	e.trees = map[string]*tree.Tree{}
	e.inFlight = map[string]*Candidate{}
	e.optCache = map[optionsKey][]option{}
	e.exhausted = map[optionsKey]bool{}
	e.composites = map[string]*tree.Node{}
	e.filtered = map[string]int{}
	cands, err := e.Store.Candidates(ctx)
	if err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		return e.fresh(ctx)
	}
	return e.resume(ctx, cands)
}

func (e *Engine) fresh(ctx context.Context) ([]*Candidate, error) {
	if len(e.Seeds) == 0 && e.Config.Strategy != StrategyCodegen {
		return nil, fmt.Errorf("evolve: no seed architecture (evolve.seed_arch)")
	}
	cfg, err := json.Marshal(e.Config)
	if err != nil {
		return nil, err
	}
	for k, v := range map[string]string{
		MetaConfig: string(cfg), MetaSeed: strconv.FormatUint(e.Config.Seed, 10),
		MetaStrategy: e.Config.Strategy, MetaCreated: time.Now().UTC().Format(time.RFC3339),
	} {
		if err := e.Store.SetMeta(ctx, k, v); err != nil {
			return nil, err
		}
	}
	e.emit(ctx, Event{Kind: EventRunStarted, Message: fmt.Sprintf("strategy %s, seed %d, %d seed architecture(s)", e.Config.Strategy, e.Config.Seed, len(e.Seeds))})
	var queue []*Candidate
	for i, t := range e.Seeds {
		e.seq++
		c, err := e.seedCandidate(ctx, e.seq, i, t)
		if err != nil {
			return nil, err
		}
		if err := e.record(ctx, c, false); err != nil {
			return nil, err
		}
		if c.Status == StatusPending {
			queue = append(queue, c)
		} else {
			return nil, fmt.Errorf("evolve: seed architecture %d fails the gate at %s: %s", i, c.Gate, c.Reason)
		}
	}
	return queue, nil
}

// resume rebuilds the archive, counters and planner from the store. Seeds
// are not re-added. Pending candidates (queued or in flight when the
// previous process stopped) are re-queued: a job lost because arbor died
// says nothing sure about the candidate, so it is counted in
// Candidate.Interrupted, not as a failure. The exception is the poison
// pill: a candidate in flight at evolve.quarantine_after deaths in a row is
// quarantined. Otherwise only the job's own evidence (exit status, a signal
// from the pool, OOM) fails a candidate.
func (e *Engine) resume(ctx context.Context, cands []Candidate) ([]*Candidate, error) {
	state, err := e.Store.PlannerState(ctx)
	if err != nil {
		return nil, err
	}
	if pre, ok, err := e.Store.Meta(ctx, MetaPreGate); err != nil {
		return nil, err
	} else if ok {
		if err := json.Unmarshal([]byte(pre), &e.filtered); err != nil {
			return nil, fmt.Errorf("run store %s: meta %s: %w", e.Store.Path(), MetaPreGate, err)
		}
	}
	if err := e.loadNoise(ctx); err != nil {
		return nil, err
	}
	if state != nil {
		if err := e.Planner.UnmarshalBinary(state); err != nil {
			return nil, fmt.Errorf("run store %s: %w", e.Store.Path(), err)
		}
	}
	var done, pending []*Candidate
	for i := range cands {
		c := &cands[i]
		e.arch.add(c)
		e.seq = max(e.seq, c.Seq)
		e.llmCost += c.LLMCost
		switch c.Status {
		case StatusTrained, StatusFailed:
			done = append(done, c)
		case StatusRejected:
			e.rejected++
		case StatusPending:
			pending = append(pending, c)
		}
	}
	// Replay results in finishing order, so ages (regularized evolution),
	// the best and the last win come out as they were.
	slices.SortStableFunc(done, func(a, b *Candidate) int { return a.FinishedAt.Compare(b.FinishedAt) })
	for _, c := range done {
		e.trained++
		e.arch.finished(c)
		if c.Feasible() {
			if err := e.keepTree(c); err != nil {
				return nil, err
			}
		}
	}
	deaths, err := e.deathsInFlight(ctx)
	if err != nil {
		return nil, err
	}
	var queue []*Candidate
	lost, quarantined := 0, 0
	inARow := map[string]int{}
	for _, c := range pending {
		if c.Attempts > c.Interrupted {
			// Started and never finished: the previous process died while
			// it trained. The evidence is stored before it trains again.
			c.Interrupted = c.Attempts
			inARow[c.ID] = deaths[c.ID] + 1
			if n := e.Config.QuarantineAfter; n > 0 && inARow[c.ID] >= n {
				if err := e.quarantine(ctx, c, inARow[c.ID]); err != nil {
					return nil, err
				}
				quarantined++
				continue
			}
			if err := e.Store.Apply(ctx, Write{Update: c}); err != nil {
				return nil, err
			}
			lost++
		}
		queue = append(queue, c)
	}
	// Only the candidates in flight at this death carry their count on: a
	// clean stop or a finished job ends the streak.
	b, err := json.Marshal(inARow)
	if err != nil {
		return nil, err
	}
	if err := e.Store.Apply(ctx, Write{Meta: map[string]string{metaDeaths: string(b)}}); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("resumed after candidate %s: %d trained, %d rejected, %d re-queued (%d of them lost in flight when arbor stopped, not counted against them)",
		candidateID(e.seq), e.trained, e.rejected, len(queue), lost)
	if quarantined > 0 {
		msg += fmt.Sprintf("; %d quarantined after arbor died %d times in a row while each trained", quarantined, e.Config.QuarantineAfter)
	}
	e.emit(ctx, Event{Kind: EventResumed, Message: msg})
	return queue, nil
}

// metaDeaths records, per pending candidate, how many times in a row arbor
// died while it was training (JSON object of candidate ID to count).
const metaDeaths = "deaths_in_flight"

func (e *Engine) deathsInFlight(ctx context.Context) (map[string]int, error) {
	deaths := map[string]int{}
	raw, ok, err := e.Store.Meta(ctx, metaDeaths)
	if err != nil || !ok {
		return deaths, err
	}
	if err := json.Unmarshal([]byte(raw), &deaths); err != nil {
		return nil, fmt.Errorf("run store %s: meta %s: %w", e.Store.Path(), metaDeaths, err)
	}
	return deaths, nil
}

// quarantine fails c, a candidate arbor died n times in a row while
// training: the poison pill that would otherwise be re-queued forever. The
// reason says honestly that the deaths may only have coincided. The
// planner is not updated: the deaths say nothing sure about the operation.
func (e *Engine) quarantine(ctx context.Context, c *Candidate, n int) error {
	c.Status = StatusFailed
	c.Result = train.Result{ID: c.ID, Status: train.StatusCrashed, Params: c.Params, FLOPs: c.FLOPs,
		Error: fmt.Sprintf("quarantined: arbor itself died %d times in a row while this candidate was training "+
			"(evolve.quarantine_after: %d); it may be what brings the process down, or the deaths only coincided. It is not retried.",
			n, e.Config.QuarantineAfter)}
	c.FinishedAt = time.Now().UTC()
	e.trained++
	e.arch.finished(c)
	ev := e.event(Event{Kind: EventFinished, CandidateID: c.ID, ParentID: c.ParentID, Op: c.Op, Path: c.Path,
		Module: c.Module, Status: string(c.Result.Status), Params: c.Params, FLOPs: c.FLOPs, Message: c.Result.Error})
	if err := e.Store.Apply(ctx, Write{Update: c, Events: []Event{ev}}); err != nil {
		return err
	}
	e.publish(ev)
	return nil
}
