// Package bench compares search strategies on the NAS-Bench-201 table
// through the real engine: every (strategy, budget, seed) is one search
// with its own SQLite store, its training jobs answered from the table.
// It reports the mean and spread of the final test accuracy, where the
// time went, and writes CSV files and a plot of the curves.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/evolve/names"
	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/evolve/surrogate"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/tree"
)

// Options are the settings of one benchmark, the flags of `arbor bench
// nasbench201`. Validate fills the defaults that depend on the machine.
type Options struct {
	Table      string   // nb201-cifar.csv; empty: train.FindNB201Table
	Dataset    string   // cifar10 or cifar100
	Budgets    []int    // query budgets (trained candidates, initial ones included)
	Seeds      int      // runs per (strategy, budget)
	SeedBase   int      // first seed
	Strategies []string // a subset of Strategies()
	Workers    int      // runs in parallel
	// Init is the number of uniformly random initial architectures per
	// run; evolution uses Population, thompson+surrogate SurrogateInit.
	Init       int
	Population int // regularized evolution: population
	Sample     int // regularized evolution: tournament sample
	// ParentsK: thompson and thompson+surrogate draw parents from the top
	// K; 0 is the paper's protocol, max(5, budget/20).
	ParentsK          int
	K                 int     // thompson+surrogate: children screened per query
	Acquisition       string  // thompson+surrogate: ei or ucb
	Diversity         float64 // thompson+surrogate: weight of the novelty term
	Global            int     // thompson+surrogate: draws from the whole space screened with the K children
	SurrogateInit     int     // thompson+surrogate: initial random architectures
	SurrogateParentsK int     // thompson+surrogate: top K for parents; 0: as thompson
	// StoreDir holds the per-run SQLite stores, each removed after its
	// run; empty: /dev/shm when present, else the temp dir.
	StoreDir string
}

// DefaultOptions are the defaults of `arbor bench nasbench201`.
func DefaultOptions() Options {
	sc := surrogate.DefaultConfig()
	return Options{Dataset: "cifar10", Budgets: []int{25, 50, 100, 200}, Seeds: 100, Strategies: Strategies(),
		Workers: runtime.NumCPU(), Init: 10, Population: 20, Sample: 5, K: sc.K, Acquisition: sc.Acquisition,
		Diversity: sc.Diversity, Global: sc.Global, SurrogateInit: 10}
}

// Validate checks the options, naming the flag of each mistake, and fills
// Table and StoreDir when they are empty.
func (o *Options) Validate() error {
	if o.Table == "" {
		p, ok := train.FindNB201Table()
		if !ok {
			return fmt.Errorf("--table: no table given and none found at %q; pass the path of nb201-cifar.csv", p)
		}
		o.Table = p
	}
	if _, err := os.Stat(o.Table); err != nil {
		return fmt.Errorf("--table: %w", err)
	}
	if o.Dataset != "cifar10" && o.Dataset != "cifar100" {
		return fmt.Errorf("--dataset: %q is not one of cifar10, cifar100", o.Dataset)
	}
	if len(o.Budgets) == 0 {
		return fmt.Errorf("--budgets: give at least one budget")
	}
	for _, b := range o.Budgets {
		if b < 2 {
			return fmt.Errorf("--budgets: %d is below 2", b)
		}
	}
	if o.Seeds < 1 || o.Workers < 1 {
		return fmt.Errorf("--seeds and --workers must be >= 1")
	}
	if len(o.Strategies) == 0 {
		return fmt.Errorf("--strategies: give at least one of %v", Names())
	}
	for _, s := range o.Strategies {
		if !slices.Contains(Names(), s) {
			return fmt.Errorf("--strategies: %q is not one of %v%s", s, Names(), names.Hint(s, Names()))
		}
	}
	if o.Init < 1 || o.SurrogateInit < 1 || o.SurrogateParentsK < 0 || o.Population < 1 || o.Sample < 1 || o.Sample > o.Population || o.ParentsK < 0 {
		return fmt.Errorf("--init, --surrogate-init and --population must be >= 1, --parents-k and --surrogate-parents-k >= 0 and --sample in [1, population]")
	}
	sc := surrogate.DefaultConfig()
	sc.K, sc.Acquisition, sc.Diversity, sc.Global = o.K, o.Acquisition, o.Diversity, o.Global
	if err := sc.Validate(); err != nil {
		return fmt.Errorf("--k/--acquisition: %w", err)
	}
	if o.StoreDir == "" {
		o.StoreDir = os.TempDir()
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			o.StoreDir = "/dev/shm"
		}
	}
	return nil
}

