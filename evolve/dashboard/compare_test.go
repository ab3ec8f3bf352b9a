package dashboard

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/evolve/bench"
	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/traintest"
)

// benchCompare runs a real `bench compare` (tabular evaluator over the
// NAS-Bench-201 table, two strategies, two seeds) into root/cmp.
func benchCompare(t testing.TB, root string, budget int) string {
	t.Helper()
	table, _ := traintest.NB201(t)
	cfg := filepath.Join(root, "cfg.yaml")
	text := "run:\n  dir: unused\n  evaluator: tabular\n  table: " + table + "\n  tabular_dataset: cifar10\n" +
		"evolve:\n  seed_arch: nb201-resnet\n  parallel: 1\n  dry_run: false\n  max_reject_streak: 500\n  evolution:\n    population: 4\n    sample: 2\n"
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "cmp")
	o := bench.CompareOptions{Config: cfg, Strategies: []string{"random", "thompson"}, Seeds: 2, SeedBase: 1, Budget: budget, Out: out}
	rep, err := bench.Compare(context.Background(), o, slog.New(slog.DiscardHandler), bench.CompareHooks{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Write(); err != nil {
		t.Fatal(err)
	}
	return out
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	code, body := httpGet(t, u, nil)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", u, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v: %.300s", u, err, body)
	}
}

// TestCompareBenchDir: a `bench compare` directory opens as a bench page
// (its curves.csv format), its runs are listed as runs, and the compare
// view's bands agree with the curves bench compare wrote from the same
// runs; the paired differences are the per-seed differences.
func TestCompareBenchDir(t *testing.T) {
	root := t.TempDir()
	benchCompare(t, root, 8)
	srv, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	base := filepath.Base(root)

	var list runList
	getJSON(t, hs.URL+"/api/runs", &list)
	var names []string
	for _, raw := range list.Runs {
		var o overview
		json.Unmarshal(raw, &o)
		names = append(names, o.Name)
	}
	if len(names) != 4 || len(list.Benches) != 1 || list.Benches[0].Name != base+"/cmp" {
		t.Fatalf("runs %v, benches %+v: want the comparison's 4 runs and its directory", names, list.Benches)
	}
	if !strings.HasPrefix(names[0], base+"/cmp/runs/") {
		t.Errorf("run names %v", names)
	}

	var b benchView
	getJSON(t, hs.URL+"/api/bench?name="+url.QueryEscape(base+"/cmp"), &b)
	if b.Kind != "compare" || len(b.Curves) != 2 || len(b.Runs.Rows) != 4 || b.XLabel != "candidates trained" || !strings.Contains(b.Summary, "strategy") {
		t.Fatalf("bench view of a compare directory: %+v", b)
	}

	var v compareView
	getJSON(t, hs.URL+"/api/compare?bench="+url.QueryEscape(base+"/cmp"), &v)
	if len(v.Groups) != 2 || len(v.Runs) != 4 || len(v.Pairs) != 1 {
		t.Fatalf("compare view: %d groups, %d runs, %d pairs", len(v.Groups), len(v.Runs), len(v.Pairs))
	}
	// The bands are bench compare's curves (same runs, same rule).
	for _, c := range b.Curves {
		var g *compareGroup
		for i := range v.Groups {
			if v.Groups[i].Name == c.Strategy {
				g = &v.Groups[i]
			}
		}
		if g == nil || len(g.Points) != len(c.Points) {
			t.Fatalf("group %s: %v points, curves.csv has %d", c.Strategy, g, len(c.Points))
		}
		for i, p := range c.Points {
			if g.Points[i][0] != p[0] || math.Abs(g.Points[i][1]-p[1]) > 1e-3 || math.Abs(g.Points[i][2]-p[2]) > 1e-3 {
				t.Errorf("%s point %d: compare view %v, curves.csv %v", c.Strategy, i, g.Points[i], p)
			}
		}
	}
	// The paired difference, by hand from the runs' curves.
	p := v.Pairs[0]
	bySeed := map[string]map[uint64]compareRun{}
	for _, r := range v.Runs {
		if bySeed[r.Group] == nil {
			bySeed[r.Group] = map[uint64]compareRun{}
		}
		bySeed[r.Group][r.Seed] = r
	}
	var sum float64
	for _, seed := range []uint64{1, 2} {
		a, b := bySeed[p.A][seed], bySeed[p.B][seed]
		n := min(len(a.Curve), len(b.Curve))
		sum += a.Curve[n-1] - b.Curve[n-1]
	}
	if p.N != 2 || math.Abs(p.Mean-sum/2) > 1e-3 || p.Wins+p.Losses+p.Ties != 2 || len(p.Diffs) != 2 {
		t.Errorf("pair %+v, want n=2 and mean %.4f", p, sum/2)
	}

	// The same two groups chosen as runs.
	var v2 compareView
	getJSON(t, hs.URL+"/api/compare?runs="+url.QueryEscape(names[0]+","+names[len(names)-1]+",nope"), &v2)
	if len(v2.Runs) != 2 || len(v2.Missing) != 1 || v2.Missing[0] != "nope" {
		t.Errorf("compare of two runs: %d runs, missing %v", len(v2.Runs), v2.Missing)
	}
	if code, _ := httpGet(t, hs.URL+"/api/compare", nil); code != http.StatusBadRequest {
		t.Errorf("compare of nothing: %d, want 400", code)
	}
}

