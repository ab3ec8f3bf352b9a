package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/tree"
)

func writeJSONBytes(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSONBytes(w, b)
}

// runList is the home page: every run's overview and every bench directory.
type runList struct {
	Runs    []json.RawMessage `json:"runs"`
	Benches []benchEntry      `json:"benches"`
}

type benchEntry struct {
	Name string `json:"name"`
	Dir  string `json:"dir"`
}

func (s *Server) handleRuns(w http.ResponseWriter, r *http.Request) {
	out := runList{Runs: []json.RawMessage{}, Benches: []benchEntry{}}
	for _, rs := range s.allRuns() {
		s.ensureLoaded(r.Context(), rs)
		b, err := rs.view("overview", func() (any, error) { return rs.overviewView(time.Now()), nil })
		if err != nil {
			b, _ = json.Marshal(overview{Name: rs.name, Dir: rs.dir, State: "unreadable", Error: err.Error(), ETAS: -1})
		}
		out.Runs = append(out.Runs, b)
	}
	s.mu.Lock()
	for _, f := range s.order {
		if f.kind == kindBench {
			out.Benches = append(out.Benches, benchEntry{Name: f.name, Dir: f.dir})
		}
	}
	s.mu.Unlock()
	writeJSON(w, out)
}

// ensureLoaded reads a run the first time it is asked for, so the first
// page does not wait for the next poll.
func (s *Server) ensureLoaded(ctx context.Context, rs *runSource) {
	rs.mu.Lock()
	loaded := rs.loaded
	rs.mu.Unlock()
	if !loaded {
		rs.refresh(ctx)
	}
}

func (s *Server) handleRunView(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("run")
	rs, ok := s.run(name)
	if !ok {
		http.Error(w, fmt.Sprintf("no run %q (the runs are listed at /api/runs)", name), http.StatusNotFound)
		return
	}
	start := time.Now()
	defer func() { rs.addCost(time.Since(start)) }()
	s.ensureLoaded(r.Context(), rs)
	var b []byte
	var err error
	switch view := r.PathValue("view"); view {
	case "overview":
		// Not cached: elapsed time and ETA move with the clock.
		rs.mu.Lock()
		if rs.loaded {
			b, err = json.Marshal(rs.overviewView(time.Now()))
		} else {
			err = rs.err
		}
		rs.mu.Unlock()
	case "candidates":
		b, err = rs.view(view, func() (any, error) { return rs.rowsView(), nil })
	case "charts":
		b, err = rs.view(view, func() (any, error) { return rs.chartsView(), nil })
	case "lineage":
		b, err = rs.view(view, func() (any, error) { return rs.lineageView(), nil })
	case "importance":
		b, err = rs.view(view, func() (any, error) { return rs.importanceView(), nil })
	case "candidate":
		b, err = s.candidatePage(r.Context(), rs, r.URL.Query().Get("id"))
	default:
		http.Error(w, "unknown view "+view, http.StatusNotFound)
		return
	}
	if err != nil {
		code := http.StatusInternalServerError
		if ue, ok := err.(notFound); ok {
			code, err = http.StatusNotFound, ue.error
		}
		http.Error(w, err.Error(), code)
		return
	}
	writeJSONBytes(w, b)
}

type notFound struct{ error }

// candidatePage builds one candidate's page; its LLM calls and the
// catalog (for per-node counts of mined modules) are read on demand.
func (s *Server) candidatePage(ctx context.Context, rs *runSource, id string) ([]byte, error) {
	rs.mu.Lock()
	_, ok := rs.candidate(id)
	db, catPath := rs.store, rs.cfg.Catalog
	rs.mu.Unlock()
	if !ok {
		return nil, notFound{fmt.Errorf("run %s has no candidate %q", rs.name, id)}
	}
	if db == nil {
		return nil, fmt.Errorf("run %s: store not open", rs.name)
	}
	// The page needs the tree and source of the candidate and its parent,
	// which the listing does not keep.
	c, err := db.Candidate(ctx, id)
	if err != nil {
		return nil, err
	}
	var parent store.Candidate
	if c.ParentID != "" {
		if parent, err = db.Candidate(ctx, c.ParentID); err != nil {
			return nil, err
		}
	}
	calls, err := db.CallsFor(ctx, id)
	if err != nil {
		return nil, err
	}
	cat, catErr := s.catalog(ctx, catPath, db)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	v := rs.candidateView(c, parent, cat, calls)
	if catErr != nil && v.TreeError == "" {
		v.TreeError = catErr.Error()
	}
	return json.Marshal(v)
}

// catalog loads the run's module catalog once (nil when it used none).
func (s *Server) catalog(ctx context.Context, path string, db *store.Store) (tree.Catalog, error) {
	if path == "" || db == nil {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.catalogs[path]; ok {
		return c, nil
	}
	cat, err := s.opts.Catalog(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("%w (per-node counts of mined modules need it)", err)
	}
	s.catalogs[path] = cat
	return cat, nil
}

func callOf(c store.CallRow) callView {
	v := callView{Time: c.Time, Model: c.Model, Category: c.Category, Outcome: c.Outcome, TokensIn: c.TokensIn,
		TokensOut: c.TokensOut, CostUSD: c.Cost, LatencyMS: c.LatencyMS}
	var rec llm.CallRecord
	if json.Unmarshal(c.Record, &rec) == nil {
		v.Operation, v.Retries, v.Choice, v.Error, v.Prompt, v.Answer = rec.Operation, rec.Retries, rec.OptionID, rec.Error, rec.Prompt, rec.Answer
		v.Requests = rec.Attempts + rec.Retries
		v.Repairs = max(0, rec.Attempts-1)
	} else {
		v.Requests = c.Attempts
		v.Repairs = max(0, c.Attempts-1)
	}
	return v
}

// handleEvents streams change notices as server-sent events: one line of
// JSON naming the run and its new version; clients fetch what they show.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch, err := s.hub.subscribe()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer s.hub.unsubscribe(ch)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			fmt.Fprintf(w, "data: %s\n\n", msg)
			fl.Flush()
		case <-beat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		}
	}
}