// Strategies are the default strategies of the benchmark (Names lists
// every one it accepts).
func Strategies() []string {
	return []string{evolve.StrategyRandom, evolve.StrategyEvolution, evolve.StrategyThompson, evolve.StrategySurrogate}
}

// Run is one (strategy, budget, seed).
type Run struct {
	Strategy string
	Budget   int
	Seed     int
}

// Result is what one run found.
type Result struct {
	Run
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

// Bench runs every (strategy, budget, seed) of o, in parallel on
// o.Workers, and aggregates the results. done, when not nil, is called
// after each run (from several goroutines, one at a time). o must have
// passed Validate. A bad table is bad input (run.ErrInput).
func Bench(ctx context.Context, o Options, done func()) (*Report, error) {
	start := time.Now()
	table, err := train.LoadNB201Table(o.Table)
	if err != nil {
		return nil, run.Input(err)
	}
	eval, err := train.NewTabular(table, o.Dataset)
	if err != nil {
		return nil, run.Input(err)
	}
	loadTime := time.Since(start)
	runs := o.Runs()
	results := make([]Result, len(runs))
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results[i] = RunOne(ctx, o, eval, runs[i])
				if done != nil {
					mu.Lock()
					done()
					mu.Unlock()
				}
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
		return nil, err
	}
	for _, r := range results {
		if r.Err != nil {
			return nil, fmt.Errorf("bench run %s budget %d seed %d: %w", r.Strategy, r.Budget, r.Seed, r.Err)
		}
	}
	return NewReport(o, table, results, loadTime, time.Since(start)), nil
}

// Runs lists every (strategy, budget, seed) of o, in order.
func (o Options) Runs() []Run {
	var runs []Run
	for _, s := range o.Strategies {
		for _, b := range o.Budgets {
			for seed := o.SeedBase; seed < o.SeedBase+o.Seeds; seed++ {
				runs = append(runs, Run{s, b, seed})
			}
		}
	}
	return runs
}

