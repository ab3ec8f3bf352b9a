package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train/atomicfile"
)

// CompareOptions are the settings of `arbor bench compare`: every
// strategy searches from the configuration's seed architecture with the
// configuration's evaluator (local pool, Slurm or table), for the same
// budget, once per seed. Seed i of every strategy uses evolve.seed =
// SeedBase+i, so the strategies of one seed share the data split and the
// training seed; only the search differs.
type CompareOptions struct {
	Config     string   // the run configuration (YAML), as for arbor evolve
	Strategies []string // evolve.strategy values
	Seeds      int      // runs per strategy
	SeedBase   int      // evolve.seed of the first run
	Budget     int      // evolve.budget.trained of every run
	Out        string   // comparison directory: compare.json, runs/, runs.csv, curves.csv, curves.png, summary.md
	// Retrain, when > 0, retrains the Retrain best candidates of every run
	// (arbor retrain: full fidelity, RetrainSeeds seeds, RetrainEpochs
	// epochs or the run's) and ranks the strategies by the test accuracy
	// of each run's best retrained candidate. Not part of compare.json: it
	// may be added to a finished comparison.
	Retrain, RetrainSeeds, RetrainEpochs int
}

// compareMeta is what Out/compare.json records, so that the same command
// resumes the same comparison and a different one is refused.
type compareMeta struct {
	Config     string   `json:"config"`
	Strategies []string `json:"strategies"`
	Seeds      int      `json:"seeds"`
	SeedBase   int      `json:"seed_base"`
	Budget     int      `json:"budget"`
}

// Validate names the flag of each mistake.
func (o CompareOptions) Validate() error {
	switch {
	case o.Config == "":
		return errors.New("--config: give the run configuration every strategy runs with")
	case len(o.Strategies) == 0:
		return fmt.Errorf("--strategies: give at least one of %v", evolve.StrategyNames())
	case o.Seeds < 1:
		return fmt.Errorf("--seeds: must be >= 1, got %d", o.Seeds)
	case o.SeedBase < 0:
		return fmt.Errorf("--seed-base: must be >= 0, got %d", o.SeedBase)
	case o.Budget < 1:
		return fmt.Errorf("--budget: must be >= 1, got %d", o.Budget)
	case o.Out == "":
		return errors.New("--output: give the comparison directory")
	case o.Retrain < 0 || o.RetrainSeeds < 0 || o.RetrainEpochs < 0:
		return fmt.Errorf("--retrain, --retrain-seeds, --retrain-epochs: must be >= 0, got %d, %d, %d", o.Retrain, o.RetrainSeeds, o.RetrainEpochs)
	}
	seen := map[string]bool{}
	for _, s := range o.Strategies {
		if _, err := evolve.LookupStrategy(s); err != nil {
			return fmt.Errorf("--strategies: %w", err)
		}
		if seen[s] {
			return fmt.Errorf("--strategies: %q is listed twice", s)
		}
		seen[s] = true
	}
	return nil
}

// CompareRun is one (strategy, seed) of a comparison and its run directory.
type CompareRun struct {
	Strategy string
	Seed     int
	Dir      string
}

// Runs lists the comparison's runs, seed-major, so that an interrupted
// comparison has as many runs of every strategy, give or take one.
func (o CompareOptions) Runs() []CompareRun {
	var out []CompareRun
	for i := range o.Seeds {
		seed := o.SeedBase + i
		for _, s := range o.Strategies {
			out = append(out, CompareRun{s, seed, filepath.Join(o.Out, "runs", dirName(s), "seed-"+strconv.Itoa(seed))})
		}
	}
	return out
}

// dirName makes a strategy name safe as a directory name (thompson+surrogate).
func dirName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}

// CompareHooks lets the caller watch and steer a comparison.
type CompareHooks struct {
	// Start is called before each run, with whether it resumes.
	Start func(r CompareRun, resumed bool)
	// Event is called with each event of each run, after it is stored; it
	// must not block long.
	Event func(r CompareRun, ev store.Event)
	// Done is called after each run.
	Done func(r CompareRun, sum store.Summary, wall time.Duration)
	// Retrain is called before each run's retraining (CompareOptions.Retrain).
	Retrain func(r CompareRun)
}

