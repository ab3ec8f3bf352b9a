package report

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/evolve/store"
)

func TestParetoFront(t *testing.T) {
	cand := func(id string, acc float64, params int64) store.Candidate {
		c := store.Candidate{ID: id, Params: params, Status: store.StatusTrained}
		c.Result.ValAcc = acc
		return c
	}
	metric, _ := Metric(ValAcc)
	cost, _, _ := Objective("params")
	for _, tc := range []struct {
		name string
		in   []store.Candidate
		want []string
	}{
		{"empty", nil, nil},
		{"one", []store.Candidate{cand("a", 90, 100)}, []string{"a"}},
		{"dominated", []store.Candidate{cand("a", 90, 100), cand("b", 80, 200)}, []string{"a"}},
		{"trade-off", []store.Candidate{cand("big", 95, 1000), cand("small", 80, 10), cand("mid", 90, 100), cand("bad", 85, 500)},
			[]string{"small", "mid", "big"}},
		{"equal cost keeps the more accurate", []store.Candidate{cand("a", 80, 100), cand("b", 85, 100)}, []string{"b"}},
		{"exact tie keeps the first", []store.Candidate{cand("a", 85, 100), cand("b", 85, 100)}, []string{"a"}},
		{"equal accuracy keeps the smaller", []store.Candidate{cand("a", 85, 200), cand("b", 85, 100)}, []string{"b"}},
	} {
		var got []string
		for _, c := range ParetoFront(tc.in, metric, cost) {
			got = append(got, c.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: front %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestReportSeries(t *testing.T) {
	c := func(seq int64, op string, status store.Status, acc float64, reward int, fin int) store.Candidate {
		x := store.Candidate{Seq: seq, ID: fmt.Sprintf("c%05d", seq), Op: op, Status: status, Reward: reward,
			FinishedAt: time.Unix(int64(fin), 0)}
		x.Result.ValAcc = acc
		if status == store.StatusTrained {
			x.Result.Status = "ok"
		}
		return x
	}
	cs := []store.Candidate{
		c(1, "seed", store.StatusTrained, 50, -1, 1),
		c(2, "swap", store.StatusRejected, 0, -1, 0),
		c(4, "swap", store.StatusTrained, 60, 1, 2), // finished before seq 3
		c(3, "swap", store.StatusFailed, 0, 0, 3),
		c(5, "insert", store.StatusTrained, 55, 0, 4),
		c(6, "swap", store.StatusTrained, 70, 1, 5),
	}
	order := TrainingOrder(cs)
	var ids []string
	for _, o := range order {
		ids = append(ids, o.ID)
	}
	if !slices.Equal(ids, []string{"c00001", "c00004", "c00003", "c00005", "c00006"}) {
		t.Fatalf("training order %v", ids)
	}
	var best []float64
	for _, p := range bestSoFar(order) {
		best = append(best, p.Y)
	}
	if !slices.Equal(best, []float64{50, 60, 60, 60, 70}) {
		t.Errorf("best so far %v", best)
	}
	s := opSuccessSeries(order, 1)
	if got := s["swap"]; len(got) != 3 || got[0].Y != 100 || got[1].Y != 50 || got[2].Y != 100*2.0/3 || got[2].X != 5 {
		t.Errorf("swap success %v", got)
	}
	if _, ok := s["seed"]; ok {
		t.Errorf("seeds have no parent to beat but got a series")
	}
	if got := opSuccessSeries(order, 3)["swap"]; len(got) != 1 {
		t.Errorf("with a minimum of 3 children, swap has %d points, want 1", len(got))
	}
}

func TestSpendSeries(t *testing.T) {
	t0 := time.Unix(1000, 0)
	calls := []store.CallRow{{Time: t0.Add(2 * time.Second), Cost: 0.5}, {Time: t0.Add(5 * time.Second), Cost: 0.25}}
	xy := spendSeries(calls, t0, time.Second)
	want := [][2]float64{{0, 0}, {2, 0.5}, {5, 0.75}}
	if len(xy) != len(want) {
		t.Fatalf("series %v", xy)
	}
	for i, w := range want {
		if xy[i].X != w[0] || xy[i].Y != w[1] {
			t.Errorf("point %d = %v, want %v", i, xy[i], w)
		}
	}
}

// TestFiguresDraw draws every figure from a run's Data alone, as a Go
// program or notebook would, and saves it as SVG.
func TestFiguresDraw(t *testing.T) {
	c := func(seq int64, op string, acc float64, reward int) store.Candidate {
		x := store.Candidate{Seq: seq, ID: fmt.Sprintf("c%05d", seq), Op: op, Status: store.StatusTrained, Reward: reward,
			Params: 1000 * seq, FLOPs: 5000 * seq, ProposedAt: time.Unix(seq, 0), FinishedAt: time.Unix(seq+1, 0)}
		x.Result.ValAcc, x.Result.Status = acc, "ok"
		return x
	}
	d := Data{Dir: "run", Cands: []store.Candidate{c(1, "seed", 50, -1), c(2, "swap", 60, 1), c(3, "insert", 55, 0)},
		Calls: []store.CallRow{{Time: time.Unix(2, 0), Cost: 0.01}}, MaxParams: 5000}
	dir := t.TempDir()
	for _, f := range Figures() {
		p, err := f.Draw(d)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		path := filepath.Join(dir, f.Name+".svg")
		if err := p.Save(6*72, 4*72, path); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if st, err := os.Stat(path); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v", f.Name, err)
		}
	}
}

// TestParetoAxisFitsData: the x axis spans the candidates, not the
// parameter limit; a far limit is drawn at the edge and said to be off
// the scale, a near one where it is.
func TestParetoAxisFitsData(t *testing.T) {
	c := func(seq int64, params int64, acc float64) store.Candidate {
		x := store.Candidate{Seq: seq, ID: fmt.Sprintf("c%05d", seq), Op: "swap", Status: store.StatusTrained, Params: params}
		x.Result.ValAcc, x.Result.Status = acc, "ok"
		return x
	}
	cands := []store.Candidate{c(1, 5210, 80), c(2, 5230, 81), c(3, 5260, 83)}
	for _, tc := range []struct {
		limit    int64
		maxX     float64 // the axis ends below this (thousands)
		offScale bool
	}{
		{1_500_000, 5.4, true}, // the paper's limit, far beyond 5.3k-parameter candidates
		{5_300, 5.4, false},    // a limit near them is drawn where it is
		{0, 5.4, false},
	} {
		p, err := plotPareto(Data{Cands: cands, MaxParams: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		if p.X.Min < 5.0 || p.X.Max > tc.maxX || p.X.Max < 5.26 {
			t.Errorf("limit %d: x axis [%g, %g] (thousands), want it to fit 5.21k..5.26k", tc.limit, p.X.Min, p.X.Max)
		}
		if p.X.Label.Text != "parameters (thousands)" {
			t.Errorf("x label %q", p.X.Label.Text)
		}
		wt, err := p.WriterTo(6*72, 4*72, "svg")
		if err != nil {
			t.Fatal(err)
		}
		var svg strings.Builder
		if _, err := wt.WriteTo(&svg); err != nil {
			t.Fatal(err)
		}
		got := svg.String()
		if tc.limit > 0 && !strings.Contains(got, "limit: ") || tc.offScale != strings.Contains(got, "off the scale") {
			t.Errorf("limit %d: legend %q", tc.limit, got)
		}
	}
}

// TestEmptyFiguresLeftOut: a figure with no data is not drawn; a note
// says why, in one line.
func TestEmptyFiguresLeftOut(t *testing.T) {
	seed := store.Candidate{Seq: 1, ID: "c00001", Op: store.OpSeed, Status: store.StatusTrained, Params: 100}
	seed.Result.ValAcc, seed.Result.Status = 50, "ok"
	shown, notes := Shown(Data{Cands: []store.Candidate{seed}, Summary: store.Summary{Candidates: 1}})
	var names []string
	for _, f := range shown {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "best_so_far,pareto" || len(notes) != 3 {
		t.Fatalf("shown %v, notes %q", names, notes)
	}
	for _, n := range notes {
		if strings.Contains(n, "\n") || !strings.Contains(n, ": ") {
			t.Errorf("note %q is not one line naming its figure", n)
		}
	}
	if !strings.Contains(notes[2], "LLM spend: no LLM calls ($0)") {
		t.Errorf("spend note %q", notes[2])
	}
}

// TestHTMLShowsRetraining: a run's retraining appears in the report.
func TestHTMLShowsRetraining(t *testing.T) {
	d := Data{Dir: "run", Retrain: &store.Retraining{Seeds: []int64{1000, 1001},
		Candidates: []store.RetrainCandidate{{ID: "c00007", SearchVal: 80, N: 2, TestMean: 88.5, TestStd: 0.25, ValMean: 89,
			Runs: []store.RetrainRun{{ID: "c00007", Seed: 1000, Status: "ok"}, {ID: "c00007", Seed: 1001, Status: "ok"}}}}}}
	pg := htmlView(d)
	if !strings.Contains(pg.Retrain, "c00007") || !strings.Contains(pg.Retrain, "88.50 ± 0.25") {
		t.Errorf("retraining not shown:\n%s", pg.Retrain)
	}
	if pg := htmlView(Data{Dir: "run"}); pg.Retrain != "" {
		t.Errorf("a run without retraining shows %q", pg.Retrain)
	}
}