// RunOne runs one search through the engine with a fresh SQLite store,
// its jobs answered by eval.
func RunOne(ctx context.Context, o Options, eval *train.Tabular, r Run) (res Result) {
	res = Result{Run: r, Dataset: o.Dataset}
	t0 := time.Now()
	defer func() { res.Wall = time.Since(t0) }()
	dir, err := os.MkdirTemp(o.StoreDir, "arbor-bench-")
	if err != nil {
		res.Err = err
		return res
	}
	defer os.RemoveAll(dir)
	db, err := store.CreateStore(dir)
	if err != nil {
		res.Err = err
		return res
	}
	defer db.Close()

	classes, err := run.TabularClasses(o.Dataset)
	if err != nil {
		res.Err = err
		return res
	}
	input := tree.Shape{C: 3, H: 32, W: 32}
	v, ok := lookupVariant(r.Strategy)
	if !ok {
		res.Err = fmt.Errorf("unknown strategy %q (known: %v)", r.Strategy, Names())
		return res
	}
	cfg := Config(o, r)
	nInit := o.Init
	switch v.strategy {
	case evolve.StrategyEvolution:
		nInit = o.Population
	case evolve.StrategySurrogate:
		nInit = o.SurrogateInit
	}
	seeds, err := randomNB201(uint64(r.Seed), min(nInit, r.Budget), input, classes)
	if err != nil {
		res.Err = err
		return res
	}
	timed := &timedEvaluator{Evaluator: eval}
	arch := &memoArch{memo: map[*tree.Tree]archEntry{}}
	eng := &evolve.Engine{
		Store:   db,
		Planner: evolve.NewPlanner(cfg.Planner, cfg.Seed),
		Seeds:   seeds,
		Config:  cfg,
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := run.UseTable(eng, timed, o.Dataset); err != nil {
		res.Err = err
		return res
	}
	eng.Arch = arch.arch // the same mapping, memoised, and timed
	def, err := evolve.LookupStrategy(v.strategy)
	if err != nil {
		res.Err = err
		return res
	}
	var deps evolve.Deps
	if def.Wants(evolve.DepResolver) {
		// What `arbor evolve` uses when no LLM endpoint is configured.
		oc := llm.DefaultConfig().Offline
		if v.offline != nil {
			v.offline(&oc)
		}
		deps.Resolver = llm.NewOffline(cfg.Seed, oc)
	}
	var screen *timedScreener
	if def.Wants(evolve.DepScreener) {
		sc, err := evolve.NewSurrogateScreener(cfg.Surrogate)
		if err != nil {
			res.Err = err
			return res
		}
		screen = &timedScreener{Screener: sc}
		deps.Screener = screen
	}
	if eng.Strategy, err = evolve.NewStrategy(def, cfg, deps); err != nil {
		res.Err = err
		return res
	}
	err = eng.Run(ctx)
	res.Lookup, res.Arch = timed.spent, arch.spent
	if screen != nil {
		res.Screen = screen.spent
	}
	if errors.Is(err, evolve.ErrExhausted) {
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
	cands, err := db.Candidates(ctx)
	if err != nil {
		res.Err = err
		return res
	}
	slices.SortFunc(cands, func(a, b store.Candidate) int { return int(a.Seq - b.Seq) })
	var best *store.Candidate
	for i := range cands {
		c := &cands[i]
		if c.Status == store.StatusRejected {
			res.Rejected++
		}
		if c.Status != store.StatusTrained {
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

// Config is the evolve configuration of one run. The planner is offered
// change-arg and repeat: on the NB201 skeleton they are the operations
// that stay inside the table's space (an edge of the tied cells; repeat
// sets another edge to the value a win set).
func Config(o Options, r Run) evolve.Config {
	v, _ := lookupVariant(r.Strategy)
	cfg := evolve.DefaultConfig()
	cfg.Strategy = v.strategy
	cfg.Seed = uint64(r.Seed)*0x9e3779b97f4a7c15 + 1
	cfg.SeedArch = "nasbench201"
	cfg.Parallel = 1
	cfg.DryRun = false
	cfg.Budget = evolve.BudgetConfig{Trained: r.Budget}
	cfg.Planner.Ops = []string{store.OpChangeArg, store.OpRepeat}
	k := o.ParentsK
	if k == 0 {
		k = max(5, r.Budget/20)
	}
	if v.strategy == evolve.StrategySurrogate && o.SurrogateParentsK > 0 {
		k = o.SurrogateParentsK
	}
	cfg.Parents = evolve.ParentConfig{Method: evolve.ParentsTopK, K: k, TournamentSize: 5}
	cfg.Evolution = evolve.EvolutionConfig{Population: o.Population, Sample: o.Sample}
	cfg.Surrogate.K = o.K
	cfg.Surrogate.Acquisition = o.Acquisition
	cfg.Surrogate.Diversity = o.Diversity
	cfg.Surrogate.Global = o.Global
	// Near the optimum most one-edge children are already known; those
	// rejections are free, so allow long streaks of them before calling
	// the neighbourhood exhausted.
	cfg.MaxRejectStreak = 500
	// The table answers an architecture with one figure: there is no
	// training noise to measure (train.Tabular is Deterministic; the
	// timing wrapper hides that, so say it here).
	cfg.Noise.Repeats = 0
	if v.tweak != nil {
		v.tweak(&cfg)
	}
	return cfg
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

func (s *timedScreener) Observe(x evolve.Observation) error {
	t0 := time.Now()
	defer func() { s.spent += time.Since(t0) }()
	return s.Screener.Observe(x)
}

func (s *timedScreener) Pick(ctx context.Context, children []evolve.Observation) (int, error) {
	t0 := time.Now()
	defer func() { s.spent += time.Since(t0) }()
	return s.Screener.Pick(ctx, children)
}
