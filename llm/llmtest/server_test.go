package llmtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return resp.StatusCode, m
}

func TestServerProtocol(t *testing.T) {
	s := New(Reply("hello there world"), RateLimited("7"))
	defer s.Close()
	req := `{"model":"m","messages":[{"role":"user","content":"one two three"}]}`
	code, m := post(t, s.URL()+"/chat/completions", req)
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	usage := m["usage"].(map[string]any)
	if usage["prompt_tokens"].(float64) != 6 || usage["completion_tokens"].(float64) != 3 || usage["total_tokens"].(float64) != 9 {
		t.Fatalf("usage %v", usage)
	}
	msg := m["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
	if msg["content"] != "hello there world" || msg["role"] != "assistant" {
		t.Fatalf("message %v", msg)
	}
	resp, err := http.Post(s.URL()+"/chat/completions", "application/json", strings.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, m := post(t, s.URL()+"/chat/completions", req); code != 400 || !strings.Contains(m["error"].(map[string]any)["message"].(string), "script exhausted") {
		t.Fatalf("exhausted script: %d %v", code, m)
	}
	if code, _ := post(t, s.URL()+"/completions", req); code != 404 {
		t.Fatalf("wrong route: %d", code)
	}
	if code, _ := post(t, s.URL()+"/chat/completions", `{"model":"m","messages":[],"response_format":{"type":"json_schema"}}`); code != 400 {
		t.Fatalf("invalid request accepted: %d", code)
	}
	if n := len(s.Requests()); n != 3 || s.Requests()[0].Body.Messages[0].Content != "one two three" {
		t.Fatalf("recorded %d requests: %+v", n, s.Requests())
	}
	if pt, ct := s.Usage(); pt != 6 || ct != 3 {
		t.Fatalf("usage totals %d/%d", pt, ct)
	}
}
