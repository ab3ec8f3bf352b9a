package llm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
)

// Redacted replaces every secret a Redactor finds.
const Redacted = "[redacted]"

// secretShapes are credentials recognisable without knowing them: an
// Authorization header's value, a bearer token, an OpenAI-style sk- key and
// an api_key/api-key assignment. The (?i) forms also catch the header as a
// proxy echoes it back in an error body ("authorization":"Bearer ...").
var secretShapes = []*regexp.Regexp{
	regexp.MustCompile(`(?i)(authorization"?\s*[:=]\s*"?(?:bearer\s+|basic\s+|token\s+)?)[^\s"',;}\]\[]+`),
	regexp.MustCompile(`(?i)(\bbearer\s+)[A-Za-z0-9._~+/=\-]+`),
	regexp.MustCompile(`(?i)(api[_-]?key"?\s*[:=]\s*"?)[^\s"',;}\]\[&#]+`),
	regexp.MustCompile(`()\bsk-[A-Za-z0-9_\-]{6,}`),
	// A URL's query parameters that carry credentials (?token=, &key=, ...).
	regexp.MustCompile(`(?i)([?&;](?:[a-z0-9]*[_\-])*(?:token|key|apikey|secret|password|passwd|pwd|auth|sig|signature|credentials?)=)[^&#\s"',;}\]\[]+`),
}

// urlUserinfo is the user:password@ part of a URL (scheme://user:pw@host);
// all of it goes, since a user name alone is often a token
// (https://TOKEN@host).
var urlUserinfo = regexp.MustCompile(`(?i)(\b[a-z][a-z0-9+.\-]*://)[^/?#\s@"']+@`)

// RedactURL returns u with its credentials (userinfo, and query keys such
// as token, key, api_key, secret, password, sig) replaced by [redacted]: the
// form in which a URL is logged or stored.
func RedactURL(u string) string { return Redactor{}.Redact(u) }

// Redactor removes secrets from text that crosses a boundary: an LLM
// answer, an HTTP error, a child process's output. Every such string passes
// Redact before it is stored, logged, printed or sent as an event. The zero
// value removes the recognisable shapes only; NewRedactor adds the
// configured key itself, which may have any shape.
type Redactor struct {
	keys []string
}

// NewRedactor returns a redactor for the given keys (empty and very short
// values are ignored: replacing every "a" would destroy the text and hide
// nothing).
func NewRedactor(keys ...string) Redactor {
	var r Redactor
	for _, k := range keys {
		if k = strings.TrimSpace(k); len(k) >= 4 {
			r.keys = append(r.keys, k)
		}
	}
	return r
}

// Redactor returns the redactor for this configuration: the key (from
// api_key_file or the variable named by api_key_env), plus the known
// shapes.
func (c Config) Redactor() Redactor {
	key, _ := c.APIKey()
	return NewRedactor(key)
}

// APIKey is the key to send: the content of api_key_file when set (read
// now: the key then never sits in arbor's environment, where code that
// escaped a sandbox could read it in /proc), else the variable named by
// api_key_env; "" when neither holds one.
func (c Config) APIKey() (string, error) {
	if c.APIKeyFile != "" {
		b, err := os.ReadFile(c.APIKeyFile)
		if err != nil {
			return "", fmt.Errorf("llm.api_key_file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if c.APIKeyEnv == "" {
		return "", nil
	}
	return os.Getenv(c.APIKeyEnv), nil
}

// Redact returns s with every configured key and every recognisable
// credential replaced by [redacted].
func (r Redactor) Redact(s string) string {
	if s == "" {
		return s
	}
	for _, k := range r.keys {
		s = strings.ReplaceAll(s, k, Redacted)
	}
	s = urlUserinfo.ReplaceAllString(s, "${1}"+Redacted+"@")
	for _, re := range secretShapes {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			prefix := re.FindStringSubmatch(m)[1]
			switch strings.ToLower(m[len(prefix):]) {
			case "bearer", "basic", "token":
				return m // a scheme whose value is already redacted
			}
			return prefix + Redacted
		})
	}
	return s
}

// Error returns err with its text redacted, or nil. The original error is
// deliberately not wrapped, since its text may hold the secret; errors.Is
// still sees the sentinel errors of this package.
func (r Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := r.Redact(msg)
	if clean == msg {
		return err
	}
	var sentinel error
	for _, s := range []error{ErrAuth, ErrUnavailable, ErrRequest, ErrBudget, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, s) {
			sentinel = s
			break
		}
	}
	return &scrubbedError{msg: clean, sentinel: sentinel}
}

// Handler wraps h so that every log message and string attribute is
// redacted before it is written.
func (r Redactor) Handler(h slog.Handler) slog.Handler { return redactHandler{h: h, r: r} }

type redactHandler struct {
	h slog.Handler
	r Redactor
}

func (h redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.h.Handle(ctx, out)
}

func (h redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.Redact(v.String()))
	case slog.KindGroup:
		var as []any
		for _, g := range v.Group() {
			as = append(as, h.attr(g))
		}
		return slog.Group(a.Key, as...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.r.Redact(err.Error()))
		}
		if s, ok := v.Any().(interface{ String() string }); ok {
			return slog.String(a.Key, h.r.Redact(s.String()))
		}
		return a
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = h.attr(a)
	}
	return redactHandler{h: h.h.WithAttrs(clean), r: h.r}
}

func (h redactHandler) WithGroup(name string) slog.Handler {
	return redactHandler{h: h.h.WithGroup(name), r: h.r}
}
