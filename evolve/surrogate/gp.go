// Package surrogate predicts a candidate's search signal from its structure
// before it is trained, so the engine can screen K resolved children and
// train only the most promising one. It holds the structural features, a
// Gaussian-process regressor built on gonum, and the acquisition rules.
package surrogate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// GP is a Gaussian-process regressor with a squared-exponential kernel on
// Euclidean feature distance, a constant mean and Gaussian noise. Its three
// hyperparameters (length scale, signal and noise variance) maximize the
// marginal likelihood under weak log-normal priors; each fit starts from
// the previous optimum, so refitting after one new point converges in a
// handful of L-BFGS steps.
//
// An exact GP is cubic in the number of points, so above MaxExact points it
// fits on a deterministic subset (the best half by signal plus an even
// spread over the rest, the "subset of data" approximation): the region a
// maximizer cares about stays exact, and a refit at 2,000 points stays in
// the tens of milliseconds.
type GP struct {
	// MaxExact bounds the points in the final fit; HPSubset bounds those
	// used to tune the hyperparameters.
	MaxExact, HPSubset int
	// MaxIter bounds the L-BFGS iterations of one hyperparameter fit.
	MaxIter int

	theta    [3]float64 // log length scale, log signal variance, log noise variance (standardized y)
	tuned    bool
	tunedAtN int // points in the last hyperparameter fit

	x      *mat.Dense // fitted points, one per row
	sq     []float64  // squared norms of the rows of x
	chol   mat.Cholesky
	alpha  *mat.VecDense
	ymean  float64
	yscale float64
	n      int
}

// NewGP returns a GP with the default bounds.
func NewGP() *GP { return &GP{MaxExact: 512, HPSubset: 256, MaxIter: 40} }

// Params reports the fitted length scale, signal and noise standard
// deviations in the units of the signal.
func (g *GP) Params() (lengthScale, signalStd, noiseStd float64) {
	return math.Exp(g.theta[0]), math.Sqrt(math.Exp(g.theta[1])) * g.yscale, math.Sqrt(math.Exp(g.theta[2])) * g.yscale
}

// N is the number of points in the current fit.
func (g *GP) N() int { return g.n }

// Fit conditions the GP on X (one feature vector per row, all the same
// length) and y, tuning the hyperparameters first.
func (g *GP) Fit(X [][]float64, y []float64) error {
	if len(X) != len(y) {
		return fmt.Errorf("surrogate: %d feature rows but %d targets", len(X), len(y))
	}
	if len(X) == 0 {
		return errors.New("surrogate: fit needs at least one point")
	}
	d := len(X[0])
	for i, r := range X {
		if len(r) != d {
			return fmt.Errorf("surrogate: feature row %d has %d dims, row 0 has %d", i, len(r), d)
		}
	}
	g.ymean, g.yscale = meanStd(y)
	ys := make([]float64, len(y))
	for i, v := range y {
		ys[i] = (v - g.ymean) / g.yscale
	}
	if !g.tuned {
		g.theta = [3]float64{math.Log(medianDist(X)), 0, math.Log(0.05)}
	}
	// Hyperparameters move little from one point to the next, so they
	// are refitted when the data grew by an eighth since the last tuning
	// (every step while small); conditioning happens every time.
	if len(X) >= 3 && (!g.tuned || len(X) >= g.tunedAtN+max(1, g.tunedAtN/8)) {
		g.tunedAtN = len(X)
		idx := subset(ys, g.HPSubset)
		xs, yv := pick(X, ys, idx)
		g.tune(xs, yv)
	}
	idx := subset(ys, g.MaxExact)
	xs, yv := pick(X, ys, idx)
	return g.condition(xs, yv)
}

// condition factorizes K on the chosen points with the current theta.
func (g *GP) condition(X [][]float64, y []float64) error {
	n := len(X)
	g.x = denseRows(X)
	g.sq = rowNorms(g.x)
	D := sqDists(g.x, g.sq)
	K := kernelMatrix(D, g.theta)
	for jitter := 0.0; ; {
		if g.chol.Factorize(K) {
			break
		}
		if jitter == 0 {
			jitter = 1e-8
		} else if jitter *= 10; jitter > 1e-2 {
			return fmt.Errorf("surrogate: kernel matrix of %d points is not positive definite even with jitter", n)
		}
		for i := 0; i < n; i++ {
			K.SetSym(i, i, K.At(i, i)+jitter)
		}
	}
	g.alpha = mat.NewVecDense(n, nil)
	if err := g.chol.SolveVecTo(g.alpha, mat.NewVecDense(n, slices.Clone(y))); err != nil {
		return fmt.Errorf("surrogate: solving for the GP weights: %w", err)
	}
	g.n = n
	return nil
}

