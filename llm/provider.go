package llm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// maxEchoedAnswer caps how much of a rejected answer is sent back to the
// model when asking for a repair.
const maxEchoedAnswer = 2000

// Provider resolves decisions with an OpenAI-compatible chat completions
// endpoint (OpenAI, vLLM, Ollama, llama.cpp server). It validates every
// answer, asks for repairs, retries transient failures, enforces spend
// limits and degrades to seeded random choices when it must.
type Provider struct {
	cfg      Config
	o        options
	client   *openai.Client
	red      Redactor // the key is never logged, recorded or put in an error
	renderer *Renderer
	spend    *spend
	models   []ModelConfig
	degraded atomic.Bool
}

// Exchange is one model answer within a resolution.
type Exchange struct {
	Model   string
	Answer  string
	Problem string // why the answer was rejected; "" if accepted
}

// Trace is everything a researcher needs to tune a prompt: what was sent,
// what came back, and why answers were rejected.
type Trace struct {
	Prompt    Prompt
	Exchanges []Exchange
}

// NewProvider builds a provider; cfg must have a base_url.
func NewProvider(cfg Config, opts ...Opt) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Online() {
		return nil, errors.New("llm.base_url: must be set for the OpenAI-compatible provider")
	}
	o := buildOptions(opts)
	r, err := NewDefaultRenderer(cfg.Prompts)
	if err != nil {
		return nil, err
	}
	key, err := cfg.APIKey()
	if err != nil {
		return nil, err
	}
	if key == "" {
		o.log.Warn("llm: no API key (api_key_file unset, the environment variable empty); sending none (fine for local servers)", "env", cfg.APIKeyEnv)
	}
	cc := openai.DefaultConfig(key)
	cc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cc.HTTPClient = headerDoer{inner: o.client}
	p := &Provider{
		cfg: cfg, o: o, client: openai.NewClientWithConfig(cc), red: NewRedactor(key),
		renderer: r, spend: newSpend(cfg.Limits, o.ledger), models: cfg.ModelList(),
	}
	// Whatever the provider logs passes the redactor, whoever wrote the line.
	p.o.log = slog.New(p.red.Handler(o.log.Handler()))
	if o.ledger != nil {
		// Limits are whole-run limits: start from what earlier processes of
		// this run spent, their unsettled reservations included.
		spent, err := o.ledger.LoadSpend()
		if err != nil {
			return nil, fmt.Errorf("llm: restore spend: %w", err)
		}
		p.spend.total = spent
		if spent.Requests > 0 {
			o.log.Info("llm: spend restored from the run store", "requests", spent.Requests,
				"tokens", spent.PromptTokens+spent.CompletionTokens, "usd", spent.CostUSD)
		}
	}
	o.log.Info("llm: using OpenAI-compatible endpoint", "base_url", RedactURL(cfg.BaseURL), "models", len(p.models), "structured", cfg.Structured)
	return p, nil
}

// Spend returns the totals spent so far by this provider.
func (p *Provider) Spend() SpendTotals { return p.spend.totals() }

// Resolve implements Resolver.
func (p *Provider) Resolve(ctx context.Context, d Decision) (Choice, error) {
	c, _, err := p.ResolveTrace(ctx, d)
	return c, err
}