// Compare runs every (strategy, seed) of o that has not finished yet, one
// after the other (each run trains in parallel as its configuration
// says), then reads every run's store and writes the comparison into
// o.Out. Each run lives in its own run directory (inspect it with arbor
// status, resume it alone with arbor evolve --resume); running Compare
// again with the same options resumes an interrupted comparison where it
// stopped, and a comparison that has finished is only re-reported.
func Compare(ctx context.Context, o CompareOptions, log *slog.Logger, hooks CompareHooks) (*CompareReport, error) {
	if err := o.Validate(); err != nil {
		return nil, run.Input(err)
	}
	base, err := run.Load(o.Config, nil)
	if err != nil {
		return nil, err
	}
	if err := claim(o); err != nil {
		return nil, err
	}
	start := time.Now()
	for _, r := range o.Runs() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := compareOne(ctx, o, base, r, log, hooks); err != nil {
			return nil, fmt.Errorf("compare: %s seed %d (%s): %w", r.Strategy, r.Seed, r.Dir, err)
		}
	}
	if o.Retrain > 0 {
		for _, r := range o.Runs() {
			ropt := run.RetrainOptions{Top: o.Retrain, Seeds: max(1, o.RetrainSeeds), Epochs: o.RetrainEpochs}
			if hooks.Retrain != nil {
				hooks.Retrain(r)
			}
			if _, err := run.Retrain(ctx, r.Dir, ropt, log); err != nil {
				return nil, fmt.Errorf("compare: retrain %s seed %d (%s): %w", r.Strategy, r.Seed, r.Dir, err)
			}
		}
	}
	rep, err := ReadComparison(ctx, o)
	if err != nil {
		return nil, err
	}
	rep.Wall = time.Since(start)
	return rep, nil
}

// claim records the options in o.Out/compare.json, or checks that an
// existing comparison there was made with the same ones.
func claim(o CompareOptions) error {
	meta := compareMeta{o.Config, o.Strategies, o.Seeds, o.SeedBase, o.Budget}
	path := filepath.Join(o.Out, "compare.json")
	if b, err := os.ReadFile(path); err == nil {
		var old compareMeta
		if err := json.Unmarshal(b, &old); err != nil {
			return run.Input(fmt.Errorf("--output: %s is not a comparison record: %w", path, err))
		}
		if !slices.Equal(old.Strategies, meta.Strategies) || old.Seeds != meta.Seeds || old.SeedBase != meta.SeedBase || old.Budget != meta.Budget {
			return run.Input(fmt.Errorf("--output: %s holds a comparison of %v, %d seeds from %d, budget %d; resume it with those options or choose another --output",
				o.Out, old.Strategies, old.Seeds, old.SeedBase, old.Budget))
		}
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return run.Input(fmt.Errorf("--output: %w", err))
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return run.Input(fmt.Errorf("--output: %w", err))
	}
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o644)
}

// compareOne creates, resumes or skips one run.
func compareOne(ctx context.Context, o CompareOptions, base run.Config, r CompareRun, log *slog.Logger, hooks CompareHooks) error {
	var db *store.Store
	var cfg run.Config
	var err error
	resumed := false
	if _, serr := os.Stat(filepath.Join(r.Dir, "run.db")); serr == nil {
		if db, cfg, err = run.Resume(ctx, r.Dir, nil); err != nil {
			return err
		}
		resumed = true
		done, err := finished(ctx, db, cfg)
		if err != nil {
			db.Close()
			return err
		}
		if done {
			db.Close()
			return nil
		}
	} else {
		cfg = base
		cfg.Run.Dir = r.Dir
		cfg.Evolve.Strategy = r.Strategy
		cfg.Evolve.Seed = uint64(r.Seed)
		cfg.Evolve.Budget.Trained = o.Budget
		if err := cfg.Validate(); err != nil {
			return run.Input(err)
		}
		if err := os.MkdirAll(filepath.Dir(r.Dir), 0o755); err != nil {
			return err
		}
		if db, err = run.Create(ctx, cfg); err != nil {
			return err
		}
	}
	defer db.Close()
	if hooks.Start != nil {
		hooks.Start(r, resumed)
	}
	t0 := time.Now()
	built, err := run.Build(ctx, cfg, db, log)
	if err != nil {
		return err
	}
	defer built.Close()
	if hooks.Event != nil {
		built.Engine.Events = func(ev store.Event) { hooks.Event(r, ev) }
	}
	err = built.Engine.Run(ctx)
	if errors.Is(err, evolve.ErrExhausted) {
		// The strategy ran out of new children before the budget: the run
		// ends with what it trained, for good, and the table says how many.
		err = db.SetMeta(ctx, metaExhausted, err.Error())
	}
	if err != nil {
		return err
	}
	if hooks.Done != nil {
		sum, serr := db.Summary(context.WithoutCancel(ctx))
		if serr == nil {
			hooks.Done(r, sum, time.Since(t0))
		}
	}
	return nil
}

// metaExhausted marks a run that stopped for good before its budget.
const metaExhausted = "compare_exhausted"

// finished: the run spent its budget, or stopped for good (exhausted).
func finished(ctx context.Context, db *store.Store, cfg run.Config) (bool, error) {
	if _, ok, err := db.Meta(ctx, metaExhausted); err != nil || ok {
		return ok, err
	}
	sum, err := db.Summary(ctx)
	if err != nil {
		return false, err
	}
	b := cfg.Evolve.Budget.Trained
	return b > 0 && sum.Trained >= b, nil
}
