package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/tree"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write, check and document the configuration file",
		Args:  rejectArgs("config"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("config: choose a subcommand: init, check or docs (see arbor config --help)")
		},
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
			keys, _ := configReference() // complete even when a doc is missing
			text := commentedDefault(keys)
			if out == "-" {
				_, err := io.WriteString(cmd.OutOrStdout(), text)
				return err
			}
			if _, err := os.Stat(out); err == nil && !force {
				return usagef("config init: %s exists; choose another -o or pass --force to overwrite it", out)
			}
			if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
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
catalog, a seed tree file and the Python interpreter. Relative paths are
resolved against the current directory, as arbor evolve does. --no-files skips
those checks, for a config meant for another machine. Exit 0: fine; 2: not.`,
		Args: wantArgs("config check", 1, "one CONFIG.yaml"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			cfg, err := LoadConfig(path, nil)
			if err != nil {
				return err
			}
			if !noFiles {
				if err := checkConfigFiles(cfg); err != nil {
					return usagef("config %s: %w", path, err)
				}
			}
			if cfg.LLM.Online() && os.Getenv(cfg.LLM.APIKeyEnv) == "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: llm.api_key_env: %s is not set; fine for a local server (vLLM, Ollama) that needs no key\n", cfg.LLM.APIKeyEnv)
			}
			resolver := "offline resolver"
			if cfg.LLM.Online() {
				resolver = "LLM " + cfg.LLM.BaseURL
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
			keys, _ := configReference() // complete even when a doc is missing
			md := configMarkdown(keys)
			if out == "" || out == "-" {
				_, err := io.WriteString(cmd.OutOrStdout(), md)
				return err
			}
			return os.WriteFile(out, []byte(md), 0o644)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of stdout")
	return cmd
}

// datasetSource says where a dataset comes from, for missing-path errors.
func datasetSource(name string) string {
	switch name {
	case "fashion-mnist":
		return "install the Debian package dataset-fashion-mnist (sudo apt-get install dataset-fashion-mnist), " +
			"or download the four IDX .gz files from https://github.com/zalandoresearch/fashion-mnist and set train.dataset.path to their folder"
	case "mnist":
		return "download the four MNIST IDX files (train-images-idx3-ubyte.gz, ...) from https://yann.lecun.com/exdb/mnist/ and set train.dataset.path to their folder"
	case "cifar10":
		return "download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz, extract it, and set train.dataset.path to the cifar-10-batches-py folder"
	case "cifar100":
		return "download https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz, extract it, and set train.dataset.path to the cifar-100-python folder"
	case "imagenet16-120":
		return "download ImageNet16 (the 16x16 ImageNet of NAS-Bench-201, linked from https://github.com/D-X-Y/AutoDL-Projects) and set train.dataset.path to the folder of train_data_batch_1..10 and val_data"
	}
	return ""
}

// datasetFiles are the files a dataset folder must hold (alternatives per
// entry: any one of them), mirroring what the trainer reads.
func datasetFiles(name, dir string) [][]string {
	idx := func(base string) []string {
		return []string{base, base + ".gz", base[:len(base)-len("-idx3-ubyte")] + ".idx3-ubyte"}
	}
	switch name {
	case "fashion-mnist", "mnist":
		return [][]string{idx("train-images-idx3-ubyte"), {"train-labels-idx1-ubyte", "train-labels-idx1-ubyte.gz"},
			idx("t10k-images-idx3-ubyte"), {"t10k-labels-idx1-ubyte", "t10k-labels-idx1-ubyte.gz"}}
	case "cifar10":
		return [][]string{{"data_batch_1", "cifar-10-batches-py/data_batch_1"}, {"test_batch", "cifar-10-batches-py/test_batch"}}
	case "cifar100":
		return [][]string{{"train", "cifar-100-python/train"}, {"test", "cifar-100-python/test"}}
	case "imagenet16-120":
		return [][]string{{"train_data_batch_1"}, {"val_data"}}
	}
	return nil
}

// checkConfigFiles checks that the files a run of cfg reads exist, and
// says where to get the missing ones.
func checkConfigFiles(cfg Config) error {
	var errs []error
	missing := func(key, path, hint string) {
		errs = append(errs, fmt.Errorf("%s: %s does not exist: %s", key, path, hint))
	}
	switch cfg.Run.Evaluator {
	case "tabular":
		if _, err := os.Stat(cfg.Run.Table); err != nil {
			missing("run.table", cfg.Run.Table, "it is the NAS-Bench-201 table as CSV (columns index, arch, c10_val12, ..., exported from NATS-Bench); point run.table at your copy")
		}
	default:
		d := cfg.Train.Dataset
		if d.Name != "synthetic" {
			dir := d.Path
			if dir == "" {
				dir = filepath.Join("/usr/share/datasets", d.Name)
			}
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				missing("train.dataset.path", dir, datasetSource(d.Name))
			} else {
				for _, alts := range datasetFiles(d.Name, dir) {
					found := slices.ContainsFunc(alts, func(f string) bool {
						_, err := os.Stat(filepath.Join(dir, f))
						return err == nil
					})
					if !found {
						errs = append(errs, fmt.Errorf("train.dataset.path: %s has no %s for dataset %s: %s", dir, alts[0], d.Name, datasetSource(d.Name)))
						break
					}
				}
			}
		}
		if cfg.Train.Python != "" {
			if _, err := os.Stat(cfg.Train.Python); err != nil {
				missing("train.python", cfg.Train.Python, "give an interpreter that can import torch (Debian: python3-torch on /usr/bin/python3), or leave it empty to detect one")
			}
		}
	}
	if cfg.Run.Catalog != "" {
		if _, err := os.Stat(cfg.Run.Catalog); err != nil {
			missing("run.catalog", cfg.Run.Catalog, "create it with: arbor mine /usr/lib/python3/dist-packages/torchvision/models --probe -o "+cfg.Run.Catalog+" (or leave run.catalog empty for built-in primitives only)")
		}
	}
	if !slices.Contains(tree.Seeds(), cfg.Evolve.SeedArch) {
		if _, err := os.Stat(cfg.Evolve.SeedArch); err != nil {
			missing("evolve.seed_arch", cfg.Evolve.SeedArch, fmt.Sprintf("name a built-in seed (%v) or a tree JSON file (arbor tree seed NAME -o FILE writes one)", tree.Seeds()))
		}
	}
	return errors.Join(errs...)
}
