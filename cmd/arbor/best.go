package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train/atomicfile"
	"github.com/arbor-nas/arbor/tree"
)

type bestFlags struct {
	pareto    bool
	metric    string
	objective string
	id        string
	export    string
	onnx      string
	verify    bool
	treeOut   string
	asJSON    bool
}

func newBestCmd() *cobra.Command {
	var f bestFlags
	cmd := &cobra.Command{
		Use:   "best RUN_DIR [--pareto] [--metric val_acc] [--objective params|flops|latency] [-o model.py] [--tree out.json]",
		Short: "Show the best candidate or the accuracy/size Pareto front, and export it as a standalone PyTorch file",
		Long: `best prints the run's best successfully trained candidate by --metric
(val_acc, the search's signal, or test_acc). --pareto prints instead every
candidate that no other beats on both the metric and --objective (params,
flops or latency). -o writes the chosen candidate (the best, or --id)
as one standalone PyTorch file defining class Candidate(input_shape,
num_classes), the run's values as defaults, with the catalog modules it
uses inlined: copy it anywhere with torch, train it, torch.jit.script it.
When the run kept the candidate's trained weights (evolve.checkpoints), -o
also writes them beside it (model.py -> model.pt, a state_dict that
Candidate().load_state_dict(torch.load("model.pt")) takes); --verify then
measures the pair on the run's validation split against the stored
accuracy, and --onnx writes the trained model as ONNX (checked with
onnx.checker when python3-onnx is installed).
--tree writes its architecture tree as JSON (arbor tree check/render read it).
It reads the store read-only, so it works while the search runs.`,
		Args: wantArgs("best", 1, "one RUN_DIR"),
		RunE: func(cmd *cobra.Command, args []string) error { return runBest(cmd, args[0], f) },
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.pareto, "pareto", false, "print the non-dominated set on --metric versus --objective")
	fl.StringVar(&f.metric, "metric", report.ValAcc, "metric to maximise: val_acc or test_acc")
	fl.StringVar(&f.objective, "objective", "params", "cost to minimise for --pareto: params, flops or latency")
	fl.StringVar(&f.id, "id", "", "export this candidate instead of the best")
	outputFlag(fl, &f.export, "", "write the candidate as a standalone PyTorch file (and its kept weights as .pt beside it)", "export")
	fl.StringVar(&f.onnx, "onnx", "", "write the trained candidate as an ONNX file (needs -o)")
	fl.BoolVar(&f.verify, "verify", false, "measure the exported file and weights on the run's validation split (needs -o)")
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

func toJSON(c store.Candidate) candidateJSON {
	return candidateJSON{ID: c.ID, ParentID: c.ParentID, Op: c.Op, Path: c.Path, ValAcc: c.Result.ValAcc,
		TestAcc: c.Result.TestAcc, Params: c.Params, FLOPs: c.FLOPs, LatencyMS: c.Result.LatencyMS}
}

func runBest(cmd *cobra.Command, dir string, f bestFlags) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	metric, err := report.Metric(f.metric)
	if err != nil {
		return run.Input(err)
	}
	cost, costName, err := report.Objective(f.objective)
	if err != nil {
		return run.Input(err)
	}
	s, err := run.OpenReadOnly(dir)
	if err != nil {
		return err
	}
	defer s.Close()
	all, err := s.Candidates(ctx)
	if err != nil {
		return err
	}
	ok := report.Feasible(all)
	out := cmd.OutOrStdout()
	if len(ok) == 0 && f.id == "" {
		return fmt.Errorf("run %s: no candidate has trained successfully yet (%d proposed); see arbor status %s", dir, len(all), dir)
	}

	if f.pareto {
		if f.objective == "latency" && !slices.ContainsFunc(ok, func(c store.Candidate) bool { return c.Result.LatencyMS > 0 }) {
			return usagef("--objective latency: no candidate of %s has a latency measurement (this evaluator does not measure it); use params or flops", dir)
		}
		front := report.ParetoFront(ok, metric, cost)
		if f.asJSON {
			js := make([]candidateJSON, len(front))
			for i, c := range front {
				js[i] = toJSON(c)
			}
			return writeJSON(out, js)
		}
		fmt.Fprintf(out, "Pareto front of %s: %d of %d trained candidates are not beaten on both %s (higher is better) and %s (lower is better):\n",
			dir, len(front), len(ok), f.metric, costName)
		report.WriteCandidates(out, front)
	}

	var chosen store.Candidate
	if f.id != "" {
		if chosen, err = s.Candidate(ctx, f.id); err != nil {
			return asUsage(fmt.Errorf("--id: %w", err))
		}
	} else {
		chosen = report.Top(ok, f.metric, 1)[0]
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
			report.WriteCandidates(out, []store.Candidate{chosen})
			if f.export == "" {
				fmt.Fprintf(out, "export it: arbor best %s -o model.py; its history: arbor lineage %s %s\n", dir, dir, chosen.ID)
			}
		}
	}
	if f.export != "" {
		var cat tree.Catalog
		if chosen.Source == "" { // rendered anew: the run's catalog resolves its modules
			if cat, err = run.Catalog(ctx, s); err != nil {
				return err
			}
		}
		src, err := report.ExportSource(dir, chosen, cat)
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(f.export, []byte(src), 0o644); err != nil {
			return asUsage(fmt.Errorf("--output: %w", err))
		}
		if !f.asJSON {
			fmt.Fprintf(out, "wrote %s: class Candidate of %s (python3 %s builds it and runs one forward pass)\n", f.export, chosen.ID, f.export)
		}
		if err := exportWeights(ctx, cmd, dir, chosen, src, f); err != nil {
			return err
		}
	} else if f.onnx != "" || f.verify {
		return usagef("--onnx and --verify need -o FILE.py")
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
		if err := atomicfile.WriteFile(f.treeOut, append(b, '\n'), 0o644); err != nil {
			return asUsage(fmt.Errorf("--tree: %w", err))
		}
		if !f.asJSON {
			fmt.Fprintf(out, "wrote %s: the architecture tree of %s\n", f.treeOut, chosen.ID)
		}
	}
	return nil
}

