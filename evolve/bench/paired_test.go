package bench

import (
	"math"
	"testing"
)

func TestPairedDifferences(t *testing.T) {
	vals := map[string]map[int]float64{
		"random":   {1: 80, 2: 90, 3: 85, 4: 70},
		"thompson": {1: 82, 2: 91, 3: 84, 5: 99}, // seed 4 unfinished, seed 5 has no partner
	}
	ps := pairedDiffs([]string{"random", "thompson"}, func(s string) map[int]float64 { return vals[s] })
	if len(ps) != 1 {
		t.Fatalf("%d pairs, want 1", len(ps))
	}
	p := ps[0]
	// Differences +2, +1, -1: mean 2/3, sd sqrt(7/3), SE sd/sqrt(3).
	wantSE := math.Sqrt(7.0/3) / math.Sqrt(3)
	if p.A != "thompson" || p.B != "random" || p.N != 3 || p.Ahead != 2 || p.Behind != 1 ||
		math.Abs(p.Mean-2.0/3) > 1e-12 || math.Abs(p.SE-wantSE) > 1e-12 || p.Min != -1 {
		t.Fatalf("got %+v, want thompson − random over 3 seeds: +0.667 ± %.3f, worst -1", p, wantSE)
	}
	if p.Significant() {
		t.Error("+0.67 ± 0.88 reported as beyond two standard errors")
	}
	for _, tc := range []struct {
		p    Paired
		want bool
	}{{Paired{N: 10, Mean: 0.3, SE: 0.1}, true}, {Paired{N: 10, Mean: -0.3, SE: 0.1}, true}, {Paired{N: 10, Mean: 0.2, SE: 0.1}, false}, {Paired{N: 1, Mean: 5}, false}} {
		if got := tc.p.Significant(); got != tc.want {
			t.Errorf("%+v: significant %v, want %v", tc.p, got, tc.want)
		}
	}
	three := pairedDiffs([]string{"a", "b", "c"}, func(s string) map[int]float64 { return map[int]float64{1: float64(len(s))} })
	if len(three) != 3 || three[0].A != "c" || three[0].B != "a" || three[2].A != "b" {
		t.Fatalf("pairs of three strategies: %v", three)
	}
}
