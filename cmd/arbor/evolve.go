package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
)

type evolveFlags struct {
	config    string
	run       string
	budget    int
	seed      uint64
	resume    string
	json      bool
	quiet     bool
	heartbeat time.Duration
}

func newEvolveCmd() *cobra.Command {
	var f evolveFlags
	cmd := &cobra.Command{
		Use:   "evolve --config CFG [--run DIR] [--budget N] [--seed S] | --resume DIR",
		Short: "Run an architecture search (or resume one) and store every candidate in RUN_DIR/run.db",
		Long: `evolve runs the steady-state search loop: select a parent, plan an operation,
enumerate and resolve options, transform, gate (shapes, constraints, dedup,
dry-run), train, record. Ctrl-C drains (in-flight jobs get evolve.grace to
finish); a second Ctrl-C cancels them. --resume DIR continues a stopped run
exactly where it was: no candidate is trained twice. One process writes a run
(it locks RUN_DIR/run.lock): a second evolve or --resume of a run in use is
refused with the holder's pid. The files the config names are checked before
anything is created, and a new run that fails before it trains anything is
removed again. Relative paths in the config file are relative to its folder;
--run and --resume are relative to the working directory.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return usagef("evolve takes no arguments (got %q); use --config or --resume", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runEvolve(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "configuration YAML (see examples/)")
	fl.StringVar(&f.run, "run", "", "run directory (overrides run.dir)")
	fl.IntVar(&f.budget, "budget", 0, "candidates to train, seeds included (overrides evolve.budget.trained)")
	seedFlag(fl, &f.seed, "seed", 0, "random seed (overrides evolve.seed)")
	fl.StringVar(&f.resume, "resume", "", "resume the run in this directory")
	fl.BoolVar(&f.json, "json", false, "print events as JSON lines on stdout (schema arbor.event/v1, see docs/events.md)")
	fl.BoolVar(&f.quiet, "quiet", false, "print nothing but warnings, errors and the final summary")
	fl.DurationVar(&f.heartbeat, "heartbeat", time.Minute, "without a terminal, print the run's state when nothing was printed for this long (0: never)")
	return cmd
}

func runEvolve(cmd *cobra.Command, f evolveFlags) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	changed := func(name string) bool { return cmd.Flags().Changed(name) }
	if f.resume == "" && f.config == "" {
		return usagef("evolve: give --config CFG for a new run or --resume RUN_DIR")
	}
	if f.resume != "" && (changed("config") || changed("run") || changed("seed")) {
		return usagef("evolve: --resume continues a run with its stored configuration; only --budget may change (drop --config/--run/--seed)")
	}

	var cfg run.Config
	var db *store.Store
	var err error
	if f.resume != "" {
		var change func(*run.Config)
		if changed("budget") {
			change = func(c *run.Config) { c.Evolve.Budget.Trained = f.budget }
		}
		if db, cfg, err = run.Resume(ctx, f.resume, change); err != nil {
			return err
		}
	} else {
		over := map[string]any{}
		if changed("run") {
			over["run.dir"] = f.run
		}
		if changed("budget") {
			over["evolve.budget.trained"] = f.budget
		}
		if changed("seed") {
			over["evolve.seed"] = f.seed
		}
		if cfg, err = run.Load(f.config, over); err != nil {
			return err
		}
		if db, err = run.Create(ctx, cfg); err != nil {
			return err
		}
	}
	err = runEngine(ctx, cmd, cfg, db, f)
	// A new run that failed before anything was trained, for a reason
	// other than an interrupt, is removed again: the same command works
	// once the cause is fixed, instead of asking for --resume of a run
	// that never started.
	if err != nil && f.resume == "" && !errors.Is(err, context.Canceled) && !errors.Is(err, errInterrupted) {
		if sum, serr := db.Summary(context.WithoutCancel(ctx)); serr == nil && sum.Trained == 0 {
			if derr := db.Discard(); derr != nil {
				return errors.Join(err, fmt.Errorf("removing the failed run's store: %w", derr))
			}
			return fmt.Errorf("%w\n(nothing kept: the new run %s was removed; run the same command again once this is fixed)", err, run.DisplayPath(cfg.Run.Dir))
		}
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

// errInterrupted marks a run stopped by Ctrl-C or SIGTERM: it is kept, to
// be resumed.
var errInterrupted = errors.New("interrupted")

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func runEngine(ctx context.Context, cmd *cobra.Command, cfg run.Config, db *store.Store, f evolveFlags) error {
	level := cfg.Run.LogLevel
	if f.quiet && !strings.EqualFold(level, "error") {
		level = "warn" // --quiet: no INFO lines, warnings and errors still
	}
	log := newLogger(cmd.ErrOrStderr(), level)
	r, err := run.Build(ctx, cfg, db, log)
	if err != nil {
		return err
	}
	defer r.Close()
	eng := r.Engine

	out := cmd.OutOrStdout()
	w := cmd.ErrOrStderr()
	if f.json {
		w = out
	}
	sink, closeSink := newEventSink(w, chooseDisplay(w, f.quiet, f.json), cfg.Evolve.Budget.Trained, f.heartbeat)
	eng.Events = sink

	// First SIGINT/SIGTERM drains, the second cancels in-flight jobs.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	abort := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		n := 0
		for range sigs {
			n++
			if n == 1 {
				log.Warn("interrupt: draining (no new jobs); press Ctrl-C again to cancel in-flight jobs", "grace", cfg.Evolve.Grace)
				cancel()
				continue
			}
			log.Warn("second interrupt: cancelling in-flight jobs")
			close(abort)
			return
		}
	}()
	eng.Abort = abort

	err = eng.Run(runCtx)
	closeSink()
	sum, serr := db.Summary(context.WithoutCancel(ctx))
	if serr == nil && !f.json {
		best := "none"
		if sum.Best != nil {
			best = fmt.Sprintf("%s val_acc %.2f%% params %d", sum.Best.ID, sum.Best.ValAcc, sum.Best.Params)
		}
		fmt.Fprintf(out, "run %s: %d trained, %d rejected, best %s\n", run.DisplayPath(cfg.Run.Dir), sum.Trained, sum.ByStatus[string(store.StatusRejected)], best)
	}
	if errors.Is(err, context.Canceled) && ctx.Err() == nil {
		return fmt.Errorf("%w; continue with: arbor evolve --resume %s", errInterrupted, run.DisplayPath(cfg.Run.Dir))
	}
	return err
}
