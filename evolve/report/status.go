package report

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/arbor-nas/arbor/evolve/store"
)

// Status is everything the human-readable `arbor status` shows.
type Status struct {
	Dir        string
	Summary    store.Summary
	Last       store.Event
	HasEvents  bool
	Ops        []store.OpStats
	Posteriors store.Posteriors
	HasPlanner bool
	Top        []store.Candidate
	// Retrain is the run's last `arbor retrain`, nil when there was none.
	Retrain *store.Retraining
	// State is running, finished, stopped (no process owns the run and it
	// did not finish) or empty; see store.State.
	State store.RunState
	// Noise is the proxy's measured noise (nil: not measured).
	Noise *store.Noise
}

// ReadStatus gathers the status of the run in store s (read from dir),
// with its top candidates by validation accuracy.
func ReadStatus(ctx context.Context, dir string, s *store.Store, top int) (Status, error) {
	fs := Status{Dir: dir}
	var err error
	if fs.Summary, err = s.Summary(ctx); err != nil {
		return fs, err
	}
	if fs.Last, fs.HasEvents, err = s.LastEvent(ctx); err != nil {
		return fs, err
	}
	if fs.Ops, err = s.OpStats(ctx); err != nil {
		return fs, err
	}
	if fs.Posteriors, fs.HasPlanner, err = s.Posteriors(ctx); err != nil {
		return fs, err
	}
	cands, err := s.Candidates(ctx)
	if err != nil {
		return fs, err
	}
	fs.Top = Top(cands, ValAcc, top)
	if js, ok, err := s.Meta(ctx, store.MetaNoise); err != nil {
		return fs, err
	} else if ok {
		var n store.Noise
		if err := json.Unmarshal([]byte(js), &n); err != nil {
			return fs, fmt.Errorf("%s: meta %s: %w", dir, store.MetaNoise, err)
		}
		fs.Noise = &n
	}
	if fs.Retrain, _, err = s.Retraining(ctx); err != nil {
		return fs, err
	}
	fs.State = store.State(dir, fs.Last, fs.HasEvents)
	return fs, nil
}

