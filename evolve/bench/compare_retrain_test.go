package bench

import (
	"math"
	"strings"
	"testing"
)

// TestCompareRanksByRetrained: with retrained runs, the report ranks the
// strategies by the mean retrained test accuracy over seeds, not by the
// proxy; runs without a retraining are left out of that ranking.
func TestCompareRanksByRetrained(t *testing.T) {
	res := func(s string, val, retr float64) CompareResult {
		return CompareResult{CompareRun: CompareRun{Strategy: s}, BestVal: val, BestTest: math.NaN(), Retrained: retr}
	}
	rep := &CompareReport{Opts: CompareOptions{Strategies: []string{"a", "b", "c"}, Seeds: 2, Budget: 5, Config: "x.yaml"},
		Results: []CompareResult{
			res("a", 90, 80), res("a", 91, 82), // best proxy, worst retrained
			res("b", 85, 88), res("b", 86, 86),
			res("c", 80, math.NaN()), res("c", 81, math.NaN()),
		}}
	var b strings.Builder
	rep.Print(&b)
	out := b.String()
	i := strings.Index(out, "ranked by retrained test accuracy")
	if i < 0 {
		t.Fatalf("no retrained ranking:\n%s", out)
	}
	rank := out[i:]
	ib, ia := strings.Index(rank, "  b  "), strings.Index(rank, "  a  ")
	if ib < 0 || ia < 0 || ib > ia || strings.Contains(rank, "  c  ") {
		t.Errorf("ranking should be b (87.00) then a (81.00), without c:\n%s", rank)
	}
	if !strings.Contains(rank, "87.00 ± 1.41") {
		t.Errorf("b's mean ± std missing:\n%s", rank)
	}
}
