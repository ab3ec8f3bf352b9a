package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/evolve/surrogate"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/tree"
)

// benchOptions are the flags of `arbor bench nasbench201`.
type benchOptions struct {
	table       string
	dataset     string
	budgets     []int
	seeds       int
	seedBase    int
	strategies  []string
	out         string
	workers     int
	init        int
	population  int
	sample      int
	parentsK    int
	k           int
	acquisition string
	diversity   float64
	sInit       int
	sParentsK   int
	storeDir    string
	cpuProfile  string
}

func newBenchCmd() *cobra.Command {
	var o benchOptions
	var budgets, strategies string
	cmd := &cobra.Command{
		Use:   "bench nasbench201",
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
    --strategies random,evolution,thompson,thompson+surrogate --out bench-c10`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || args[0] != "nasbench201" {
				return usagef("bench: want exactly one benchmark name, nasbench201 (got %q)", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if o.budgets, err = benchInts(budgets); err != nil {
				return usagef("--budgets: %v", err)
			}
			o.strategies = benchSplit(strategies)
			if err := o.validate(); err != nil {
				return asUsage(err)
			}
			return runBench(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.table, "table", "", "path of nb201-cifar.csv (default: $ARBOR_NB201_TABLE or ../shared/data/nasbench201/nb201-cifar.csv from the repository root)")
	f.StringVar(&o.dataset, "dataset", "cifar10", "cifar10 or cifar100")
	f.StringVar(&budgets, "budgets", "25,50,100,200", "comma-separated query budgets (trained candidates, initial ones included)")
	f.IntVar(&o.seeds, "seeds", 100, "runs per (strategy, budget)")
	f.IntVar(&o.seedBase, "seed-base", 0, "first seed")
	f.StringVar(&strategies, "strategies", "random,evolution,thompson,thompson+surrogate", "comma-separated strategies")
	f.StringVar(&o.out, "out", "", "directory for runs.csv, curves.csv, curves.png and summary.txt")
	f.IntVar(&o.workers, "workers", runtime.NumCPU(), "runs in parallel")
	f.IntVar(&o.init, "init", 10, "uniformly random initial architectures per run (evolution uses its population)")
	f.IntVar(&o.population, "population", 20, "regularized evolution: population")
	f.IntVar(&o.sample, "sample", 5, "regularized evolution: tournament sample")
	f.IntVar(&o.parentsK, "parents-k", 0, "thompson and thompson+surrogate: parents drawn from the top K; 0 = the paper's protocol, max(5, budget/20) (5 for 100 trials, 25 for 500)")
	f.IntVar(&o.k, "k", surrogate.DefaultConfig().K, "thompson+surrogate: children screened per query")
	f.StringVar(&o.acquisition, "acquisition", surrogate.DefaultConfig().Acquisition, "thompson+surrogate: ei or ucb")
	f.Float64Var(&o.diversity, "diversity", surrogate.DefaultConfig().Diversity, "thompson+surrogate: weight of the novelty term in the acquisition")
	f.IntVar(&o.sInit, "surrogate-init", 10, "thompson+surrogate: uniformly random initial architectures (the GP's initial design)")
	f.IntVar(&o.sParentsK, "surrogate-parents-k", 0, "thompson+surrogate: parents drawn from the top K; 0 = the same rule as thompson")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the whole bench to this file")
	f.StringVar(&o.storeDir, "store-dir", "", "where the per-run SQLite stores go (default: /dev/shm when present, else the temp dir); removed after each run")
	return cmd
}

func (o *benchOptions) validate() error {
	if o.table == "" {
		p, ok := train.FindNB201Table()
		if !ok {
			return fmt.Errorf("--table: no table given and none found at %q; pass the path of nb201-cifar.csv", p)
		}
		o.table = p
	}
	if _, err := os.Stat(o.table); err != nil {
		return fmt.Errorf("--table: %w", err)
	}
	if o.dataset != "cifar10" && o.dataset != "cifar100" {
		return fmt.Errorf("--dataset: %q is not one of cifar10, cifar100", o.dataset)
	}
	if len(o.budgets) == 0 {
		return fmt.Errorf("--budgets: give at least one budget")
	}
	for _, b := range o.budgets {
		if b < 2 {
			return fmt.Errorf("--budgets: %d is below 2", b)
		}
	}
	if o.seeds < 1 || o.workers < 1 {
		return fmt.Errorf("--seeds and --workers must be >= 1")
	}
	if len(o.strategies) == 0 {
		return fmt.Errorf("--strategies: give at least one of %v", benchStrategies)
	}
	for _, s := range o.strategies {
		if !slices.Contains(benchStrategies, s) {
			return fmt.Errorf("--strategies: %q is not one of %v", s, benchStrategies)
		}
	}
	if o.init < 1 || o.sInit < 1 || o.sParentsK < 0 || o.population < 1 || o.sample < 1 || o.sample > o.population || o.parentsK < 0 {
		return fmt.Errorf("--init, --surrogate-init and --population must be >= 1, --parents-k and --surrogate-parents-k >= 0 and --sample in [1, population]")
	}
	sc := surrogate.DefaultConfig()
	sc.K, sc.Acquisition, sc.Diversity = o.k, o.acquisition, o.diversity
	if err := sc.Validate(); err != nil {
		return fmt.Errorf("--k/--acquisition: %w", err)
	}
	if o.storeDir == "" {
		o.storeDir = os.TempDir()
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			o.storeDir = "/dev/shm"
		}
	}
	return nil
}

// benchStrategies are the engine strategies that need no LLM.
var benchStrategies = []string{evolve.StrategyRandom, evolve.StrategyEvolution, evolve.StrategyThompson, evolve.StrategySurrogate}

// benchRun is one (strategy, budget, seed).
type benchRun struct {
	Strategy string
	Budget   int
	Seed     int
}

// benchResult is what one run found.
type benchResult struct {
	benchRun
	Dataset    string
	Queries    int
	BestArch   string
	BestSignal float64
	FinalTest  float64
	// Curve[q-1] is the final test accuracy of the best-by-signal
	// architecture among the first q queries.
	Curve []float64
	// Where the time went: the whole run, the table lookups, the
	// screener (surrogate fit and scoring) and the tree→arch mapping; the
	// rest is the engine (options, resolve, transform, gate, store).
	Wall, Lookup, Screen, Arch time.Duration
	Rejected                   int
	// Exhausted: the engine stopped early because every proposal was a
	// known architecture (MaxRejectStreak in a row).
	Exhausted bool
	Err       error
}

func runBench(ctx context.Context, o benchOptions, stdout, stderr io.Writer) error {
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return asUsage(fmt.Errorf("--cpuprofile: %w", err))
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	table, err := train.LoadNB201Table(o.table)
	if err != nil {
		return asUsage(err)
	}
	eval, err := train.NewTabular(table, o.dataset)
	if err != nil {
		return asUsage(err)
	}
	loadTime := time.Since(start)
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	var runs []benchRun
	for _, s := range o.strategies {
		for _, b := range o.budgets {
			for seed := o.seedBase; seed < o.seedBase+o.seeds; seed++ {
				runs = append(runs, benchRun{s, b, seed})
			}
		}
	}
	var bar *progressbar.ProgressBar
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar = progressbar.NewOptions(len(runs), progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("bench"),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
	}
	results := make([]benchResult, len(runs))
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := 0; w < o.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results[i] = runOne(ctx, o, eval, runs[i])
				mu.Lock()
				if bar != nil {
					bar.Add(1)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range runs {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, r := range results {
		if r.Err != nil {
			return fmt.Errorf("bench run %s budget %d seed %d: %w", r.Strategy, r.Budget, r.Seed, r.Err)
		}
	}
	rep := newBenchReport(o, table, results, loadTime, time.Since(start))
	rep.print(stdout)
	if o.out != "" {
		if err := rep.write(o.out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nwrote %s\n", strings.Join([]string{
			filepath.Join(o.out, "runs.csv"), filepath.Join(o.out, "curves.csv"),
			filepath.Join(o.out, "curves.png"), filepath.Join(o.out, "summary.txt")}, ", "))
	}
	return nil
}

// runOne runs one search through the engine with a fresh SQLite store.
func runOne(ctx context.Context, o benchOptions, eval *train.Tabular, r benchRun) (res benchResult) {
	res = benchResult{benchRun: r, Dataset: o.dataset}
	t0 := time.Now()
	defer func() { res.Wall = time.Since(t0) }()
	dir, err := os.MkdirTemp(o.storeDir, "arbor-bench-")
	if err != nil {
		res.Err = err
		return res
	}
	defer os.RemoveAll(dir)
	store, err := evolve.CreateStore(dir)
	if err != nil {
		res.Err = err
		return res
	}
	defer store.Close()

	classes := 10
	if o.dataset == "cifar100" {
		classes = 100
	}
	input := tree.Shape{C: 3, H: 32, W: 32}
	cfg := benchConfig(o, r)
	nInit := o.init
	switch r.Strategy {
	case evolve.StrategyEvolution:
		nInit = o.population
	case evolve.StrategySurrogate:
		nInit = o.sInit
	}
	seeds, err := randomNB201(uint64(r.Seed), min(nInit, r.Budget), input, classes)
	if err != nil {
		res.Err = err
		return res
	}
	timed := &timedEvaluator{Evaluator: eval}
	arch := &memoArch{memo: map[*tree.Tree]archEntry{}}
	eng := &evolve.Engine{
		Store:     store,
		Planner:   evolve.NewPlanner(cfg.Planner, cfg.Seed),
		Evaluator: timed,
		Seeds:     seeds,
		Arch:      arch.arch,
		Filter:    nb201EdgeOption,
		Job:       train.Job{Input: [3]int{3, 32, 32}, Classes: classes, Dataset: train.Dataset{Name: o.dataset}},
		Config:    cfg,
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	switch r.Strategy {
	case evolve.StrategyThompson, evolve.StrategySurrogate:
		// What `arbor evolve` uses when no LLM endpoint is configured.
		eng.Resolver = llm.NewOffline(cfg.Seed, llm.DefaultConfig().Offline)
	}
	var screen *timedScreener
	if r.Strategy == evolve.StrategySurrogate {
		sc, err := evolve.NewSurrogateScreener(cfg.Surrogate)
		if err != nil {
			res.Err = err
			return res
		}
		screen = &timedScreener{Screener: sc}
		eng.Screener = screen
	}
	err = eng.Run(ctx)
	res.Lookup, res.Arch = timed.spent, arch.spent
	if screen != nil {
		res.Screen = screen.spent
	}
	if err != nil && strings.Contains(err.Error(), "proposals in a row failed the gate") {
		// Every child of every parent the strategy may draw is already
		// known: the run cannot spend its budget. It ends here, with the
		// queries it made, and the report counts it.
		res.Exhausted = true
		err = nil
	}
	if err != nil {
		res.Err = err
		return res
	}
	cands, err := store.Candidates(ctx)
	if err != nil {
		res.Err = err
		return res
	}
	slices.SortFunc(cands, func(a, b evolve.Candidate) int { return int(a.Seq - b.Seq) })
	var best *evolve.Candidate
	for i := range cands {
		c := &cands[i]
		if c.Status == evolve.StatusRejected {
			res.Rejected++
		}
		if c.Status != evolve.StatusTrained {
			continue
		}
		res.Queries++
		// Best by signal; ties go to the earlier candidate, as in the archive.
		if best == nil || c.Result.ValAcc > best.Result.ValAcc {
			best = c
		}
		res.Curve = append(res.Curve, best.Result.TestAcc)
	}
	if best == nil {
		res.Err = fmt.Errorf("no candidate trained")
		return res
	}
	row, ok := eval.RowOf(best.Result)
	if !ok {
		res.Err = fmt.Errorf("best candidate %s has no table row (handle %q)", best.ID, best.Result.Handle)
		return res
	}
	res.BestArch, res.BestSignal, res.FinalTest = row.Arch, best.Result.ValAcc, best.Result.TestAcc
	return res
}

// benchConfig is the evolve configuration of one run. Only change-arg is
// offered to the planner: on the NB201 skeleton it is the one operation
// that stays inside the table's space (an edge of the tied cells).
func benchConfig(o benchOptions, r benchRun) evolve.Config {
	cfg := evolve.DefaultConfig()
	cfg.Strategy = r.Strategy
	cfg.Seed = uint64(r.Seed)*0x9e3779b97f4a7c15 + 1
	cfg.SeedArch = "nasbench201"
	cfg.Parallel = 1
	cfg.DryRun = false
	cfg.Budget = evolve.BudgetConfig{Trained: r.Budget}
	cfg.Planner.Ops = []string{evolve.OpChangeArg}
	k := o.parentsK
	if k == 0 {
		k = max(5, r.Budget/20)
	}
	if r.Strategy == evolve.StrategySurrogate && o.sParentsK > 0 {
		k = o.sParentsK
	}
	cfg.Parents = evolve.ParentConfig{Method: evolve.ParentsTopK, K: k, TournamentSize: 5}
	if r.Strategy == evolve.StrategyRandom {
		// Random: a uniform parent, operation and option, so nothing
		// steers towards good regions.
		cfg.Parents = evolve.ParentConfig{Method: evolve.ParentsTournament, K: 1, TournamentSize: 1}
	}
	cfg.Evolution = evolve.EvolutionConfig{Population: o.population, Sample: o.sample}
	cfg.Surrogate.K = o.k
	cfg.Surrogate.Acquisition = o.acquisition
	cfg.Surrogate.Diversity = o.diversity
	// Near the optimum most one-edge children are already known; those
	// rejections are free, so allow long streaks of them before calling
	// the neighbourhood exhausted.
	cfg.MaxRejectStreak = 500
	return cfg
}

// nb201EdgeOption keeps the options that stay in the table's space: a new
// op on a cell edge (the tie carries it to all 15 cells).
func nb201EdgeOption(t *tree.Tree, o tree.Option) bool {
	if o.Op != tree.OpChangeArg || !strings.HasPrefix(o.Arg, "e") {
		return false
	}
	n, err := t.Find(o.Path)
	return err == nil && n.Kind == tree.KindCell
}

// randomNB201 draws n distinct uniformly random NB201 architectures.
func randomNB201(seed uint64, n int, input tree.Shape, classes int) ([]*tree.Tree, error) {
	rng := rand.New(rand.NewPCG(seed, 0x6e62323031))
	ops := tree.CellOps()
	seen := map[tree.NB201Genotype]bool{}
	var out []*tree.Tree
	for len(out) < n {
		var g tree.NB201Genotype
		for k := range g {
			g[k] = ops[rng.IntN(len(ops))]
		}
		if seen[g] {
			continue
		}
		seen[g] = true
		t, err := tree.NB201FromGenotype(g, input, classes)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// memoArch is tree.NB201Arch cached by tree: the engine asks for the arch
// of the same immutable tree several times per query.
type memoArch struct {
	mu    sync.Mutex
	memo  map[*tree.Tree]archEntry
	spent time.Duration
}

type archEntry struct {
	arch string
	err  error
}

func (m *memoArch) arch(t *tree.Tree) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.memo[t]; ok {
		return e.arch, e.err
	}
	t0 := time.Now()
	a, err := tree.NB201Arch(t)
	m.spent += time.Since(t0)
	m.memo[t] = archEntry{a, err}
	return a, err
}

// timedEvaluator measures the time spent answering jobs.
type timedEvaluator struct {
	train.Evaluator
	mu    sync.Mutex
	spent time.Duration
}

func (e *timedEvaluator) Evaluate(ctx context.Context, job train.Job, progress func(train.Progress)) (train.Result, error) {
	t0 := time.Now()
	res, err := e.Evaluator.Evaluate(ctx, job, progress)
	e.mu.Lock()
	e.spent += time.Since(t0)
	e.mu.Unlock()
	return res, err
}

// timedScreener measures the surrogate's time (observe, fit, score).
type timedScreener struct {
	evolve.Screener
	spent time.Duration
}

func (s *timedScreener) Observe(x evolve.Sample) error {
	t0 := time.Now()
	defer func() { s.spent += time.Since(t0) }()
	return s.Screener.Observe(x)
}

func (s *timedScreener) Pick(ctx context.Context, children []evolve.Sample) (int, error) {
	t0 := time.Now()
	defer func() { s.spent += time.Since(t0) }()
	return s.Screener.Pick(ctx, children)
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