// ResolveTrace resolves d and also returns the prompt and raw answers.
func (p *Provider) ResolveTrace(ctx context.Context, d Decision) (Choice, Trace, error) {
	if err := d.Validate(); err != nil {
		return Choice{}, Trace{}, err
	}
	if d.Category == Diversity && p.cfg.Offline.Diversity {
		// The method's "minimal LLM use": diversity is resolved by rule.
		c, err := NewOffline(p.cfg.Seed, OfflineConfig{Args: p.cfg.Offline.Args, Policy: PolicyCategories}).Resolve(ctx, d)
		return c, Trace{}, err
	}
	start := p.o.now()
	prompt, err := p.renderer.Render(d, p.cfg.Seed)
	if err != nil {
		return Choice{}, Trace{}, err
	}
	tr := Trace{Prompt: prompt}
	model := p.pickModel(d)
	rec := CallRecord{
		Time: start, Model: model.Name, Category: d.Category, Operation: d.Operation, Trial: d.Trial,
		PromptHash: hashText(prompt.System + "\n" + prompt.User),
	}
	u := Usage{Model: model.Name}
	msgs := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: prompt.System},
		{Role: openai.ChatMessageRoleUser, Content: prompt.User},
	}
	var rf *openai.ChatCompletionResponseFormat
	if p.cfg.Structured {
		rf = &openai.ChatCompletionResponseFormat{
			Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
				Name: "arbor_choice", Schema: answerSchema(prompt.Shown),
			},
		}
	}
	retryRNG := rand.New(rand.NewPCG(p.cfg.Seed, decisionKey(d, "retry")))

	var choice Choice
	valid := false
	repairing := false
	for attempt := 0; attempt <= p.cfg.MaxRepairs && !valid; attempt++ {
		resp, degradeReason, err := p.complete(ctx, model, msgs, rf, &u, retryRNG)
		if degradeReason != "" {
			u.Degraded = degradeReason
			break
		}
		if repairing {
			u.Repairs++
			repairing = false
		}
		if err != nil {
			return p.fail(rec, u, tr, start, fmt.Sprintf("llm resolve trial %d (%s, %s) with model %s", d.Trial, d.Operation, d.Category, model.Name), err)
		}
		u.Attempts++
		if len(resp.Choices) == 0 {
			tr.Exchanges = append(tr.Exchanges, Exchange{Model: model.Name, Problem: "the response had no choices"})
			continue // nothing to repair: ask the same question again
		}
		answer := resp.Choices[0].Message.Content
		c, verr := ParseAnswer(answer, prompt.Shown)
		ex := Exchange{Model: model.Name, Answer: answer}
		if verr == nil {
			choice, valid = c, true
		} else {
			ex.Problem = verr.Error()
			msgs = append(msgs,
				openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: capBytes(answer, maxEchoedAnswer)},
				openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: repairRequest(verr)},
			)
			repairing = true
		}
		tr.Exchanges = append(tr.Exchanges, ex)
	}

	switch {
	case valid && u.Attempts == 1:
		rec.Outcome = OutcomeOK
	case valid:
		rec.Outcome = OutcomeRepaired
	default:
		// Never leave the search without a move: a seeded random valid
		// choice, marked as such in the usage and the record.
		if u.Degraded != "" {
			// The very choice the offline resolver would make.
			choice, _ = NewOffline(p.cfg.Seed, p.cfg.Offline).Resolve(context.WithoutCancel(ctx), d)
		} else {
			rng := rand.New(rand.NewPCG(p.cfg.Seed, decisionKey(d, "fallback")))
			choice = randomChoice(d.Options, rng, p.cfg.Offline.Args)
		}
		u.Fallback = true
		if u.Degraded != "" {
			rec.Outcome = OutcomeBudget
			choice.Rationale = "offline choice: " + u.Degraded
			if p.degraded.CompareAndSwap(false, true) {
				p.o.log.Warn("llm: spend limit reached; continuing with the offline resolver (seeded random choices)", "reason", u.Degraded)
			}
		} else {
			rec.Outcome = OutcomeFallback
			choice.Rationale = fmt.Sprintf("fallback: no valid answer in %d attempts", u.Attempts)
			p.o.log.Warn("llm: no valid answer; using a seeded random valid option", "trial", d.Trial, "attempts", u.Attempts, "model", model.Name)
		}
	}
	u.Latency = p.o.now().Sub(start)
	choice.Usage = u
	// The rationale is the model's text: it is stored with the candidate and
	// printed by arbor lineage, so it crosses the boundary here.
	choice.Rationale = p.red.Redact(choice.Rationale)
	rec.OptionID = choice.OptionID
	p.finishRecord(&rec, u, tr)
	return choice, p.redactTrace(tr), nil
}

