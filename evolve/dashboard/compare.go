package dashboard

import (
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/arbor-nas/arbor/evolve/report"
)

// compareView puts several runs on one chart: runs of one strategy form a
// group, drawn as its mean best-so-far validation accuracy with a ±1 std
// band over the group's runs (its seeds), and every two groups are
// compared seed by seed (a paired difference) at equal budgets.
type compareView struct {
	Title  string         `json:"title"`
	Groups []compareGroup `json:"groups"`
	Runs   []compareRun   `json:"runs"`
	Pairs  []pairedDiff   `json:"pairs"`
	// Missing names the runs asked for that are not (yet) readable.
	Missing []string `json:"missing,omitempty"`
}

type compareGroup struct {
	Name string   `json:"name"`
	Runs []string `json:"runs"`
	// Points are (candidates trained, mean, std) over the group's runs,
	// for every count all of them have reached.
	Points [][3]float64 `json:"points"`
}

type compareRun struct {
	Name    string  `json:"name"`
	Group   string  `json:"group"`
	Seed    uint64  `json:"seed"`
	State   string  `json:"state"`
	Trained int     `json:"trained"`
	BestID  string  `json:"best_id,omitempty"`
	BestVal float64 `json:"best_val"` // NaN-free: -1 when none
	// Curve[t-1] is the best validation accuracy after t finished
	// candidates (-1 before the first success).
	Curve []float64 `json:"curve"`
}

// pairedDiff is A minus B over the seeds both groups ran, each pair taken
// at the budget both runs of that seed have reached.
type pairedDiff struct {
	A      string     `json:"a"`
	B      string     `json:"b"`
	Name   string     `json:"name"` // "A − B"
	N      int        `json:"n"`
	Mean   float64    `json:"mean"`
	Std    float64    `json:"std"`
	SE     float64    `json:"se"`
	Wins   int        `json:"wins"` // seeds where A is ahead
	Losses int        `json:"losses"`
	Ties   int        `json:"ties"`
	Diffs  []seedDiff `json:"diffs"`
}

type seedDiff struct {
	Seed    uint64  `json:"seed"`
	Trained int     `json:"trained"`
	Diff    float64 `json:"diff"`
}

// compareRunOf summarizes one loaded run for the comparison.
func (r *runSource) compareRunOf(state string) compareRun {
	cr := compareRun{Name: r.name, Group: r.cfg.Strategy, Seed: r.cfg.Seed, State: state, BestVal: -1, Curve: []float64{}}
	if cr.Group == "" {
		cr.Group = "(unknown strategy)"
	}
	best := -1.0
	for _, c := range report.TrainingOrder(r.cands) {
		cr.Trained++
		if c.Feasible() && c.Result.ValAcc > best {
			best, cr.BestID = c.Result.ValAcc, c.ID
		}
		cr.Curve = append(cr.Curve, best)
	}
	cr.BestVal = best
	return cr
}

// buildCompare groups runs by strategy, in the order first seen, and
// computes the bands and the paired differences.
func buildCompare(title string, runs []compareRun) compareView {
	v := compareView{Title: title, Groups: []compareGroup{}, Runs: runs, Pairs: []pairedDiff{}}
	idx := map[string]int{}
	for _, r := range runs {
		i, ok := idx[r.Group]
		if !ok {
			i = len(v.Groups)
			idx[r.Group] = i
			v.Groups = append(v.Groups, compareGroup{Name: r.Group, Points: [][3]float64{}})
		}
		v.Groups[i].Runs = append(v.Groups[i].Runs, r.Name)
	}
	byName := map[string]compareRun{}
	for _, r := range runs {
		byName[r.Name] = r
	}
	for gi := range v.Groups {
		g := &v.Groups[gi]
		for t := 0; ; t++ {
			var xs []float64
			short := false
			for _, n := range g.Runs {
				c := byName[n].Curve
				if t >= len(c) {
					short = true
					break
				}
				if c[t] >= 0 {
					xs = append(xs, c[t])
				}
			}
			if short {
				break
			}
			if len(xs) < len(g.Runs) {
				continue // a run has no success yet at t
			}
			m, sd := meanStd(xs)
			g.Points = append(g.Points, [3]float64{float64(t + 1), m, sd})
		}
	}
	for i := range v.Groups {
		for j := i + 1; j < len(v.Groups); j++ {
			v.Pairs = append(v.Pairs, pair(v.Groups[i], v.Groups[j], byName))
		}
	}
	return v
}

