package llm

import (
	"fmt"
	"sync"
)

// SpendTotals is what has been spent so far.
type SpendTotals struct {
	Calls            int     `json:"calls"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// spend enforces Limits before each request. A request first reserves its
// worst case (estimated prompt plus max_tokens of completion); when the
// answer arrives the reservation is replaced by the usage the server
// reported. Concurrent requests therefore cannot overshoot together.
type spend struct {
	mu       sync.Mutex
	limits   Limits
	total    SpendTotals
	resTok   int
	resUSD   float64
	resCalls int
}

type reservation struct {
	tokens int
	usd    float64
}

func newSpend(l Limits) *spend { return &spend{limits: l} }

// reserve returns a non-empty reason when the request must not be made.
func (s *spend) reserve(tokens int, usd float64) (reservation, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limits
	if l.MaxCalls > 0 && s.total.Calls+s.resCalls+1 > l.MaxCalls {
		return reservation{}, fmt.Sprintf("llm.limits.max_calls=%d reached", l.MaxCalls)
	}
	used := s.total.PromptTokens + s.total.CompletionTokens + s.resTok
	if l.MaxTokens > 0 && used+tokens > l.MaxTokens {
		return reservation{}, fmt.Sprintf("llm.limits.max_tokens=%d would be exceeded (%d used, next call may take %d)", l.MaxTokens, used, tokens)
	}
	if l.MaxUSD > 0 && s.total.CostUSD+s.resUSD+usd > l.MaxUSD {
		return reservation{}, fmt.Sprintf("llm.limits.max_usd=%g would be exceeded ($%.6f spent, next call may cost $%.6f)", l.MaxUSD, s.total.CostUSD+s.resUSD, usd)
	}
	s.resTok += tokens
	s.resUSD += usd
	s.resCalls++
	return reservation{tokens, usd}, ""
}

// settle replaces a reservation by what the request actually used.
func (s *spend) settle(r reservation, promptTokens, completionTokens int, usd float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resTok -= r.tokens
	s.resUSD -= r.usd
	s.resCalls--
	s.total.Calls++
	s.total.PromptTokens += promptTokens
	s.total.CompletionTokens += completionTokens
	s.total.CostUSD += usd
}

func (s *spend) totals() SpendTotals {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}
