package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/mine"
	"github.com/arbor-nas/arbor/tree"
)

// A metric is maximised; an objective (a cost) is minimised.
type candidateValue func(c *evolve.Candidate) float64

const (
	metricValAcc  = "val_acc"
	metricTestAcc = "test_acc"
)

func metricFunc(name string) (candidateValue, error) {
	switch name {
	case metricValAcc:
		return func(c *evolve.Candidate) float64 { return c.Result.ValAcc }, nil
	case metricTestAcc:
		return func(c *evolve.Candidate) float64 { return c.Result.TestAcc }, nil
	}
	return nil, usagef("--metric %q: want val_acc or test_acc", name)
}

func objectiveFunc(name string) (candidateValue, string, error) {
	switch name {
	case "params":
		return func(c *evolve.Candidate) float64 { return float64(c.Params) }, "parameters", nil
	case "flops":
		return func(c *evolve.Candidate) float64 { return float64(c.FLOPs) }, "FLOPs", nil
	case "latency":
		return func(c *evolve.Candidate) float64 { return c.Result.LatencyMS }, "latency (ms)", nil
	}
	return nil, "", usagef("--objective %q: want params, flops or latency", name)
}

// feasible keeps the candidates that trained successfully.
func feasible(cs []evolve.Candidate) []evolve.Candidate {
	var out []evolve.Candidate
	for i := range cs {
		if cs[i].Feasible() {
			out = append(out, cs[i])
		}
	}
	return out
}