// pair is group a minus group b, seed by seed: each seed's difference is
// taken at the larger budget both runs have reached.
func pair(a, b compareGroup, runs map[string]compareRun) pairedDiff {
	d := pairedDiff{A: a.Name, B: b.Name, Name: a.Name + " − " + b.Name, Diffs: []seedDiff{}}
	bySeed := map[uint64]compareRun{}
	for _, n := range b.Runs {
		bySeed[runs[n].Seed] = runs[n]
	}
	var xs []float64
	for _, n := range a.Runs {
		ra := runs[n]
		rb, ok := bySeed[ra.Seed]
		if !ok {
			continue
		}
		t := min(len(ra.Curve), len(rb.Curve))
		if t == 0 || ra.Curve[t-1] < 0 || rb.Curve[t-1] < 0 {
			continue
		}
		x := ra.Curve[t-1] - rb.Curve[t-1]
		xs = append(xs, x)
		d.Diffs = append(d.Diffs, seedDiff{Seed: ra.Seed, Trained: t, Diff: round(x, 4)})
		switch {
		case x > 0:
			d.Wins++
		case x < 0:
			d.Losses++
		default:
			d.Ties++
		}
	}
	slices.SortFunc(d.Diffs, func(x, y seedDiff) int { return cmpUint(x.Seed, y.Seed) })
	d.N = len(xs)
	if d.N > 0 {
		d.Mean, d.Std = meanStd(xs)
		d.SE = d.Std / math.Sqrt(float64(d.N))
	}
	d.Mean, d.Std, d.SE = round(d.Mean, 4), round(d.Std, 4), round(d.SE, 4)
	return d
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// meanStd is the mean and the sample standard deviation (0 for one value).
func meanStd(xs []float64) (float64, float64) {
	var s float64
	for _, x := range xs {
		s += x
	}
	m := s / float64(len(xs))
	if len(xs) < 2 {
		return m, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(xs)-1))
}

// handleCompare answers /api/compare?runs=A,B,C or ?bench=NAME (the runs
// of a `bench compare` directory, those under its runs/).
func (s *Server) handleCompare(w http.ResponseWriter, r *http.Request) {
	var names []string
	title := "comparison"
	if b := r.URL.Query().Get("bench"); b != "" {
		s.mu.Lock()
		dir, ok := s.benches[b]
		s.mu.Unlock()
		if !ok {
			http.Error(w, fmt.Sprintf("no bench directory %q", b), http.StatusNotFound)
			return
		}
		title = b
		under, err := filepath.Abs(filepath.Join(dir, "runs"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		for _, rs := range s.allRuns() {
			if abs, err := filepath.Abs(rs.dir); err == nil && strings.HasPrefix(abs, under+string(filepath.Separator)) {
				names = append(names, rs.name)
			}
		}
	} else {
		for _, n := range strings.Split(r.URL.Query().Get("runs"), ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		http.Error(w, "nothing to compare: give ?runs=A,B (run names from /api/runs) or ?bench=NAME (a bench compare directory with runs under runs/)", http.StatusBadRequest)
		return
	}
	var runs []compareRun
	var missing []string
	for _, n := range names {
		rs, ok := s.run(n)
		if !ok {
			missing = append(missing, n)
			continue
		}
		s.ensureLoaded(r.Context(), rs)
		rs.mu.Lock()
		if rs.loaded {
			runs = append(runs, rs.compareRunOf(rs.overviewView(time.Now()).State))
		} else {
			missing = append(missing, n)
		}
		rs.mu.Unlock()
	}
	v := buildCompare(title, runs)
	v.Missing = missing
	writeJSON(w, v)
}
