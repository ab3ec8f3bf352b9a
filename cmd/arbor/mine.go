package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/mine"
)

type mineFlags struct {
	config   string
	out      string
	probe    bool
	jobs     int
	include  []string
	exclude  []string
	maxBytes int64
	python   string
	timeout  time.Duration
	noCache  bool
	sandbox  string
}

func newMineCmd() *cobra.Command {
	var f mineFlags
	cmd := &cobra.Command{
		Use:   "mine PATH... -o catalog.json [--probe] [--jobs N] [--include GLOB] [--exclude GLOB]",
		Short: "Extract reusable nn.Module classes from PyTorch source trees into a catalog",
		Long: `mine parses every .py file under each PATH with tree-sitter, finds the
nn.Module classes (directly or through other classes of the same root),
records their signatures, submodules, category and a standalone source
bundle, and writes catalog.json. --probe then instantiates each ok module
in a child PyTorch process and records its interface (width arguments,
stride, shape, parameter and MAC polynomials). Unchanged files are not
parsed again: their facts are cached next to the catalog (catalog.json.cache).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("mine needs at least one PATH to a directory or .py file")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runMine(cmd, args, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "configuration YAML (its mine: section applies)")
	fl.StringVarP(&f.out, "output", "o", "catalog.json", "catalog file to write")
	fl.BoolVar(&f.probe, "probe", false, "probe each ok module in PyTorch and record its interface")
	fl.IntVar(&f.jobs, "jobs", 0, "files parsed in parallel (overrides mine.jobs)")
	fl.StringArrayVar(&f.include, "include", nil, "only mine files matching this glob (repeatable; overrides mine.include)")
	fl.StringArrayVar(&f.exclude, "exclude", nil, "skip files or directories matching this glob (repeatable; overrides mine.exclude)")
	fl.Int64Var(&f.maxBytes, "max-file-bytes", 0, "skip larger files with a warning (overrides mine.max_file_bytes)")
	fl.StringVar(&f.python, "python", "", "interpreter with torch for --probe (overrides mine.python)")
	fl.DurationVar(&f.timeout, "probe-timeout", 0, "time limit per probed module (overrides mine.probe_timeout)")
	fl.StringVar(&f.sandbox, "sandbox", "", "confine the probe: auto, bwrap or none (overrides mine.sandbox)")
	fl.BoolVar(&f.noCache, "no-cache", false, "parse every file even if the cache has it")
	return cmd
}

func runMine(cmd *cobra.Command, roots []string, f mineFlags) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	over := map[string]any{}
	fl := cmd.Flags()
	if fl.Changed("jobs") {
		over["mine.jobs"] = f.jobs
	}
	if fl.Changed("include") {
		over["mine.include"] = f.include
	}
	if fl.Changed("exclude") {
		over["mine.exclude"] = f.exclude
	}
	if fl.Changed("max-file-bytes") {
		over["mine.max_file_bytes"] = f.maxBytes
	}
	if fl.Changed("python") {
		over["mine.python"] = f.python
	}
	if fl.Changed("probe-timeout") {
		over["mine.probe_timeout"] = f.timeout
	}
	if fl.Changed("sandbox") {
		over["mine.sandbox"] = f.sandbox
	}
	all, err := run.Load(f.config, over)
	if err != nil {
		return asUsage(err)
	}
	cfg := all.Mine
	for _, r := range roots {
		if _, err := os.Stat(r); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return usagef("mine: path %s does not exist", r)
			}
			return usagef("mine: path %s: %v", r, err)
		}
	}
	if st, err := os.Stat(filepath.Dir(f.out)); err != nil || !st.IsDir() {
		return usagef("mine: output directory of %s does not exist", f.out)
	}
	abs := make([]string, len(roots))
	for i, r := range roots {
		if abs[i], err = filepath.Abs(r); err != nil {
			return usagef("mine: path %s: %v", r, err)
		}
	}
	red := all.LLM.Redactor()
	cfg.Redactor = red
	log := slog.New(red.Handler(mineLogger(cmd.ErrOrStderr(), all.Run.LogLevel).Handler()))
	start := time.Now()
	opt := mine.Options{CachePath: mine.CachePathFor(f.out), Logger: log}
	if f.noCache {
		opt.CachePath = ""
	}
	cat, st, err := mine.Mine(ctx, abs, cfg, opt)
	if err != nil {
		return err
	}
	if f.probe {
		n := 0
		for _, m := range cat.Modules {
			if m.Status == mine.StatusOK {
				n++
			}
		}
		reused := 0
		if prev, err := mine.LoadCatalog(f.out); err == nil && !f.noCache {
			reused = cat.AdoptProbes(prev, cfg)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "probing %d ok modules in PyTorch (%d results reused from %s)...\n", n-reused, reused, f.out)
		var progress func(done, total int)
		if bar := countBar(cmd.ErrOrStderr(), n-reused, "probe"); bar != nil {
			progress = func(done, total int) { _ = bar.Set(done) }
			defer bar.Finish()
		}
		if err := mine.ProbeCatalog(ctx, cat, cfg, log, progress); err != nil {
			return err
		}
	}
	if err := cat.Save(f.out); err != nil {
		return err
	}
	n, ok, usable := cat.Counts()
	u := "-"
	if f.probe {
		u = fmt.Sprint(usable)
	}
	links := ""
	if st.OutsideLinks > 0 {
		links = fmt.Sprintf("; %d symlinks out of the mined roots skipped", st.OutsideLinks)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "mined %d files (%d parsed, %d cached%s), %d modules, %d ok, %s usable in %.2fs -> %s\n",
		st.Files, st.Parsed, st.Cached, links, n, ok, u, time.Since(start).Seconds(), f.out)
	return nil
}

func newCatalogCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog list|show",
		Short: "Inspect a catalog written by `arbor mine`",
		Args:  groupArgs,
		RunE:  groupRun,
	}
	var category string
	var usable bool
	list := &cobra.Command{
		Use:   "list CATALOG [--category C] [--usable]",
		Short: "List the mined modules: status, category, usability, qualified name",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("catalog list takes one CATALOG file, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, err := mine.LoadCatalog(args[0])
			if err != nil {
				return asUsage(err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tCATEGORY\tUSABLE\tQUALNAME")
			shown := 0
			for _, m := range cat.Modules {
				if category != "" && m.Category != category {
					continue
				}
				if usable && !m.IsUsable() {
					continue
				}
				us := "-"
				if m.Usable != nil {
					us = fmt.Sprint(*m.Usable)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.ID, m.Status, m.Category, us, m.QualName)
				shown++
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			n, ok, u := cat.Counts()
			fmt.Fprintf(cmd.OutOrStdout(), "%d shown; catalog: %d modules, %d ok, %d usable\n", shown, n, ok, u)
			return nil
		},
	}
	list.Flags().StringVar(&category, "category", "", "only this category (conv-block, attention, norm, activation, pooling, head, other)")
	list.Flags().BoolVar(&usable, "usable", false, "only modules the probe found usable")
	show := &cobra.Command{
		Use:   "show CATALOG NAME",
		Short: "Show one module (by name, qualified name or id): interface and source",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usagef("catalog show takes CATALOG and NAME, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, err := mine.LoadCatalog(args[0])
			if err != nil {
				return asUsage(err)
			}
			m, err := cat.Find(args[1])
			if err != nil {
				return asUsage(err)
			}
			showModule(cmd, m)
			return nil
		},
	}
	cmd.AddCommand(list, show)
	return cmd
}

func showModule(cmd *cobra.Command, m *mine.Module) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "%s  (%s)\n", m.QualName, m.ID)
	fmt.Fprintf(w, "file:      %s:%d-%d\n", filepath.Join(m.Root, m.File), m.Lines[0], m.Lines[1])
	fmt.Fprintf(w, "bases:     %s\n", strings.Join(m.Bases, ", "))
	fmt.Fprintf(w, "category:  %s\n", m.Category)
	status := m.Status
	if m.Reason != "" {
		status += ": " + m.Reason
	}
	fmt.Fprintf(w, "status:    %s\n", status)
	if m.Doc != "" {
		fmt.Fprintf(w, "doc:       %s\n", m.Doc)
	}
	var ps []string
	for _, p := range m.Params {
		s := p.Name
		switch p.Kind {
		case "var-positional":
			s = "*" + s
		case "var-keyword":
			s = "**" + s
		}
		if p.HasDefault {
			s += "=" + p.Default
		}
		ps = append(ps, s)
	}
	fmt.Fprintf(w, "init:      (%s)\n", strings.Join(ps, ", "))
	fmt.Fprintf(w, "forward:   %d tensor input(s)\n", m.TensorInputs)
	if len(m.Submodules) > 0 {
		var ss []string
		for _, s := range m.Submodules {
			ss = append(ss, s.Name+"="+s.Call)
		}
		fmt.Fprintf(w, "builds:    %s\n", strings.Join(ss, ", "))
	}
	switch {
	case m.Interface != nil:
		in := m.Interface
		fmt.Fprintf(w, "usable:    true\n")
		fmt.Fprintf(w, "interface: in_arg=%s out_arg=%s same_width=%v stride_arg=%s preserves_shape=%v\n",
			report.OrDash(in.InArg), report.OrDash(in.OutArg), in.SameWidth, report.OrDash(in.StrideArg), in.PreservesShape)
		keys := make([]string, 0, len(in.FixedArgs))
		for k := range in.FixedArgs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var fa []string
		for _, k := range keys {
			fa = append(fa, fmt.Sprintf("%s=%v", k, in.FixedArgs[k]))
		}
		fmt.Fprintf(w, "fixed:     %s\n", strings.Join(fa, ", "))
		fmt.Fprintf(w, "params:    %v at widths %v (poly %.4g + %.4g w + %.4g w^2)\n", in.Params, in.Widths, in.ParamPoly[0], in.ParamPoly[1], in.ParamPoly[2])
		fmt.Fprintf(w, "MACs:      %v at %dx%d\n", in.MACs, in.RefHW, in.RefHW)
	case m.Usable != nil:
		fmt.Fprintf(w, "usable:    false: %s\n", m.ProbeErr)
	}
	if m.Source != "" {
		fmt.Fprintf(w, "\n%s", m.Source)
	}
}

// mineLogger logs warnings (skipped files, syntax errors) to stderr so that
// stdout keeps only the summary line.
func mineLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