// Predict returns the posterior mean and standard deviation of the latent
// signal at each row of Xs, in the signal's units.
func (g *GP) Predict(Xs [][]float64) (mean, std []float64, err error) {
	if g.n == 0 {
		return nil, nil, errors.New("surrogate: predict before fit")
	}
	_, d := g.x.Dims()
	for i, r := range Xs {
		if len(r) != d {
			return nil, nil, fmt.Errorf("surrogate: candidate %d has %d dims, the fit has %d", i, len(r), d)
		}
	}
	m := len(Xs)
	if m == 0 {
		return nil, nil, nil
	}
	xs := denseRows(Xs)
	sqs := rowNorms(xs)
	// Kx is n×m: cross-kernel between fitted points and candidates.
	var G mat.Dense
	G.Mul(g.x, xs.T())
	ell2 := math.Exp(2 * g.theta[0])
	sf2 := math.Exp(g.theta[1])
	Kx := mat.NewDense(g.n, m, nil)
	for i := 0; i < g.n; i++ {
		for j := 0; j < m; j++ {
			d2 := math.Max(g.sq[i]+sqs[j]-2*G.At(i, j), 0)
			Kx.Set(i, j, sf2*math.Exp(-d2/(2*ell2)))
		}
	}
	var L mat.TriDense
	g.chol.LTo(&L)
	var V mat.Dense
	if err := V.Solve(&L, Kx); err != nil {
		return nil, nil, fmt.Errorf("surrogate: triangular solve: %w", err)
	}
	mean = make([]float64, m)
	std = make([]float64, m)
	for j := 0; j < m; j++ {
		mu := mat.Dot(Kx.ColView(j), g.alpha)
		v := sf2 - mat.Dot(V.ColView(j), V.ColView(j))
		mean[j] = g.ymean + g.yscale*mu
		std[j] = g.yscale * math.Sqrt(math.Max(v, 1e-12))
	}
	return mean, std, nil
}

// prior centres and widths for theta, in log space: the length scale is
// anchored to the data's median distance, the noise to a few percent of the
// signal variance. They keep small-sample fits from collapsing.
var priorWidth = [3]float64{1.5, 1.5, 2}

// tune minimizes the negative log marginal likelihood over theta.
func (g *GP) tune(X [][]float64, y []float64) {
	xd := denseRows(X)
	D := sqDists(xd, rowNorms(xd))
	centre := [3]float64{math.Log(medianDist(X)), 0, math.Log(0.05)}
	nl := newNLL(D, y, centre)
	eval := nl.eval
	// L-BFGS asks for the value and the gradient at the same point in two
	// calls; one evaluation serves both.
	var lastX, lastG []float64
	var lastF float64
	both := func(th []float64) (float64, []float64) {
		if lastX == nil || !slices.Equal(th, lastX) {
			lastX = slices.Clone(th)
			lastG = make([]float64, len(th))
			lastF = eval(th, lastG)
		}
		return lastF, lastG
	}
	p := optimize.Problem{
		Func: func(th []float64) float64 { f, _ := both(th); return f },
		Grad: func(grad, th []float64) { _, g := both(th); copy(grad, g) },
	}
	start := g.theta
	if math.IsInf(eval(start[:], nil), 1) {
		start = centre
	}
	res, err := optimize.Minimize(p, slices.Clone(start[:]), &optimize.Settings{
		MajorIterations:   g.MaxIter,
		FuncEvaluations:   3 * g.MaxIter,
		GradientThreshold: 1e-3,
		// Screening needs a good length scale, not the last digit of the
		// likelihood: stop when it improves by less than 1e-4 over 3 steps.
		Converger: &optimize.FunctionConverge{Absolute: 1e-4, Relative: 1e-6, Iterations: 3},
	}, &optimize.LBFGS{})
	// A failed or non-improving search keeps the previous theta: the fit
	// is still valid, only less tuned.
	if res != nil && !math.IsInf(res.F, 0) && !math.IsNaN(res.F) && (err == nil || res.F < eval(start[:], nil)) {
		copy(g.theta[:], res.X)
		g.tuned = true
	}
}

// kernelMatrix is sf2·exp(−D/2ℓ²) + sn2·I.
func kernelMatrix(D *mat.SymDense, t [3]float64) *mat.SymDense {
	n := D.SymmetricDim()
	ell2 := math.Exp(2 * t[0])
	sf2 := math.Exp(t[1])
	sn2 := math.Exp(t[2])
	K := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			v := sf2 * math.Exp(-D.At(i, j)/(2*ell2))
			if i == j {
				v += sn2
			}
			K.SetSym(i, j, v)
		}
	}
	return K
}

func denseRows(X [][]float64) *mat.Dense {
	d := len(X[0])
	m := mat.NewDense(len(X), d, nil)
	for i, r := range X {
		m.SetRow(i, r)
	}
	return m
}

func rowNorms(x *mat.Dense) []float64 {
	n, _ := x.Dims()
	sq := make([]float64, n)
	for i := range sq {
		r := x.RawRowView(i)
		for _, v := range r {
			sq[i] += v * v
		}
	}
	return sq
}

