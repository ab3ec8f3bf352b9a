package main

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve"
)

// newStatusCmd is the minimal `arbor status RUN_DIR [--json]`; it opens the
// store read-only, so it works while a search is writing.
func newStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status RUN_DIR",
		Short: "Summarise a run: trained count, statuses, gate rejections, best, LLM spend",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("status: want exactly one RUN_DIR, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := evolve.OpenStoreReadOnly(args[0])
			if err != nil {
				return asUsage(err)
			}
			defer st.Close()
			sum, err := st.Summary(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(sum)
			}
			fmt.Fprintf(out, "run %s: %d trained, %d candidates\n", args[0], sum.Trained, sum.Candidates)
			printCounts(out, "by status", sum.ByStatus)
			printCounts(out, "rejected by gate", sum.RejectedByReason)
			printCounts(out, "training outcome", sum.TrainStatus)
			if sum.Best != nil {
				fmt.Fprintf(out, "best: %s  val_acc %.2f%%  params %d  flops %d\n", sum.Best.ID, sum.Best.ValAcc, sum.Best.Params, sum.Best.FLOPs)
			} else {
				fmt.Fprintln(out, "best: none trained successfully yet")
			}
			fmt.Fprintf(out, "llm: %d calls, %d tokens, $%.4f\n", sum.LLM.Calls, sum.LLM.Tokens, sum.LLM.Cost)
			if sum.Codegen != nil {
				fmt.Fprintf(out, "codegen: %d proposed, %d invalid (%.1f%%)\n", sum.Codegen.Proposed, sum.Codegen.Invalid, 100*sum.Codegen.Rate)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func printCounts(out interface{ Write([]byte) (int, error) }, title string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(out, "%s:", title)
	for _, k := range keys {
		fmt.Fprintf(out, " %s=%d", k, m[k])
	}
	fmt.Fprintln(out)
}
