package llm

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	const key = "My-Pr1vate.Key_42" // not a recognisable shape: only the configured key catches it
	r := NewRedactor(key, "", "ab")
	for _, tc := range []struct{ name, in, want string }{
		{"configured key anywhere", "the key is " + key + "!", "the key is [redacted]!"},
		{"authorization header", "Authorization: Bearer abc.DEF-123", "Authorization: Bearer [redacted]"},
		{"authorization in JSON", `{"authorization":"Basic dXNlcjpwYXNz"}`, `{"authorization":"Basic [redacted]"}`},
		{"bearer alone", "got bearer tok_9f8e7d then failed", "got bearer [redacted] then failed"},
		{"sk key", "use sk-proj-AbCdEf123456 please", "use [redacted] please"},
		{"api_key assignment", "api_key=zzz9 and api-key: \"yyy8\"", "api_key=[redacted] and api-key: \"[redacted]\""},
		{"short values are not keys", "ab ab", "ab ab"},
		{"innocent text", "skip sk- and sketch; authority", "skip sk- and sketch; authority"},
		{"twice is the same", "Authorization: Bearer [redacted]", "Authorization: Bearer [redacted]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Redact(tc.in); got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRedactErrorAndLog(t *testing.T) {
	const key = "sekrit-value-77"
	r := NewRedactor(key)
	err := r.Error(fmt.Errorf("%w: server said %s", ErrAuth, key))
	if strings.Contains(err.Error(), key) || !errors.Is(err, ErrAuth) {
		t.Fatalf("redacted error %q must hide the key and still be ErrAuth", err)
	}
	var buf bytes.Buffer
	log := slog.New(r.Handler(slog.NewTextHandler(&buf, nil))).With("k", key)
	log.Error("call failed: "+key, "err", errors.New("body: "+key), slog.Group("g", "x", "Bearer "+key))
	if strings.Contains(buf.String(), key) || !strings.Contains(buf.String(), Redacted) {
		t.Fatalf("log line leaks the key: %s", buf.String())
	}
}
