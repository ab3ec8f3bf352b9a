package evolve

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// CheckpointDir is the run directory's folder of trained weights.
const CheckpointDir = "checkpoints"

// Checkpoints is where a run's trained weights live and which are kept:
// one state_dict file per candidate, named by its ID, under the retention
// rule of CheckpointConfig. The files are opaque to the engine; the
// evaluator writes them (atomically) at Path.
type Checkpoints struct {
	Dir  string
	Rule CheckpointConfig
}

// Path is where candidate id's weights are stored.
func (k *Checkpoints) Path(id string) string { return filepath.Join(k.Dir, id+".pt") }

// CheckpointPath is the file of candidate id's weights in the run
// directory dir (it may not exist: not kept, or never written).
func CheckpointPath(dir, id string) string {
	return (&Checkpoints{Dir: filepath.Join(dir, CheckpointDir)}).Path(id)
}

// prune deletes every checkpoint but those of the best Rule.Keep of
// ranked (feasible candidates, best first) that fit in Rule.MaxMB, and
// returns what it removed. Files of unknown candidates (a killed job's)
// go too; temporary files of writers still running are left alone.
func (k *Checkpoints) prune(ranked []*Candidate) ([]string, error) {
	entries, err := os.ReadDir(k.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	size := map[string]int64{}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".pt")
		if !ok || e.IsDir() {
			continue
		}
		if info, err := e.Info(); err == nil {
			size[id] = info.Size()
		}
	}
	keep := map[string]bool{}
	var used int64
	limit := int64(k.Rule.MaxMB * (1 << 20))
	for _, c := range ranked {
		if len(keep) >= k.Rule.Keep {
			break
		}
		n, ok := size[c.ID]
		if !ok {
			continue
		}
		if limit > 0 && used+n > limit {
			break
		}
		keep[c.ID] = true
		used += n
	}
	var removed []string
	var errs []error
	for id := range size {
		if keep[id] {
			continue
		}
		if err := os.Remove(k.Path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, id)
	}
	slices.Sort(removed)
	return removed, errors.Join(errs...)
}

// rankForCheckpoints is the feasible candidates best first by validation
// accuracy, earlier finished first on ties.
func rankForCheckpoints(feasible []*Candidate) []*Candidate {
	out := slices.Clone(feasible)
	slices.SortStableFunc(out, func(a, b *Candidate) int { return cmp.Compare(b.Result.ValAcc, a.Result.ValAcc) })
	return out
}
