package evolve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/arbor-nas/arbor/llm"
)

// codegenSystem is the codegen baseline's instruction: the paper's "LLM as
// an agent" ablation, where the model writes the architecture itself.
const codegenSystem = `You are a neural architecture designer. You are given the complete PyTorch
source of a network. Rewrite it to improve its validation accuracy under the
stated constraints. Answer with ONE complete Python file in a single
` + "```python" + ` code block. It must define class Candidate(nn.Module),
constructible with no arguments, taking input of shape (N, C, H, W) and
returning logits of shape (N, classes). Keep all imports inside the file.`

// OpenAICoder is the Coder of the codegen baseline: it asks an
// OpenAI-compatible endpoint to rewrite the parent's source. Its output is
// never trusted: it goes through the same gate as every candidate, and
// execution (dry run, training) is its only validity check.
type OpenAICoder struct {
	cfg    llm.Config
	model  llm.ModelConfig
	client *openai.Client
	calls  llm.CallLogger
	// Task describes the input shape, classes and limits for the prompt.
	Task string
}

// NewOpenAICoder builds a Coder from the llm configuration (base_url, the
// first model, the key's environment variable, timeout, retries, prices).
func NewOpenAICoder(cfg llm.Config, calls llm.CallLogger, task string) (*OpenAICoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Online() {
		return nil, errors.New("evolve.strategy codegen: llm.base_url must name an OpenAI-compatible endpoint")
	}
	models := cfg.ModelList()
	cc := openai.DefaultConfig(os.Getenv(cfg.APIKeyEnv))
	cc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &OpenAICoder{cfg: cfg, model: models[0], client: openai.NewClientWithConfig(cc), calls: calls, Task: task}, nil
}

var fence = regexp.MustCompile("(?s)```(?:python|py)?\\s*\\n(.*?)```")

// Rewrite implements Coder.
func (c *OpenAICoder) Rewrite(ctx context.Context, parentSource string, trial int) (string, llm.Usage, error) {
	start := time.Now()
	user := fmt.Sprintf("Task: %s\n\nCurrent network:\n```python\n%s```\n", c.Task, parentSource)
	req := openai.ChatCompletionRequest{
		//lint:ignore SA1019 max_tokens, not max_completion_tokens, is what vLLM, Ollama and llama.cpp servers read
		Model: c.model.Name, MaxTokens: max(c.cfg.MaxTokens, 4096), Temperature: float32(c.cfg.Temperature),
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: codegenSystem},
			{Role: openai.ChatMessageRoleUser, Content: user},
		},
	}
	u := llm.Usage{Model: c.model.Name}
	var resp openai.ChatCompletionResponse
	var err error
	for try := 0; ; try++ {
		callCtx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		resp, err = c.client.CreateChatCompletion(callCtx, req)
		cancel()
		u.Attempts++
		var apiErr *openai.APIError
		if err == nil || ctx.Err() != nil || try >= c.cfg.MaxRetries ||
			(errors.As(err, &apiErr) && (apiErr.HTTPStatusCode == 401 || apiErr.HTTPStatusCode == 403 || apiErr.HTTPStatusCode == 400)) {
			break
		}
		u.Retries++
		wait := min(c.cfg.BackoffBase<<try, c.cfg.BackoffMax)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	u.Latency = time.Since(start)
	rec := llm.CallRecord{Time: start.UTC(), Model: c.model.Name, Operation: OpCodegen, Trial: trial,
		PromptHash: sha(codegenSystem + "\n" + user), Latency: u.Latency, Attempts: u.Attempts, Retries: u.Retries}
	defer func() {
		if c.calls != nil {
			_ = c.calls.LogCall(rec)
		}
	}()
	if err != nil {
		rec.Outcome, rec.Error = llm.OutcomeError, err.Error()
		return "", u, fmt.Errorf("codegen request: %w", err)
	}
	u.PromptTokens, u.CompletionTokens = resp.Usage.PromptTokens, resp.Usage.CompletionTokens
	u.CostUSD = c.model.Cost(u.PromptTokens, u.CompletionTokens)
	rec.TokensIn, rec.TokensOut, rec.CostUSD = u.PromptTokens, u.CompletionTokens, u.CostUSD
	if len(resp.Choices) == 0 {
		rec.Outcome, rec.Error = llm.OutcomeError, "no choices"
		return "", u, errors.New("codegen: the model returned no choices")
	}
	answer := resp.Choices[0].Message.Content
	rec.AnswerHash = sha(answer)
	src := answer
	if m := fence.FindStringSubmatch(answer); m != nil {
		src = m[1]
	}
	if !strings.Contains(src, "class Candidate") {
		rec.Outcome, rec.Error = llm.OutcomeError, "no class Candidate in the answer"
		return "", u, errors.New("codegen: the answer defines no class Candidate")
	}
	rec.Outcome = llm.OutcomeOK
	return src, u, nil
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
