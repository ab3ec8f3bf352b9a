package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/tree"
)

// runSource is one run store as the dashboard knows it. refresh reads only
// what changed since the last refresh: the events after the last seen one,
// the candidates proposed since, and the candidates those events name.
type runSource struct {
	name, dir string

	mu      sync.Mutex
	store   *store.Store
	version int64 // bumped on every refresh that found a change
	err     error // the last refresh's error, shown on the page
	loaded  bool
	closed  bool // the run left the list; its store stays closed

	lastEvent int64
	cands     []store.Candidate
	index     map[string]int // candidate ID -> position in cands
	pending   map[string]bool

	summary store.Summary
	ops     []store.OpStats
	post    store.Posteriors
	hasPost bool
	last    store.Event
	hasLast bool
	// retrain is `arbor retrain`'s result, when the run has one.
	retrain    *store.Retraining
	hasRetrain bool
	firstEvent time.Time
	// procStart and trained0 are the current process's start (the last
	// run-started or resumed event) and the trained count then: the ETA's
	// rate is measured since.
	procStart time.Time
	trained0  int
	finished  bool
	stopWhy   string
	cfg       store.Settings
	settings  SettingsFunc
	// bestID's tree size, read when the best changes.
	bestID               string
	bestNodes, bestDepth int

	// views caches the JSON of each view at the current version.
	views map[string][]byte

	// cost is what the last refresh and the requests answered since took;
	// the next refresh waits dutyFactor times that (see Server.Watch).
	cost   time.Duration
	nextAt time.Time
}

// dutyFactor bounds the dashboard's work on a run to about 1/dutyFactor
// of the time: after a refresh (and the requests it answered from it) that
// took d, the next waits d*dutyFactor. A small run refreshes on every poll; a run
// of thousands of candidates every few seconds.
const dutyFactor = 100

// addCost counts time spent answering a request about the run.
func (r *runSource) addCost(d time.Duration) {
	r.mu.Lock()
	r.cost += d
	r.mu.Unlock()
}

// due reports whether the run may be refreshed at now.
func (r *runSource) due(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !now.Before(r.nextAt)
}

func newRunSource(name, dir string, settings SettingsFunc) *runSource {
	return &runSource{name: name, dir: dir, settings: settings, index: map[string]int{}, pending: map[string]bool{}, views: map[string][]byte{}}
}

// refresh brings the source up to date with its store. It reports whether
// anything changed. Errors are kept for the page as well as returned.
func (r *runSource) refresh(ctx context.Context) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	changed, err := r.refreshLocked(ctx)
	took := time.Since(start)
	r.cost += took
	r.nextAt = start.Add(dutyFactor * r.cost)
	r.cost = 0
	if err != nil {
		if r.err == nil || r.err.Error() != err.Error() {
			changed = true
			r.version++
			clear(r.views)
		}
		r.err = err
		return changed, err
	}
	if r.err != nil {
		r.err = nil
		changed = true
	}
	if changed {
		r.version++
		clear(r.views)
	}
	return changed, nil
}

func (r *runSource) refreshLocked(ctx context.Context) (bool, error) {
	if r.closed {
		return false, fmt.Errorf("%s: no longer served (deleted)", r.dir)
	}
	if r.store == nil {
		if _, err := os.Stat(filepath.Join(r.dir, store.StoreFile)); err != nil {
			return false, fmt.Errorf("%s: no run store yet", r.dir)
		}
		s, err := store.OpenStoreReadOnly(r.dir)
		if err != nil {
			// The file exists before its schema is committed: try again later.
			return false, err
		}
		r.store = s
	}
	s := r.store
	evs, lastSeq, err := s.EventsAfter(ctx, r.lastEvent)
	if err != nil {
		return false, err
	}
	if len(evs) == 0 && r.loaded {
		return false, nil
	}
	if !r.loaded {
		if r.cfg, _, err = r.settings(ctx, s); err != nil {
			return false, err
		}
	}
	var maxSeq int64
	if n := len(r.cands); n > 0 {
		maxSeq = r.cands[n-1].Seq
	}
	named := map[string]bool{}
	for _, ev := range evs {
		if r.firstEvent.IsZero() {
			r.firstEvent = ev.Time
		}
		switch ev.Kind {
		case store.EventRunStarted, store.EventResumed:
			r.procStart, r.trained0 = ev.Time, ev.Trained
			r.finished, r.stopWhy = false, ""
		case store.EventRunFinished:
			r.finished, r.stopWhy = true, ev.Message
		}
		if ev.CandidateID != "" {
			named[ev.CandidateID] = true
		}
	}
	// Re-read from the oldest known candidate that changed: those the new
	// events name and those still pending (a job's finish is an event too;
	// pending ones are re-read in case a write came without one). One query,
	// without trees and sources, also brings the new candidates.
	for id := range r.pending {
		named[id] = true
	}
	from := maxSeq
	for id := range named {
		if i, ok := r.index[id]; ok {
			from = min(from, r.cands[i].Seq-1)
		}
	}
	rows, err := s.CandidatesAfter(ctx, from)
	if err != nil {
		return false, err
	}
	for _, c := range rows {
		if i, ok := r.index[c.ID]; ok {
			r.cands[i] = c
		} else {
			r.index[c.ID] = len(r.cands)
			r.cands = append(r.cands, c)
		}
		r.track(c)
	}
	if r.summary, err = s.Summary(ctx); err != nil {
		return false, err
	}
	if r.ops, err = s.OpStats(ctx); err != nil {
		return false, err
	}
	if r.post, r.hasPost, err = s.Posteriors(ctx); err != nil {
		return false, err
	}
	if r.retrain, r.hasRetrain, err = s.Retraining(ctx); err != nil {
		return false, err
	}
	if r.last, r.hasLast, err = s.LastEvent(ctx); err != nil {
		return false, err
	}
	if b, ok := best(r.cands); ok && b.ID != r.bestID {
		full, err := s.Candidate(ctx, b.ID)
		if err != nil {
			return false, err
		}
		r.bestID, r.bestNodes, r.bestDepth = b.ID, 0, 0
		if t, err := tree.Parse(full.Tree); err == nil {
			t.Walk(func(p string, _ *tree.Node) bool {
				r.bestNodes++
				r.bestDepth = max(r.bestDepth, strings.Count(p, "/"))
				return true
			})
		}
	}
	r.lastEvent = lastSeq
	r.loaded = true
	return true, nil
}

func (r *runSource) track(c store.Candidate) {
	if c.Status == store.StatusPending {
		r.pending[c.ID] = true
	} else {
		delete(r.pending, c.ID)
	}
}

// candidate returns a copy of one candidate, and ok false when unknown.
func (r *runSource) candidate(id string) (store.Candidate, bool) {
	i, ok := r.index[id]
	if !ok {
		return store.Candidate{}, false
	}
	return r.cands[i], true
}

// view returns the cached JSON of a view at the current version, building
// it with build on a miss. The caller holds no lock.
func (r *runSource) view(key string, build func() (any, error)) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.loaded {
		if r.err != nil {
			return nil, r.err
		}
		return nil, errors.New("run not loaded yet")
	}
	if b, ok := r.views[key]; ok {
		return b, nil
	}
	v, err := build()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	// Per-candidate pages are not cached: there may be thousands.
	if len(r.views) < 64 {
		r.views[key] = b
	}
	return b, nil
}

func (r *runSource) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.store != nil {
		r.store.Close()
		r.store = nil
	}
}
