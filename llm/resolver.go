package llm

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Resolver settles a decision into one validated choice.
type Resolver interface {
	Resolve(ctx context.Context, d Decision) (Choice, error)
}

// Opt configures New and NewProvider.
type Opt func(*options)

type options struct {
	log    *slog.Logger
	calls  CallLogger
	ledger SpendLedger
	client *http.Client
	sleep  func(context.Context, time.Duration) error
	now    func() time.Time
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Opt { return func(o *options) { o.log = l } }

// WithCallLogger receives one CallRecord per resolved decision.
func WithCallLogger(c CallLogger) Opt { return func(o *options) { o.calls = c } }

// WithSpendLedger persists the provider's spend (the run store), and
// restores it when the provider starts, so limits count the whole run.
func WithSpendLedger(l SpendLedger) Opt { return func(o *options) { o.ledger = l } }

// WithSleep replaces the backoff wait; tests use it to observe delays.
func WithSleep(f func(context.Context, time.Duration) error) Opt {
	return func(o *options) { o.sleep = f }
}

func buildOptions(opts []Opt) options {
	o := options{log: slog.Default(), client: &http.Client{}, sleep: sleepCtx, now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	return o
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// New returns the resolver the configuration asks for: the OpenAI-compatible
// provider when llm.base_url is set, the offline resolver otherwise.
func New(cfg Config, opts ...Opt) (Resolver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Online() {
		o := buildOptions(opts)
		o.log.Info("llm: no endpoint configured (llm.base_url is empty); using the offline resolver: seeded rule-based choices (llm.offline.policy), no network",
			"seed", cfg.Seed, "args", cfg.Offline.Args, "policy", cfg.Offline.Policy)
		return NewOffline(cfg.Seed, cfg.Offline), nil
	}
	return NewProvider(cfg, opts...)
}
