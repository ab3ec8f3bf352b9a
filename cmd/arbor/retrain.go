package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
)

type retrainFlags struct {
	top, seeds, epochs, workers int
	subset                      float64
}

// newRetrainCmd is `arbor retrain RUN_DIR --top K --seeds S`: the NAS
// protocol's last step, the published figure.
func newRetrainCmd() *cobra.Command {
	var f retrainFlags
	cmd := &cobra.Command{
		Use:   "retrain RUN_DIR [--top K] [--seeds S] [--epochs N] [--subset N]",
		Short: "Train the K best candidates of a run again at full fidelity, S seeds each, and report test accuracy mean ± std",
		Long: `retrain trains the --top best candidates of a run (by validation
accuracy, the search's own signal) --seeds times each, with the run's
recipe, dataset and limits (train.*) on all training images unless
--subset says otherwise, and --epochs if given. Seeds are 1000, 1001, ...,
never the search's. It measures test accuracy, the one place the test set
is read, and prints per candidate mean ± std over seeds; the result is
stored in the run, where arbor status and arbor report show it. Run it
again to continue an interrupted retraining: finished trainings with the
same recipe are kept.`,
		Args: wantArgs("retrain", 1, "one RUN_DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			errw := cmd.ErrOrStderr()
			log := newLogger(errw, "warn")
			opt := run.RetrainOptions{Top: f.top, Seeds: f.seeds, Epochs: f.epochs, Subset: f.subset, Workers: f.workers,
				Progress: func(r store.RetrainRun) {
					fmt.Fprintf(errw, "%s seed %d: %s, val %.2f%%, test %.2f%% in %.0fs\n", r.ID, r.Seed, r.Status, r.ValAcc, r.TestAcc, r.WallS)
				}}
			res, err := run.Retrain(ctx, args[0], opt, log)
			if err != nil {
				return err
			}
			res.Print(cmd.OutOrStdout())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.top, "top", 3, "retrain the K best candidates by validation accuracy")
	fl.IntVar(&f.seeds, "seeds", 3, "trainings per candidate (seeds 1000, 1001, ...)")
	fl.IntVar(&f.epochs, "epochs", 0, "epochs (0: the run's train.recipe.epochs)")
	fl.Float64Var(&f.subset, "subset", 0, "training images: 0 = all (full fidelity), a fraction in (0,1] or a count")
	fl.IntVar(&f.workers, "workers", 0, "parallel trainings (0: the run's train.workers)")
	return cmd
}
