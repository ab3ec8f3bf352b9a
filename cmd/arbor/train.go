package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/tree"
)

type trainFlags struct {
	config  string
	dataset string
	epochs  int
	subset  float64
	seed    uint64
	json    bool
}

func newTrainCmd() *cobra.Command {
	var f trainFlags
	cmd := &cobra.Command{
		Use:   "train TREE.json|SEED",
		Short: "Train one architecture tree with the local PyTorch pool and print its result",
		Long: `train renders one tree (a tree JSON file or a built-in seed name such as
resnet20) to PyTorch and trains it once in a child process with the
configured recipe (train.recipe; default: the 1-epoch proxy on 10,000
images). Use it to check a seed or re-train a winner at full fidelity.
With --json it prints the train.Result as one JSON object. It exits 1 when
training does not end with status ok.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("train: want one TREE.json or seed name (%s), got %d arguments", strings.Join(tree.Seeds(), ", "), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runTrain(cmd, args[0], f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "config file (YAML; the train section is used)")
	fl.StringVar(&f.dataset, "dataset", "", "dataset: fashion-mnist, mnist, cifar10, cifar100, imagenet16-120, synthetic, gratings")
	fl.IntVar(&f.epochs, "epochs", 0, "epochs (overrides train.recipe.epochs)")
	fl.Float64Var(&f.subset, "subset", -1, "training images: a fraction in (0,1], a count, or 0 for all (overrides train.recipe.subset)")
	seedFlag(fl, &f.seed, "seed", 0, "random seed of the split, initialisation and data order")
	fl.BoolVar(&f.json, "json", false, "print the result as one JSON object")
	return cmd
}

func runTrain(cmd *cobra.Command, arg string, f trainFlags) error {
	overrides := map[string]any{}
	if f.dataset != "" {
		overrides["train.dataset.name"] = f.dataset
	}
	if cmd.Flags().Changed("epochs") {
		overrides["train.recipe.epochs"] = f.epochs
	}
	if cmd.Flags().Changed("subset") {
		overrides["train.recipe.subset"] = f.subset
	}
	cfg, err := run.Load(f.config, overrides)
	if err != nil {
		return asUsage(err)
	}
	var cat tree.Catalog // nil, not a nil map, when there is no catalog
	if cfg.Run.Catalog != "" {
		if cat, err = run.LoadCatalog(cfg.Run.Catalog); err != nil {
			return asUsage(fmt.Errorf("run.catalog: %w", err))
		}
	}
	input, classes, err := train.DatasetShape(cfg.Train.Dataset.Name)
	if err != nil {
		return asUsage(fmt.Errorf("train.dataset.name: %w", err))
	}
	t, err := run.SeedTree(arg, input, classes, cat)
	if err != nil {
		return asUsage(fmt.Errorf("train: %w", err))
	}
	if want := (tree.Shape{C: input[0], H: input[1], W: input[2]}); t.Input != want || t.Classes != classes {
		return usagef("train: %s is built for input %s with %d classes, but the dataset has %s with %d; pass --dataset to match",
			arg, t.Input, t.Classes, want, classes)
	}
	rep, err := tree.Check(t, cat)
	if err != nil {
		return asUsage(fmt.Errorf("train %s: %w", arg, err))
	}
	source, err := tree.Render(t, cat)
	if err != nil {
		return asUsage(fmt.Errorf("train %s: render: %w", arg, err))
	}
	job, err := cfg.Train.Job("train-"+rep.Hash[:min(12, len(rep.Hash))], source, int64(f.seed))
	if err != nil {
		return asUsage(err)
	}
	job.Test = true // training one model by hand is what the test set is for
	job.FLOPs = rep.FLOPs

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := newLogger(cmd.ErrOrStderr(), cfg.Run.LogLevel)
	pool, err := train.NewLocal(ctx, cfg.Train, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	errw := cmd.ErrOrStderr()
	if !f.json {
		fmt.Fprintf(errw, "training %s on %s: %d params, %.1f MFLOPs (MACs), %d epochs, python %s\n",
			arg, cfg.Train.Dataset.Name, rep.Params, float64(rep.FLOPs)/1e6, job.Recipe.Epochs, pool.Python())
	}
	res, err := pool.Evaluate(ctx, job, progressPrinter(errw, f.json))
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printResult(out, res)
	}
	if res.Status != train.StatusOK {
		return fmt.Errorf("train %s: status %s", arg, res.Status)
	}
	return nil
}

// progressPrinter shows one line per epoch end and at most one every 5 s.
func progressPrinter(w io.Writer, quiet bool) func(train.Progress) {
	if quiet {
		return nil
	}
	var last time.Time
	return func(p train.Progress) {
		if p.Step != p.Steps && time.Since(last) < 5*time.Second {
			return
		}
		last = time.Now()
		fmt.Fprintf(w, "  epoch %d step %d/%d loss %.4f\n", p.Epoch, p.Step, p.Steps, p.Loss)
	}
}

func printResult(w io.Writer, r train.Result) {
	fmt.Fprintf(w, "status      %s\n", r.Status)
	if r.Status == train.StatusOK {
		fmt.Fprintf(w, "val_acc     %.2f%%\ntest_acc    %.2f%%\n", r.ValAcc, r.TestAcc)
	}
	fmt.Fprintf(w, "params      %d\nflops       %d (MACs per image)\n", r.Params, r.FLOPs)
	fmt.Fprintf(w, "latency     %.2f ms/batch\nthroughput  %.0f images/s\n", r.LatencyMS, r.ImagesPerS)
	fmt.Fprintf(w, "wall        %.1f s (training %.1f s)\npeak_mem    %.0f MB\ndevice      %s\n", r.WallS, r.TrainS, r.PeakMemMB, r.Device)
	for _, e := range r.Curve {
		fmt.Fprintf(w, "  epoch %d  train_loss %.4f  train_acc %.2f%%  val_loss %.4f  val_acc %.2f%%  %.1fs\n",
			e.Epoch, e.TrainLoss, e.TrainAcc, e.ValLoss, e.ValAcc, e.Seconds)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "error       %s\n", r.Error)
	}
}
