package run

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/mine"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/tree"
)

// TempDir is the run directory's folder for the temporary directories of
// the worker pool, its jobs and the gate.
const TempDir = "tmp"

// Run is a search assembled from a configuration: the engine with its
// evaluator, gate, catalog, seed and resolver, ready for Engine.Run.
// Close releases what Build started (worker pools, the gate, the table),
// not the store, which the caller opened.
type Run struct {
	Config Config
	Engine *evolve.Engine
	closed []func() error
}

// Close stops the evaluator and the gate.
func (r *Run) Close() error {
	var first error
	for i := len(r.closed) - 1; i >= 0; i-- {
		if err := r.closed[i](); err != nil && first == nil {
			first = err
		}
	}
	r.closed = nil
	return first
}

// Build assembles the engine of cfg over store: the evaluator named by
// run.evaluator (with the dry-run gate for local training), the catalog,
// the seed tree and the resolver the strategy needs. The caller may still
// set Events and Abort on the engine. Errors caused by cfg or the files it
// names match ErrInput.
func Build(ctx context.Context, cfg Config, db *store.Store, log *slog.Logger) (*Run, error) {
	// Children run in directories of their own: every path they are given
	// must be absolute.
	cfg = cfg.Absolute()
	// One seed drives the whole run, the offline resolver's draws included.
	cfg.LLM.Seed = cfg.Evolve.Seed
	job, err := cfg.Train.Job("", "", int64(cfg.Evolve.Seed))
	if err != nil {
		return nil, Input(err)
	}
	// One redactor at the boundary: whatever comes from the endpoint or a
	// child process passes it before it is stored, logged or published.
	red := cfg.LLM.Redactor()
	log = slog.New(red.Handler(log.Handler()))
	// Temporary directories live under the run directory, so kills leave
	// nothing in /tmp; the next process sweeps what a killed one left.
	tmp := filepath.Join(cfg.Run.Dir, TempDir)
	cfg.Train.TempDir = tmp
	r := &Run{Config: cfg}
	r.closed = append(r.closed, func() error {
		os.Remove(tmp) // only when empty: a live process may still use it
		return nil
	})
	eng := &evolve.Engine{Store: db, Planner: evolve.NewPlanner(cfg.Evolve.Planner, cfg.Evolve.Seed),
		Config: cfg.Evolve, Job: job, Log: log, Redactor: red}
	r.Engine = eng
	if err := r.evaluator(ctx, db, log); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.resolve(db, log); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// evaluator sets up the evaluator named by run.evaluator.
func (r *Run) evaluator(ctx context.Context, db *store.Store, log *slog.Logger) error {
	cfg, eng := r.Config, r.Engine
	switch cfg.Run.Evaluator {
	case "tabular":
		tab, err := train.OpenTabular(train.TabularConfig{Table: cfg.Run.Table, Dataset: cfg.Run.TabularDataset})
		if err != nil {
			return Input(err)
		}
		r.closed = append(r.closed, tab.Close)
		if err := UseTable(eng, tab, cfg.Run.TabularDataset); err != nil {
			return Input(err)
		}
	case "slurm":
		slurm, err := train.NewSlurm(ctx, cfg.Train.Slurm, train.SlurmOptions{
			RunName: filepath.Base(filepath.Clean(cfg.Run.Dir)), Logger: log, Sandbox: cfg.Train.Sandbox,
			// The Slurm job ID is stored at submission, so a resume after
			// kill -9 re-attaches instead of submitting a second copy.
			OnSubmit: func(id, handle string) {
				if err := db.SetHandle(context.WithoutCancel(ctx), id, handle); err != nil {
					log.Error("storing slurm job id", "candidate", id, "job", handle, "err", err)
				}
			},
		})
		if err != nil {
			return err
		}
		r.closed = append(r.closed, slurm.Close)
		eng.Evaluator = slurm
	default:
		local, err := train.NewLocal(ctx, cfg.Train, log)
		if err != nil {
			return Input(err)
		}
		r.closed = append(r.closed, local.Close)
		eng.Evaluator = local
		if cfg.Evolve.Checkpoints.Keep > 0 {
			eng.Checkpoints = &evolve.Checkpoints{Dir: filepath.Join(cfg.Run.Dir, evolve.CheckpointDir), Rule: cfg.Evolve.Checkpoints}
			eng.Inherit = cfg.Train.Inherit
		}
		if cfg.Evolve.DryRun {
			gate, err := train.NewGate(local.Python(), train.GateOptions{
				Timeout: time.Duration(cfg.Train.GateTimeoutS * float64(time.Second)), Threads: cfg.Train.GateThreads, Log: log,
				TempDir: cfg.Train.TempDir, Sandbox: local.Sandbox()})
			if err != nil {
				return err
			}
			r.closed = append(r.closed, gate.Close)
			eng.DryRun = gate
		}
	}
	return nil
}

// resolve loads the catalog and the seed, and builds the strategy.
func (r *Run) resolve(db *store.Store, log *slog.Logger) error {
	cfg, eng := r.Config, r.Engine
	if cfg.Run.Catalog != "" {
		specs, err := LoadCatalog(cfg.Run.Catalog)
		if err != nil {
			return Input(fmt.Errorf("run.catalog: %w", err))
		}
		eng.Catalog = specs
		for _, id := range slices.Sorted(maps.Keys(specs)) {
			eng.Modules = append(eng.Modules, specs[id])
		}
		log.Info("catalog loaded", "path", cfg.Run.Catalog, "usable_modules", len(eng.Modules))
	}
	seed, err := SeedTree(cfg.Evolve.SeedArch, eng.Job.Input, eng.Job.Classes, eng.Catalog)
	if err != nil {
		return Input(err)
	}
	eng.Seeds = []*tree.Tree{seed}

	return r.strategy(db, log)
}

// strategy builds the strategy evolve.strategy names from the registry,
// with the dependencies its definition asks for; NewStrategy checks that
// every one it requires is there.
func (r *Run) strategy(db *store.Store, log *slog.Logger) error {
	cfg, eng := r.Config, r.Engine
	def, err := evolve.LookupStrategy(cfg.Evolve.Strategy)
	if err != nil {
		return Input(err)
	}
	deps := evolve.Deps{DryRun: cfg.Evolve.DryRun && eng.DryRun != nil}
	if def.Wants(evolve.DepResolver) {
		// The store is the spend ledger: llm.limits count the whole run,
		// across kill -9 and --resume.
		if deps.Resolver, err = llm.New(cfg.LLM, llm.WithCallLogger(db), llm.WithLogger(log), llm.WithSpendLedger(db)); err != nil {
			return Input(err)
		}
	}
	if def.Wants(evolve.DepCoder) && cfg.LLM.Online() {
		// The provider rewrites sources with prompts/codegen*.tmpl, its
		// repair loop and the llm.limits spend limits.
		if deps.Coder, err = llm.NewProvider(cfg.LLM, llm.WithCallLogger(db), llm.WithLogger(log), llm.WithSpendLedger(db)); err != nil {
			return Input(err)
		}
	}
	if def.Wants(evolve.DepScreener) {
		if deps.Screener, err = evolve.NewSurrogateScreener(cfg.Evolve.Surrogate); err != nil {
			return Input(err)
		}
	}
	if eng.Strategy, err = evolve.NewStrategy(def, cfg.Evolve, deps); err != nil {
		return Input(err)
	}
	return nil
}

// LoadCatalog reads the usable modules of the catalog file at path (from
// `arbor mine --probe`); a missing or broken file is bad input.
func LoadCatalog(path string) (tree.MapCatalog, error) {
	cat, err := mine.LoadCatalog(path)
	if err != nil {
		return nil, Input(err)
	}
	return cat.Specs(), nil
}

// SeedTree builds the starting architecture: a built-in seed name or a
// tree JSON file, validated against the catalog.
func SeedTree(arch string, input [3]int, classes int, cat tree.Catalog) (*tree.Tree, error) {
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
