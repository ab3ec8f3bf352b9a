package main

import (
	"github.com/spf13/cobra"
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
		newLineageCmd(),
		newReportCmd(),
		newServeCmd(),
	)
	return root
}
