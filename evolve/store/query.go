package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The read helpers below serve the inspection commands (status, best,
// lineage, report). They only SELECT, so they work on a store opened with
// OpenStoreReadOnly while a search is writing it.

// Calls returns every stored LLM call in the order it was made.
func (s *Store) Calls(ctx context.Context) ([]CallRow, error) { return s.queryCalls(ctx, "") }

func (s *Store) queryCalls(ctx context.Context, where string, args ...any) ([]CallRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT time,candidate_id,model,category,tokens_in,tokens_out,cost,latency_ms,attempts,outcome,record
		FROM llm_calls`+where+` ORDER BY seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("run store %s: llm calls: %w", s.path, err)
	}
	defer rows.Close()
	var out []CallRow
	for rows.Next() {
		var c CallRow
		var t, rec string
		if err := rows.Scan(&t, &c.CandidateID, &c.Model, &c.Category, &c.TokensIn, &c.TokensOut, &c.Cost, &c.LatencyMS,
			&c.Attempts, &c.Outcome, &rec); err != nil {
			return nil, fmt.Errorf("run store %s: llm call: %w", s.path, err)
		}
		c.Time = parseTS(t)
		c.Record = json.RawMessage(rec)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("run store %s: llm calls: %w", s.path, err)
	}
	return out, nil
}

// Posteriors are the planner's Beta posteriors as last saved: per
// operation, and per operation and prompt category. It is the public part
// of the planner's saved state, which embeds it.
type Posteriors struct {
	Ops  map[string]Arm            `json:"ops"`
	Cats map[string]map[string]Arm `json:"cats"`
}

// Posteriors decodes the saved planner state; ok is false when the run
// has not saved one (a baseline strategy, or no candidate finished yet).
func (s *Store) Posteriors(ctx context.Context) (p Posteriors, ok bool, err error) {
	b, err := s.PlannerState(ctx)
	if err != nil || b == nil {
		return Posteriors{}, false, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return Posteriors{}, false, fmt.Errorf("run store %s: planner state: %w", s.path, err)
	}
	return p, true, nil
}

// OpStats counts one planner operation's candidates by outcome.
type OpStats struct {
	Op       string `json:"op"`
	Proposed int    `json:"proposed"`
	Rejected int    `json:"rejected"`
	Pending  int    `json:"pending"`
	Trained  int    `json:"trained"` // status trained (the evaluator said ok)
	Failed   int    `json:"failed"`
	// Wins counts children whose planner reward was 1 (by default: they
	// beat their parent's accuracy).
	Wins int `json:"wins"`
}

// SuccessRate is Wins over the candidates that reached the evaluator
// (trained or failed); 0 when none did.
func (o OpStats) SuccessRate() float64 {
	if n := o.Trained + o.Failed; n > 0 {
		return float64(o.Wins) / float64(n)
	}
	return 0
}

// OpStats aggregates the candidates per planner operation, seeds (op
// "seed") included, ordered by operation name.
func (s *Store) OpStats(ctx context.Context) ([]OpStats, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT op, COUNT(*),
		SUM(status=?), SUM(status=?), SUM(status=?), SUM(status=?), SUM(reward=1)
		FROM candidates GROUP BY op ORDER BY op`,
		string(StatusRejected), string(StatusPending), string(StatusTrained), string(StatusFailed))
	if err != nil {
		return nil, fmt.Errorf("run store %s: operation stats: %w", s.path, err)
	}
	defer rows.Close()
	var out []OpStats
	for rows.Next() {
		var o OpStats
		if err := rows.Scan(&o.Op, &o.Proposed, &o.Rejected, &o.Pending, &o.Trained, &o.Failed, &o.Wins); err != nil {
			return nil, fmt.Errorf("run store %s: operation stats: %w", s.path, err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("run store %s: operation stats: %w", s.path, err)
	}
	return out, nil
}

// Lineage returns the chain of candidates from the seed to id, seed
// first. It fails when id is unknown or a parent link is broken.
func (s *Store) Lineage(ctx context.Context, id string) ([]Candidate, error) {
	var chain []Candidate
	seen := map[string]bool{}
	for cur := id; cur != ""; {
		if seen[cur] {
			return nil, fmt.Errorf("run store %s: lineage of %s: parent cycle at %s", s.path, id, cur)
		}
		seen[cur] = true
		c, err := s.Candidate(ctx, cur)
		if err != nil {
			if cur == id {
				return nil, err
			}
			return nil, fmt.Errorf("run store %s: lineage of %s: parent %s is missing", s.path, id, cur)
		}
		chain = append(chain, c)
		cur = c.ParentID
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain, nil
}

// LastEvent returns the newest stored event; ok is false when there is
// none. Its counters are the run's latest progress, and a run whose last
// event is not EventRunFinished is still going or was stopped.
func (s *Store) LastEvent(ctx context.Context) (ev Event, ok bool, err error) {
	var data string
	err = s.db.QueryRowContext(ctx, `SELECT data FROM events ORDER BY seq DESC LIMIT 1`).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return Event{}, false, nil
	}
	if err != nil {
		return Event{}, false, fmt.Errorf("run store %s: last event: %w", s.path, err)
	}
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		return Event{}, false, fmt.Errorf("run store %s: last event: %w", s.path, err)
	}
	return ev, true, nil
}

// CandidatesAfter returns the candidates proposed after seq (seq > after),
// in proposal order, without their Tree and Source (the bulk of a row; read
// one candidate whole with Candidate): a live view reads only what is new
// since its last read, and a listing of thousands stays fast.
func (s *Store) CandidatesAfter(ctx context.Context, after int64) ([]Candidate, error) {
	return s.queryCandidates(ctx, `SELECT `+candidateColsNoText+` FROM candidates WHERE seq>? ORDER BY seq`, after)
}

// candidateColsNoText is candidateCols with empty tree and source.
var candidateColsNoText = strings.Replace(candidateCols, "tree,source,", "'','',", 1)

// EventsAfter returns the events stored after position after (0: all), in
// order, and the position of the last one returned (after when none). A
// candidate's change and its event are written in one transaction, so the
// events since a position name every candidate that changed since then.
func (s *Store) EventsAfter(ctx context.Context, after int64) ([]Event, int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, data FROM events WHERE seq>? ORDER BY seq`, after)
	if err != nil {
		return nil, after, fmt.Errorf("run store %s: events: %w", s.path, err)
	}
	defer rows.Close()
	var out []Event
	last := after
	for rows.Next() {
		var data string
		if err := rows.Scan(&last, &data); err != nil {
			return nil, after, fmt.Errorf("run store %s: events: %w", s.path, err)
		}
		var ev Event
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return nil, after, fmt.Errorf("run store %s: event %d: %w", s.path, last, err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, after, fmt.Errorf("run store %s: events: %w", s.path, err)
	}
	return out, last, nil
}

// CallsFor returns the stored LLM calls made for one candidate, in order.
func (s *Store) CallsFor(ctx context.Context, candidateID string) ([]CallRow, error) {
	return s.queryCalls(ctx, ` WHERE candidate_id=?`, candidateID)
}
