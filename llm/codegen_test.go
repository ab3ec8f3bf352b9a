package llm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/llm/llmtest"
)

const parentSource = `import torch
import torch.nn as nn


class Candidate(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(16, num_classes)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))
`

func TestExtractSource(t *testing.T) {
	tests := []struct {
		name, answer, want, problem string
	}{
		{name: "fenced", answer: "Here is the model:\n```python\n" + parentSource + "```\nEnjoy.", want: parentSource},
		{name: "bare fence", answer: "```\n" + parentSource + "```", want: parentSource},
		{name: "no fence", answer: parentSource, want: parentSource},
		{name: "unterminated fence", answer: "```python\n" + parentSource, want: parentSource},
		{name: "longest block wins", answer: "```python\nx = 1\n```\n```python\n" + parentSource + "```", want: parentSource},
		{name: "empty", answer: " ", problem: "empty"},
		{name: "no class", answer: "```python\nprint('hi')\n```", problem: "class Candidate"},
		{name: "too big", answer: "class Candidate(nn.Module):\n" + strings.Repeat("#", maxSourceBytes), problem: "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExtractSource(tt.answer)
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("err %v, want mention of %q", err, tt.problem)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

func TestRewrite(t *testing.T) {
	t.Setenv(testKeyEnv, "k")
	good := "Sure:\n```python\n" + strings.Replace(parentSource, "16", "32", -1) + "```"
	tests := []struct {
		name     string
		steps    []llmtest.Step
		mutate   func(*Config)
		wantErr  error
		attempts int
		outcome  Outcome
	}{
		{name: "valid", steps: []llmtest.Step{llmtest.Reply(good)}, attempts: 1, outcome: OutcomeOK},
		{name: "repaired", steps: []llmtest.Step{llmtest.Reply("I would widen the convs."), llmtest.ServerError(), llmtest.Reply(good)}, attempts: 2, outcome: OutcomeRepaired},
		{name: "never usable", steps: []llmtest.Step{llmtest.Reply("no"), llmtest.EmptyChoices(), llmtest.Reply("```python\nx=1\n```")}, attempts: 3, outcome: OutcomeInvalid},
		{name: "auth", steps: []llmtest.Step{llmtest.Unauthorized()}, wantErr: ErrAuth, outcome: OutcomeAuth},
		{name: "budget", mutate: func(c *Config) { c.Limits.MaxTokens = 50 }, wantErr: ErrBudget, outcome: OutcomeBudget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.mutate, tt.steps...)
			dir := t.TempDir()
			t.Chdir(dir)
			src, u, err := h.p.Rewrite(context.Background(), parentSource, 3)
			recs := h.rec.all()
			if len(recs) != 1 || recs[0].Outcome != tt.outcome || recs[0].Category != CategoryCodegen {
				t.Fatalf("records %+v, want one with outcome %s", recs, tt.outcome)
			}
			pt, ct := h.srv.Usage()
			if u.PromptTokens != pt || u.CompletionTokens != ct {
				t.Fatalf("usage %+v, server %d/%d", u, pt, ct)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("Rewrite wrote files: %v", entries)
			}
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
			case tt.outcome == OutcomeInvalid:
				if err == nil || !strings.Contains(err.Error(), "no usable source in 3 attempts") || u.Attempts != 3 {
					t.Fatalf("err %v, usage %+v", err, u)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(src, "nn.Conv2d(3, 32, 3") || strings.Contains(src, "```") || u.Attempts != tt.attempts {
					t.Fatalf("source %q, usage %+v", src, u)
				}
				sent := h.srv.Requests()[0].Body.Messages[1].Content
				if !strings.Contains(sent, "def forward(self, x):") {
					t.Fatalf("the parent source was not sent: %q", sent)
				}
			}
		})
	}
}

func TestCodegenPromptGolden(t *testing.T) {
	r, err := NewDefaultRenderer(DefaultConfig().Prompts)
	if err != nil {
		t.Fatal(err)
	}
	sys, user, err := codegenPrompt(r, parentSource)
	if err != nil {
		t.Fatal(err)
	}
	got := "=== system\n" + sys + "=== user\n" + user
	path := filepath.Join("testdata", "golden", "codegen.txt")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got != string(want) {
		t.Fatalf("codegen prompt differs from %s; rerun with -update if intended:\n%s", path, got)
	}
}

func FuzzExtractSource(f *testing.F) {
	for _, s := range []string{parentSource, "```python\n" + parentSource + "```", "```", "``````", "```\n```python\nclass Candidate(", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, answer string) {
		src, err := ExtractSource(answer)
		if err != nil {
			return
		}
		if !strings.Contains(src, "class Candidate(") || len(src) > maxSourceBytes+1 || !strings.HasSuffix(src, "\n") {
			t.Fatalf("accepted %q", src)
		}
	})
}