// WriteStatus prints the status: state, counts by status and gate
// reason, per-operation success rates with the planner's posteriors, LLM
// spend and the top candidates.
func WriteStatus(w io.Writer, fs Status) {
	sum := fs.Summary
	fmt.Fprintf(w, "run %s: %s\n", fs.Dir, StateText(fs.State, fs.Dir, fs.Last))
	budget := ""
	if fs.HasEvents && fs.Last.Budget > 0 {
		budget = fmt.Sprintf(" of a budget of %d", fs.Last.Budget)
	}
	fmt.Fprintf(w, "trained %d%s; %d candidates proposed: %s\n", sum.Trained, budget, sum.Candidates, CountsLine(sum.ByStatus))
	if len(sum.TrainStatus) > 0 {
		fmt.Fprintf(w, "training outcome: %s\n", CountsLine(sum.TrainStatus))
	}
	if len(sum.RejectedByReason) > 0 {
		fmt.Fprintf(w, "rejected by gate: %s\n", CountsLine(sum.RejectedByReason))
	} else {
		fmt.Fprintln(w, "rejected by gate: none")
	}
	if len(sum.PreGate) > 0 {
		fmt.Fprintf(w, "filtered by the pre-gate before any resolver saw them (not stored, no LLM call): %s\n", CountsLine(sum.PreGate))
	}
	if n := fs.Noise; n != nil {
		fmt.Fprintf(w, "proxy noise: σ %.2f points (the seed trained %d times: %s%%); a win must beat its parent by more than %.2f points\n",
			n.Sigma, len(n.Values), joinFloats(n.Values), n.Margin)
	}

	if len(fs.Ops) > 0 {
		fmt.Fprintln(w, "\noperations (success: the child beat its parent, among those trained):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "op\tproposed\trejected\ttrained\tfailed\twins\tsuccess\tposterior mean\t")
		for _, o := range fs.Ops {
			post := "-"
			if a, ok := fs.Posteriors.Ops[o.Op]; ok && fs.HasPlanner {
				post = fmt.Sprintf("%.2f  Beta(%g,%g)", a.Mean(), a.Alpha, a.Beta)
			}
			rate, wins := "-", fmt.Sprint(o.Wins)
			switch {
			case o.Op == store.OpSeed:
				wins = "-" // a seed has no parent to beat
			case o.Trained+o.Failed > 0:
				rate = fmt.Sprintf("%.0f%%", 100*o.SuccessRate())
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t\n", o.Op, o.Proposed, o.Rejected, o.Trained, o.Failed, wins, rate, post)
		}
		tw.Flush()
	}
	if fs.HasPlanner && len(fs.Posteriors.Cats) > 0 {
		var cats []string
		for _, m := range fs.Posteriors.Cats {
			for c := range m {
				if !slices.Contains(cats, c) {
					cats = append(cats, c)
				}
			}
		}
		slices.Sort(cats)
		fmt.Fprintln(w, "\nplanner posterior means by prompt category (pulls in brackets):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "op\t%s\t\n", strings.Join(cats, "\t"))
		for _, op := range slices.Sorted(maps.Keys(fs.Posteriors.Cats)) {
			row := []string{op}
			for _, c := range cats {
				a := fs.Posteriors.Cats[op][c]
				if a.Alpha+a.Beta == 0 {
					row = append(row, "-")
					continue
				}
				row = append(row, fmt.Sprintf("%.2f [%d]", a.Mean(), a.Pulls))
			}
			fmt.Fprintf(tw, "%s\t\n", strings.Join(row, "\t"))
		}
		tw.Flush()
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, sum.LLM.String())
	if sum.Trained > 0 {
		pt := sum.LLMPerTrained
		fmt.Fprintf(w, "per trained candidate: %.2f decisions, %.2f HTTP requests, %.2f proposals\n", pt.Decisions, pt.Requests, pt.Proposals)
	}
	if sum.Codegen != nil {
		fmt.Fprintf(w, "codegen: %d proposed, %d invalid (%.1f%%)\n", sum.Codegen.Proposed, sum.Codegen.Invalid, 100*sum.Codegen.Rate)
	}
	if len(fs.Top) == 0 {
		fmt.Fprintln(w, "top: none trained successfully yet")
		return
	}
	fmt.Fprintf(w, "\ntop %d by validation accuracy:\n", len(fs.Top))
	WriteCandidates(w, fs.Top)
	if fs.Retrain != nil {
		fmt.Fprintln(w)
		fs.Retrain.Print(w)
	}
}

// CountsLine writes counts largest first: "space 520 · duplicate 11".
func CountsLine(m map[string]int) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(m[b]-m[a], strings.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := k
		if name == "" {
			name = "(none)"
		}
		parts[i] = fmt.Sprintf("%s %d", name, m[k])
	}
	return strings.Join(parts, " · ")
}

// WriteCandidates prints candidates with their rank, lineage step and
// metrics, one per line.
func WriteCandidates(w io.Writer, cs []store.Candidate) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tid\tparent\toperation\tval_acc\ttest_acc\tparams\tFLOPs\t")
	for i, c := range cs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.2f%%\t%s\t%s\t%s\t\n", i+1, c.ID, OrDash(c.ParentID), OpAt(c),
			c.Result.ValAcc, pctOrDash(c.Result.TestAcc), Count(c.Params), Count(c.FLOPs))
	}
	tw.Flush()
}

func OpAt(c store.Candidate) string {
	s := c.Op
	if c.Path != "" {
		s += "@" + c.Path
	}
	return s
}

func pctOrDash(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", v)
}

// StateText describes state for people: the finished run's reason, and
// for a stopped run the command that resumes it.
func StateText(state store.RunState, dir string, last store.Event) string {
	switch state {
	case store.RunFinished:
		return "finished: " + FirstLine(last.Message)
	case store.RunRunning:
		return "running"
	case store.RunStopped:
		return store.StoppedText(dir)
	}
	return "no events yet"
}

func joinFloats(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, " ")
}
