package evolve

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/arbor-nas/arbor/train"
)

// TestCheckpointsPrune: the best Keep by validation accuracy keep their
// weights within the disk budget; the others' files, and files of
// candidates the run does not know, are removed.
func TestCheckpointsPrune(t *testing.T) {
	cands := []*Candidate{
		{ID: "a", Result: train.Result{ValAcc: 70}},
		{ID: "b", Result: train.Result{ValAcc: 90}},
		{ID: "c", Result: train.Result{ValAcc: 80}},
		{ID: "d", Result: train.Result{ValAcc: 90}}, // ties: earlier finished first
	}
	for _, tc := range []struct {
		name  string
		rule  CheckpointConfig
		files []string
		want  []string
	}{
		{"keep two", CheckpointConfig{Keep: 2}, []string{"a", "b", "c", "d", "stray"}, []string{"b", "d"}},
		{"missing file", CheckpointConfig{Keep: 2}, []string{"a", "c", "d"}, []string{"c", "d"}},
		{"disk budget", CheckpointConfig{Keep: 3, MaxMB: 2.5}, []string{"a", "b", "c", "d"}, []string{"b", "d"}},
		{"keep all", CheckpointConfig{Keep: 10}, []string{"a", "b"}, []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &Checkpoints{Dir: t.TempDir(), Rule: tc.rule}
			for _, id := range tc.files {
				if err := os.WriteFile(k.Path(id), make([]byte, 1<<20), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(k.Dir, ".b.pt.arbor-tmp-1-2"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := k.prune(rankForCheckpoints(cands)); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, id := range []string{"a", "b", "c", "d", "stray"} {
				if _, err := os.Stat(k.Path(id)); err == nil {
					got = append(got, id)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("kept %v, want %v", got, tc.want)
			}
			if _, err := os.Stat(filepath.Join(k.Dir, ".b.pt.arbor-tmp-1-2")); err != nil {
				t.Errorf("a writer's temporary file was removed: %v", err)
			}
		})
	}
}
