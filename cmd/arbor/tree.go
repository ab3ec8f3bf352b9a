package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/train/atomicfile"
	"github.com/arbor-nas/arbor/tree"
)

// newTreeCmd groups the architecture-tree commands.
func newTreeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tree seeds|seed|check|render|apply|options",
		Short: "Build, check, render and transform architecture trees",
		Args:  groupArgs,
		RunE:  groupRun,
	}
	cmd.AddCommand(newTreeSeedsCmd(), newTreeSeedCmd(), newTreeCheckCmd(), newTreeRenderCmd(), newTreeApplyCmd(), newTreeOptionsCmd())
	return cmd
}

// exactArgs is cobra.ExactArgs with a usage error (exit 2).
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %s, got %d arguments", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

func newTreeSeedsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "seeds",
		Short: "List the built-in seed architectures (counts at 3x32x32, 10 classes)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			for _, name := range tree.Seeds() {
				t, err := tree.Seed(name, tree.Shape{C: 3, H: 32, W: 32}, 10)
				if err != nil {
					return err
				}
				r, err := tree.Check(t, nil)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%-18s %9d params %12d MACs\n", name, r.Params, r.FLOPs)
			}
			return nil
		},
	}
}

func newTreeSeedCmd() *cobra.Command {
	var input, out string
	var classes int
	cmd := &cobra.Command{
		Use:   "seed NAME [--input 3x32x32] [--classes 10] [-o FILE.json]",
		Short: "Write a built-in seed as canonical tree JSON",
		Args:  exactArgs(1, "one seed NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			shape, err := tree.ParseShape(input)
			if err != nil {
				return usagef("--input: %v", err)
			}
			t, err := tree.Seed(args[0], shape, classes)
			if err != nil {
				return asUsage(err)
			}
			return writeTree(cmd, t, out)
		},
	}
	cmd.Flags().StringVar(&input, "input", "3x32x32", "input shape CxHxW (1x28x28 for Fashion-MNIST)")
	cmd.Flags().IntVar(&classes, "classes", 10, "number of classes")
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (default: stdout)")
	return cmd
}

// checkResult is `arbor tree check --json`'s object.
type checkResult struct {
	File        string `json:"file"`
	Valid       bool   `json:"valid"`
	OutputShape []int  `json:"output_shape"`
	Params      int64  `json:"params"`
	FLOPs       int64  `json:"flops"`
	Hash        string `json:"hash"`
	Error       string `json:"error"`
	ErrorPath   string `json:"error_path,omitempty"`
}