// sqDists is the matrix of squared Euclidean distances between rows.
func sqDists(x *mat.Dense, sq []float64) *mat.SymDense {
	n, _ := x.Dims()
	var G mat.SymDense
	G.SymOuterK(1, x)
	D := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			D.SetSym(i, j, math.Max(sq[i]+sq[j]-2*G.At(i, j), 0))
		}
	}
	return D
}

// medianDist is the median pairwise distance over (at most) the first 200
// rows, the usual anchor for a length scale; 1 when all rows coincide.
func medianDist(X [][]float64) float64 {
	m := min(len(X), 200)
	var ds []float64
	for i := 0; i < m; i++ {
		for j := i + 1; j < m; j++ {
			var s float64
			for k := range X[i] {
				d := X[i][k] - X[j][k]
				s += d * d
			}
			if s > 0 {
				ds = append(ds, math.Sqrt(s))
			}
		}
	}
	if len(ds) == 0 {
		return 1
	}
	sort.Float64s(ds)
	return ds[len(ds)/2]
}

func meanStd(y []float64) (mean, std float64) {
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	for _, v := range y {
		std += (v - mean) * (v - mean)
	}
	std = math.Sqrt(std / float64(len(y)))
	if std < 1e-9 {
		std = 1
	}
	return mean, std
}

// subset picks at most limit indices: all when they fit, otherwise the
// best half by y and an even spread over the rest, in index order.
func subset(y []float64, limit int) []int {
	n := len(y)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if limit <= 0 || n <= limit {
		return idx
	}
	sort.SliceStable(idx, func(a, b int) bool { return y[idx[a]] > y[idx[b]] })
	top := limit / 2
	out := slices.Clone(idx[:top])
	rest := idx[top:]
	need := limit - top
	for k := 0; k < need; k++ {
		out = append(out, rest[k*len(rest)/need])
	}
	sort.Ints(out)
	return out
}

func pick(X [][]float64, y []float64, idx []int) ([][]float64, []float64) {
	xs := make([][]float64, len(idx))
	ys := make([]float64, len(idx))
	for k, i := range idx {
		xs[k], ys[k] = X[i], y[i]
	}
	return xs, ys
}

// nll is the negative log marginal likelihood of standardized targets plus
// the log-normal priors on theta, with its analytic gradient.
type nll struct {
	D      *mat.SymDense
	y      *mat.VecDense
	centre [3]float64
	chol   mat.Cholesky
	inv    mat.SymDense
	alpha  *mat.VecDense
}

func newNLL(D *mat.SymDense, y []float64, centre [3]float64) *nll {
	n := len(y)
	return &nll{D: D, y: mat.NewVecDense(n, slices.Clone(y)), centre: centre, alpha: mat.NewVecDense(n, nil)}
}

// eval returns the objective at th and, when grad is not nil, fills it.
func (l *nll) eval(th []float64, grad []float64) float64 {
	for k := range th {
		if th[k] < -12 || th[k] > 12 {
			return math.Inf(1)
		}
	}
	n := l.y.Len()
	t := [3]float64{th[0], th[1], th[2]}
	K := kernelMatrix(l.D, t)
	if !l.chol.Factorize(K) {
		return math.Inf(1)
	}
	if err := l.chol.SolveVecTo(l.alpha, l.y); err != nil {
		return math.Inf(1)
	}
	v := 0.5*mat.Dot(l.y, l.alpha) + 0.5*l.chol.LogDet() + 0.5*float64(n)*math.Log(2*math.Pi)
	for k := 0; k < 3; k++ {
		z := (th[k] - l.centre[k]) / priorWidth[k]
		v += 0.5 * z * z
	}
	if grad == nil {
		return v
	}
	if err := l.chol.InverseTo(&l.inv); err != nil {
		return math.Inf(1)
	}
	// dNLL/dθ = ½ tr((K⁻¹ − ααᵀ) ∂K/∂θ).
	ell2 := math.Exp(2 * t[0])
	sf2 := math.Exp(t[1])
	sn2 := math.Exp(t[2])
	inv := l.inv.RawSymmetric()
	var gl, gs, gn float64
	for i := 0; i < n; i++ {
		ai := l.alpha.AtVec(i)
		for j := 0; j < n; j++ {
			a, b := i, j
			if a > b {
				a, b = b, a
			}
			w := inv.Data[a*inv.Stride+b] - ai*l.alpha.AtVec(j)
			d2 := l.D.At(i, j)
			kf := sf2 * math.Exp(-d2/(2*ell2))
			gl += w * kf * d2 / ell2
			gs += w * kf
		}
		gn += (inv.Data[i*inv.Stride+i] - ai*ai) * sn2
	}
	for k, g := range [3]float64{0.5 * gl, 0.5 * gs, 0.5 * gn} {
		grad[k] = g + (th[k]-l.centre[k])/(priorWidth[k]*priorWidth[k])
	}
	return v
}