// topByMetric returns the n best feasible candidates by metric (val_acc or
// test_acc), earlier candidates first on ties.
func topByMetric(cs []evolve.Candidate, metric string, n int) []evolve.Candidate {
	m, err := metricFunc(metric)
	if err != nil {
		return nil
	}
	out := feasible(cs)
	slices.SortStableFunc(out, func(a, b evolve.Candidate) int { return cmp.Compare(m(&b), m(&a)) })
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// paretoFront returns the candidates no other candidate beats on both
// metric (higher is better) and cost (lower is better), by rising cost.
// Of candidates equal on both, the earliest is kept.
func paretoFront(cs []evolve.Candidate, metric, cost candidateValue) []evolve.Candidate {
	s := slices.Clone(cs)
	slices.SortStableFunc(s, func(a, b evolve.Candidate) int {
		return cmp.Or(cmp.Compare(cost(&a), cost(&b)), cmp.Compare(metric(&b), metric(&a)))
	})
	var front []evolve.Candidate
	for _, c := range s {
		if len(front) == 0 || metric(&c) > metric(&front[len(front)-1]) {
			front = append(front, c)
		}
	}
	return front
}

type bestFlags struct {
	pareto    bool
	metric    string
	objective string
	id        string
	export    string
	treeOut   string
	asJSON    bool
}

func newBestCmd() *cobra.Command {
	var f bestFlags
	cmd := &cobra.Command{
		Use:   "best RUN_DIR [--pareto] [--metric val_acc] [--objective params|flops|latency] [--export model.py] [--tree out.json]",
		Short: "Show the best candidate or the accuracy/size Pareto front, and export it as a standalone PyTorch file",
		Long: `best prints the run's best successfully trained candidate by --metric
(val_acc, the search's signal, or test_acc). --pareto prints instead every
candidate that no other beats on both the metric and --objective (params,
flops or latency). --export writes the chosen candidate (the best, or --id)
as one standalone PyTorch file defining class Candidate, with the catalog
modules it uses inlined: copy it anywhere with torch and train it.
--tree writes its architecture tree as JSON (arbor tree check/render read it).
It reads the store read-only, so it works while the search runs.`,
		Args: wantArgs("best", 1, "one RUN_DIR"),
		RunE: func(cmd *cobra.Command, args []string) error { return runBest(cmd, args[0], f) },
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.pareto, "pareto", false, "print the non-dominated set on --metric versus --objective")
	fl.StringVar(&f.metric, "metric", metricValAcc, "metric to maximise: val_acc or test_acc")
	fl.StringVar(&f.objective, "objective", "params", "cost to minimise for --pareto: params, flops or latency")
	fl.StringVar(&f.id, "id", "", "export this candidate instead of the best")
	fl.StringVar(&f.export, "export", "", "write the candidate as a standalone PyTorch file")
	fl.StringVar(&f.treeOut, "tree", "", "write the candidate's architecture tree as JSON")
	fl.BoolVar(&f.asJSON, "json", false, "print JSON")
	return cmd
}

// candidateJSON is the --json view of one candidate.
type candidateJSON struct {
	ID        string  `json:"id"`
	ParentID  string  `json:"parent_id,omitempty"`
	Op        string  `json:"op"`
	Path      string  `json:"path,omitempty"`
	ValAcc    float64 `json:"val_acc"`
	TestAcc   float64 `json:"test_acc"`
	Params    int64   `json:"params"`
	FLOPs     int64   `json:"flops"`
	LatencyMS float64 `json:"latency_ms"`
}

func toJSON(c evolve.Candidate) candidateJSON {
	return candidateJSON{ID: c.ID, ParentID: c.ParentID, Op: c.Op, Path: c.Path, ValAcc: c.Result.ValAcc,
		TestAcc: c.Result.TestAcc, Params: c.Params, FLOPs: c.FLOPs, LatencyMS: c.Result.LatencyMS}
}

func runBest(cmd *cobra.Command, dir string, f bestFlags) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	metric, err := metricFunc(f.metric)
	if err != nil {
		return err
	}
	cost, costName, err := objectiveFunc(f.objective)
	if err != nil {
		return err
	}
	s, err := openRun(dir)
	if err != nil {
		return err
	}
	defer s.Close()
	all, err := s.Candidates(ctx)
	if err != nil {
		return err
	}
	ok := feasible(all)
	out := cmd.OutOrStdout()
	if len(ok) == 0 && f.id == "" {
		return fmt.Errorf("run %s: no candidate has trained successfully yet (%d proposed); see arbor status %s", dir, len(all), dir)
	}

	if f.pareto {
		if f.objective == "latency" && !slices.ContainsFunc(ok, func(c evolve.Candidate) bool { return c.Result.LatencyMS > 0 }) {
			return usagef("--objective latency: no candidate of %s has a latency measurement (this evaluator does not measure it); use params or flops", dir)
		}
		front := paretoFront(ok, metric, cost)
		if f.asJSON {
			js := make([]candidateJSON, len(front))
			for i, c := range front {
				js[i] = toJSON(c)
			}
			return writeJSON(out, js)
		}
		fmt.Fprintf(out, "Pareto front of %s: %d of %d trained candidates are not beaten on both %s (higher is better) and %s (lower is better):\n",
			dir, len(front), len(ok), f.metric, costName)
		writeCandidateTable(out, front)
	}

	var chosen evolve.Candidate
	if f.id != "" {
		if chosen, err = s.Candidate(ctx, f.id); err != nil {
			return asUsage(fmt.Errorf("--id: %w", err))
		}
	} else {
		chosen = topByMetric(ok, f.metric, 1)[0]
	}
	if !f.pareto {
		if f.asJSON {
			if err := writeJSON(out, toJSON(chosen)); err != nil {
				return err
			}
		} else {
			what := "best by " + f.metric
			if f.id != "" {
				what = "candidate"
			}
			fmt.Fprintf(out, "%s of %s (%d trained successfully):\n", what, dir, len(ok))
			writeCandidateTable(out, []evolve.Candidate{chosen})
			if f.export == "" {
				fmt.Fprintf(out, "export it: arbor best %s --export model.py; its history: arbor lineage %s %s\n", dir, dir, chosen.ID)
			}
		}
	}
	if f.export != "" {
		src, err := exportSource(ctx, s, dir, chosen)
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.export, []byte(src), 0o644); err != nil {
			return asUsage(fmt.Errorf("--export: %w", err))
		}
		if !f.asJSON {
			fmt.Fprintf(out, "wrote %s: class Candidate of %s (python3 %s builds it and runs one forward pass)\n", f.export, chosen.ID, f.export)
		}
	}
	if f.treeOut != "" {
		if len(chosen.Tree) == 0 {
			return fmt.Errorf("candidate %s has no stored tree", chosen.ID)
		}
		t, err := tree.Parse(chosen.Tree)
		if err != nil {
			return fmt.Errorf("candidate %s: stored tree: %w", chosen.ID, err)
		}
		b, err := json.MarshalIndent(t, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.treeOut, append(b, '\n'), 0o644); err != nil {
			return asUsage(fmt.Errorf("--tree: %w", err))
		}
		if !f.asJSON {
			fmt.Fprintf(out, "wrote %s: the architecture tree of %s\n", f.treeOut, chosen.ID)
		}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// exportSource is the standalone PyTorch file of c: the source the run
// rendered (with the run's catalog) and trained, or, when the store lacks
// it, the tree rendered anew with the catalog of the run's configuration;
// plus a header saying where it came from and a main that builds it.
func exportSource(ctx context.Context, s *evolve.Store, dir string, c evolve.Candidate) (string, error) {
	if len(c.Tree) == 0 {
		return "", fmt.Errorf("candidate %s has no stored tree (a codegen candidate?); nothing to export", c.ID)
	}
	t, err := tree.Parse(c.Tree)
	if err != nil {
		return "", fmt.Errorf("candidate %s: stored tree: %w", c.ID, err)
	}
	src := c.Source
	if src == "" {
		cat, err := runCatalog(ctx, s)
		if err != nil {
			return "", err
		}
		if src, err = tree.Render(t, cat); err != nil {
			return "", fmt.Errorf("candidate %s: render: %w", c.ID, err)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Exported by `arbor best --export` from run %s, candidate %s (parent %s, %s).\n", dir, c.ID, orDash(c.ParentID), opAt(c))
	fmt.Fprintf(&b, "# In the search: validation accuracy %.2f%%", c.Result.ValAcc)
	if c.Result.TestAcc > 0 {
		fmt.Fprintf(&b, ", test accuracy %.2f%%", c.Result.TestAcc)
	}
	fmt.Fprintf(&b, "; %d parameters, %d FLOPs.\n# Input %s, %d classes. Needs only torch: import class Candidate from this file.\n",
		c.Params, c.FLOPs, t.Input, t.Classes)
	b.WriteString(strings.TrimRight(src, "\n"))
	fmt.Fprintf(&b, `


if __name__ == "__main__":
    # Build the model and check one forward pass on a dummy batch.
    model = Candidate()
    x = torch.randn(2, %d, %d, %d)
    y = model(x)
    print("output", tuple(y.shape), "parameters", sum(p.numel() for p in model.parameters()))
`, t.Input.C, t.Input.H, t.Input.W)
	return b.String(), nil
}

// runCatalog loads the module catalog named in the run's stored
// configuration (nil when it used none).
func runCatalog(ctx context.Context, s *evolve.Store) (tree.Catalog, error) {
	raw, ok, err := s.Meta(ctx, metaCLIConfig)
	if err != nil || !ok {
		return nil, err
	}
	cfg := DefaultConfig()
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return nil, fmt.Errorf("run %s: stored configuration: %w", s.Path(), err)
	}
	if cfg.Run.Catalog == "" {
		return nil, nil
	}
	cat, err := mine.LoadCatalog(cfg.Run.Catalog)
	if err != nil {
		return nil, fmt.Errorf("the run's catalog (run.catalog %s): %w", cfg.Run.Catalog, err)
	}
	return cat.Specs(), nil
}
