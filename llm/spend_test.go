package llm

import (
	"context"
	"sync"
	"testing"

	"github.com/arbor-nas/arbor/llm/llmtest"
)

// memLedger is a SpendLedger in memory, standing in for the run store
// across "processes" (providers) of one run.
type memLedger struct {
	mu    sync.Mutex
	t     SpendTotals
	saves []SpendTotals
}

func (m *memLedger) LoadSpend() (SpendTotals, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.t, nil
}

func (m *memLedger) SaveSpend(t SpendTotals) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.t = t
	m.saves = append(m.saves, t)
	return nil
}

// TestSpendLedgerWholeRun: three providers in a row (a run resumed twice)
// share max_calls=6 through the ledger, so the server sees 6 requests in
// all, and each request is in the ledger before it is sent.
func TestSpendLedgerWholeRun(t *testing.T) {
	srv := llmtest.New()
	t.Cleanup(srv.Close)
	srv.Default = &llmtest.Step{FromSchema: true}
	cfg := testConfig(srv.URL())
	cfg.Structured = true
	cfg.Limits.MaxCalls = 6
	led := &memLedger{}
	d := loadDecision(t)
	for proc := range 3 {
		p, err := NewProvider(cfg, WithSpendLedger(led))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			d.Trial = proc*4 + i + 1
			c, err := p.Resolve(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(srv.Requests()); got > 6 {
				t.Fatalf("process %d: the server saw %d requests, more than max_calls=6", proc, got)
			}
			if len(srv.Requests()) == 6 && c.Usage.Requests == 0 && !c.Usage.Fallback {
				t.Fatalf("a decision past the limit must be a fallback: %+v", c.Usage)
			}
		}
	}
	if n := len(srv.Requests()); n != 6 || led.t.Requests != 6 {
		t.Fatalf("server saw %d requests, the ledger says %d; want 6 and 6", n, led.t.Requests)
	}
	// Each request was saved as made (reserved) before it settled.
	reserved, prev := 0, 0
	for _, s := range led.saves {
		if s.Requests > prev {
			reserved++
		}
		prev = s.Requests
	}
	if reserved != 6 {
		t.Fatalf("%d saves raised the request count, want one per request (6): %+v", reserved, led.saves)
	}
}
