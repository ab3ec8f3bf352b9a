package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve/bench"
	"github.com/arbor-nas/arbor/evolve/store"
)

func newBenchCompareCmd() *cobra.Command {
	var o bench.CompareOptions
	var strategies string
	var logLevel string
	var seedBase uint64
	cmd := &cobra.Command{
		Use:   "compare --config CFG --strategies A,B,C --seeds N --budget B -o DIR",
		Short: "Run several strategies on your own task (same seed arch, evaluator, budget and data split) and compare them",
		Long: `compare runs every strategy from the configuration's seed architecture with
its evaluator (the local pool, Slurm or a table, as for arbor evolve) and the
same training budget, once per seed. Run i of every strategy uses evolve.seed
seed-base+i, so the strategies of one seed share the data split and the
training seed. Each run is an ordinary run directory under DIR/runs/ (inspect
it with arbor status or arbor report). Runs go one after the other; an
interrupted comparison resumes where it stopped when the same command is run
again (a killed run resumes exactly, as with arbor evolve --resume).

DIR gets runs.csv (one row per run), curves.csv and curves.png (the mean best
validation accuracy so far with a ±1 std band over seeds) and summary.md (the
table, which is also printed).`,
		Example: `  arbor bench compare --config examples/compare-fashion-mnist.yaml \
    --strategies random,evolution,thompson --seeds 3 --budget 20 -o cmp-fmnist`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return usagef("bench compare takes no arguments (got %q)", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Strategies = benchSplit(strategies)
			o.SeedBase = int(seedBase)
			if err := o.Validate(); err != nil {
				return asUsage(err)
			}
			return runCompare(cmd, o, logLevel)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Config, "config", "", "run configuration (YAML), as for arbor evolve; its evolve.strategy, evolve.seed, evolve.budget.trained and run.dir are set per run")
	fl.StringVar(&strategies, "strategies", "random,evolution,thompson", "comma-separated strategies (evolve.strategy values)")
	fl.IntVar(&o.Seeds, "seeds", 3, "runs per strategy")
	seedFlag(fl, &seedBase, "seed-base", 1, "evolve.seed of the first run of each strategy")
	fl.IntVar(&o.Budget, "budget", 20, "candidates each run trains (evolve.budget.trained)")
	outputFlag(fl, &o.Out, "", "comparison directory (runs/, compare.json, runs.csv, curves.csv, curves.png, summary.md)", "out")
	fl.StringVar(&logLevel, "log-level", "warn", "log level of the runs (debug, info, warn, error)")
	fl.IntVar(&o.Retrain, "retrain", 0, "retrain the K best candidates of every run at full fidelity (arbor retrain) and rank the strategies by retrained test accuracy")
	fl.IntVar(&o.RetrainSeeds, "retrain-seeds", 3, "trainings per retrained candidate (with --retrain)")
	fl.IntVar(&o.RetrainEpochs, "retrain-epochs", 0, "epochs of each retraining (0: the configuration's train.recipe.epochs)")
	return cmd
}

func runCompare(cmd *cobra.Command, o bench.CompareOptions, logLevel string) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
	ctx, cancel := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer cancel()
	hooks := bench.CompareHooks{
		Start: func(r bench.CompareRun, resumed bool) {
			verb := "starting"
			if resumed {
				verb = "resuming"
			}
			fmt.Fprintf(errw, "%s %s %s seed %d (%s)\n", time.Now().Format("15:04:05"), verb, r.Strategy, r.Seed, r.Dir)
		},
		Event: func(r bench.CompareRun, ev store.Event) {
			if ev.Kind == store.EventFinished {
				fmt.Fprintf(errw, "  %s seed %d: %d/%d trained, best val %.2f%%\n", r.Strategy, r.Seed, ev.Trained, ev.Budget, ev.BestValAcc)
			}
		},
		Retrain: func(r bench.CompareRun) {
			fmt.Fprintf(errw, "%s retraining the %d best of %s seed %d\n", time.Now().Format("15:04:05"), o.Retrain, r.Strategy, r.Seed)
		},
		Done: func(r bench.CompareRun, sum store.Summary, wall time.Duration) {
			fmt.Fprintf(errw, "%s done %s seed %d: %d trained in %s\n", time.Now().Format("15:04:05"), r.Strategy, r.Seed, sum.Trained, wall.Round(time.Second))
		},
	}
	rep, err := bench.Compare(ctx, o, newLogger(errw, logLevel), hooks)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted; run the same command again to resume the comparison in %s", o.Out)
		}
		return err
	}
	rep.Print(out)
	if err := rep.Write(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nwrote %s\n", strings.Join(bench.CompareFiles(o.Out), ", "))
	return nil
}
