package dashboard

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/arbor-nas/arbor/evolve/store"
)

// Kinds of directory the dashboard opens.
const (
	kindRun   = "run"
	kindBench = "bench"
)

// found is one directory to show: a run directory (it holds run.db) or an
// `arbor bench` output directory (it holds runs.csv and curves.csv, or,
// for `bench compare`, compare.json from the start).
type found struct {
	name, dir, kind string
}

// benchFiles mark an `arbor bench` output directory.
var benchFiles = []string{"runs.csv", "curves.csv"}

func kindOf(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, store.StoreFile)); err == nil {
		return kindRun
	}
	if _, err := os.Stat(filepath.Join(dir, compareRecord)); err == nil {
		return kindBench
	}
	for _, f := range benchFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return ""
		}
	}
	return kindBench
}

// compareRecord marks a `bench compare` directory while its first run is
// still going; its runs are under runsDir, strategy/seed-N deep.
const (
	compareRecord = "compare.json"
	runsDir       = "runs"
)

// scanDepth is how deep below a parent directory runs are looked for
// (parent/run, parent/group/run).
const scanDepth = 2

// checkRoots fails on a root that is not a directory, naming it: a typo
// on the command line should not show an empty page.
func checkRoots(roots []string) error {
	if len(roots) == 0 {
		return fmt.Errorf("give at least one run directory, bench output directory, or a directory holding them")
	}
	for _, r := range roots {
		st, err := os.Stat(r)
		if err != nil {
			return fmt.Errorf("%s: %w (give a run directory, an arbor bench output directory, or a directory holding them)", r, err)
		}
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory (give the run directory that holds %s, not the file)", r, store.StoreFile)
		}
	}
	return nil
}

// discover lists the runs and bench directories under roots: a root that
// is one is shown itself, any other root is searched scanDepth levels
// deep, so runs started later in a parent directory are picked up on the
// next scan. Names are unique and stable for a given directory.
func discover(roots []string) []found {
	var out []found
	seen := map[string]bool{}
	add := func(name, dir, kind string) {
		abs, err := filepath.Abs(dir)
		if err != nil || seen[abs] {
			return
		}
		seen[abs] = true
		out = append(out, found{name: name, dir: dir, kind: kind})
	}
	for _, root := range roots {
		base := filepath.Base(filepath.Clean(root))
		var walk func(dir, rel string, depth int)
		// A bench directory's runs (bench compare's runs/STRATEGY/seed-N)
		// are listed too, so that each opens as a run.
		benchRuns := func(dir, rel string) {
			if st, err := os.Stat(filepath.Join(dir, runsDir)); err == nil && st.IsDir() {
				walk(filepath.Join(dir, runsDir), rel+"/"+runsDir, 0)
			}
		}
		walk = func(dir, rel string, depth int) {
			entries, err := os.ReadDir(dir)
			if err != nil {
				return
			}
			for _, e := range entries {
				if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
					continue
				}
				sub := filepath.Join(dir, e.Name())
				subRel := rel + "/" + e.Name()
				if k := kindOf(sub); k != "" {
					add(subRel, sub, k)
					if k == kindBench {
						benchRuns(sub, subRel)
					}
				} else if depth < scanDepth {
					walk(sub, subRel, depth+1)
				}
			}
		}
		if k := kindOf(root); k != "" {
			add(base, root, k)
			if k == kindBench {
				benchRuns(root, base)
			}
			continue
		}
		walk(root, base, 1)
	}
	// Two roots with the same base name: keep names unique.
	count := map[string]int{}
	for i := range out {
		count[out[i].name]++
		if n := count[out[i].name]; n > 1 {
			out[i].name = fmt.Sprintf("%s~%d", out[i].name, n)
		}
	}
	slices.SortStableFunc(out, func(a, b found) int { return strings.Compare(a.name, b.name) })
	return out
}
