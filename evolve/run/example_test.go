package run_test

import (
	"context"
	"log"
	"log/slog"
	"os"

	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/run"
)

// Example_library is a search run from Go without package main: the
// snippet docs/architecture.md shows (TestArchitectureDoc in cmd/arbor
// keeps the two equal, and this compiles it). TestLibrarySearch runs the
// same steps on a small budget.
func Example_library() {
	ctx := context.Background()
	cfg, err := run.Load("examples/synthetic.yaml", nil) // defaults, file, ARBOR_ variables
	if err != nil {
		log.Fatal(err)
	}
	db, err := run.Create(ctx, cfg) // the run directory and its SQLite store
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	r, err := run.Build(ctx, cfg, db, slog.Default()) // seed, catalog, evaluator, gate, strategy
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	if err := r.Engine.Run(ctx); err != nil {
		log.Fatal(err)
	}
	st, err := report.ReadStatus(ctx, cfg.Run.Dir, db, 5) // what `arbor status` prints
	if err != nil {
		log.Fatal(err)
	}
	report.WriteStatus(os.Stdout, st)
	set, _, err := run.Settings(ctx, db) // what a reader needs of the configuration
	if err != nil {
		log.Fatal(err)
	}
	data, err := report.ReadData(ctx, cfg.Run.Dir, db, set)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := report.Write("out", data); err != nil { // the plots and index.html
		log.Fatal(err)
	}
}