// fail records a call that ended in an error and returns that error with
// the key scrubbed from its text, prefixed by label.
func (p *Provider) fail(rec CallRecord, u Usage, tr Trace, start time.Time, label string, err error) (Choice, Trace, error) {
	var sentinel error
	switch {
	case errors.Is(err, ErrAuth):
		rec.Outcome, sentinel = OutcomeAuth, ErrAuth
	case errors.Is(err, ErrUnavailable):
		rec.Outcome, sentinel = OutcomeUnavailable, ErrUnavailable
	case errors.Is(err, ErrBudget):
		rec.Outcome, sentinel = OutcomeBudget, ErrBudget
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		rec.Outcome = OutcomeError
		sentinel = ctxErr(err)
	default:
		rec.Outcome, sentinel = OutcomeError, ErrRequest
	}
	msg := label + ": " + p.redact(err.Error())
	rec.Error = msg
	u.Latency = p.o.now().Sub(start)
	p.finishRecord(&rec, u, tr)
	p.o.log.Error("llm: call failed", "trial", rec.Trial, "outcome", rec.Outcome, "err", msg)
	return Choice{}, p.redactTrace(tr), &scrubbedError{msg: msg, sentinel: sentinel}
}

func ctxErr(err error) error {
	if errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	return context.DeadlineExceeded
}

func (p *Provider) finishRecord(rec *CallRecord, u Usage, tr Trace) {
	rec.TokensIn, rec.TokensOut, rec.CostUSD = u.PromptTokens, u.CompletionTokens, u.CostUSD
	rec.Latency, rec.Attempts, rec.Retries = u.Latency, u.Attempts, u.Retries
	rec.Requests, rec.Repairs, rec.Fallback = u.Requests, u.Repairs, u.Fallback
	var answers []string
	for _, e := range tr.Exchanges {
		answers = append(answers, e.Answer)
	}
	if n := len(answers); n > 0 {
		rec.AnswerHash = hashText(answers[n-1])
	}
	if p.cfg.RecordText {
		rec.Prompt = capBytes(p.redact(tr.Prompt.System+"\n"+tr.Prompt.User), p.cfg.RecordMaxBytes)
		rec.Answer = capBytes(p.redact(strings.Join(answers, "\n---\n")), p.cfg.RecordMaxBytes)
	}
	if p.o.calls != nil {
		if err := p.o.calls.LogCall(*rec); err != nil {
			p.o.log.Error("llm: could not write the call record", "err", p.redact(err.Error()))
		}
	}
}

