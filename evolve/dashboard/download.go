package dashboard

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/tree"
)

// handleDownload serves a file to save: /api/download/source?run=R&id=C
// (the candidate as a standalone PyTorch file, as `arbor best -o` writes
// it), /api/download/weights?run=R&id=C (its checkpoint, when the run kept
// one) and /api/download/csv?run=R (the candidates table).
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("run")
	rs, ok := s.run(name)
	if !ok {
		http.Error(w, fmt.Sprintf("no run %q (the runs are listed at /api/runs)", name), http.StatusNotFound)
		return
	}
	s.ensureLoaded(r.Context(), rs)
	id := r.URL.Query().Get("id")
	rs.mu.Lock()
	_, known := rs.candidate(id)
	db, loaded := rs.store, rs.loaded
	rs.mu.Unlock()
	if !loaded || db == nil {
		http.Error(w, fmt.Sprintf("run %s is not readable yet", name), http.StatusServiceUnavailable)
		return
	}
	what := r.PathValue("what")
	if what != "csv" && !known {
		http.Error(w, fmt.Sprintf("run %s has no candidate %q", name, id), http.StatusNotFound)
		return
	}
	switch what {
	case "source":
		c, err := db.Candidate(r.Context(), id)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		var cat tree.Catalog
		if c.Source == "" { // rendered anew: the run's catalog resolves its modules
			rs.mu.Lock()
			catPath := rs.cfg.Catalog
			rs.mu.Unlock()
			if cat, err = s.catalog(r.Context(), catPath, db); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		src, err := report.ExportSource(rs.dir, c, cat)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		attach(w, "text/x-python; charset=utf-8", fileStem(name)+"-"+id+".py")
		w.Write([]byte(src))
	case "weights":
		path, ok := checkpointFile(rs.dir, id)
		if !ok {
			http.Error(w, fmt.Sprintf("run %s kept no weights for %s", name, id), http.StatusNotFound)
			return
		}
		attach(w, "application/octet-stream", fileStem(name)+"-"+id+filepath.Ext(path))
		http.ServeFile(w, r, path)
	case "csv":
		rs.mu.Lock()
		rows := rs.rowsView()
		rs.mu.Unlock()
		attach(w, "text/csv; charset=utf-8", fileStem(name)+"-candidates.csv")
		cw := csv.NewWriter(w)
		cw.Write(rows.Columns)
		rec := make([]string, len(rows.Columns))
		for _, row := range rows.Rows {
			for i, v := range row {
				rec[i] = csvValue(v)
			}
			cw.Write(rec)
		}
		cw.Flush()
	default:
		http.Error(w, "unknown download "+what+" (source, weights or csv)", http.StatusNotFound)
	}
}

func attach(w http.ResponseWriter, ctype, file string) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="`+fileStem(file)+`"`)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fileStem turns a run name (a relative path) into a file name.
func fileStem(name string) string { return unsafeName.ReplaceAllString(name, "_") }

func csvValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// checkpointFile is the candidate's saved weights, when the run kept them:
// RUN_DIR/checkpoints/ID.pt (evolve.CheckpointPath; the dashboard reads
// runs without the engine package).
func checkpointFile(runDir, id string) (string, bool) {
	if !validID(id) {
		return "", false
	}
	p := filepath.Join(runDir, "checkpoints", id+".pt")
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		return p, true
	}
	return "", false
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// validID keeps an ID from naming a path outside the run directory.
func validID(id string) bool { return idPattern.MatchString(id) }
