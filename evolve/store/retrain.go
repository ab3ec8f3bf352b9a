package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"

	"github.com/arbor-nas/arbor/train"
)

// MetaRetrain is the store's key for the last retraining's results.
const MetaRetrain = "retrain"

// RetrainRun is one training of one candidate.
type RetrainRun struct {
	ID      string       `json:"id"`
	Seed    int64        `json:"seed"`
	Status  train.Status `json:"status"`
	ValAcc  float64      `json:"val_acc"`
	TestAcc float64      `json:"test_acc"`
	WallS   float64      `json:"wall_s"`
	Error   string       `json:"error,omitempty"`
}

// RetrainCandidate is one candidate's retrained figures: test accuracy
// mean ± std (sample std, 0 for one run) over the runs that succeeded.
type RetrainCandidate struct {
	ID        string       `json:"id"`
	SearchVal float64      `json:"search_val_acc"` // the proxy figure it was chosen by
	Params    int64        `json:"params"`
	Runs      []RetrainRun `json:"runs"`
	N         int          `json:"n"`
	TestMean  float64      `json:"test_mean"`
	TestStd   float64      `json:"test_std"`
	ValMean   float64      `json:"val_mean"`
}

// Retraining is the result of `arbor retrain`, stored in the run under
// MetaRetrain: the recipe the finalists were trained with and their test
// accuracy, best first by retrained validation accuracy (the test set
// picks nothing, not even among the finalists).
type Retraining struct {
	Recipe     train.Recipe       `json:"recipe"`
	Dataset    train.Dataset      `json:"dataset"`
	Seeds      []int64            `json:"seeds"`
	Candidates []RetrainCandidate `json:"candidates"`
	Finished   time.Time          `json:"finished"`
}

// Best is the retrained candidate with the highest mean validation
// accuracy, whose test accuracy is the run's published figure (ok false
// when none succeeded).
func (r *Retraining) Best() (RetrainCandidate, bool) {
	if len(r.Candidates) == 0 || r.Candidates[0].N == 0 {
		return RetrainCandidate{}, false
	}
	return r.Candidates[0], true
}

// Retraining is the run's last retraining (ok false when it has none).
// It reads the store only, so status, reports and the dashboard can show
// it while anything else runs.
func (s *Store) Retraining(ctx context.Context) (*Retraining, bool, error) {
	raw, ok, err := s.Meta(ctx, MetaRetrain)
	if err != nil || !ok {
		return nil, false, err
	}
	var r Retraining
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return nil, false, fmt.Errorf("run %s: stored retraining: %w", s.Path(), err)
	}
	return &r, true, nil
}

// SetRetraining stores r as the run's retraining.
func (s *Store) SetRetraining(ctx context.Context, r *Retraining) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.SetMeta(ctx, MetaRetrain, string(b))
}

// Print writes the retraining table: per candidate the search's validation
// accuracy and the retrained test accuracy mean ± std over seeds.
func (r *Retraining) Print(w io.Writer) {
	subset := "all"
	if r.Recipe.Subset > 0 {
		subset = fmt.Sprint(r.Recipe.Subset)
	}
	fmt.Fprintf(w, "retrained %d candidates × %d seeds (%v) on %s: %d epochs, %s training images, test set %s\n",
		len(r.Candidates), len(r.Seeds), r.Seeds, r.Dataset.Name, r.Recipe.Epochs, subset, "(never used for selection)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "#\tid\tparams\tsearch val %\tretrained val % (mean)\ttest % (mean ± std)\truns ok\t")
	for i, c := range r.Candidates {
		test, val := "-", "-"
		if c.N > 0 {
			test = fmt.Sprintf("%.2f ± %.2f", c.TestMean, c.TestStd)
			val = fmt.Sprintf("%.2f", c.ValMean)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%.2f\t%s\t%s\t%d/%d\t\n", i+1, c.ID, c.Params, c.SearchVal, val, test, c.N, len(c.Runs))
	}
	tw.Flush()
	for _, c := range r.Candidates {
		for _, run := range c.Runs {
			if run.Status != train.StatusOK {
				fmt.Fprintf(w, "%s seed %d: %s: %s\n", c.ID, run.Seed, run.Status, firstLine(run.Error))
			}
		}
	}
	if b, ok := r.Best(); ok && !math.IsNaN(b.TestMean) {
		fmt.Fprintf(w, "best by retrained validation accuracy: %s, test accuracy %.2f ± %.2f%% over %d seeds\n", b.ID, b.TestMean, b.TestStd, b.N)
	}
}

func firstLine(s string) string {
	for i := range len(s) {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
