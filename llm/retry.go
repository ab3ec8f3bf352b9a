package llm

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Errors a caller can act on. ErrAuth means the credentials were refused: the
// engine should stop the run rather than keep calling.
var (
	ErrAuth        = errors.New("llm endpoint refused the credentials (401/403): check the key in the environment variable named by llm.api_key_env, and llm.base_url")
	ErrUnavailable = errors.New("llm endpoint unavailable after retries")
	ErrRequest     = errors.New("llm endpoint rejected the request")
)

// traceKey carries a per-request httpTrace through the request context, so
// concurrent calls each see their own response headers.
type traceKey struct{}

type httpTrace struct {
	status     int
	retryAfter string
}

// headerDoer records the status and Retry-After of each response; go-openai
// does not expose headers on its error values.
type headerDoer struct{ inner openai.HTTPDoer }

func (h headerDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := h.inner.Do(req)
	if resp != nil {
		if t, ok := req.Context().Value(traceKey{}).(*httpTrace); ok {
			t.status = resp.StatusCode
			t.retryAfter = resp.Header.Get("Retry-After")
		}
	}
	return resp, err
}

// errClass is what to do about a failed request.
type errClass int

const (
	classRetry errClass = iota
	classAuth
	classFatal
)

// classify decides whether a request error is worth retrying. parent is the
// caller's context: its cancellation is never retried, while the per-call
// timeout is.
func classify(parent context.Context, err error, status int) errClass {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr):
		status = apiErr.HTTPStatusCode
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return classAuth
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		return classRetry
	case status >= 400:
		return classFatal
	}
	if parent.Err() != nil {
		return classFatal
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &ne) && ne.Timeout():
		return classRetry
	}
	if strings.Contains(err.Error(), "connection reset") {
		return classRetry
	}
	return classFatal
}

// backoff is the wait before retry number n (0-based): exponential with
// "equal jitter" (half fixed, half random), at least Retry-After when the
// server sent one.
func backoff(cfg Config, n int, retryAfter string, rng *rand.Rand, now time.Time) time.Duration {
	d := cfg.BackoffBase << min(n, 30)
	if d <= 0 || d > cfg.BackoffMax {
		d = cfg.BackoffMax
	}
	d = d/2 + time.Duration(rng.Int64N(int64(d/2)+1))
	if ra, ok := parseRetryAfter(retryAfter, now); ok && ra > d {
		d = ra
	}
	return d
}

// parseRetryAfter reads delta-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && s < 24*3600 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}
