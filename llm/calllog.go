package llm

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Outcome says how a resolved decision ended.
type Outcome string

// Outcomes of a call record.
const (
	OutcomeOK          Outcome = "ok"          // first answer was valid
	OutcomeRepaired    Outcome = "repaired"    // valid after feeding back errors
	OutcomeFallback    Outcome = "fallback"    // no valid answer; seeded random choice
	OutcomeBudget      Outcome = "budget"      // spend limit reached; offline choice
	OutcomeAuth        Outcome = "auth_error"  // 401/403: the run should stop
	OutcomeUnavailable Outcome = "unavailable" // retries exhausted
	OutcomeInvalid     Outcome = "invalid"     // codegen: no usable source after repairs
	OutcomeError       Outcome = "error"       // any other failure
)

// CallRecord is the log entry for one resolved decision, however many HTTP
// requests it took. Token and cost figures are the sums over all of them.
type CallRecord struct {
	Time       time.Time     `json:"time"`
	Model      string        `json:"model"`
	Category   Category      `json:"category"`
	Operation  string        `json:"operation"`
	Trial      int           `json:"trial"`
	PromptHash string        `json:"prompt_hash"` // SHA-256 of system + user prompt
	AnswerHash string        `json:"answer_hash"` // SHA-256 of the last raw answer, "" if none
	TokensIn   int           `json:"tokens_in"`
	TokensOut  int           `json:"tokens_out"`
	CostUSD    float64       `json:"cost_usd"`
	Latency    time.Duration `json:"latency_ns"`
	Attempts   int           `json:"attempts"` // model answers received
	Requests   int           `json:"requests"` // HTTP requests sent (see Usage)
	Retries    int           `json:"retries"`
	Repairs    int           `json:"repairs"`
	Outcome    Outcome       `json:"outcome"`
	Fallback   bool          `json:"fallback,omitempty"` // the choice is a seeded random one
	OptionID   string        `json:"option_id,omitempty"`
	Error      string        `json:"error,omitempty"`
	// Prompt and Answer are kept only with llm.record_text, each capped at
	// llm.record_max_bytes; Answer joins every raw answer of the exchange.
	Prompt string `json:"prompt,omitempty"`
	Answer string `json:"answer,omitempty"`
}

// CallLogger persists call records; the run store implements it.
type CallLogger interface {
	LogCall(CallRecord) error
}

func hashText(s string) string {
	if s == "" {
		return ""
	}
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// capBytes cuts s to at most n bytes on a rune boundary.
func capBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut]
}
