package llm

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/llm/llmtest"
)

const testKeyEnv = "ARBOR_LLM_TEST_KEY"

func loadDecision(t testing.TB) Decision {
	t.Helper()
	b, err := os.ReadFile("testdata/decision.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ReadDecision(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// recorder collects call records.
type recorder struct {
	mu   sync.Mutex
	recs []CallRecord
}

func (r *recorder) LogCall(c CallRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, c)
	return nil
}

func (r *recorder) all() []CallRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]CallRecord(nil), r.recs...)
}

// harness is a provider wired to a mock server, with its logs, records and
// the backoff waits it asked for (not actually waited).
type harness struct {
	srv   *llmtest.Server
	p     *Provider
	logs  *bytes.Buffer
	rec   *recorder
	mu    sync.Mutex
	waits []time.Duration
}

func (h *harness) sleeps() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.waits...)
}

func testConfig(url string) Config {
	cfg := DefaultConfig()
	cfg.BaseURL = url
	cfg.Model = "mock-1"
	cfg.APIKeyEnv = testKeyEnv
	cfg.Timeout = 2 * time.Second
	cfg.BackoffBase = time.Millisecond
	cfg.BackoffMax = 10 * time.Millisecond
	return cfg
}

func newHarness(t testing.TB, mutate func(*Config), steps ...llmtest.Step) *harness {
	t.Helper()
	srv := llmtest.New(steps...)
	t.Cleanup(srv.Close)
	cfg := testConfig(srv.URL())
	if mutate != nil {
		mutate(&cfg)
	}
	h := &harness{srv: srv, logs: &bytes.Buffer{}, rec: &recorder{}}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: h.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := NewProvider(cfg, WithLogger(log), WithCallLogger(h.rec), WithSleep(func(ctx context.Context, d time.Duration) error {
		h.mu.Lock()
		h.waits = append(h.waits, d)
		h.mu.Unlock()
		return ctx.Err()
	}))
	if err != nil {
		t.Fatal(err)
	}
	h.p = p
	return h
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// revalidate checks a returned choice against the decision exactly as a
// model answer would be checked.
func revalidate(t testing.TB, d Decision, c Choice) {
	t.Helper()
	obj := map[string]any{"option": c.OptionID, "args": c.Args, "rationale": c.Rationale}
	got, err := validateObject(obj, d.Options)
	if err != nil {
		t.Fatalf("choice %+v does not validate: %v", c, err)
	}
	if len(got.Args) != len(c.Args) {
		t.Fatalf("choice args %v, revalidated %v", c.Args, got.Args)
	}
}
