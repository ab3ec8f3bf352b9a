package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/train/atomicfile"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write, check and document the configuration file",
		Args:  groupArgs,
		RunE:  groupRun,
	}
	cmd.AddCommand(newConfigInitCmd(), newConfigCheckCmd(), newConfigDocsCmd())
	return cmd
}

// rejectArgs rejects positional arguments with a usage error (exit 2).
func rejectArgs(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 0 {
			return usagef("%s takes no arguments, got %q", name, args)
		}
		return nil
	}
}

// wantArgs wants n positional arguments, described by what.
func wantArgs(name string, n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s: want %s, got %d arguments", name, what, len(args))
		}
		return nil
	}
}

func newConfigInitCmd() *cobra.Command {
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "init [-o arbor.yaml]",
		Short: "Write a configuration with every key at its default, documented in comments",
		Args:  rejectArgs("config init"),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, _ := run.Reference() // complete even when a doc is missing
			text := run.CommentedDefault(keys)
			if out == "-" {
				_, err := io.WriteString(cmd.OutOrStdout(), text)
				return err
			}
			if _, err := os.Stat(out); err == nil && !force {
				return usagef("config init: %s exists; choose another -o or pass --force to overwrite it", out)
			}
			if err := atomicfile.WriteFile(out, []byte(text), 0o644); err != nil {
				return asUsage(fmt.Errorf("config init: %w", err))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d keys); check your edits with: arbor config check %s\n", out, len(keys), out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "arbor.yaml", "file to write (- for stdout)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}

func newConfigCheckCmd() *cobra.Command {
	var noFiles bool
	cmd := &cobra.Command{
		Use:   "check CONFIG.yaml",
		Short: "Validate a configuration: unknown keys, types, ranges, and the files it names",
		Long: `check loads CONFIG.yaml exactly as arbor evolve does (defaults, then the file,
then ARBOR_* environment variables) and reports every problem with the key and
the file. It also checks that the files the run needs exist: the dataset (and
which Debian package or download provides it), the NAS-Bench-201 table, the
catalog, a seed tree file and the Python interpreter. Relative paths in the
file are relative to its folder, as arbor evolve reads them. --no-files skips
those checks, for a config meant for another machine. Exit 0: fine; 2: not.`,
		Args: wantArgs("config check", 1, "one CONFIG.yaml"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			cfg, err := run.Load(path, nil)
			if err != nil {
				return err
			}
			if !noFiles {
				if err := run.CheckFiles(cfg); err != nil {
					return usagef("config %s: %w", path, err)
				}
			}
			if key, err := cfg.LLM.APIKey(); err != nil {
				return asUsage(err)
			} else if cfg.LLM.Online() && key == "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: llm.api_key_env: %s is not set; fine for a local server (vLLM, Ollama) that needs no key\n", cfg.LLM.APIKeyEnv)
			}
			resolver := "offline resolver"
			if cfg.LLM.Online() {
				resolver = "LLM " + llm.RedactURL(cfg.LLM.BaseURL)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (evaluator %s, strategy %s, seed %s, budget %d trained, %s)\n",
				path, cfg.Run.Evaluator, cfg.Evolve.Strategy, cfg.Evolve.SeedArch, cfg.Evolve.Budget.Trained, resolver)
			return nil
		},
	}
	cmd.Flags().BoolVar(&noFiles, "no-files", false, "check the schema only, not that datasets, tables and catalogs exist")
	return cmd
}

func newConfigDocsCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "docs [-o docs/configuration.md]",
		Short: "Print the configuration reference (docs/configuration.md) in Markdown",
		Args:  rejectArgs("config docs"),
		RunE: func(cmd *cobra.Command, args []string) error {
			keys, _ := run.Reference() // complete even when a doc is missing
			md := run.Markdown(keys)
			if out == "" || out == "-" {
				_, err := io.WriteString(cmd.OutOrStdout(), md)
				return err
			}
			return atomicfile.WriteFile(out, []byte(md), 0o644)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return cmd
}
