package llm

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/llm/llmtest"
)

const validO4 = `{"option":"o4","args":{"p":0.2,"inplace":true},"rationale":"regularise the head"}`

// TestScriptedBehaviours plays every behaviour of the mock server and checks
// that each ends in a valid choice or a clear error, with the retries,
// attempts and outcome it should have.
func TestScriptedBehaviours(t *testing.T) {
	t.Setenv(testKeyEnv, "sk-test-key-0001")
	tests := []struct {
		name     string
		steps    []llmtest.Step
		mutate   func(*Config)
		wantOpt  string
		attempts int
		retries  int
		outcome  Outcome
		fallback bool
		wantErr  error
		requests int
	}{
		{name: "valid", steps: []llmtest.Step{llmtest.Reply(validO4)},
			wantOpt: "o4", attempts: 1, outcome: OutcomeOK, requests: 1},
		{name: "malformed then valid", steps: []llmtest.Step{llmtest.Malformed(), llmtest.Reply(validO4)},
			wantOpt: "o4", attempts: 2, outcome: OutcomeRepaired, requests: 2},
		{name: "prose around json", steps: []llmtest.Step{llmtest.Prose(validO4)},
			wantOpt: "o4", attempts: 1, outcome: OutcomeOK, requests: 1},
		{name: "unknown option then valid", steps: []llmtest.Step{llmtest.Reply(`{"option":"o42","args":{}}`), llmtest.Reply(validO4)},
			wantOpt: "o4", attempts: 2, outcome: OutcomeRepaired, requests: 2},
		{name: "out of range then valid", steps: []llmtest.Step{llmtest.Reply(`{"option":"o1","args":{"width":4096}}`), llmtest.Reply(`{"option":"o1","args":{"width":128}}`)},
			wantOpt: "o1", attempts: 2, outcome: OutcomeRepaired, requests: 2},
		{name: "429 then valid", steps: []llmtest.Step{llmtest.RateLimited("3"), llmtest.Reply(validO4)},
			wantOpt: "o4", attempts: 1, retries: 1, outcome: OutcomeOK, requests: 2},
		{name: "500 twice then valid", steps: []llmtest.Step{llmtest.ServerError(), llmtest.ServerError(), llmtest.Reply(validO4)},
			wantOpt: "o4", attempts: 1, retries: 2, outcome: OutcomeOK, requests: 3},
		{name: "hang past timeout then valid", steps: []llmtest.Step{llmtest.Hang(10*time.Second, validO4), llmtest.Reply(validO4)},
			mutate:  func(c *Config) { c.Timeout = 150 * time.Millisecond },
			wantOpt: "o4", attempts: 1, retries: 1, outcome: OutcomeOK, requests: 2},
		{name: "connection reset then valid", steps: []llmtest.Step{llmtest.Reset(), llmtest.Reply(validO4)},
			wantOpt: "o4", attempts: 1, retries: 1, outcome: OutcomeOK, requests: 2},
		{name: "empty choices then valid", steps: []llmtest.Step{llmtest.EmptyChoices(), llmtest.Reply(validO4)},
			wantOpt: "o4", attempts: 2, outcome: OutcomeRepaired, requests: 2},
		{name: "always malformed falls back", steps: []llmtest.Step{llmtest.Malformed(), llmtest.Malformed(), llmtest.Malformed()},
			attempts: 3, outcome: OutcomeFallback, fallback: true, requests: 3},
		{name: "no repairs allowed falls back at once", steps: []llmtest.Step{llmtest.Malformed()},
			mutate:   func(c *Config) { c.MaxRepairs = 0 },
			attempts: 1, outcome: OutcomeFallback, fallback: true, requests: 1},
		{name: "500 forever is unavailable", steps: []llmtest.Step{llmtest.ServerError(), llmtest.ServerError(), llmtest.ServerError()},
			mutate:  func(c *Config) { c.MaxRetries = 2 },
			wantErr: ErrUnavailable, outcome: OutcomeUnavailable, retries: 2, requests: 3},
		{name: "401 stops at once", steps: []llmtest.Step{llmtest.Unauthorized(), llmtest.Reply(validO4)},
			wantErr: ErrAuth, outcome: OutcomeAuth, requests: 1},
		{name: "403 stops at once", steps: []llmtest.Step{{Status: 403}},
			wantErr: ErrAuth, outcome: OutcomeAuth, requests: 1},
		{name: "400 is a request error", steps: []llmtest.Step{{Status: 400}},
			wantErr: ErrRequest, outcome: OutcomeError, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.mutate, tt.steps...)
			d := loadDecision(t)
			c, err := h.p.Resolve(context.Background(), d)
			recs := h.rec.all()
			if len(recs) != 1 {
				t.Fatalf("want 1 call record, got %d", len(recs))
			}
			rec := recs[0]
			if got := len(h.srv.Requests()); got != tt.requests {
				t.Errorf("requests = %d, want %d", got, tt.requests)
			}
			if rec.Outcome != tt.outcome {
				t.Errorf("outcome = %s, want %s", rec.Outcome, tt.outcome)
			}
			if rec.Retries != tt.retries {
				t.Errorf("record retries = %d, want %d", rec.Retries, tt.retries)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "trial 17") || rec.Error == "" {
					t.Errorf("error should name the trial and be recorded: %v / %q", err, rec.Error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			revalidate(t, d, c)
			if tt.wantOpt != "" && c.OptionID != tt.wantOpt {
				t.Errorf("option = %s, want %s", c.OptionID, tt.wantOpt)
			}
			if c.Usage.Attempts != tt.attempts || c.Usage.Retries != tt.retries || c.Usage.Fallback != tt.fallback {
				t.Errorf("usage = %+v, want attempts %d retries %d fallback %v", c.Usage, tt.attempts, tt.retries, tt.fallback)
			}
			if rec.OptionID != c.OptionID || rec.Attempts != c.Usage.Attempts {
				t.Errorf("record %+v disagrees with choice %+v", rec, c)
			}
			pt, ct := h.srv.Usage()
			if c.Usage.PromptTokens != pt || c.Usage.CompletionTokens != ct || rec.TokensIn != pt || rec.TokensOut != ct {
				t.Errorf("tokens: usage %d/%d, record %d/%d, server %d/%d", c.Usage.PromptTokens, c.Usage.CompletionTokens, rec.TokensIn, rec.TokensOut, pt, ct)
			}
		})
	}
}