// TestCompareInProgress: a comparison whose first run is still going
// (compare.json only) shows, with its runs, before runs.csv exists.
func TestCompareInProgress(t *testing.T) {
	root := t.TempDir()
	cmp := benchCompare(t, root, 4)
	for _, f := range []string{"runs.csv", "curves.csv", "curves.png", "summary.md"} {
		os.Remove(filepath.Join(cmp, f))
	}
	srv, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{cmp}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	var b benchView
	getJSON(t, hs.URL+"/api/bench?name=cmp", &b)
	if b.Kind != "compare" || len(b.Curves) != 0 {
		t.Errorf("in-progress comparison: %+v", b)
	}
	var v compareView
	getJSON(t, hs.URL+"/api/compare?bench=cmp", &v)
	if len(v.Runs) != 4 {
		t.Errorf("in-progress comparison lists %d runs, want 4", len(v.Runs))
	}
}

// TestDownloadsImportanceDiff: the table as CSV, a candidate as a
// PyTorch file, weights only when kept, the importance counts, and the
// source diff against the parent.
func TestDownloadsImportanceDiff(t *testing.T) {
	_, table := traintest.NB201(t)
	root := t.TempDir()
	dir := runSearch(t, table, search{Dir: filepath.Join(root, "r"), Budget: 20})
	srv, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	name := url.QueryEscape(filepath.Base(root) + "/r")
	db, err := store.OpenStoreReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cands, err := db.Candidates(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	resp, err := http.Get(hs.URL + "/api/download/csv?run=" + name)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(recs) != len(cands)+1 || recs[0][1] != "id" || !strings.Contains(resp.Header.Get("Content-Disposition"), "candidates.csv") {
		t.Fatalf("csv: %v, %d records for %d candidates, disposition %q", err, len(recs), len(cands), resp.Header.Get("Content-Disposition"))
	}
	for i, c := range cands {
		if recs[i+1][1] != c.ID || recs[i+1][5] != string(c.Status) {
			t.Errorf("csv row %d: %v, want %s %s", i+1, recs[i+1][:6], c.ID, c.Status)
		}
	}

	var child store.Candidate
	for _, c := range cands {
		if c.ParentID != "" && c.Feasible() {
			child = c
			break
		}
	}
	resp, err = http.Get(hs.URL + "/api/download/source?run=" + name + "&id=" + child.ID)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(src), "class Candidate(nn.Module)") || !strings.Contains(string(src), "input_shape=(3, 32, 32), num_classes=10") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), child.ID+".py") {
		t.Fatalf("source download: %d %q %.300s", resp.StatusCode, resp.Header.Get("Content-Disposition"), src)
	}
	if code, _ := httpGet(t, hs.URL+"/api/download/weights?run="+name+"&id="+child.ID, nil); code != http.StatusNotFound {
		t.Errorf("weights of a run that kept none: %d, want 404", code)
	}
	os.MkdirAll(filepath.Join(dir, "checkpoints"), 0o755)
	os.WriteFile(filepath.Join(dir, "checkpoints", child.ID+".pt"), []byte("weights"), 0o644)
	if code, body := httpGet(t, hs.URL+"/api/download/weights?run="+name+"&id="+child.ID, nil); code != 200 || body != "weights" {
		t.Errorf("weights: %d %q", code, body)
	}
	for _, bad := range []string{"../r", "c00001/../../x", ""} {
		if code, _ := httpGet(t, hs.URL+"/api/download/weights?run="+name+"&id="+url.QueryEscape(bad), nil); code != http.StatusNotFound {
			t.Errorf("weights of id %q: %d, want 404", bad, code)
		}
	}

	var cv candidateView
	getJSON(t, hs.URL+"/api/run/candidate?run="+name+"&id="+child.ID, &cv)
	var add, del int
	for _, d := range cv.Diff {
		switch d.Op {
		case "+":
			add++
		case "-":
			del++
		}
	}
	if add == 0 || del == 0 || !cv.Weights {
		t.Errorf("candidate %s (%s of %s): diff +%d -%d, weights %v", child.ID, child.Op, child.ParentID, add, del, cv.Weights)
	}

	var imp importanceView
	getJSON(t, hs.URL+"/api/run/importance?run="+name, &imp)
	proposed, trained, wins := 0, 0, 0
	byID := map[string]store.Candidate{}
	for _, c := range cands {
		byID[c.ID] = c
	}
	for _, c := range cands {
		if c.ParentID == "" {
			continue
		}
		proposed++
		if c.Status == store.StatusTrained || c.Status == store.StatusFailed {
			trained++
			if p := byID[c.ParentID]; c.Feasible() && p.Feasible() && c.Result.ValAcc > p.Result.ValAcc {
				wins++
			}
		}
	}
	var gotP, gotT, gotW int
	for _, r := range imp.Ops {
		gotP, gotT, gotW = gotP+r.Proposed, gotT+r.Trained, gotW+r.Wins
		if r.Trained > 0 && math.Abs(r.Success-float64(r.Wins)/float64(r.Trained)) > 1e-3 {
			t.Errorf("%s: success %.4f, wins %d of %d", r.Name, r.Success, r.Wins, r.Trained)
		}
		if r.Posterior < 0 {
			t.Errorf("%s: no posterior beside a thompson run's operation", r.Name)
		}
	}
	if gotP != proposed || gotT != trained || gotW != wins || !imp.HasPost {
		t.Errorf("importance per operation: %d proposed, %d trained, %d wins; want %d, %d, %d", gotP, gotT, gotW, proposed, trained, wins)
	}
	if len(imp.Categories) == 0 {
		t.Error("no per-category rows")
	}

	// A retraining stored in the run shows on the overview of a new server
	// (as `arbor retrain` leaves it).
	w, err := store.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	rt := &store.Retraining{Recipe: train.Recipe{Epochs: 20}, Seeds: []int64{1000, 1001},
		Candidates: []store.RetrainCandidate{{ID: child.ID, N: 2, TestMean: 91.5, TestStd: 0.25, ValMean: 92}}}
	if err := w.SetRetraining(context.Background(), rt); err != nil {
		t.Fatal(err)
	}
	w.Close()
	srv2, err := New(Options{Settings: run.Settings, Catalog: run.Catalog, Dirs: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	hs2 := httptest.NewServer(srv2.Handler())
	defer hs2.Close()
	var ov overview
	getJSON(t, hs2.URL+"/api/run/overview?run="+name, &ov)
	if ov.Retrained == nil || ov.Retrained.ID != child.ID || ov.Retrained.TestMean != 91.5 || ov.Retrained.Epochs != 20 || ov.Retrained.N != 2 {
		t.Errorf("overview's retraining: %+v", ov.Retrained)
	}
}
