// Package llmtest is a scriptable OpenAI-compatible chat completions server
// for tests: real HTTP through httptest, the real client, a mocked model.
// Each request consumes the next scripted Step; every request is recorded.
package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Step is the server's behaviour for one request.
type Step struct {
	Status  int               // HTTP status; 0 means 200
	Content string            // the assistant message of a 200 reply
	Body    string            // raw body for non-200 replies; an OpenAI error object when empty
	Header  map[string]string // extra response headers, e.g. Retry-After
	// NoChoices replies 200 with an empty choices list.
	NoChoices bool
	// Hang waits this long, or until the client gives up, before replying.
	Hang time.Duration
	// Reset closes the connection without any response.
	Reset bool
	// FromSchema answers with the first option of the request's JSON schema
	// (structured output) and empty args; Content is ignored.
	FromSchema bool
	// RandomOption answers with an option drawn uniformly from those the
	// prompt lists ("[o3] at ..." lines of the last user message) and empty
	// args, as a model that knows nothing would; Content is ignored. The
	// draw is seeded by the request number, so runs repeat.
	RandomOption bool
	// EchoAuth puts the request's Authorization header, and the bare key
	// in it, into the error body or, for a 200 reply, the answer's
	// rationale (with FromSchema) or content (as {{auth}} and {{key}}), as
	// a misconfigured proxy or a hostile model might, to test that keys are
	// scrubbed everywhere.
	EchoAuth bool
	// Answer, when set, computes the content from the request: a model
	// whose answer depends only on what it is asked, so a run and a
	// resumed run get the same answers whatever their order.
	Answer func(req ChatRequest) string
	// Token counts to report; zero means counted from the text.
	PromptTokens, CompletionTokens int
}

// Reply answers 200 with content.
func Reply(content string) Step { return Step{Content: content} }

// Malformed answers with JSON that is cut off.
func Malformed() Step { return Step{Content: `{"option": "o1", "args": {"width": 64,`} }

// Prose wraps a JSON answer in chatter and a code fence.
func Prose(jsonAnswer string) Step {
	return Step{Content: "Sure! Looking at the options, this is the best one.\n```json\n" + jsonAnswer + "\n```\nLet me know if you need anything else."}
}

// RateLimited answers 429 with a Retry-After header.
func RateLimited(retryAfter string) Step {
	return Step{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": retryAfter}}
}

// ServerError answers 500.
func ServerError() Step { return Step{Status: http.StatusInternalServerError} }

// Unauthorized answers 401 and echoes the Authorization header back.
func Unauthorized() Step { return Step{Status: http.StatusUnauthorized, EchoAuth: true} }

// Hang stalls for d before replying with content.
func Hang(d time.Duration, content string) Step { return Step{Hang: d, Content: content} }

// EmptyChoices answers 200 with no choices.
func EmptyChoices() Step { return Step{NoChoices: true} }

// Reset drops the connection.
func Reset() Step { return Step{Reset: true} }

// RandomOffered answers with a uniformly drawn offered option.
func RandomOffered() Step { return Step{RandomOption: true} }

// SchemaAnswer answers from the request's response_format schema.
func SchemaAnswer() Step { return Step{FromSchema: true} }

// EchoingAnswer answers from the schema with the request's Authorization
// header and key in its rationale.
func EchoingAnswer() Step { return Step{FromSchema: true, EchoAuth: true} }

// Request is one recorded request.
type Request struct {
	Path          string
	Authorization string
	Body          ChatRequest
	Raw           []byte
}

// ChatRequest is the part of a chat completions request tests look at.
type ChatRequest struct {
	Model          string          `json:"model"`
	Messages       []Message       `json:"messages"`
	MaxTokens      int             `json:"max_tokens"`
	Temperature    float64         `json:"temperature"`
	ResponseFormat *ResponseFormat `json:"response_format"`
}

// Message is a chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ResponseFormat is the structured-output request.
type ResponseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema"`
		Strict bool            `json:"strict"`
	} `json:"json_schema"`
}

// Server is the mock endpoint. Use URL() as llm.base_url.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	script   []Step
	next     int
	reqs     []Request
	prompt   int
	complete int
	// Default, when set, serves requests after the script runs out;
	// otherwise they get a 400 saying the script is exhausted.
	Default *Step
}

// New starts a server that plays steps in order.
func New(steps ...Step) *Server {
	s := &Server{script: steps}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// URL is the base URL to configure, including /v1.
func (s *Server) URL() string { return s.Server.URL + "/v1" }

// Push appends steps to the script.
func (s *Server) Push(steps ...Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, steps...)
}

// Requests returns the recorded requests.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Usage returns the prompt and completion tokens reported in all 200 replies.
func (s *Server) Usage() (prompt, completion int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prompt, s.complete
}