func newTreeCheckCmd() *cobra.Command {
	var asJSON bool
	var catalog string
	cmd := &cobra.Command{
		Use:   "check FILE [--json] [--catalog catalog.json]",
		Short: "Check a tree: validity, output shape, parameters, MACs, hash (exit 1 when invalid)",
		Long: `check validates a tree file. It exits 0 when the tree is valid, 1 when it
parses but is invalid (shapes, groups, catalog modules), and 2 when the file
cannot be read or is malformed (bad JSON, unknown kind or op, bad argument,
cell cycle). --json prints one object with valid, output_shape, params,
flops, hash and error in every case.`,
		Args: exactArgs(1, "one tree FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, err := loadTreeCatalog(catalog)
			if err != nil {
				return err
			}
			res := checkResult{File: args[0], OutputShape: []int{}}
			t, err := readTree(args[0])
			var rep *tree.Report
			if err == nil {
				rep, err = tree.Check(t, cat)
				if err == nil {
					res.Valid = true
					res.OutputShape = []int{rep.Output.C, rep.Output.H, rep.Output.W}
					res.Params, res.FLOPs, res.Hash = rep.Params, rep.FLOPs, rep.Hash
				} else {
					res.Hash = tree.Hash(t)
					err = &invalidTree{err}
				}
			}
			if err != nil {
				res.Error = err.Error()
				res.ErrorPath = errorPath(err)
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if e := enc.Encode(res); e != nil {
					return e
				}
			} else if res.Valid {
				fmt.Fprintf(w, "valid\noutput  %s\nparams  %d\nflops   %d (MACs)\nhash    %s\n", rep.Output, rep.Params, rep.FLOPs, rep.Hash)
			}
			var inv *invalidTree
			switch {
			case err == nil:
				return nil
			case errors.As(err, &inv):
				return err // exit 1
			default:
				return asUsage(err)
			}
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVar(&catalog, "catalog", "", "catalog.json for trees with module nodes")
	return cmd
}

// invalidTree marks a tree that parsed but failed Check (exit 1).
type invalidTree struct{ err error }

func (e *invalidTree) Error() string { return "invalid tree: " + e.err.Error() }
func (e *invalidTree) Unwrap() error { return e.err }

// errorPath extracts the node path from a tree error.
func errorPath(err error) string {
	var ne *tree.NodeError
	var ae *tree.ArgError
	var se *tree.ShapeError
	switch {
	case errors.As(err, &se):
		return se.Path
	case errors.As(err, &ae):
		return ae.Path
	case errors.As(err, &ne):
		return ne.Path
	}
	return ""
}

func newTreeRenderCmd() *cobra.Command {
	var out, catalog string
	cmd := &cobra.Command{
		Use:   "render FILE [-o out.py] [--catalog catalog.json]",
		Short: "Render a tree to one standalone PyTorch file (class Candidate)",
		Args:  exactArgs(1, "one tree FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, cat, err := treeAndCatalog(args[0], catalog)
			if err != nil {
				return err
			}
			src, err := tree.Render(t, cat)
			if err != nil {
				return asUsage(fmt.Errorf("%s: %w", args[0], err))
			}
			return writeOut(cmd, out, []byte(src))
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (default: stdout)")
	cmd.Flags().StringVar(&catalog, "catalog", "", "catalog.json for trees with module nodes")
	return cmd
}

type applyFlags struct {
	op, at, node, arg, value, name, out, catalog string
	index, to                                    int
}

func newTreeApplyCmd() *cobra.Command {
	var f applyFlags
	cmd := &cobra.Command{
		Use:   "apply FILE --op OP --at PATH [--index N] [--to N] [--node JSON|@file] [--arg NAME --value JSON] [--name NAME] [-o out.json]",
		Short: "Apply one transformation by hand",
		Long: `apply runs one transformation and writes the resulting tree (canonical JSON).
Operations and their flags:
  change_arg     --at NODE --arg NAME --value JSON (e.g. --value 32, --value '"relu"')
  swap           --at NODE --node JSON
  insert         --at PARENT --index N --node JSON
  delete         --at NODE
  compose        --at PARENT --index FROM --to TO [--name NAME]   groups children [FROM, TO)
  duplicate      --at NODE
  wrap_residual  --at NODE
The input tree is never modified; an edit that would give an invalid tree is
refused with the reason (exit 2).`,
		Args: exactArgs(1, "one tree FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, err := loadTreeCatalog(f.catalog)
			if err != nil {
				return err
			}
			t, err := readTree(args[0])
			if err != nil {
				return asUsage(err)
			}
			o, err := f.option()
			if err != nil {
				return err
			}
			nt, err := tree.Apply(t, o, cat)
			if err != nil {
				return asUsage(err)
			}
			if f.out != "" {
				r, err := tree.Check(nt, cat)
				if err != nil {
					return err
				}
				if err := writeTree(cmd, nt, f.out); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s at %s: params %d, flops %d, hash %s\n", f.out, o.Op, o.Path, r.Params, r.FLOPs, r.Hash)
				return nil
			}
			return writeTree(cmd, nt, "")
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.op, "op", "", "operation: change_arg, swap, insert, delete, compose, duplicate, wrap_residual")
	fl.StringVar(&f.at, "at", "", "node path (parent path for insert and compose), e.g. /stage2")
	fl.IntVar(&f.index, "index", 0, "insert position, or first child for compose")
	fl.IntVar(&f.to, "to", 0, "end (exclusive) of the compose range")
	fl.StringVar(&f.node, "node", "", "node JSON for insert and swap, or @file")
	fl.StringVar(&f.arg, "arg", "", "argument name for change_arg")
	fl.StringVar(&f.value, "value", "", "argument value (JSON literal) for change_arg")
	fl.StringVar(&f.name, "name", "", "block name for compose")
	fl.StringVarP(&f.out, "output", "o", "", "file to write (default: stdout)")
	fl.StringVar(&f.catalog, "catalog", "", "catalog.json for trees with module nodes")
	return cmd
}

func (f *applyFlags) option() (tree.Option, error) {
	op := tree.OpKind(strings.ReplaceAll(f.op, "-", "_"))
	known := false
	for _, k := range tree.OpKinds() {
		known = known || k == op
	}
	if !known {
		return tree.Option{}, usagef("--op %q: want one of %v", f.op, tree.OpKinds())
	}
	if f.at == "" {
		return tree.Option{}, usagef("--at: a node path is required, e.g. --at /stage2")
	}
	o := tree.Option{Op: op, Path: f.at, Index: f.index, To: f.to, Name: f.name, Arg: f.arg}
	switch op {
	case tree.OpInsert, tree.OpSwap:
		n, err := readNodeFlag(f.node)
		if err != nil {
			return o, err
		}
		o.Node = n
	case tree.OpChangeArg:
		if f.arg == "" || f.value == "" {
			return o, usagef("change_arg needs --arg NAME and --value JSON")
		}
		v, err := tree.ParseValue([]byte(f.value))
		if err != nil {
			return o, usagef("--value %s: %v (want a JSON number, bool, string or int list; quote strings: '\"relu\"')", f.value, err)
		}
		o.Value = v
	}
	return o, nil
}

func readNodeFlag(s string) (*tree.Node, error) {
	if s == "" {
		return nil, usagef("--node: a node JSON is required, e.g. --node '{\"kind\":\"op\",\"op\":\"relu\"}'")
	}
	data := []byte(s)
	if strings.HasPrefix(s, "@") {
		var err error
		if data, err = os.ReadFile(s[1:]); err != nil {
			return nil, usagef("--node: %v", err)
		}
	}
	n, err := tree.ParseNode(data)
	if err != nil {
		return nil, usagef("--node: %v", err)
	}
	return n, nil
}

func newTreeOptionsCmd() *cobra.Command {
	var op, catalog, nodes string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "options FILE --op OP [--nodes JSON-array|@file] [--json]",
		Short: "List every place where an operation yields a valid tree",
		Args:  exactArgs(1, "one tree FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, cat, err := treeAndCatalog(args[0], catalog)
			if err != nil {
				return err
			}
			if err := tree.Validate(t, cat); err != nil {
				return asUsage(fmt.Errorf("%s: %w", args[0], err))
			}
			var cands []*tree.Node
			if nodes == "" && (op == "insert" || op == "swap") {
				return usagef("tree options --op %s needs --nodes: the modules to %s, a JSON array of nodes or @file, e.g. --nodes '[{\"kind\":\"op\",\"op\":\"relu\"}]'", op, op)
			}
			if nodes != "" {
				data := []byte(nodes)
				if strings.HasPrefix(nodes, "@") {
					if data, err = os.ReadFile(nodes[1:]); err != nil {
						return usagef("--nodes: %v", err)
					}
				}
				if err := json.Unmarshal(data, &cands); err != nil {
					return usagef("--nodes: %v", err)
				}
			}
			kind := tree.OpKind(strings.ReplaceAll(op, "-", "_"))
			ok := false
			for _, k := range tree.OpKinds() {
				ok = ok || k == kind
			}
			if !ok {
				return usagef("--op %q: want one of %v", op, tree.OpKinds())
			}
			opts := tree.Options(t, kind, cands, cat)
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(opts)
			}
			for _, o := range opts {
				fmt.Fprintln(w, describeOption(o))
			}
			fmt.Fprintln(cmd.ErrOrStderr(), report.Plural(len(opts), "option"))
			return nil
		},
	}
	cmd.Flags().StringVar(&op, "op", "insert", "operation")
	cmd.Flags().StringVar(&nodes, "nodes", "", "candidate nodes for insert and swap: a JSON array or @file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the options as JSON")
	cmd.Flags().StringVar(&catalog, "catalog", "", "catalog.json for trees with module nodes")
	return cmd
}

func describeOption(o tree.Option) string {
	s := o.String()
	if len(o.Choices) > 0 {
		vals := make([]string, len(o.Choices))
		for i, v := range o.Choices {
			vals[i] = v.String()
		}
		s += " -> " + strings.Join(vals, " | ")
	}
	return s
}

func loadTreeCatalog(path string) (tree.Catalog, error) {
	if path == "" {
		return nil, nil
	}
	cat, err := run.LoadCatalog(path)
	if err != nil {
		return nil, asUsage(fmt.Errorf("--catalog: %w", err))
	}
	return cat, nil
}

// treeAndCatalog reads the tree FILE and the catalog (none when empty);
// every failure is bad input.
func treeAndCatalog(file, catalog string) (*tree.Tree, tree.Catalog, error) {
	cat, err := loadTreeCatalog(catalog)
	if err != nil {
		return nil, nil, err
	}
	t, err := readTree(file)
	if err != nil {
		return nil, nil, asUsage(err)
	}
	return t, cat, nil
}

func readTree(path string) (*tree.Tree, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := tree.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func writeTree(cmd *cobra.Command, t *tree.Tree, out string) error {
	data, err := t.Canonical()
	if err != nil {
		return err
	}
	return writeOut(cmd, out, data)
}

func writeOut(cmd *cobra.Command, out string, data []byte) error {
	var w io.Writer = cmd.OutOrStdout()
	if out == "" || out == "-" {
		_, err := w.Write(data)
		return err
	}
	if err := atomicfile.WriteFile(out, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}