// complete sends one chat completion, retrying transient failures. A
// non-empty degradeReason means the spend limits forbid the request.
func (p *Provider) complete(ctx context.Context, model ModelConfig, msgs []openai.ChatCompletionMessage,
	rf *openai.ChatCompletionResponseFormat, u *Usage, rng *rand.Rand) (openai.ChatCompletionResponse, string, error) {
	temp := float32(p.cfg.Temperature)
	if temp == 0 {
		// go-openai omits a zero temperature, and servers then use their
		// default (often 1): send the smallest positive value instead.
		temp = math.SmallestNonzeroFloat32
	}
	seed := int(rng.Int32()) // servers that support seeds become reproducible too
	req := openai.ChatCompletionRequest{
		//lint:ignore SA1019 max_tokens, not max_completion_tokens, is what vLLM, Ollama and llama.cpp servers read
		Model: model.Name, Messages: msgs, MaxTokens: p.cfg.MaxTokens,
		Temperature: temp, ResponseFormat: rf, Seed: &seed,
	}
	estIn := 0
	for _, m := range msgs {
		estIn += len(m.Content)/3 + 4 // pessimistic: about 3 bytes a token
	}
	var lastErr error
	for try := 0; ; try++ {
		res, reason := p.spend.reserve(estIn+p.cfg.MaxTokens, model.Cost(estIn, p.cfg.MaxTokens))
		if reason != "" {
			return openai.ChatCompletionResponse{}, reason, nil
		}
		u.Requests++
		trace := &httpTrace{}
		callCtx, cancel := context.WithTimeout(context.WithValue(ctx, traceKey{}, trace), p.cfg.Timeout)
		resp, err := p.client.CreateChatCompletion(callCtx, req)
		cancel()
		if err == nil {
			cost := model.Cost(resp.Usage.PromptTokens, resp.Usage.CompletionTokens)
			p.spend.settle(res, resp.Usage.PromptTokens, resp.Usage.CompletionTokens, cost)
			u.PromptTokens += resp.Usage.PromptTokens
			u.CompletionTokens += resp.Usage.CompletionTokens
			u.CostUSD += cost
			return resp, "", nil
		}
		// A failed request is billed nothing by OpenAI-compatible servers.
		p.spend.settle(res, 0, 0, 0)
		switch classify(ctx, err, trace.status) {
		case classAuth:
			return resp, "", fmt.Errorf("%w: %v", ErrAuth, err)
		case classFatal:
			if ctx.Err() != nil {
				return resp, "", ctx.Err()
			}
			return resp, "", fmt.Errorf("%w: %v", ErrRequest, err)
		}
		lastErr = err
		if try >= p.cfg.MaxRetries {
			return resp, "", fmt.Errorf("%w (%d tries): %v", ErrUnavailable, try+1, lastErr)
		}
		wait := backoff(p.cfg, try, trace.retryAfter, rng, p.o.now())
		p.o.log.Debug("llm: retrying", "model", model.Name, "try", try+1, "status", trace.status, "wait", wait, "err", p.redact(err.Error()))
		u.Retries++
		if err := p.o.sleep(ctx, wait); err != nil {
			return resp, "", err
		}
	}
}

func (p *Provider) pickModel(d Decision) ModelConfig {
	if len(p.models) == 1 {
		return p.models[0]
	}
	var total float64
	for _, m := range p.models {
		total += m.Weight
	}
	x := rand.New(rand.NewPCG(p.cfg.Seed, decisionKey(d, "model"))).Float64() * total
	for _, m := range p.models {
		if x < m.Weight {
			return m
		}
		x -= m.Weight
	}
	return p.models[len(p.models)-1]
}

func repairRequest(err error) string {
	return "Your answer was rejected: " + err.Error() +
		"\nReply again with exactly one JSON object {\"option\": ..., \"args\": {...}, \"rationale\": ...} that uses only the listed option ids and argument ranges."
}

// redact removes the API key and other credentials from text that may have
// echoed them, such as an error body from a misbehaving proxy.
func (p *Provider) redact(s string) string { return p.red.Redact(s) }

// Redactor is the provider's redactor (its key and the known shapes).
func (p *Provider) Redactor() Redactor { return p.red }

// redactTrace returns tr with every model answer and problem redacted, for
// callers that print it (arbor llm try).
func (p *Provider) redactTrace(tr Trace) Trace {
	ex := make([]Exchange, len(tr.Exchanges))
	for i, e := range tr.Exchanges {
		ex[i] = Exchange{Model: e.Model, Answer: p.redact(e.Answer), Problem: p.redact(e.Problem)}
	}
	tr.Exchanges = ex
	return tr
}

// scrubbedError carries a message already cleaned of the key, and the
// sentinel callers test with errors.Is. The original error is deliberately
// not wrapped: its text may contain the key.
type scrubbedError struct {
	msg      string
	sentinel error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.sentinel }

// Compile-time checks that both resolvers satisfy the interface.
var (
	_ Resolver = (*Provider)(nil)
	_ Resolver = (*Offline)(nil)
)
