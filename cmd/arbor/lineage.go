package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
)

func newLineageCmd() *cobra.Command {
	var dot, asJSON bool
	cmd := &cobra.Command{
		Use:   "lineage RUN_DIR [ID] [--dot]",
		Short: "Show how a candidate came about, step by step from the seed, or the run's family tree as Graphviz",
		Long: `lineage RUN_DIR ID prints the chain from the seed to candidate ID: each
step's operation, where in the tree it applied, the module and arguments,
the resolver's rationale, and the accuracy it reached against its parent's.
--dot writes the whole run's family tree in Graphviz DOT on stdout (every
candidate that reached training; ID, if given, and its ancestors are drawn
bold): arbor lineage RUN_DIR --dot | dot -Tsvg > tree.svg`,
		Args: func(cmd *cobra.Command, args []string) error {
			if dot && (len(args) < 1 || len(args) > 2) {
				return usagef("lineage --dot: want RUN_DIR [ID], got %d arguments", len(args))
			}
			if !dot && len(args) != 2 {
				return usagef("lineage: want RUN_DIR ID (or RUN_DIR --dot), got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			s, err := run.OpenReadOnly(args[0])
			if err != nil {
				return err
			}
			defer s.Close()
			id := ""
			if len(args) == 2 {
				id = args[1]
			}
			var chain []store.Candidate
			if id != "" {
				if chain, err = s.Lineage(ctx, id); err != nil {
					return asUsage(fmt.Errorf("%w (list IDs with: arbor best %s --pareto, or arbor status %s)", err, args[0], args[0]))
				}
			}
			out := cmd.OutOrStdout()
			if dot {
				all, err := s.Candidates(ctx)
				if err != nil {
					return err
				}
				return report.WriteFamilyDot(out, args[0], all, chain)
			}
			if asJSON {
				steps := make([]report.Step, len(chain))
				for i := range chain {
					steps[i] = report.StepOf(chain, i)
				}
				return writeJSON(out, steps)
			}
			report.WriteLineage(out, chain)
			return nil
		},
	}
	cmd.Flags().BoolVar(&dot, "dot", false, "write the run's family tree as Graphviz DOT")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the chain as JSON")
	return cmd
}
