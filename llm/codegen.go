package llm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// The codegen baseline ("LLM as an agent") lets the model rewrite a
// parent's whole PyTorch source. This package only fetches and checks the
// text; it never runs it. The engine's gate executes it in a sandboxed child
// process, which is the only real validity check.

// ErrBudget means a spend limit forbids the call and no offline stand-in
// exists (the codegen baseline has none).
var ErrBudget = errors.New("llm spend limit reached")

// maxSourceBytes caps a rewritten source; real models are a few KB.
const maxSourceBytes = 64 << 10

// CategoryCodegen labels codegen calls in call records.
const CategoryCodegen Category = "codegen"

// codegenPrompt renders the codegen system and user prompts.
func codegenPrompt(r *Renderer, source string) (system, user string, err error) {
	var sys, usr bytes.Buffer
	if err := r.codegenSystem.Execute(&sys, nil); err != nil {
		return "", "", fmt.Errorf("render codegen_system.tmpl: %w", err)
	}
	if err := r.codegen.Execute(&usr, struct{ Source string }{strings.TrimRight(source, "\n")}); err != nil {
		return "", "", fmt.Errorf("render codegen.tmpl: %w", err)
	}
	return sys.String(), usr.String(), nil
}

// ExtractSource takes the Python source out of a codegen answer: the
// longest ```python (or bare ```) block, or the whole answer when it has no
// fence. It checks only what can be checked without running it.
func ExtractSource(answer string) (string, error) {
	src := strings.TrimSpace(answer)
	best := ""
	rest := answer
	for {
		i := strings.Index(rest, "```")
		if i < 0 {
			break
		}
		body := rest[i+3:]
		nl := strings.IndexByte(body, '\n')
		if nl < 0 {
			break
		}
		body = body[nl+1:]
		j := strings.Index(body, "```")
		if j < 0 {
			j = len(body) // unterminated fence: take the rest
		}
		if block := strings.TrimSpace(body[:j]); len(block) > len(best) {
			best = block
		}
		if j == len(body) {
			break
		}
		rest = body[j+3:]
	}
	if best != "" {
		src = best
	}
	switch {
	case src == "":
		return "", errors.New("the answer is empty; reply with the complete source in one ```python block")
	case len(src) > maxSourceBytes:
		return "", fmt.Errorf("the source is %d bytes, more than %d", len(src), maxSourceBytes)
	case !strings.Contains(src, "class Candidate("):
		return "", errors.New("the source does not define class Candidate(nn.Module); reply with the complete source")
	}
	return src + "\n", nil
}

// Rewrite asks the model for a rewritten source of parentSource, repairing
// answers that are not usable source up to max_repairs times. It returns
// the usage even on error, so the engine can account for it.
func (p *Provider) Rewrite(ctx context.Context, parentSource string, trial int) (string, Usage, error) {
	start := p.o.now()
	d := Decision{Operation: "codegen", Category: CategoryCodegen, Trial: trial}
	model := p.pickModel(d)
	u := Usage{Model: model.Name}
	system, user, err := codegenPrompt(p.renderer, parentSource)
	if err != nil {
		return "", u, err
	}
	tr := Trace{Prompt: Prompt{System: system, User: user}}
	rec := CallRecord{Time: start, Model: model.Name, Category: CategoryCodegen, Operation: "codegen", Trial: trial,
		PromptHash: hashText(system + "\n" + user)}
	msgs := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: system},
		{Role: openai.ChatMessageRoleUser, Content: user},
	}
	rng := rand.New(rand.NewPCG(p.cfg.Seed, decisionKey(d, "retry")))
	var lastProblem string
	for attempt := 0; attempt <= p.cfg.MaxRepairs; attempt++ {
		if attempt > 0 && len(msgs) > 2 && msgs[len(msgs)-1].Role == openai.ChatMessageRoleUser {
			u.Repairs++ // this request sends a rejected answer back
		}
		resp, reason, err := p.complete(ctx, model, msgs, nil, &u, rng)
		if reason != "" {
			u.Degraded = reason
			_, _, err = p.fail(rec, u, tr, start, fmt.Sprintf("codegen trial %d with model %s", trial, model.Name), fmt.Errorf("%w: %s", ErrBudget, reason))
			return "", u, err
		}
		if err != nil {
			_, _, err = p.fail(rec, u, tr, start, fmt.Sprintf("codegen trial %d with model %s", trial, model.Name), err)
			return "", u, err
		}
		u.Attempts++
		if len(resp.Choices) == 0 {
			lastProblem = "the response had no choices"
			tr.Exchanges = append(tr.Exchanges, Exchange{Model: model.Name, Problem: lastProblem})
			continue
		}
		answer := resp.Choices[0].Message.Content
		src, verr := ExtractSource(answer)
		ex := Exchange{Model: model.Name, Answer: answer}
		if verr == nil {
			tr.Exchanges = append(tr.Exchanges, ex)
			rec.Outcome = OutcomeOK
			if u.Attempts > 1 {
				rec.Outcome = OutcomeRepaired
			}
			u.Latency = p.o.now().Sub(start)
			p.finishRecord(&rec, u, tr)
			// The source is the model's text and is stored with the candidate.
			return p.redact(src), u, nil
		}
		lastProblem = verr.Error()
		ex.Problem = lastProblem
		tr.Exchanges = append(tr.Exchanges, ex)
		msgs = append(msgs,
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: capBytes(answer, maxEchoedAnswer)},
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: "Your answer was rejected: " + lastProblem},
		)
	}
	// No random stand-in exists for a rewrite: report it as invalid.
	rec.Outcome = OutcomeInvalid
	u.Latency = p.o.now().Sub(start)
	rec.Error = fmt.Sprintf("codegen trial %d: no usable source in %d attempts: %s", trial, u.Attempts, lastProblem)
	p.finishRecord(&rec, u, tr)
	return "", u, errors.New(p.redact(rec.Error))
}
