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
		Long: `lineage RUN_DIR [ID] prints the chain from the seed to candidate ID (without
ID: to the best candidate by validation accuracy): each step's operation,
where in the tree it applied, the module and arguments, the resolver's
rationale, and the accuracy it reached against its parent's.
--dot writes the whole run's family tree in Graphviz DOT on stdout (every
candidate that reached training; ID, if given, and its ancestors are drawn
bold): arbor lineage RUN_DIR --dot | dot -Tsvg > tree.svg`,
		Example: `  arbor lineage runs/fmnist              # how the best candidate came about
  arbor lineage runs/fmnist c00042       # how c00042 came about
  arbor lineage runs/fmnist --dot | dot -Tsvg > family.svg`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usagef("lineage: want RUN_DIR [ID], got %d arguments", len(args))
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
			} else if !dot {
				all, err := s.Candidates(ctx)
				if err != nil {
					return err
				}
				top := report.Top(report.Feasible(all), report.ValAcc, 1)
				if len(top) == 0 {
					return fmt.Errorf("run %s: no candidate has trained successfully yet, so there is no best to trace; give an ID (arbor status %s lists them)", args[0], args[0])
				}
				id = top[0].ID
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
