package surrogate

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Acquisition rules.
const (
	AcqEI  = "ei"  // expected improvement over the best signal so far
	AcqUCB = "ucb" // upper confidence bound, mean + beta·std
)

// ExpectedImprovement is E[max(f − best − xi, 0)] for f ~ N(mean, std²).
func ExpectedImprovement(mean, std, best, xi float64) float64 {
	imp := mean - best - xi
	if std <= 0 {
		return math.Max(imp, 0)
	}
	z := imp / std
	n := distuv.UnitNormal
	return imp*n.CDF(z) + std*n.Prob(z)
}

// UpperConfidenceBound is mean + beta·std.
func UpperConfidenceBound(mean, std, beta float64) float64 { return mean + beta*std }

// novelty is the distance from x to its nearest row of X, relative to
// scale; 0 means x was already trained.
func novelty(x []float64, X [][]float64, scale float64) float64 {
	best := math.Inf(1)
	for _, r := range X {
		var s float64
		for k, v := range r {
			d := v - x[k]
			s += d * d
			if s >= best {
				break
			}
		}
		best = math.Min(best, s)
	}
	if math.IsInf(best, 1) || scale <= 0 {
		return 0
	}
	return math.Sqrt(best) / scale
}
