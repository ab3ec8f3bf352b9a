package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve/run"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "arbor",
		Short: "LLM-assisted neural architecture search over hierarchical trees",
		Long: `arbor mines reusable nn.Module classes from PyTorch code, represents
architectures as trees, and evolves them with a Thompson-sampling planner,
an LLM used as a tool, a dedup/validation gate and PyTorch training workers.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return asUsage(err) })
	root.PersistentPreRun = func(cmd *cobra.Command, args []string) {
		// A misspelt ARBOR_ override would otherwise be ignored silently.
		for _, w := range run.UnknownEnv(os.Environ()) {
			fmt.Fprintln(cmd.ErrOrStderr(), "arbor: warning:", w)
		}
	}
	// Each subsystem registers its commands here; one line per command group.
	root.AddCommand(
		// commands:
		newMineCmd(),
		newCatalogCmd(),
		newLLMCmd(),
		newTrainCmd(),
		newBenchCmd(),
		newEvolveCmd(),
		newStatusCmd(),
		newTreeCmd(),
		newConfigCmd(),
		newBestCmd(),
		newRetrainCmd(),
		newLineageCmd(),
		newReportCmd(),
		newServeCmd(),
	)
	addExamples(root)
	return root
}