// Remaining is the number of scripted steps not yet played.
func (s *Server) Remaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.script) - s.next
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("llmtest: no route %s %s", r.Method, r.URL.Path))
		return
	}
	var req ChatRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, http.StatusBadRequest, "llmtest: request is not JSON: "+err.Error())
		return
	}
	if msg := checkRequest(req); msg != "" {
		writeError(w, http.StatusBadRequest, "llmtest: "+msg)
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Body: req, Raw: raw})
	var step Step
	switch {
	case s.next < len(s.script):
		step = s.script[s.next]
		s.next++
	case s.Default != nil:
		step = *s.Default
	default:
		n := len(s.reqs)
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, fmt.Sprintf("llmtest: script exhausted at request %d", n))
		return
	}
	s.mu.Unlock()
	s.play(w, r, req, step)
}

func checkRequest(req ChatRequest) string {
	if req.Model == "" {
		return "model is required"
	}
	if len(req.Messages) == 0 {
		return "messages must not be empty"
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type == "json_schema" {
		if rf.JSONSchema == nil || rf.JSONSchema.Name == "" || len(rf.JSONSchema.Schema) == 0 {
			return "response_format json_schema needs a name and a schema"
		}
		var v map[string]any
		if err := json.Unmarshal(rf.JSONSchema.Schema, &v); err != nil {
			return "response_format schema is not a JSON object: " + err.Error()
		}
	}
	return ""
}

func (s *Server) play(w http.ResponseWriter, r *http.Request, req ChatRequest, step Step) {
	if step.Hang > 0 {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(step.Hang):
		}
	}
	if step.Reset {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // net/http closes the connection
	}
	for k, v := range step.Header {
		w.Header().Set(k, v)
	}
	if step.Status != 0 && step.Status != http.StatusOK {
		body := step.Body
		if body == "" {
			msg := fmt.Sprintf("llmtest: scripted status %d", step.Status)
			if step.EchoAuth {
				auth := r.Header.Get("Authorization")
				msg += "; received Authorization: " + auth + " (key " + strings.TrimPrefix(auth, "Bearer ") + ")"
			}
			b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "scripted"}})
			body = string(b)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(step.Status)
		io.WriteString(w, body)
		return
	}
	content := step.Content
	auth := r.Header.Get("Authorization")
	if step.FromSchema {
		content = schemaAnswer(req, step.EchoAuth, auth)
	} else if step.EchoAuth {
		content = strings.NewReplacer("{{auth}}", auth, "{{key}}", strings.TrimPrefix(auth, "Bearer ")).Replace(content)
	}
	if step.RandomOption {
		s.mu.Lock()
		n := len(s.reqs)
		s.mu.Unlock()
		content = randomAnswer(req, n)
	}
	if step.Answer != nil {
		content = step.Answer(req)
	}
	pt, ct := step.PromptTokens, step.CompletionTokens
	if pt == 0 {
		for _, m := range req.Messages {
			pt += CountTokens(m.Content) + 3
		}
	}
	var choices []any
	if !step.NoChoices {
		if ct == 0 {
			ct = max(1, CountTokens(content))
		}
		choices = []any{map[string]any{
			"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": content},
		}}
	} else {
		choices = []any{}
	}
	s.mu.Lock()
	s.prompt += pt
	s.complete += ct
	id := len(s.reqs)
	s.mu.Unlock()
	resp := map[string]any{
		"id": fmt.Sprintf("chatcmpl-llmtest-%d", id), "object": "chat.completion", "created": 1700000000,
		"model": req.Model, "choices": choices,
		"usage": map[string]any{"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct},
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// CountTokens is the mock's tokenizer: whitespace-separated words.
func CountTokens(s string) int { return len(strings.Fields(s)) }

func schemaAnswer(req ChatRequest, echo bool, auth string) string {
	if req.ResponseFormat == nil || req.ResponseFormat.JSONSchema == nil {
		return `{"error": "no schema in the request"}`
	}
	var sch struct {
		Properties struct {
			Option struct {
				Enum []string `json:"enum"`
			} `json:"option"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(req.ResponseFormat.JSONSchema.Schema, &sch); err != nil || len(sch.Properties.Option.Enum) == 0 {
		return `{"error": "schema has no option enum"}`
	}
	rationale := "first option of the schema"
	if echo {
		rationale += "; you sent Authorization: " + auth + ", so your key is " + strings.TrimPrefix(auth, "Bearer ")
	}
	b, _ := json.Marshal(map[string]any{"option": sch.Properties.Option.Enum[0], "args": map[string]any{}, "rationale": rationale})
	return string(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error"}})
}

var optionLine = regexp.MustCompile(`(?m)^\[(o[0-9]+)\] `)

// randomAnswer picks one of the options listed in the last user message.
func randomAnswer(req ChatRequest, n int) string {
	var user string
	for _, m := range req.Messages {
		if m.Role == "user" {
			user = m.Content
		}
	}
	ids := optionLine.FindAllStringSubmatch(user, -1)
	if len(ids) == 0 {
		return `{"error": "no [oN] option lines in the prompt"}`
	}
	rng := rand.New(rand.NewPCG(uint64(n), 0x5eed))
	b, _ := json.Marshal(map[string]any{"option": ids[rng.IntN(len(ids))][1], "args": map[string]any{}, "rationale": "a uniformly drawn offered option"})
	return string(b)
}
