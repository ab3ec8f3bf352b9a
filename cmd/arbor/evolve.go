package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/mine"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/tree"
)

// metaCLIConfig is the store's copy of the whole configuration, so that
// --resume needs nothing but the run directory.
const metaCLIConfig = "cli_config"

type evolveFlags struct {
	config string
	run    string
	budget int
	seed   uint64
	resume string
	json   bool
	quiet  bool
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
exactly where it was: no candidate is trained twice.`,
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
	fl.Uint64Var(&f.seed, "seed", 0, "random seed (overrides evolve.seed)")
	fl.StringVar(&f.resume, "resume", "", "resume the run in this directory")
	fl.BoolVar(&f.json, "json", false, "print events as JSON lines on stdout (schema arbor.event/v1, see docs/events.md)")
	fl.BoolVar(&f.quiet, "quiet", false, "print nothing but errors and the final summary")
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

	var cfg Config
	var store *evolve.Store
	var err error
	if f.resume != "" {
		if store, err = evolve.OpenStore(f.resume); err != nil {
			return asUsage(err)
		}
		raw, ok, err := store.Meta(ctx, metaCLIConfig)
		if err != nil {
			store.Close()
			return err
		}
		if !ok {
			store.Close()
			return usagef("evolve: %s has no stored configuration; it was not created by arbor evolve", f.resume)
		}
		cfg = DefaultConfig()
		if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
			store.Close()
			return fmt.Errorf("evolve: stored configuration of %s: %w", f.resume, err)
		}
		cfg.Run.Dir = f.resume
		if changed("budget") {
			cfg.Evolve.Budget.Trained = f.budget
			if err := cfg.Validate(); err != nil {
				store.Close()
				return asUsage(err)
			}
			if err := saveConfig(ctx, store, cfg); err != nil {
				store.Close()
				return err
			}
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
		if cfg, err = LoadConfig(f.config, over); err != nil {
			return err
		}
		if store, err = evolve.CreateStore(cfg.Run.Dir); err != nil {
			return asUsage(err)
		}
		if err := saveConfig(ctx, store, cfg); err != nil {
			store.Close()
			return err
		}
	}
	defer store.Close()
	return runEngine(ctx, cmd, cfg, store, f)
}

func saveConfig(ctx context.Context, store *evolve.Store, cfg Config) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return store.SetMeta(ctx, metaCLIConfig, string(b))
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func runEngine(ctx context.Context, cmd *cobra.Command, cfg Config, store *evolve.Store, f evolveFlags) error {
	log := newLogger(cmd.ErrOrStderr(), cfg.Run.LogLevel)
	// One seed drives the whole run, the offline resolver's draws included.
	cfg.LLM.Seed = cfg.Evolve.Seed

	job, err := cfg.Train.Job("", "", int64(cfg.Evolve.Seed))
	if err != nil {
		return asUsage(err)
	}
	eng := &evolve.Engine{Store: store, Planner: evolve.NewPlanner(cfg.Evolve.Planner, cfg.Evolve.Seed),
		Config: cfg.Evolve, Job: job, Log: log}

	switch cfg.Run.Evaluator {
	case "tabular":
		tab, err := train.OpenTabular(train.TabularConfig{Table: cfg.Run.Table, Dataset: cfg.Run.TabularDataset})
		if err != nil {
			return asUsage(err)
		}
		defer tab.Close()
		eng.Evaluator = tab
		eng.Arch = tree.NB201Arch
		eng.Job.Input = [3]int{3, 32, 32}
		eng.Job.Classes = map[string]int{"cifar10": 10, "cifar100": 100}[cfg.Run.TabularDataset]
		eng.Config.DryRun = false // a table lookup needs no dry run
	case "slurm":
		slurm, err := train.NewSlurm(ctx, cfg.Train.Slurm, train.SlurmOptions{
			RunName: filepath.Base(filepath.Clean(cfg.Run.Dir)), Logger: log,
			// The Slurm job ID is stored at submission, so a resume after
			// kill -9 re-attaches instead of submitting a second copy.
			OnSubmit: func(id, handle string) {
				if err := store.SetHandle(context.WithoutCancel(ctx), id, handle); err != nil {
					log.Error("storing slurm job id", "candidate", id, "job", handle, "err", err)
				}
			},
		})
		if err != nil {
			return err
		}
		defer slurm.Close()
		eng.Evaluator = slurm
	default:
		local, err := train.NewLocal(ctx, cfg.Train, log)
		if err != nil {
			return asUsage(err)
		}
		defer local.Close()
		eng.Evaluator = local
		if cfg.Evolve.DryRun {
			gate, err := train.NewGate(local.Python(), train.GateOptions{
				Timeout: time.Duration(cfg.Train.GateTimeoutS * float64(time.Second)), Threads: cfg.Train.GateThreads, Log: log})
			if err != nil {
				return err
			}
			defer gate.Close()
			eng.DryRun = gate
		}
	}

	if cfg.Run.Catalog != "" {
		cat, err := mine.LoadCatalog(cfg.Run.Catalog)
		if err != nil {
			return asUsage(fmt.Errorf("run.catalog: %w", err))
		}
		specs := cat.Specs()
		eng.Catalog = specs
		for _, id := range slices.Sorted(mapKeys(specs)) {
			eng.Modules = append(eng.Modules, specs[id])
		}
		log.Info("catalog loaded", "path", cfg.Run.Catalog, "usable_modules", len(eng.Modules))
	}

	seed, err := seedTree(cfg.Evolve.SeedArch, eng.Job.Input, eng.Job.Classes, eng.Catalog)
	if err != nil {
		return asUsage(err)
	}
	eng.Seeds = []*tree.Tree{seed}

	switch cfg.Evolve.Strategy {
	case evolve.StrategyThompson, evolve.StrategySurrogate:
		res, err := llm.New(cfg.LLM, llm.WithCallLogger(store), llm.WithLogger(log))
		if err != nil {
			return asUsage(err)
		}
		eng.Resolver = res
	}
	if cfg.Evolve.Strategy == evolve.StrategyCodegen {
		task := fmt.Sprintf("input (C,H,W) = %v, %d classes, at most %d parameters and %d multiply-accumulates",
			eng.Job.Input, eng.Job.Classes, eng.Job.Limits.MaxParams, eng.Job.Limits.MaxFLOPs)
		if eng.Coder, err = evolve.NewOpenAICoder(cfg.LLM, store, task); err != nil {
			return asUsage(err)
		}
	}
	if cfg.Evolve.Strategy == evolve.StrategySurrogate {
		if eng.Screener, err = evolve.NewSurrogateScreener(cfg.Evolve.Surrogate); err != nil {
			return asUsage(err)
		}
	}

	out := cmd.OutOrStdout()
	w := cmd.ErrOrStderr()
	if f.json {
		w = out
	}
	sink, closeSink := newEventSink(w, chooseDisplay(w, f.quiet, f.json), cfg.Evolve.Budget.Trained)
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
	sum, serr := store.Summary(context.WithoutCancel(ctx))
	if serr == nil && !f.json {
		best := "none"
		if sum.Best != nil {
			best = fmt.Sprintf("%s val_acc %.2f%% params %d", sum.Best.ID, sum.Best.ValAcc, sum.Best.Params)
		}
		fmt.Fprintf(out, "run %s: %d trained, %d rejected, best %s\n", cfg.Run.Dir, sum.Trained, sum.ByStatus[string(evolve.StatusRejected)], best)
	}
	if errors.Is(err, context.Canceled) && ctx.Err() == nil {
		return fmt.Errorf("interrupted; continue with: arbor evolve --resume %s", cfg.Run.Dir)
	}
	return err
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// seedTree builds the starting architecture: a built-in seed name or a tree JSON file.
func seedTree(arch string, input [3]int, classes int, cat tree.Catalog) (*tree.Tree, error) {
	var t *tree.Tree
	var err error
	if slices.Contains(tree.Seeds(), arch) {
		t, err = tree.Seed(arch, tree.Shape{C: input[0], H: input[1], W: input[2]}, classes)
		if err != nil {
			return nil, fmt.Errorf("evolve.seed_arch: %w", err)
		}
	} else {
		data, rerr := os.ReadFile(arch)
		if rerr != nil {
			return nil, fmt.Errorf("evolve.seed_arch: %q is neither a built-in seed (%s) nor a readable tree file: %w", arch, strings.Join(tree.Seeds(), ", "), rerr)
		}
		if t, err = tree.Parse(data); err != nil {
			return nil, fmt.Errorf("evolve.seed_arch %s: %w", arch, err)
		}
	}
	if err := tree.Validate(t, cat); err != nil {
		return nil, fmt.Errorf("evolve.seed_arch %s: %w", arch, err)
	}
	return t, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
