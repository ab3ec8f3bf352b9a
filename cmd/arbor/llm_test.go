package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/llm/llmtest"
)

const llmTryDecision = "../../llm/testdata/decision.json"

func runLLMTryCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(append([]string{"llm", "try"}, args...))
	err := root.Execute()
	return out.String() + errb.String(), err
}

func writeLLMConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cfg.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLLMTryAgainstMock(t *testing.T) {
	t.Setenv("ARBOR_TRY_KEY", "sk-try-0123456789")
	srv := llmtest.New(llmtest.Prose(`{"option":"o9"}`), llmtest.Reply(`{"option":"o2","args":{"activation":"SiLU"},"rationale":"attention is cheap"}`))
	defer srv.Close()
	cfg := writeLLMConfig(t, "llm:\n  base_url: "+srv.URL()+"\n  model: mock\n  api_key_env: ARBOR_TRY_KEY\n  timeout: 5s\n  max_repairs: 1\n")
	out, err := runLLMTryCmd(t, "--config", cfg, "--decision", llmTryDecision)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"=== system prompt (5 options shown", "[o4] at head/fc", "=== answer 1 from mock",
		`--- rejected: invalid answer: option "o9" was not offered`, "=== answer 2 from mock", `"option_id": "o2"`,
		`"activation": "SiLU"`, `"outcome": "repaired"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "sk-try-0123456789") {
		t.Error("the key appears in the output")
	}
}

func TestLLMTryOffline(t *testing.T) {
	cfg := writeLLMConfig(t, "llm:\n  seed: 9\n  prompts:\n    max_prompt_tokens: 700\n    max_source_tokens: 0\n")
	out, err := runLLMTryCmd(t, "--config", cfg, "--decision", llmTryDecision)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"using the offline resolver", "no model asked", `"model": "offline"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The decision offers 5 options; a 700-token budget cannot show them
	// all, so the prompt is trimmed, and the header says by how much.
	m := regexp.MustCompile(`\((\d+) options shown, (\d+) hidden`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no trimming header in:\n%s", out)
	}
	shown, _ := strconv.Atoi(m[1])
	hidden, _ := strconv.Atoi(m[2])
	if shown < 1 || hidden < 1 || shown+hidden != 5 {
		t.Errorf("%d shown and %d hidden of 5 options under a 700-token budget", shown, hidden)
	}
}

func TestLLMTryUsageErrors(t *testing.T) {
	good := writeLLMConfig(t, "llm:\n  seed: 1\n")
	badDecision := filepath.Join(t.TempDir(), "d.json")
	os.WriteFile(badDecision, []byte(`{"operation":"x","category":"greedy","options":[{"id":"a"}]}`), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no flags", nil, "--config and --decision are required"},
		{"missing config", []string{"--config", "/nonexistent.yaml", "--decision", llmTryDecision}, "/nonexistent.yaml"},
		{"unknown key", []string{"--config", writeLLMConfig(t, "llm:\n  modle: x\n"), "--decision", llmTryDecision}, "modle"},
		{"invalid value", []string{"--config", writeLLMConfig(t, "llm:\n  temperature: 9\n"), "--decision", llmTryDecision}, "llm.temperature"},
		{"missing decision", []string{"--config", good, "--decision", "/nonexistent.json"}, "/nonexistent.json"},
		{"invalid decision", []string{"--config", good, "--decision", badDecision}, "decision.category"},
		{"stray argument", []string{"--config", good, "--decision", llmTryDecision, "extra"}, "no arguments"},
		{"bad flag", []string{"--nope"}, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runLLMTryCmd(t, tt.args...)
			if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v (exit %d), want a usage error mentioning %q", err, exitCode(err), tt.want)
			}
		})
	}
}

func TestLLMTryAuthErrorExitsOne(t *testing.T) {
	t.Setenv("ARBOR_TRY_KEY", "sk-try-0123456789")
	srv := llmtest.New(llmtest.Unauthorized())
	defer srv.Close()
	cfg := writeLLMConfig(t, "llm:\n  base_url: "+srv.URL()+"\n  model: mock\n  api_key_env: ARBOR_TRY_KEY\n")
	out, err := runLLMTryCmd(t, "--config", cfg, "--decision", llmTryDecision)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "refused the credentials") {
		t.Fatalf("err %v (exit %d)", err, exitCode(err))
	}
	if strings.Contains(out+err.Error(), "sk-try-0123456789") {
		t.Fatal("the key leaked")
	}
}
