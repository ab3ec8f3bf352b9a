package surrogate

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/traintest"
)

var nb201Ops = []string{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"}

// archEdges parses an NB201 arch string into its six edges. The tree
// package owns the real bijection; this keeps the surrogate's tests
// independent of it.
func archEdges(tb testing.TB, arch string) []CellEdge {
	tb.Helper()
	var edges []CellEdge
	for to, node := range strings.Split(arch, "+") {
		for _, tok := range strings.Split(strings.Trim(node, "|"), "|") {
			op, from, ok := strings.Cut(tok, "~")
			if !ok {
				tb.Fatalf("bad arch %q", arch)
			}
			edges = append(edges, CellEdge{From: int(from[0] - '0'), To: to + 1, Op: op})
		}
	}
	return edges
}

func archString(ops [6]string) string {
	return "|" + ops[0] + "~0|+|" + ops[1] + "~0|" + ops[2] + "~1|+|" + ops[3] + "~0|" + ops[4] + "~1|" + ops[5] + "~2|"
}

func nb201Features(tb testing.TB, arch string) Features {
	f := Features{}
	if err := f.AddCell("cell", archEdges(tb, arch)); err != nil {
		tb.Fatal(err)
	}
	return f
}

func TestAddCellPaths(t *testing.T) {
	tests := []struct {
		arch        string
		paths, live int
	}{
		{"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 0, 0},
		{"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|", 4, 6},
		{"|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|", 1, 1},
		{"|avg_pool_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_1x1~2|", 1, 3},
		// 0→1 is live only through 1→2→3; 1→3 is none, 0→2 dead-ends nowhere.
		{"|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|", 1, 1},
	}
	for _, tc := range tests {
		f := nb201Features(t, tc.arch)
		paths, edges, live := 0, 0, 0.0
		for k, v := range f {
			switch {
			case strings.Contains(k, "/path:"):
				paths++
			case strings.Contains(k, "/live:"):
				live += v
			case strings.Contains(k, "/e"):
				edges++
			}
		}
		if paths != tc.paths || edges != 6 || int(live) != tc.live {
			t.Errorf("%s: %d paths, %d edge tokens, %v live edges; want %d, 6, %d", tc.arch, paths, edges, live, tc.paths, tc.live)
		}
	}
	// A dead edge's op does not change the encoding.
	a := nb201Features(t, "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
	b := nb201Features(t, "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
	if !maps.Equal(a, b) {
		t.Errorf("dead-edge variants encode differently:\n%v\n%v", a, b)
	}
	if err := (Features{}).AddCell("c", []CellEdge{{From: 2, To: 1, Op: "x"}}); err == nil {
		t.Error("backward edge accepted")
	}
}

func TestVocabDeterministic(t *testing.T) {
	a, b := NewVocab(), NewVocab()
	f := Features{"z": 1, "a": 3, "m": 0}
	a.Learn(f)
	b.Learn(Features{"m": 0, "z": 1, "a": 3})
	if !slices.Equal(a.names, b.names) || a.Len() != 3 {
		t.Fatalf("columns differ: %v vs %v", a.names, b.names)
	}
	x := a.Dense(Features{"a": 3, "unknown": 9})
	if x[0] != 2 || x[1] != 0 || x[2] != 0 {
		t.Fatalf("Dense = %v, want [2 0 0] (log2(1+3) for a)", x)
	}
}

// TestGPRegression checks the fit recovers a smooth function it was not
// shown, and that its uncertainty grows away from the data.
func TestGPRegression(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	f := func(x []float64) float64 { return math.Sin(3*x[0]) + 0.5*x[1]*x[1] }
	var X [][]float64
	var y []float64
	for i := 0; i < 80; i++ {
		x := []float64{r.Float64()*2 - 1, r.Float64()*2 - 1}
		X = append(X, x)
		y = append(y, 10+f(x)+0.01*r.NormFloat64())
	}
	g := NewGP()
	if err := g.Fit(X, y); err != nil {
		t.Fatal(err)
	}
	var Xt [][]float64
	for i := 0; i < 50; i++ {
		Xt = append(Xt, []float64{r.Float64()*1.6 - 0.8, r.Float64()*1.6 - 0.8})
	}
	mean, std, err := g.Predict(append(Xt, []float64{8, 8}))
	if err != nil {
		t.Fatal(err)
	}
	var rmse float64
	for i, x := range Xt {
		d := mean[i] - 10 - f(x)
		rmse += d * d
	}
	rmse = math.Sqrt(rmse / float64(len(Xt)))
	if rmse > 0.05 {
		t.Errorf("rmse %.4f on held-out points, want < 0.05 (params %v)", rmse, fmtParams(g))
	}
	far := std[len(std)-1]
	if far < 10*std[0] {
		t.Errorf("std far from data %.4f is not much above std inside %.4f", far, std[0])
	}
}

func fmtParams(g *GP) []float64 {
	a, b, c := g.Params()
	return []float64{a, b, c}
}

// TestNLLGradient compares the analytic gradient with central differences.
func TestNLLGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var X [][]float64
	var y []float64
	for i := 0; i < 30; i++ {
		x := []float64{r.Float64(), r.Float64(), r.Float64()}
		X = append(X, x)
		y = append(y, x[0]-x[1]*x[2]+0.1*r.NormFloat64())
	}
	xd := denseRows(X)
	l := newNLL(sqDists(xd, rowNorms(xd)), y, [3]float64{0, 0, -3})
	for _, th := range [][]float64{{-0.5, 0.2, -2}, {0.3, -0.4, -4}} {
		grad := make([]float64, 3)
		l.eval(th, grad)
		for k := range th {
			h := 1e-5
			p, m := slices.Clone(th), slices.Clone(th)
			p[k] += h
			m[k] -= h
			num := (l.eval(p, nil) - l.eval(m, nil)) / (2 * h)
			if math.Abs(num-grad[k]) > 1e-4*math.Max(1, math.Abs(num)) {
				t.Errorf("theta %v: d/dθ%d analytic %.6f numeric %.6f", th, k, grad[k], num)
			}
		}
	}
}

func TestGPErrors(t *testing.T) {
	g := NewGP()
	if _, _, err := g.Predict([][]float64{{1}}); err == nil {
		t.Error("predict before fit accepted")
	}
	if err := g.Fit(nil, nil); err == nil {
		t.Error("empty fit accepted")
	}
	if err := g.Fit([][]float64{{1}, {1, 2}}, []float64{1, 2}); err == nil {
		t.Error("ragged rows accepted")
	}
	if err := g.Fit([][]float64{{1}}, []float64{1, 2}); err == nil {
		t.Error("length mismatch accepted")
	}
	// Identical points with identical targets must still factorize.
	if err := g.Fit([][]float64{{1}, {1}, {1}}, []float64{5, 5, 5}); err != nil {
		t.Errorf("degenerate fit: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	mut := func(f func(*Config)) Config { c := DefaultConfig(); f(&c); return c }
	tests := []struct {
		cfg  Config
		want string
	}{
		{DefaultConfig(), ""},
		{mut(func(c *Config) { c.K = 0 }), "surrogate.k"},
		{mut(func(c *Config) { c.Acquisition = "pi" }), "surrogate.acquisition"},
		{mut(func(c *Config) { c.Xi = -1 }), "surrogate.xi"},
		{mut(func(c *Config) { c.Beta = -1 }), "surrogate.beta"},
		{mut(func(c *Config) { c.Diversity = -1 }), "surrogate.diversity"},
		{mut(func(c *Config) { c.MinObserved = 1 }), "surrogate.min_observed"},
		{mut(func(c *Config) { c.MaxExact = 3 }), "surrogate.max_exact"},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestExpectedImprovement(t *testing.T) {
	tests := []struct {
		mean, std, best, want float64
	}{
		{1, 0, 0, 1},
		{-1, 0, 0, 0},
		{0, 1, 0, 1 / math.Sqrt(2*math.Pi)},
	}
	for _, tc := range tests {
		if got := ExpectedImprovement(tc.mean, tc.std, tc.best, 0); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("EI(%v,%v,%v) = %v, want %v", tc.mean, tc.std, tc.best, got, tc.want)
		}
	}
	if UpperConfidenceBound(1, 2, 3) != 7 {
		t.Error("UCB")
	}
}

// TestGPRanksNB201 fits on 150 random architectures and checks the rank
// correlation with the true signal on 2,000 others.
func TestGPRanksNB201(t *testing.T) {
	_, tab := traintest.NB201(t)
	r := rand.New(rand.NewPCG(5, 6))
	perm := r.Perm(tab.Len())
	v := NewVocab()
	var X [][]float64
	var y []float64
	feats := make([]Features, 2150)
	for i := range feats {
		feats[i] = nb201Features(t, tab.Row(perm[i]).Arch)
		if i < 150 {
			v.Learn(feats[i])
		}
	}
	for i := 0; i < 150; i++ {
		X = append(X, v.Dense(feats[i]))
		y = append(y, tab.Row(perm[i]).C10Val12)
	}
	g := NewGP()
	if err := g.Fit(X, y); err != nil {
		t.Fatal(err)
	}
	var Xt [][]float64
	var yt []float64
	for i := 150; i < 2150; i++ {
		Xt = append(Xt, v.Dense(feats[i]))
		yt = append(yt, tab.Row(perm[i]).C10Val12)
	}
	mean, _, err := g.Predict(Xt)
	if err != nil {
		t.Fatal(err)
	}
	rho := spearman(mean, yt)
	t.Logf("Spearman rho on 2,000 held-out archs = %.3f (params %v)", rho, fmtParams(g))
	if rho < 0.75 {
		t.Errorf("Spearman rho = %.3f, want >= 0.75", rho)
	}
}

func spearman(a, b []float64) float64 {
	return stat.Correlation(ranks(a), ranks(b), nil)
}

func ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(p, q int) bool { return x[idx[p]] < x[idx[q]] })
	r := make([]float64, len(x))
	for k, i := range idx {
		r[i] = float64(k)
	}
	return r
}

// localSearch is a minimal loop without the engine: the parent is a random
// member of the top 5 so far, K children differ from it in one edge, and
// the screener (nil = the first child) picks the one to query.
func localSearch(tb testing.TB, tab *train.NB201Table, seed uint64, budget, k int, scr *Screener) float64 {
	r := rand.New(rand.NewPCG(seed, 99))
	type obs struct {
		arch string
		sig  float64
		test float64
	}
	var seen []obs
	trained := map[string]bool{}
	query := func(arch string) {
		row, _ := tab.Lookup(arch)
		trained[arch] = true
		seen = append(seen, obs{arch, row.C10Val12, row.C10Test200})
		if scr != nil {
			if err := scr.Observe(nb201Features(tb, arch), row.C10Val12); err != nil {
				tb.Fatal(err)
			}
		}
	}
	randomOps := func() (o [6]string) {
		for i := range o {
			o[i] = nb201Ops[r.IntN(5)]
		}
		return o
	}
	for len(seen) < min(8, budget) {
		if a := archString(randomOps()); !trained[a] {
			query(a)
		}
	}
	for len(seen) < budget {
		sorted := slices.Clone(seen)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].sig > sorted[j].sig })
		parent := sorted[r.IntN(min(5, len(sorted)))].arch
		var cands []string
		var feats []Features
		for tries := 0; len(cands) < k && tries < 20*k; tries++ {
			ops := parseOps(parent)
			e := r.IntN(6)
			ops[e] = nb201Ops[(slices.Index(nb201Ops, ops[e])+1+r.IntN(4))%5]
			a := archString(ops)
			if trained[a] || slices.Contains(cands, a) {
				continue
			}
			cands = append(cands, a)
			feats = append(feats, nb201Features(tb, a))
		}
		if len(cands) == 0 {
			query(archString(randomOps()))
			continue
		}
		pick := 0
		if scr != nil {
			var err error
			if pick, _, err = scr.Choose(feats); err != nil {
				tb.Fatal(err)
			}
		}
		query(cands[pick])
	}
	best := seen[0]
	for _, o := range seen[1:] {
		if o.sig > best.sig {
			best = o
		}
	}
	return best.test
}

func parseOps(arch string) (o [6]string) {
	i := 0
	for _, tok := range strings.FieldsFunc(arch, func(r rune) bool { return r == '|' || r == '+' }) {
		op, _, _ := strings.Cut(tok, "~")
		o[i] = op
		i++
	}
	return o
}

// TestScreeningBeatsUnscreened is the surrogate's end-to-end check before
// the engine uses it: at a budget of 60 queries, screening 24 one-edge
// children per step must find a better architecture on average than
// training the planner's first child.
func TestScreeningBeatsUnscreened(t *testing.T) {
	_, tab := traintest.NB201(t)
	const seeds, budget = 12, 60
	var plain, screened float64
	for s := uint64(0); s < seeds; s++ {
		plain += localSearch(t, tab, s, budget, 1, nil)
		scr, err := NewScreener(DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		screened += localSearch(t, tab, s, budget, 24, scr)
	}
	plain /= seeds
	screened /= seeds
	t.Logf("mean final test acc at %d queries over %d seeds: unscreened %.2f, screened %.2f", budget, seeds, plain, screened)
	if screened <= plain+0.1 {
		t.Errorf("screened %.2f does not beat unscreened %.2f by 0.1", screened, plain)
	}
}

// benchPoints builds n random NB201 feature rows with their signals.
func benchPoints(b *testing.B, n int) ([]Features, []float64, []Features) {
	_, tab := traintest.BenchNB201(b)
	r := rand.New(rand.NewPCG(7, 8))
	perm := r.Perm(tab.Len())
	var fs []Features
	var ys []float64
	for i := 0; i < n; i++ {
		row := tab.Row(perm[i])
		fs = append(fs, nb201Features(b, row.Arch))
		ys = append(ys, row.C10Val12)
	}
	var cands []Features
	for i := n; i < n+32; i++ {
		cands = append(cands, nb201Features(b, tab.Row(perm[i]).Arch))
	}
	return fs, ys, cands
}

// BenchmarkScreenerStep is one engine step at n trained candidates:
// observe one new point, refit and score 32 candidates. "amortized" keeps
// the retuning schedule (hyperparameters refitted when the data grew by an
// eighth), "retune" forces a hyperparameter fit every step, and "exact"
// is the baseline without the subset bound.
func BenchmarkScreenerStep(b *testing.B) {
	for _, n := range []int{100, 500, 2000} {
		for _, mode := range []string{"amortized", "retune", "exact"} {
			if mode == "exact" && n > 1000 {
				continue // an exact 2,000-point fit is ~0.35 s per Cholesky alone
			}
			b.Run(mode+"/n="+strconv.Itoa(n), func(b *testing.B) {
				const extra = 256
				fs, ys, cands := benchPoints(b, n+extra)
				cfg := DefaultConfig()
				if mode == "exact" {
					cfg.MaxExact = n + extra
				}
				scr, _ := NewScreener(cfg)
				for i := 0; i < n; i++ {
					scr.Observe(fs[i], ys[i])
				}
				if _, _, err := scr.Choose(cands); err != nil { // the cold first fit
					b.Fatal(err)
				}
				i := 0
				for b.Loop() {
					scr.Observe(fs[n+i%extra], ys[n+i%extra])
					i++
					if mode == "retune" {
						scr.gp.tunedAtN = 0
					}
					if _, _, err := scr.Choose(cands); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkCholesky is the baseline cost the subset bound avoids.
func BenchmarkCholesky(b *testing.B) {
	for _, n := range []int{512, 2000} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			fs, ys, _ := benchPoints(b, n)
			v := NewVocab()
			for _, f := range fs {
				v.Learn(f)
			}
			X := make([][]float64, n)
			for i, f := range fs {
				X[i] = v.Dense(f)
			}
			xd := denseRows(X)
			K := kernelMatrix(sqDists(xd, rowNorms(xd)), [3]float64{1, 0, -3})
			_ = ys
			var c mat.Cholesky
			for b.Loop() {
				if !c.Factorize(K) {
					b.Fatal("not PD")
				}
			}
		})
	}
}
