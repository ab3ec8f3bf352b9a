package traintest

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/testenv"
)

var update = flag.Bool("update", false, "rewrite the generated NAS-Bench-201 table under testdata/")

// TestGeneratedNB201TableIsCurrent: the committed table is what the
// formula writes today (go generate ./train/traintest rewrites it).
func TestGeneratedNB201TableIsCurrent(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteGeneratedNB201(&buf); err != nil {
		t.Fatal(err)
	}
	if *update {
		root, err := testenv.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, testenv.NB201TablePath)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(testenv.NB201Table(t))
	if err != nil {
		t.Fatal(err)
	}
	// Compare the CSV text, not the gzip bytes, which may change with the
	// Go release.
	if got, want := gunzip(t, committed), gunzip(t, buf.Bytes()); !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go generate ./train/traintest", testenv.NB201TablePath)
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func quantiles(v []float64) []float64 {
	slices.Sort(v)
	var q []float64
	for _, f := range []float64{0, .05, .1, .25, .5, .75, .9, .99, 1} {
		q = append(q, v[int(f*float64(len(v)-1))])
	}
	return q
}

// TestGeneratedNB201Shape: the generated table has the real one's shape
// (every cell of the space once, in order) and a landscape a search can
// climb: ties among the disconnected cells, a spread of accuracies, a
// 12-epoch signal that ranks like the 200-epoch accuracy but not exactly.
func TestGeneratedNB201Shape(t *testing.T) {
	_, tab := NB201(t)
	if tab.Len() != nb201Cells {
		t.Fatalf("%d rows, want %d", tab.Len(), nb201Cells)
	}
	cols := map[string]func(train.NB201Row) float64{
		"c10_val12": func(r train.NB201Row) float64 { return r.C10Val12 }, "c10_test200": func(r train.NB201Row) float64 { return r.C10Test200 },
		"c100_val12": func(r train.NB201Row) float64 { return r.C100Val12 }, "c100_test200": func(r train.NB201Row) float64 { return r.C100Test200 },
	}
	for _, name := range []string{"c10_val12", "c10_test200", "c100_val12", "c100_test200"} {
		var v []float64
		for i := range tab.Len() {
			v = append(v, cols[name](tab.Row(i)))
		}
		t.Logf("%s quantiles 0 5 10 25 50 75 90 99 100: %.2f", name, quantiles(v))
	}
	best := tab.Best(func(r train.NB201Row) float64 { return r.C10Test200 })
	bestSignal := tab.Best(func(r train.NB201Row) float64 { return r.C10Val12 })
	t.Logf("best c10 test200 %+v; best c10 val12 %+v", best, bestSignal)
	if best.C10Test200 < 94 || best.C10Test200 > 95 || best.Arch == bestSignal.Arch {
		t.Errorf("best test200 %.2f at %s, best signal at %s: want 94..95, reached by another cell than the signal's best",
			best.C10Test200, best.Arch, bestSignal.Arch)
	}
	disconnected, archs := 0, map[string]bool{}
	for i := range tab.Len() {
		r := tab.Row(i)
		archs[r.Arch] = true
		if r.C10Test200 == 10 {
			disconnected++
		}
	}
	if len(archs) != nb201Cells || disconnected < 100 || disconnected > nb201Cells/10 {
		t.Errorf("%d distinct archs (want %d), %d disconnected cells tied at 10%% (want 100..10%%)", len(archs), nb201Cells, disconnected)
	}
	if rho := spearman(tab, func(r train.NB201Row) float64 { return r.C10Val12 }, func(r train.NB201Row) float64 { return r.C10Test200 }); rho < 0.6 || rho > 0.95 {
		t.Errorf("Spearman(val12, test200) = %.3f, want a good but imperfect proxy (0.6..0.95)", rho)
	}
}

// spearman is the rank correlation of two columns (ties get their first
// rank; enough for a sanity bound).
func spearman(tab *train.NB201Table, a, b func(train.NB201Row) float64) float64 {
	rank := func(key func(train.NB201Row) float64) []float64 {
		idx := make([]int, tab.Len())
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(i, j int) int { return cmp.Compare(key(tab.Row(i)), key(tab.Row(j))) })
		r := make([]float64, len(idx))
		for pos, i := range idx {
			r[i] = float64(pos)
		}
		return r
	}
	ra, rb := rank(a), rank(b)
	n := float64(len(ra))
	var d2 float64
	for i := range ra {
		d2 += (ra[i] - rb[i]) * (ra[i] - rb[i])
	}
	return 1 - 6*d2/(n*(n*n-1))
}
