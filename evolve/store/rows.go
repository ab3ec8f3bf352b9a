// Candidate rows: writing a step's changes in one transaction, and
// reading candidates back.

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/arbor-nas/arbor/train"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTS(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// Write is one atomic change to the store: a candidate to insert or
// update, the planner state after the change, and the events it caused.
type Write struct {
	Insert  *Candidate // a newly proposed candidate
	Update  *Candidate // a candidate whose status/result changed
	Planner []byte     // planner state to save (nil: unchanged)
	Events  []Event
	Meta    map[string]string // run metadata to set (the pre-gate's counts)
}

// Apply commits w in one transaction.
func (s *Store) Apply(ctx context.Context, w Write) error {
	what := "write"
	if w.Insert != nil {
		what = "insert candidate " + w.Insert.ID
	} else if w.Update != nil {
		what = "update candidate " + w.Update.ID
	}
	return s.tx(ctx, what, func(tx *sql.Tx) error {
		if w.Insert != nil {
			if err := insertCandidate(tx, w.Insert); err != nil {
				return err
			}
		}
		if w.Update != nil {
			if err := updateCandidate(tx, w.Update); err != nil {
				return err
			}
		}
		if w.Planner != nil {
			if _, err := tx.Exec(`INSERT INTO planner(id,state) VALUES(1,?) ON CONFLICT(id) DO UPDATE SET state=excluded.state`, w.Planner); err != nil {
				return err
			}
		}
		for k, v := range w.Meta {
			if _, err := tx.Exec(`INSERT INTO meta(key,value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value`, k, v); err != nil {
				return err
			}
		}
		for _, ev := range w.Events {
			data, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO events(time,kind,candidate_id,data) VALUES(?,?,?,?)`, ts(ev.Time), string(ev.Kind), ev.CandidateID, string(data)); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertCandidate(tx *sql.Tx, c *Candidate) error {
	args, err := json.Marshal(c.Args)
	if err != nil {
		return fmt.Errorf("args: %w", err)
	}
	curve, err := json.Marshal(c.Result.Curve)
	if err != nil {
		return err
	}
	tree := string(c.Tree)
	_, err = tx.Exec(`INSERT INTO candidates(seq,id,parent_id,strategy,op,transform,category,path,module,args,rationale,fallback,
		tree,source,hash,code_hash,params,flops,gate,reason,status,train_status,val_acc,test_acc,latency_ms,wall_s,
		peak_mem_mb,device,error,handle,curve,reward,attempts,interrupted,engine_ms,llm_tokens,llm_cost,proposed_at,started_at,finished_at)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.Seq, c.ID, c.ParentID, c.Strategy, c.Op, c.Transform, c.Category, c.Path, c.Module, string(args), c.Rationale, c.Fallback,
		tree, c.Source, c.Hash, c.CodeHash, c.Params, c.FLOPs, c.Gate, c.Reason, string(c.Status), string(c.Result.Status),
		c.Result.ValAcc, c.Result.TestAcc, c.Result.LatencyMS, c.Result.WallS, c.Result.PeakMemMB, c.Result.Device,
		c.Result.Error, c.Result.Handle, string(curve), c.Reward, c.Attempts, c.Interrupted, c.EngineMS, c.LLMTokens, c.LLMCost,
		ts(c.ProposedAt), ts(c.StartedAt), ts(c.FinishedAt))
	return err
}

func updateCandidate(tx *sql.Tx, c *Candidate) error {
	curve, err := json.Marshal(c.Result.Curve)
	if err != nil {
		return err
	}
	params, flops := c.Params, c.FLOPs
	if c.Result.Params > 0 {
		params = c.Result.Params
	}
	if c.Result.FLOPs > 0 {
		flops = c.Result.FLOPs
	}
	res, err := tx.Exec(`UPDATE candidates SET status=?,gate=?,reason=?,train_status=?,val_acc=?,test_acc=?,latency_ms=?,
		wall_s=?,peak_mem_mb=?,device=?,error=?,handle=?,curve=?,reward=?,attempts=?,interrupted=?,params=?,flops=?,started_at=?,finished_at=?,
		inherited=?
		WHERE id=?`,
		string(c.Status), c.Gate, c.Reason, string(c.Result.Status), c.Result.ValAcc, c.Result.TestAcc, c.Result.LatencyMS,
		c.Result.WallS, c.Result.PeakMemMB, c.Result.Device, c.Result.Error, c.Result.Handle, string(curve), c.Reward,
		c.Attempts, c.Interrupted, params, flops, ts(c.StartedAt), ts(c.FinishedAt), c.Result.InheritedParams, c.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("candidate %s is not in the store", c.ID)
	}
	return nil
}

const candidateCols = `seq,id,parent_id,strategy,op,transform,category,path,module,args,rationale,fallback,tree,source,hash,code_hash,
	params,flops,gate,reason,status,train_status,val_acc,test_acc,latency_ms,wall_s,peak_mem_mb,device,error,handle,curve,
	reward,attempts,interrupted,engine_ms,llm_tokens,llm_cost,proposed_at,started_at,finished_at,inherited`

// Candidates returns every candidate in proposal order.
func (s *Store) Candidates(ctx context.Context) ([]Candidate, error) {
	return s.queryCandidates(ctx, `SELECT `+candidateCols+` FROM candidates ORDER BY seq`)
}

// Candidate returns one candidate by ID.
func (s *Store) Candidate(ctx context.Context, id string) (Candidate, error) {
	cs, err := s.queryCandidates(ctx, `SELECT `+candidateCols+` FROM candidates WHERE id=?`, id)
	if err != nil {
		return Candidate{}, err
	}
	if len(cs) == 0 {
		return Candidate{}, fmt.Errorf("run store %s: no candidate %q", s.path, id)
	}
	return cs[0], nil
}

func (s *Store) queryCandidates(ctx context.Context, q string, args ...any) ([]Candidate, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("run store %s: read candidates: %w", s.path, err)
	}
	defer rows.Close()
	var out []Candidate
	for rows.Next() {
		var c Candidate
		var argsJSON, tree, status, trainStatus, curve, proposed, started, finished string
		if err := rows.Scan(&c.Seq, &c.ID, &c.ParentID, &c.Strategy, &c.Op, &c.Transform, &c.Category, &c.Path, &c.Module, &argsJSON,
			&c.Rationale, &c.Fallback, &tree, &c.Source, &c.Hash, &c.CodeHash, &c.Params, &c.FLOPs, &c.Gate, &c.Reason,
			&status, &trainStatus, &c.Result.ValAcc, &c.Result.TestAcc, &c.Result.LatencyMS, &c.Result.WallS,
			&c.Result.PeakMemMB, &c.Result.Device, &c.Result.Error, &c.Result.Handle, &curve, &c.Reward, &c.Attempts,
			&c.Interrupted, &c.EngineMS, &c.LLMTokens, &c.LLMCost, &proposed, &started, &finished, &c.Result.InheritedParams); err != nil {
			return nil, fmt.Errorf("run store %s: read candidate: %w", s.path, err)
		}
		if argsJSON != "" && argsJSON != "null" {
			if err := json.Unmarshal([]byte(argsJSON), &c.Args); err != nil {
				return nil, fmt.Errorf("run store %s: candidate %s args: %w", s.path, c.ID, err)
			}
		}
		if tree != "" {
			c.Tree = json.RawMessage(tree)
		}
		if curve != "" && curve != "null" {
			if err := json.Unmarshal([]byte(curve), &c.Result.Curve); err != nil {
				return nil, fmt.Errorf("run store %s: candidate %s curve: %w", s.path, c.ID, err)
			}
		}
		c.Status = Status(status)
		c.Result.Status = train.Status(trainStatus)
		c.Result.ID = c.ID
		c.Result.Params, c.Result.FLOPs = c.Params, c.FLOPs
		c.ProposedAt, c.StartedAt, c.FinishedAt = parseTS(proposed), parseTS(started), parseTS(finished)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("run store %s: read candidates: %w", s.path, err)
	}
	return out, nil
}
