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
)

// benchView is an `arbor bench` output directory: its summary table, its
// per-run results and its curves (mean ± std per strategy).
type benchView struct {
	Name    string       `json:"name"`
	Dir     string       `json:"dir"`
	Summary string       `json:"summary"`
	Runs    csvTable     `json:"runs"`
	Curves  []benchCurve `json:"curves"`
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
	v := benchView{Name: name, Dir: dir, Curves: []benchCurve{}}
	if b, err := os.ReadFile(filepath.Join(dir, "summary.txt")); err == nil {
		v.Summary = string(b)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return v, err
	}
	var err error
	if v.Runs, err = readCSV(filepath.Join(dir, "runs.csv")); err != nil {
		return v, err
	}
	curves, err := readCSV(filepath.Join(dir, "curves.csv"))
	if err != nil {
		return v, err
	}
	col := map[string]int{}
	for i, h := range curves.Header {
		col[h] = i
	}
	for _, want := range []string{"strategy", "budget", "queries", "mean_final_test", "std_final_test"} {
		if _, ok := col[want]; !ok {
			return v, fmt.Errorf("%s: no column %q (columns: %v)", filepath.Join(dir, "curves.csv"), want, curves.Header)
		}
	}
	byKey := map[string]int{}
	for line, row := range curves.Rows {
		key := row[col["strategy"]] + "\x00" + row[col["budget"]]
		i, ok := byKey[key]
		if !ok {
			i = len(v.Curves)
			byKey[key] = i
			v.Curves = append(v.Curves, benchCurve{Strategy: row[col["strategy"]], Budget: row[col["budget"]]})
		}
		var p []float64
		for _, k := range []string{"queries", "mean_final_test", "std_final_test"} {
			x, err := strconv.ParseFloat(row[col[k]], 64)
			if err != nil {
				return v, fmt.Errorf("%s line %d, column %s: %w", filepath.Join(dir, "curves.csv"), line+2, k, err)
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
