package llm

import (
	"context"
	"sync"
	"testing"

	"github.com/arbor-nas/arbor/llm/llmtest"
)

// TestConcurrentSpendLimit resolves from several goroutines at once: the
// reservation made before each request must keep the server from seeing
// more than max_calls requests, and the totals must match the server's.
func TestConcurrentSpendLimit(t *testing.T) {
	t.Setenv(testKeyEnv, "k")
	h := newHarness(t, func(c *Config) { c.Limits.MaxCalls = 60 })
	def := llmtest.Reply(validO4)
	h.srv.Default = &def
	base := loadDecision(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	degraded := 0
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				d := base
				d.Trial = w*100 + i
				c, err := h.p.Resolve(context.Background(), d)
				if err != nil {
					t.Error(err)
					return
				}
				if c.Usage.Degraded != "" {
					mu.Lock()
					degraded++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	n := len(h.srv.Requests())
	pt, ct := h.srv.Usage()
	tot := h.p.Spend()
	if n != 60 || degraded != 160-60 || tot.Requests != 60 || tot.PromptTokens != pt || tot.CompletionTokens != ct {
		t.Fatalf("requests %d, degraded %d, spend %+v, server tokens %d/%d", n, degraded, tot, pt, ct)
	}
}
