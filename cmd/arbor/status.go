package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/spf13/cobra"
)

// newStatusCmd is `arbor status RUN_DIR [--json]`; it opens the store
// read-only, so it works while a search is writing.
func newStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status RUN_DIR",
		Short: "Summarise a run: statuses, gate rejections, per-operation success, posteriors, spend, top 5",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("status: want exactly one RUN_DIR, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if !asJSON {
				return printStatus(cmd.Context(), cmd.OutOrStdout(), args[0])
			}
			st, err := run.OpenReadOnly(args[0])
			if err != nil {
				return err
			}
			defer st.Close()
			sum, err := st.Summary(cmd.Context())
			if err != nil {
				return err
			}
			last, has, err := st.LastEvent(cmd.Context())
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			// The summary's fields, and the run's state: running, finished,
			// stopped (its process is gone: resume it) or empty.
			return enc.Encode(struct {
				store.Summary
				State store.RunState `json:"state"`
			}{sum, store.State(args[0], last, has)})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// printStatus opens the run in dir read-only and prints its status with
// the top 5: what `arbor status RUN_DIR` shows.
func printStatus(ctx context.Context, w io.Writer, dir string) error {
	s, err := run.OpenReadOnly(dir)
	if err != nil {
		return err
	}
	defer s.Close()
	fs, err := report.ReadStatus(ctx, dir, s, 5)
	if err != nil {
		return err
	}
	report.WriteStatus(w, fs)
	return nil
}
