package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/arbor-nas/arbor/evolve/bench"
	"github.com/spf13/cobra"
)

// benchFlags are the flags of `arbor bench nasbench201`: the benchmark's
// options and what the command does with its output.
type benchFlags struct {
	opts       bench.Options
	out        string
	cpuProfile string
}

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench nasbench201|compare",
		Short: "Compare search strategies: on the NAS-Bench-201 table, or on your own task",
		Args:  groupArgs,
		RunE:  groupRun,
	}
	cmd.AddCommand(newBenchNB201Cmd(), newBenchCompareCmd())
	return cmd
}

func newBenchNB201Cmd() *cobra.Command {
	var f benchFlags
	o := &f.opts
	def := bench.DefaultOptions()
	var budgets, strategies string
	var seedBase uint64
	cmd := &cobra.Command{
		Use:   "nasbench201",
		Short: "Compare search strategies on the NAS-Bench-201 table through the real engine",
		Long: `bench runs every (strategy, budget, seed) through the same engine as
'arbor evolve' (loop, gate, dedup, SQLite run store, planner, offline
resolver), answering each training job from the NAS-Bench-201 table.

The search signal is the 12-epoch validation accuracy; what is reported is
the 200-epoch test accuracy of the architecture each run would return, the
best by signal. A query is one distinct architecture trained; duplicates
are rejected by the gate and cost nothing. Seeds run in parallel.`,
		Example: `  arbor bench nasbench201 --table ../shared/data/nasbench201/nb201-cifar.csv \
    --dataset cifar10 --budgets 25,50,100,200 --seeds 100 \
    --strategies random,evolution,thompson,thompson+surrogate -o bench-c10`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return usagef("bench nasbench201 takes no arguments (got %q)", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if o.Budgets, err = benchInts(budgets); err != nil {
				return usagef("--budgets: %v", err)
			}
			o.Strategies = benchSplit(strategies)
			o.SeedBase = int(seedBase)
			if err := o.Validate(); err != nil {
				return asUsage(err)
			}
			return runBench(cmd.Context(), f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Table, "table", "", "path of nb201-cifar.csv (default: $ARBOR_NB201_TABLE or ../shared/data/nasbench201/nb201-cifar.csv from the repository root)")
	fl.StringVar(&o.Dataset, "dataset", def.Dataset, "cifar10 or cifar100")
	fl.StringVar(&budgets, "budgets", benchJoin(def.Budgets), "comma-separated query budgets (trained candidates, initial ones included)")
	fl.IntVar(&o.Seeds, "seeds", def.Seeds, "runs per (strategy, budget)")
	seedFlag(fl, &seedBase, "seed-base", 0, "first seed")
	fl.StringVar(&strategies, "strategies", strings.Join(def.Strategies, ","), "comma-separated strategies")
	outputFlag(fl, &f.out, "", "directory for runs.csv, curves.csv, curves.png and summary.txt", "out")
	fl.IntVar(&o.Workers, "workers", def.Workers, "runs in parallel")
	fl.IntVar(&o.Init, "init", def.Init, "uniformly random initial architectures per run (evolution uses its population)")
	fl.IntVar(&o.Population, "population", def.Population, "regularized evolution: population")
	fl.IntVar(&o.Sample, "sample", def.Sample, "regularized evolution: tournament sample")
	fl.IntVar(&o.ParentsK, "parents-k", 0, "thompson and thompson+surrogate: parents drawn from the top K; 0 = the paper's protocol, max(5, budget/20) (5 for 100 trials, 25 for 500)")
	fl.IntVar(&o.K, "k", def.K, "thompson+surrogate: children screened per query")
	fl.StringVar(&o.Acquisition, "acquisition", def.Acquisition, "thompson+surrogate: ei or ucb")
	fl.Float64Var(&o.Diversity, "diversity", def.Diversity, "thompson+surrogate: weight of the novelty term in the acquisition")
	fl.IntVar(&o.Global, "global", def.Global, "thompson+surrogate: draws from the whole space screened together with the K children (the escape from local optima)")
	fl.IntVar(&o.SurrogateInit, "surrogate-init", def.SurrogateInit, "thompson+surrogate: uniformly random initial architectures (the GP's initial design)")
	fl.IntVar(&o.SurrogateParentsK, "surrogate-parents-k", 0, "thompson+surrogate: parents drawn from the top K; 0 = the same rule as thompson")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the whole bench to this file")
	fl.StringVar(&o.StoreDir, "store-dir", "", "where the per-run SQLite stores go (default: /dev/shm when present, else the temp dir); removed after each run")
	return cmd
}

func runBench(ctx context.Context, f benchFlags, stdout, stderr io.Writer) error {
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return asUsage(fmt.Errorf("--cpuprofile: %w", err))
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if f.out != "" {
		if err := os.MkdirAll(f.out, 0o755); err != nil {
			return asUsage(fmt.Errorf("--output: %w", err))
		}
	}
	var done func()
	if bar := countBar(stderr, len(f.opts.Runs()), "bench"); bar != nil {
		done = func() { bar.Add(1) }
	}
	rep, err := bench.Bench(ctx, f.opts, done)
	if err != nil {
		return err
	}
	rep.Print(stdout)
	if f.out != "" {
		if err := rep.Write(f.out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nwrote %s\n", strings.Join(bench.Files(f.out), ", "))
	}
	return nil
}

func benchInts(s string) ([]int, error) {
	var out []int
	for _, f := range benchSplit(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func benchSplit(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func benchJoin(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}
