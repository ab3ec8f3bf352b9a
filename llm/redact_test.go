package llm

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
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
		{"url user and password", "base_url=http://user:PASS@llm.local:8000/v1", "base_url=http://[redacted]@llm.local:8000/v1"},
		{"url token as user", "https://ghp_abc123@example.com/x", "https://[redacted]@example.com/x"},
		{"url query token", "http://h/v1?token=T0k3n&model=m", "http://h/v1?token=[redacted]&model=m"},
		{"url query keys", "https://h/v1?x=1&api_key=AAA&access_token=BBB&sig=CCC#f", "https://h/v1?x=1&api_key=[redacted]&access_token=[redacted]&sig=[redacted]#f"},
		{"url without credentials", "https://api.openai.com/v1?model=gpt&monkey=1", "https://api.openai.com/v1?model=gpt&monkey=1"},
		{"email is no url", "mail me at a@b.c", "mail me at a@b.c"},
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

// TestAPIKeyFile: the key comes from api_key_file when it is set, not from
// the environment; an unreadable file is an error naming the key.
func TestAPIKeyFile(t *testing.T) {
	t.Setenv("ARBOR_TEST_KEY_ENV", "from-env-1234")
	file := t.TempDir() + "/key"
	if err := os.WriteFile(file, []byte("from-file-5678\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Config{APIKeyEnv: "ARBOR_TEST_KEY_ENV"}
	if k, err := c.APIKey(); err != nil || k != "from-env-1234" {
		t.Errorf("env: %q %v", k, err)
	}
	c.APIKeyFile = file
	if k, err := c.APIKey(); err != nil || k != "from-file-5678" {
		t.Errorf("file: %q %v", k, err)
	}
	if got := c.Redactor().Redact("x from-file-5678 y"); got != "x [redacted] y" {
		t.Errorf("the redactor misses the file's key: %q", got)
	}
	c.APIKeyFile = file + ".missing"
	if _, err := c.APIKey(); err == nil || !strings.Contains(err.Error(), "llm.api_key_file") {
		t.Errorf("missing file: %v", err)
	}
}
