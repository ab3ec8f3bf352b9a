package llm

import (
	"fmt"
	"sync"
)

// SpendTotals is what has been spent so far. Requests counts HTTP requests
// sent to the endpoint, every one: first tries, retries and repairs, failed
// ones too (llm.limits.max_calls limits it).
type SpendTotals struct {
	Requests         int     `json:"requests"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// SpendLedger keeps the spend of a run across processes: the run store
// implements it, so that llm.limits are whole-run limits that survive
// kill -9 and --resume. SaveSpend is called before every request with the
// totals that count it as made (its worst case reserved) and again when it
// settles; LoadSpend returns the last totals saved.
type SpendLedger interface {
	LoadSpend() (SpendTotals, error)
	SaveSpend(SpendTotals) error
}

// spend enforces Limits before each request. A request first reserves its
// worst case (estimated prompt plus max_tokens of completion); when the
// answer arrives the reservation is replaced by the usage the server
// reported. Concurrent requests therefore cannot overshoot together.
type spend struct {
	mu       sync.Mutex
	limits   Limits
	ledger   SpendLedger // nil: this process only
	total    SpendTotals
	resTok   int
	resUSD   float64
	resCalls int
}

type reservation struct {
	tokens int
	usd    float64
}

func newSpend(l Limits, ledger SpendLedger) *spend { return &spend{limits: l, ledger: ledger} }

// pessimistic is what the ledger must hold while requests are in flight: a
// process killed now has made them, at their worst case. Called with mu held.
func (s *spend) pessimistic() SpendTotals {
	t := s.total
	t.Requests += s.resCalls
	t.CompletionTokens += s.resTok
	t.CostUSD += s.resUSD
	return t
}

// reserve returns a non-empty reason when the request must not be made.
func (s *spend) reserve(tokens int, usd float64) (reservation, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limits
	if l.MaxCalls > 0 && s.total.Requests+s.resCalls+1 > l.MaxCalls {
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
	if s.ledger != nil {
		// The request counts before it is sent: if this process dies while
		// it is in flight, the next one must not make it again for free.
		if err := s.ledger.SaveSpend(s.pessimistic()); err != nil {
			s.resTok -= tokens
			s.resUSD -= usd
			s.resCalls--
			return reservation{}, fmt.Sprintf("the run store cannot record LLM spend (%v)", err)
		}
	}
	return reservation{tokens, usd}, ""
}

// settle replaces a reservation by what the request actually used.
func (s *spend) settle(r reservation, promptTokens, completionTokens int, usd float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resTok -= r.tokens
	s.resUSD -= r.usd
	s.resCalls--
	s.total.Requests++
	s.total.PromptTokens += promptTokens
	s.total.CompletionTokens += completionTokens
	s.total.CostUSD += usd
	if s.ledger != nil {
		// A failure here leaves the pessimistic totals in the ledger, which
		// over-counts and never lets a limit be exceeded.
		_ = s.ledger.SaveSpend(s.pessimistic())
	}
}

func (s *spend) totals() SpendTotals {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}