func TestRepairFeedsBackTheError(t *testing.T) {
	t.Setenv(testKeyEnv, "k")
	h := newHarness(t, nil, llmtest.Reply(`{"option":"o1","args":{"width":4096}}`), llmtest.Reply(validO4))
	if _, err := h.p.Resolve(context.Background(), loadDecision(t)); err != nil {
		t.Fatal(err)
	}
	reqs := h.srv.Requests()
	second := reqs[1].Body.Messages
	if len(second) != 4 || second[2].Role != "assistant" || second[3].Role != "user" {
		t.Fatalf("repair request messages: %+v", second)
	}
	if !strings.Contains(second[2].Content, "4096") || !strings.Contains(second[3].Content, "args.width: 4096 is out of range [16, 128]") {
		t.Fatalf("repair does not echo the answer and the error: %q / %q", second[2].Content, second[3].Content)
	}
	if reqs[0].Body.Messages[0].Role != "system" || !strings.Contains(reqs[0].Body.Messages[1].Content, "[o4] at head/fc") {
		t.Fatalf("first request lacks the prompt: %+v", reqs[0].Body.Messages)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Setenv(testKeyEnv, "k")
	h := newHarness(t, nil, llmtest.RateLimited("3"), llmtest.RateLimited("Wed, 21 Oct 2015 07:28:00 GMT"), llmtest.ServerError(), llmtest.Reply(validO4))
	if _, err := h.p.Resolve(context.Background(), loadDecision(t)); err != nil {
		t.Fatal(err)
	}
	w := h.sleeps()
	if len(w) != 3 {
		t.Fatalf("waits %v, want 3", w)
	}
	if w[0] != 3*time.Second {
		t.Errorf("wait after Retry-After: 3 = %v, want 3s", w[0])
	}
	// A date in the past and a 500 fall back to jittered backoff within
	// [base*2^n/2, base*2^n].
	if w[1] < time.Millisecond || w[1] > 2*time.Millisecond {
		t.Errorf("second wait %v outside [1ms, 2ms]", w[1])
	}
	if w[2] < 2*time.Millisecond || w[2] > 4*time.Millisecond {
		t.Errorf("third wait %v outside [2ms, 4ms]", w[2])
	}
}

// TestRetryAfterRealClock waits for real, with the provider's own sleep.
func TestRetryAfterRealClock(t *testing.T) {
	t.Setenv(testKeyEnv, "k")
	srv := llmtest.New(llmtest.RateLimited("1"), llmtest.Reply(validO4))
	defer srv.Close()
	p, err := NewProvider(testConfig(srv.URL()), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c, err := p.Resolve(context.Background(), loadDecision(t))
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < time.Second || c.Usage.Latency < time.Second {
		t.Fatalf("elapsed %v, latency %v: Retry-After: 1 not honoured", el, c.Usage.Latency)
	}
}

func TestCancelledContextIsNotRetried(t *testing.T) {
	t.Setenv(testKeyEnv, "k")
	h := newHarness(t, nil, llmtest.Hang(10*time.Second, validO4), llmtest.Reply(validO4))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := h.p.Resolve(ctx, loadDecision(t))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the caller's deadline", err)
	}
	if n := len(h.srv.Requests()); n != 1 {
		t.Fatalf("%d requests after the caller gave up, want 1", n)
	}
}

// TestHostileAnswersNeverReachAnything scripts answers with code, shell
// commands and options that were not offered. None may be accepted: the
// result is a fallback built only from the offered options, nothing of the
// payload survives into the choice, and no file appears.
func TestHostileAnswersNeverReachAnything(t *testing.T) {
	t.Setenv(testKeyEnv, "k")
	d := loadDecision(t)
	dir := t.TempDir()
	t.Chdir(dir)
	for i, bad := range hostileAnswers() {
		h := newHarness(t, func(c *Config) { c.MaxRepairs = 1 }, llmtest.Reply(bad), llmtest.Reply(bad))
		c, err := h.p.Resolve(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Usage.Fallback || c.Usage.Attempts != 2 {
			t.Errorf("answer %d accepted or not retried: %+v", i, c.Usage)
		}
		revalidate(t, d, c)
		blob, _ := json.Marshal(c)
		for _, payload := range []string{"import", "rm -rf", "system", "subprocess", "exec", "curl", "Evil", "o6"} {
			if strings.Contains(string(blob), payload) {
				t.Errorf("answer %d: payload %q reached the choice %s", i, payload, blob)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 0 {
		t.Fatalf("working directory changed: %v %v", entries, err)
	}
}

func TestStructuredOutput(t *testing.T) {
	t.Setenv(testKeyEnv, "k")
	h := newHarness(t, func(c *Config) { c.Structured = true }, llmtest.SchemaAnswer())
	d := loadDecision(t)
	c, err := h.p.Resolve(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	rf := h.srv.Requests()[0].Body.ResponseFormat
	if rf == nil || rf.Type != "json_schema" || rf.JSONSchema.Name != "arbor_choice" {
		t.Fatalf("no json_schema response_format: %+v", rf)
	}
	var sch struct {
		Properties struct {
			Option struct{ Enum []string } `json:"option"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(rf.JSONSchema.Schema, &sch); err != nil {
		t.Fatal(err)
	}
	if strings.Join(sch.Properties.Option.Enum, ",") != "o1,o2,o3,o4,o5" {
		t.Fatalf("schema enum %v", sch.Properties.Option.Enum)
	}
	if c.OptionID != "o1" || c.Args["expand_ratio"] != 4 || c.Args["width"] != 32 {
		t.Fatalf("choice %+v, want o1 with defaults", c)
	}
	// A server that ignores the schema and answers in prose still works.
	h2 := newHarness(t, func(c *Config) { c.Structured = true }, llmtest.Prose(validO4))
	if c, err := h2.p.Resolve(context.Background(), d); err != nil || c.OptionID != "o4" {
		t.Fatalf("prose under structured: %+v %v", c, err)
	}
}

// TestSpendAddsUpToServerUsage resolves a mixed script with priced models
// and checks tokens and dollars against the mock's usage figures.
func TestSpendAddsUpToServerUsage(t *testing.T) {
	t.Setenv(testKeyEnv, "k")
	const in, out = 2.5, 10.0 // USD per million tokens
	h := newHarness(t, func(c *Config) {
		c.Model = ""
		c.Models = []ModelConfig{{Name: "mock-priced", Weight: 1, InputUSDPerMTok: in, OutputUSDPerMTok: out}}
	},
		llmtest.Reply(validO4), llmtest.Malformed(), llmtest.Prose(validO4), llmtest.ServerError(), llmtest.EmptyChoices(),
		llmtest.Step{Content: validO4, PromptTokens: 1234, CompletionTokens: 56}, llmtest.RateLimited("0"), llmtest.Reply(`{"option":"o9"}`),
		llmtest.Reply(`{"option":"o9"}`), llmtest.Reply(`{"option":"o9"}`), llmtest.Reply(validO4))
	d := loadDecision(t)
	var sumIn, sumOut int
	var sumUSD float64
	for i := range 5 {
		d.Trial = i
		c, err := h.p.Resolve(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		sumIn += c.Usage.PromptTokens
		sumOut += c.Usage.CompletionTokens
		sumUSD += c.Usage.CostUSD
	}
	pt, ct := h.srv.Usage()
	tot := h.p.Spend()
	if sumIn != pt || sumOut != ct || tot.PromptTokens != pt || tot.CompletionTokens != ct {
		t.Fatalf("tokens: choices %d/%d, spend %d/%d, server %d/%d", sumIn, sumOut, tot.PromptTokens, tot.CompletionTokens, pt, ct)
	}
	wantUSD := (float64(pt)*in + float64(ct)*out) / 1e6
	if math.Abs(sumUSD-wantUSD) > 1e-12 || math.Abs(tot.CostUSD-wantUSD) > 1e-12 {
		t.Fatalf("cost: choices %.12f, spend %.12f, want %.12f", sumUSD, tot.CostUSD, wantUSD)
	}
	if tot.Requests != len(h.srv.Requests()) {
		t.Fatalf("calls %d, server saw %d", tot.Requests, len(h.srv.Requests()))
	}
	var recIn int
	for _, r := range h.rec.all() {
		recIn += r.TokensIn
	}
	if recIn != pt {
		t.Fatalf("records count %d prompt tokens, server %d", recIn, pt)
	}
}

func TestSpendLimitsDegradeToOffline(t *testing.T) {
	t.Setenv(testKeyEnv, "k")
	tests := []struct {
		name     string
		limits   Limits
		calls    int // requests the server should see over 3 decisions
		priced   bool
		contains string
	}{
		{"max_calls", Limits{MaxCalls: 2}, 2, false, "llm.limits.max_calls=2 reached"},
		{"max_tokens", Limits{MaxTokens: 100}, 0, false, "llm.limits.max_tokens=100"},
		{"max_usd", Limits{MaxUSD: 0.01}, 0, true, "llm.limits.max_usd=0.01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.Limits = tt.limits
				if tt.priced {
					c.Model = ""
					c.Models = []ModelConfig{{Name: "pricey", Weight: 1, InputUSDPerMTok: 10, OutputUSDPerMTok: 30}}
				}
			}, llmtest.Reply(validO4), llmtest.Reply(validO4), llmtest.Reply(validO4))
			d := loadDecision(t)
			for i := range 3 {
				d.Trial = i
				c, err := h.p.Resolve(context.Background(), d)
				if err != nil {
					t.Fatal(err)
				}
				revalidate(t, d, c)
				limited := i >= tt.calls
				if limited != (c.Usage.Degraded != "") || limited != c.Usage.Fallback {
					t.Fatalf("decision %d: usage %+v, limited=%v", i, c.Usage, limited)
				}
				if limited && !strings.Contains(c.Usage.Degraded, tt.contains) {
					t.Fatalf("degraded reason %q lacks %q", c.Usage.Degraded, tt.contains)
				}
				if limited {
					off, _ := NewOffline(DefaultConfig().Seed, OfflineConfig{}).Resolve(context.Background(), d)
					if off.OptionID != c.OptionID || !reflect.DeepEqual(off.Args, c.Args) {
						t.Fatalf("degraded choice %+v is not the offline resolver's %+v", c, off)
					}
				}
			}
			if n := len(h.srv.Requests()); n != tt.calls {
				t.Fatalf("server saw %d requests, want %d", n, tt.calls)
			}
			if strings.Count(h.logs.String(), "spend limit reached") != 1 {
				t.Fatalf("want exactly one warning, logs:\n%s", h.logs)
			}
			recs := h.rec.all()
			if recs[len(recs)-1].Outcome != OutcomeBudget {
				t.Fatalf("last outcome %s", recs[len(recs)-1].Outcome)
			}
		})
	}
}

// TestAPIKeyNeverLeaks uses a server that echoes the Authorization header
// in its error body and a model that repeats the key in its answer.
func TestAPIKeyNeverLeaks(t *testing.T) {
	const key = "sk-arbor-SECRET-9f8e7d6c5b4a"
	t.Setenv(testKeyEnv, key)
	h := newHarness(t, func(c *Config) { c.RecordText = true },
		llmtest.Reply("my key is "+key), llmtest.Reply(validO4), llmtest.Unauthorized())
	d := loadDecision(t)
	if _, err := h.p.Resolve(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	d.Trial = 2
	_, err := h.p.Resolve(context.Background(), d)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	if got := h.srv.Requests()[2].Authorization; got != "Bearer "+key {
		t.Fatalf("the key was not sent (Authorization %q), so this test proves nothing", got)
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("the echoed key should show as redacted: %v", err)
	}
	recs, _ := json.Marshal(h.rec.all())
	cfg, _ := json.Marshal(testConfig(h.srv.URL()))
	for what, s := range map[string]string{"error": err.Error(), "logs": h.logs.String(), "records": string(recs), "config": string(cfg)} {
		if strings.Contains(s, key) || strings.Contains(s, "SECRET-9f8e") {
			t.Errorf("the API key appears in the %s", what)
		}
	}
}

func TestModelWeights(t *testing.T) {
	t.Setenv(testKeyEnv, "k")
	h := newHarness(t, func(c *Config) {
		c.Model = ""
		c.Models = []ModelConfig{{Name: "big", Weight: 1}, {Name: "small", Weight: 3}}
	})
	def := llmtest.Reply(validO4)
	h.srv.Default = &def
	d := loadDecision(t)
	count := map[string]int{}
	for i := range 400 {
		d.Trial = i
		c, err := h.p.Resolve(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		count[c.Usage.Model]++
	}
	for _, r := range h.srv.Requests() {
		count["server:"+r.Body.Model]++
	}
	// Binomial(400, 0.75): mean 300, sd ~8.7; ±50 is over 5 sd.
	if count["small"] < 250 || count["small"] > 350 || count["small"] != count["server:small"] {
		t.Fatalf("model counts %v, want about 300 small of 400", count)
	}
}

// TestThousandCallsThirtyPercentMalformed resolves 1,000 decisions where each
// answer is bad with probability 0.3 (malformed JSON, prose without JSON,
// unknown option, out-of-range or extra keys). Every decision must end in a
// validated choice.
func TestThousandCallsThirtyPercentMalformed(t *testing.T) {
	t.Setenv(testKeyEnv, "k")
	good := []string{validO4, `{"option":"o1","args":{"width":48}}`, `{"option":"o2","args":{"activation":"SiLU"}}`,
		"```json\n{\"option\":\"o3\",\"args\":{\"dilations\":[1,2]}}\n```", `{"option":"o5","args":{"act":"silu"},"rationale":"x"}`}
	bad := []string{`{"option": "o1", "args": {`, "I would pick the second one.", `{"option":"o99","args":{}}`,
		`{"option":"o1","args":{"width":1}}`, `{"option":"o4","args":{},"code":"import os"}`}
	const calls = 1000
	rng := newTestRand(42)
	var steps []llmtest.Step
	wantFallbacks := 0
	for range calls {
		ok := false
		for range 3 { // 1 + max_repairs
			if rng.Float64() < 0.3 {
				steps = append(steps, llmtest.Reply(bad[rng.IntN(len(bad))]))
				continue
			}
			steps = append(steps, llmtest.Reply(good[rng.IntN(len(good))]))
			ok = true
			break
		}
		if !ok {
			wantFallbacks++
		}
	}
	h := newHarness(t, nil, steps...)
	d := loadDecision(t)
	attempts, fallbacks := 0, 0
	for i := range calls {
		d.Trial = i
		c, err := h.p.Resolve(context.Background(), d)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		revalidate(t, d, c)
		attempts += c.Usage.Attempts
		if c.Usage.Fallback {
			fallbacks++
		}
	}
	if h.srv.Remaining() != 0 || attempts != len(steps) || fallbacks != wantFallbacks {
		t.Fatalf("attempts %d of %d scripted, %d left; fallbacks %d want %d", attempts, len(steps), h.srv.Remaining(), fallbacks, wantFallbacks)
	}
	avg := float64(attempts) / calls
	t.Logf("1000 calls, 30%% malformed answers: average %.3f attempts per call, %d fallbacks (%.1f%%)", avg, fallbacks, 100*float64(fallbacks)/calls)
	// Expected 1 + 0.3 + 0.09 = 1.39.
	if avg < 1.3 || avg > 1.48 {
		t.Fatalf("average attempts %.3f far from the expected 1.39", avg)
	}
}

func TestZeroTemperatureIsSent(t *testing.T) {
	t.Setenv(testKeyEnv, "k")
	h := newHarness(t, func(c *Config) { c.Temperature = 0 }, llmtest.Reply(validO4))
	if _, err := h.p.Resolve(context.Background(), loadDecision(t)); err != nil {
		t.Fatal(err)
	}
	raw := string(h.srv.Requests()[0].Raw)
	got := h.srv.Requests()[0].Body.Temperature
	if !strings.Contains(raw, `"temperature"`) || got <= 0 || got > 1e-6 {
		t.Fatalf("temperature %v not sent as near-zero: %s", got, raw)
	}
}
