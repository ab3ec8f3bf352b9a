package dashboard

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// benchView is an `arbor bench` output directory: its summary table, its
// per-run results and its curves (mean ± std per strategy).
type benchView struct {
	Name string `json:"name"`
	Dir  string `json:"dir"`
	// Kind is "nasbench201" or "compare" (bench compare: the runs are
	// also listed as runs, and the compare view draws them live).
	Kind    string       `json:"kind"`
	Title   string       `json:"title"`
	XLabel  string       `json:"xlabel"`
	YLabel  string       `json:"ylabel"`
	Summary string       `json:"summary"`
	Runs    csvTable     `json:"runs"`
	Curves  []benchCurve `json:"curves"`
}

// curveFormat is one layout of curves.csv: which column groups a curve,
// which hold x, the mean and the std, and what they mean.
type curveFormat struct {
	kind, title, xlabel, ylabel string
	group, budget, x, mean, std string
}

// curveFormats are the curves.csv files `arbor bench` writes.
func curveFormats() []curveFormat {
	return []curveFormat{
		{kind: "nasbench201", title: "Best-by-signal architecture so far: final test accuracy, mean ± std over seeds",
			xlabel: "queries (distinct architectures trained)", ylabel: "test accuracy (%)",
			group: "strategy", budget: "budget", x: "queries", mean: "mean_final_test", std: "std_final_test"},
		{kind: "compare", title: "Best validation accuracy so far, mean ± std over seeds",
			xlabel: "candidates trained", ylabel: "best validation accuracy (%)",
			group: "strategy", x: "trained", mean: "mean_best_val_acc", std: "std_best_val_acc"},
	}
}

type csvTable struct {
	Header []string   `json:"header"`
	Rows   [][]string `json:"rows"`
}

type benchCurve struct {
	Strategy string      `json:"strategy"`
	Budget   string      `json:"budget"`
	Points   [][]float64 `json:"points"` // queries, mean, std
}

func readCSV(path string) (csvTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return csvTable{}, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return csvTable{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return csvTable{}, fmt.Errorf("%s: empty (no header)", path)
	}
	return csvTable{Header: recs[0], Rows: recs[1:]}, nil
}

// readBench reads the files `arbor bench` writes; the bench may still be
// writing, so a missing summary is not an error.
func readBench(name, dir string) (benchView, error) {
	v := benchView{Name: name, Dir: dir, Curves: []benchCurve{}, Runs: csvTable{Header: []string{}, Rows: [][]string{}}}
	for _, f := range []string{"summary.txt", "summary.md"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
			v.Summary = strings.TrimSuffix(strings.TrimPrefix(string(b), "```\n"), "```\n")
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return v, err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, compareRecord)); err == nil {
		v.Kind = "compare"
	}
	// A comparison writes runs.csv and curves.csv when it ends; until
	// then its runs show in the compare view.
	runs, err := readCSV(filepath.Join(dir, "runs.csv"))
	if err == nil {
		v.Runs = runs
	} else if !errors.Is(err, fs.ErrNotExist) || v.Kind != "compare" {
		return v, err
	}
	path := filepath.Join(dir, "curves.csv")
	curves, err := readCSV(path)
	formats := curveFormats()
	if errors.Is(err, fs.ErrNotExist) && v.Kind == "compare" {
		v.Title, v.XLabel, v.YLabel = formats[1].title, formats[1].xlabel, formats[1].ylabel
		return v, nil
	}
	if err != nil {
		return v, err
	}
	col := map[string]int{}
	for i, h := range curves.Header {
		col[h] = i
	}
	var f *curveFormat
	for i := range formats {
		ok := true
		for _, want := range []string{formats[i].group, formats[i].x, formats[i].mean, formats[i].std} {
			_, has := col[want]
			ok = ok && has
		}
		if ok {
			f = &formats[i]
			break
		}
	}
	if f == nil {
		return v, fmt.Errorf("%s: columns %v are neither arbor bench nasbench201's (strategy, budget, queries, mean_final_test, std_final_test) nor bench compare's (strategy, trained, mean_best_val_acc, std_best_val_acc)", path, curves.Header)
	}
	if v.Kind == "" {
		v.Kind = f.kind
	}
	v.Title, v.XLabel, v.YLabel = f.title, f.xlabel, f.ylabel
	byKey := map[string]int{}
	for line, row := range curves.Rows {
		if len(row) != len(curves.Header) {
			return v, fmt.Errorf("%s line %d: %d fields, the header has %d", path, line+2, len(row), len(curves.Header))
		}
		budget := ""
		if f.budget != "" {
			budget = row[col[f.budget]]
		}
		key := row[col[f.group]] + "\x00" + budget
		i, ok := byKey[key]
		if !ok {
			i = len(v.Curves)
			byKey[key] = i
			v.Curves = append(v.Curves, benchCurve{Strategy: row[col[f.group]], Budget: budget})
		}
		var p []float64
		for _, k := range []string{f.x, f.mean, f.std} {
			x, err := strconv.ParseFloat(row[col[k]], 64)
			if err != nil {
				return v, fmt.Errorf("%s line %d, column %s: %w", path, line+2, k, err)
			}
			p = append(p, x)
		}
		v.Curves[i].Points = append(v.Curves[i].Points, p)
	}
	return v, nil
}

func (s *Server) handleBench(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	s.mu.Lock()
	dir, ok := s.benches[name]
	s.mu.Unlock()
	if !ok {
		http.Error(w, fmt.Sprintf("no bench directory %q", name), http.StatusNotFound)
		return
	}
	v, err := readBench(name, dir)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, v)
}