// exportWeights copies the candidate's kept weights beside the exported
// file and, as asked, verifies the pair and writes ONNX.
func exportWeights(ctx context.Context, cmd *cobra.Command, dir string, c store.Candidate, src string, f bestFlags) error {
	out := cmd.OutOrStdout()
	ckpt := evolve.CheckpointPath(dir, c.ID)
	if _, err := os.Stat(ckpt); err != nil {
		if f.onnx != "" || f.verify {
			return fmt.Errorf("candidate %s has no kept weights (%s): the run did not keep them (evolve.checkpoints)", c.ID, ckpt)
		}
		return nil
	}
	weights := strings.TrimSuffix(f.export, filepath.Ext(f.export)) + ".pt"
	data, err := os.ReadFile(ckpt)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(weights, data, 0o644); err != nil {
		return asUsage(fmt.Errorf("--output: %w", err))
	}
	if !f.asJSON {
		fmt.Fprintf(out, "wrote %s: its trained state_dict (Candidate().load_state_dict(torch.load(%q)))\n", weights, weights)
	}
	log := newLogger(cmd.ErrOrStderr(), "warn")
	if f.verify {
		res, err := run.VerifyExport(ctx, dir, src, weights, log)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "verified: %s + %s give validation accuracy %.2f%% on the run's split; stored %.2f%% (difference %+.2f points)\n",
			f.export, weights, res.ValAcc, c.Result.ValAcc, res.ValAcc-c.Result.ValAcc)
	}
	if f.onnx != "" {
		t, err := tree.Parse(c.Tree)
		if err != nil {
			return err
		}
		r, err := run.ExportONNX(ctx, dir, f.export, weights, f.onnx, [3]int{t.Input.C, t.Input.H, t.Input.W}, log)
		if err != nil {
			return err
		}
		checked := "not checked: " + r.Note
		if r.Checked {
			checked = "onnx.checker passed (onnx " + r.Version + ")"
		}
		fmt.Fprintf(out, "wrote %s: ONNX of %s with its trained weights; %s\n", f.onnx, c.ID, checked)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
