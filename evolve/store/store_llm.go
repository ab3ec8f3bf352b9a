package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/arbor-nas/arbor/llm"
)

// The run store's LLM side: every call record, and the whole-run spend
// ledger the llm provider's limits are enforced against.

// CallRow is one LLM call as the store keeps it. Record holds the full
// call record as JSON (whatever the llm package logs).
type CallRow struct {
	Time        time.Time
	CandidateID string
	Model       string
	Category    string
	TokensIn    int
	TokensOut   int
	Cost        float64
	LatencyMS   float64
	Attempts    int
	Outcome     string
	Record      json.RawMessage
}

// AddCall stores one LLM call.
func (s *Store) AddCall(ctx context.Context, c CallRow) error {
	rec := string(c.Record)
	if rec == "" {
		rec = "{}"
	}
	return s.tx(ctx, "log llm call", func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO llm_calls(time,candidate_id,model,category,tokens_in,tokens_out,cost,latency_ms,attempts,outcome,record)
			VALUES(?,?,?,?,?,?,?,?,?,?,?)`, ts(c.Time), c.CandidateID, c.Model, c.Category, c.TokensIn, c.TokensOut,
			c.Cost, c.LatencyMS, c.Attempts, c.Outcome, rec)
		return err
	})
}

// LLMSpend is the LLM usage of a run, in the one vocabulary that arbor
// status, --json and docs/configuration.md use:
//   - Decisions: decisions settled by the online resolver, one call record
//     each, including those that sent no request (a limit was reached);
//   - Requests: HTTP requests sent to the endpoint, every one (first tries,
//     retries, repairs, failed ones); llm.limits.max_calls counts these;
//   - Retries: requests re-sent after 429, 5xx, 408, a timeout or a broken
//     connection; Repairs: requests that sent an invalid answer back;
//   - Fallbacks: decisions that ended in a seeded random valid choice;
//   - Tokens (prompt + completion) and Cost in US dollars, as max_tokens
//     and max_usd count them.
//
// Requests, Tokens and Cost come from the whole-run spend ledger when the
// run has one: it counts a request before it is sent (at its worst case
// until it settles), so one cut off by a kill is counted too.
type LLMSpend struct {
	Decisions int     `json:"decisions"`
	Requests  int     `json:"requests"`
	Retries   int     `json:"retries"`
	Repairs   int     `json:"repairs"`
	Fallbacks int     `json:"fallbacks"`
	Tokens    int     `json:"tokens"`
	Cost      float64 `json:"usd"`
}

// String is the one-line account that arbor status and reports print.
func (sp LLMSpend) String() string {
	if sp.Decisions == 0 && sp.Requests == 0 {
		return "LLM: no requests (offline resolver), $0"
	}
	return fmt.Sprintf("LLM: %d decisions, %d HTTP requests (%d retries, %d repairs), %d fallbacks, %d tokens, $%.4f",
		sp.Decisions, sp.Requests, sp.Retries, sp.Repairs, sp.Fallbacks, sp.Tokens, sp.Cost)
}

// Spend sums the stored LLM calls and reads the spend ledger.
func (s *Store) Spend(ctx context.Context) (LLMSpend, error) {
	var sp LLMSpend
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*),
		COALESCE(SUM(COALESCE(json_extract(record,'$.requests'), attempts+COALESCE(json_extract(record,'$.retries'),0))),0),
		COALESCE(SUM(COALESCE(json_extract(record,'$.retries'),0)),0),
		COALESCE(SUM(COALESCE(json_extract(record,'$.repairs'),0)),0),
		COALESCE(SUM(CASE WHEN outcome IN ('fallback','budget') THEN 1 ELSE 0 END),0),
		COALESCE(SUM(tokens_in+tokens_out),0), COALESCE(SUM(cost),0) FROM llm_calls`).
		Scan(&sp.Decisions, &sp.Requests, &sp.Retries, &sp.Repairs, &sp.Fallbacks, &sp.Tokens, &sp.Cost)
	if err != nil {
		return sp, fmt.Errorf("run store %s: llm spend: %w", s.path, err)
	}
	led, ok, err := s.loadSpend(ctx)
	if err != nil {
		return sp, err
	}
	if ok {
		sp.Requests = max(sp.Requests, led.Requests)
		sp.Tokens = max(sp.Tokens, led.PromptTokens+led.CompletionTokens)
		sp.Cost = max(sp.Cost, led.CostUSD)
	}
	return sp, nil
}

func (s *Store) loadSpend(ctx context.Context) (llm.SpendTotals, bool, error) {
	var t llm.SpendTotals
	err := s.db.QueryRowContext(ctx, `SELECT requests, prompt_tokens, completion_tokens, cost FROM llm_spend WHERE id=1`).
		Scan(&t.Requests, &t.PromptTokens, &t.CompletionTokens, &t.CostUSD)
	if errors.Is(err, sql.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("run store %s: llm spend ledger: %w", s.path, err)
	}
	return t, true, nil
}

// LoadSpend implements llm.SpendLedger: the whole run's LLM spend so far.
func (s *Store) LoadSpend() (llm.SpendTotals, error) {
	t, _, err := s.loadSpend(context.Background())
	return t, err
}

// SaveSpend implements llm.SpendLedger.
func (s *Store) SaveSpend(t llm.SpendTotals) error {
	return s.tx(context.Background(), "save llm spend", func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO llm_spend(id,requests,prompt_tokens,completion_tokens,cost) VALUES(1,?,?,?,?)
			ON CONFLICT(id) DO UPDATE SET requests=excluded.requests, prompt_tokens=excluded.prompt_tokens,
			completion_tokens=excluded.completion_tokens, cost=excluded.cost`,
			t.Requests, t.PromptTokens, t.CompletionTokens, t.CostUSD)
		return err
	})
}

var _ llm.SpendLedger = (*Store)(nil)

// LogCall implements llm.CallLogger: every resolved decision's call
// record is stored, with the candidate it was for (Trial is its seq).
func (s *Store) LogCall(r llm.CallRecord) error {
	rec, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("llm call record: %w", err)
	}
	id := ""
	if r.Trial > 0 {
		id = CandidateID(int64(r.Trial))
	}
	return s.AddCall(context.Background(), CallRow{
		Time: r.Time, CandidateID: id, Model: r.Model, Category: string(r.Category), TokensIn: r.TokensIn,
		TokensOut: r.TokensOut, Cost: r.CostUSD, LatencyMS: float64(r.Latency) / float64(time.Millisecond),
		Attempts: r.Attempts, Outcome: string(r.Outcome), Record: rec,
	})
}

var _ llm.CallLogger = (*Store)(nil)
