package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/run"
)

func newReportCmd() *cobra.Command {
	var outDir string
	cmd := &cobra.Command{
		Use:   "report RUN_DIR -o DIR",
		Short: "Write the run's plots (PNG and SVG) and an index.html with the top-10 table",
		Long: `report reads a run (while it runs or after) and writes to DIR:
  best_so_far   best validation accuracy against candidates trained
  pareto        every trained candidate's accuracy against its parameters, with the Pareto front
  op_success    each operation's success rate (child beats parent) as the run went on
  rejections    gate rejections by reason, and training failures by class
  llm_spend     cumulative LLM spend in US dollars against time
each as .png and .svg, and index.html showing them with the top-10 table.`,
		Args: wantArgs("report", 1, "one RUN_DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" {
				return usagef("report: give the output directory with -o DIR")
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			s, err := run.OpenReadOnly(args[0])
			if err != nil {
				return err
			}
			defer s.Close()
			set, _, err := run.Settings(ctx, s)
			if err != nil {
				return err
			}
			data, err := report.ReadData(ctx, args[0], s, set)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return asUsage(fmt.Errorf("report -o %s: %w", outDir, err))
			}
			files, err := report.Write(outDir, data)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d files to %s; open %s\n", len(files), outDir, filepath.Join(outDir, "index.html"))
			return nil
		},
	}
	cmd.Flags().StringVarP(&outDir, "output", "o", "", "directory to write the report to (created if needed)")
	return cmd
}
