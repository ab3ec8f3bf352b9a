package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/llm"
)

func newLLMCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "llm",
		Short: "Work with the LLM resolver (prompt tuning)",
		Args:  groupArgs,
		RunE:  groupRun,
	}
	cmd.AddCommand(newLLMTryCmd())
	return cmd
}

func newLLMTryCmd() *cobra.Command {
	var cfgPath, decisionPath, runDir, candidate string
	cmd := &cobra.Command{
		Use:   "try (--config cfg.yaml --decision decision.json | --run RUN --candidate ID [--config cfg.yaml])",
		Short: "Send one decision to the configured model; print the prompt, the raw answers and the validated choice",
		Long: `try renders the prompt for one decision, sends it to the model configured in
the llm: section (or uses the offline resolver when llm.base_url is empty),
and prints the prompt, every raw answer with the reason it was rejected, the
validated choice and the call record. Edit the templates in a directory set
as llm.prompts.dir and rerun to tune prompts. See llm/testdata/decision.json
for the decision format.

With --run and --candidate, the decision is the one stored with that
candidate of a run: the prompt is exactly what the resolver was asked, and
the model is asked again when an endpoint is configured (the run's own llm:
section, or --config's).`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("llm try takes no arguments, got %q", args)
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			if runDir != "" || candidate != "" {
				if runDir == "" || candidate == "" || decisionPath != "" {
					return usagef("llm try: --run and --candidate go together, without --decision")
				}
				return tryStored(ctx, c, runDir, candidate, cfgPath)
			}
			if cfgPath == "" || decisionPath == "" {
				return usagef("llm try: --config and --decision are required (or --run and --candidate)")
			}
			full, err := run.Load(cfgPath, nil)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(decisionPath)
			if err != nil {
				return usagef("llm try: %v", err)
			}
			d, err := llm.ReadDecision(data)
			if err != nil {
				return usagef("llm try: %s: %v", decisionPath, err)
			}
			return runLLMTry(ctx, c.OutOrStdout(), c.ErrOrStderr(), full.LLM, d)
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "YAML configuration with an llm: section")
	cmd.Flags().StringVar(&decisionPath, "decision", "", "decision JSON file (see llm/testdata/decision.json)")
	cmd.Flags().StringVar(&runDir, "run", "", "a run directory: take the decision stored with --candidate")
	cmd.Flags().StringVar(&candidate, "candidate", "", "with --run: the candidate whose decision to render (e.g. c00012)")
	return cmd
}

// tryStored renders (and re-asks) the decision stored with a candidate,
// with the run's own llm: section unless cfgPath gives another.
func tryStored(ctx context.Context, c *cobra.Command, dir, id, cfgPath string) error {
	db, err := run.OpenReadOnly(dir)
	if err != nil {
		return err
	}
	defer db.Close()
	d, err := run.StoredDecision(ctx, db, id)
	if err != nil {
		return err
	}
	cfg, ok, err := run.StoredConfig(ctx, db)
	if err != nil {
		return err
	}
	if !ok {
		cfg = run.Default()
	}
	if cfgPath != "" {
		if cfg, err = run.Load(cfgPath, nil); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.OutOrStdout(), "=== decision of %s in %s: %s, category %s, %d options\n", id, dir, d.Operation, d.Category, len(d.Options))
	return runLLMTry(ctx, c.OutOrStdout(), c.ErrOrStderr(), cfg.LLM, d)
}

// lastCall keeps the call record of the resolution to print it.
type lastCall struct{ rec *llm.CallRecord }

func (l *lastCall) LogCall(r llm.CallRecord) error { l.rec = &r; return nil }

func runLLMTry(ctx context.Context, out, errw io.Writer, cfg llm.Config, d llm.Decision) error {
	log := slog.New(slog.NewTextHandler(errw, nil))
	calls := &lastCall{}
	r, err := llm.New(cfg, llm.WithLogger(log), llm.WithCallLogger(calls))
	if err != nil {
		return asUsage(err)
	}
	var (
		choice llm.Choice
		tr     llm.Trace
	)
	switch res := r.(type) {
	case *llm.Provider:
		choice, tr, err = res.ResolveTrace(ctx, d)
	default:
		// Offline: render the prompt anyway so templates can be tuned
		// without an endpoint.
		rend, rerr := llm.NewDefaultRenderer(cfg.Prompts)
		if rerr != nil {
			return asUsage(rerr)
		}
		if tr.Prompt, err = rend.Render(d, cfg.Seed); err != nil {
			return err
		}
		choice, err = r.Resolve(ctx, d)
	}
	fmt.Fprintf(out, "=== system prompt (%d options shown, %d hidden, ~%d tokens)\n%s\n", len(tr.Prompt.Shown), tr.Prompt.Hidden, tr.Prompt.Tokens, tr.Prompt.System)
	fmt.Fprintf(out, "=== user prompt\n%s\n", tr.Prompt.User)
	if !cfg.Online() {
		fmt.Fprintln(out, "=== no model asked: llm.base_url is empty, so the offline resolver chose")
	}
	for i, ex := range tr.Exchanges {
		fmt.Fprintf(out, "=== answer %d from %s\n%s\n", i+1, ex.Model, ex.Answer)
		if ex.Problem != "" {
			fmt.Fprintf(out, "--- rejected: %s\n", ex.Problem)
		}
	}
	if calls.rec != nil {
		b, _ := json.MarshalIndent(calls.rec, "", "  ") // plain data always marshals
		fmt.Fprintf(out, "=== call record\n%s\n", b)
	}
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(choice, "", "  ")
	fmt.Fprintf(out, "=== choice\n%s\n", b)
	return nil
}
