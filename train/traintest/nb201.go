// Package traintest holds test fixtures for the train package's users: the
// generated NAS-Bench-201 table and the one loader tests use for it.
package traintest

import (
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"testing"

	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/testenv"
)

//go:generate go test -run TestGeneratedNB201TableIsCurrent -update .

// NB201 loads the generated NAS-Bench-201 table, the one every test that
// searches the space uses; path is what a config's run.table takes.
func NB201(tb testing.TB) (path string, table *train.NB201Table) {
	tb.Helper()
	path = testenv.NB201Table(tb)
	t, err := train.LoadNB201Table(path)
	if err != nil {
		tb.Fatal(err)
	}
	return path, t
}

// BenchNB201 is the table a benchmark runs on: the real one when
// $ARBOR_NB201_TABLE names it, else the generated one, said in the log,
// since a timing does not depend on the accuracies.
func BenchNB201(b *testing.B) (path string, table *train.NB201Table) {
	b.Helper()
	p, err := testenv.Find(testenv.NB201Real)
	if err != nil {
		b.Logf("generated NAS-Bench-201 table (%v)", err)
		return NB201(b)
	}
	t, err := train.LoadNB201Table(p)
	if err != nil {
		b.Fatal(err)
	}
	return p, t
}

// nb201Ops are the five operations of the NAS-Bench-201 cell, in the
// benchmark's order.
var nb201Ops = [5]string{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"}

// nb201Edges are the cell's six edges as (to, from), in arch-string order.
var nb201Edges = [6][2]int{{1, 0}, {2, 0}, {2, 1}, {3, 0}, {3, 1}, {3, 2}}

const nb201Cells = 15625 // 5^6

// WriteGeneratedNB201 writes the generated table as gzip-compressed CSV with
// the real table's header, row count and arch strings: every one of the
// 15,625 cells once, its accuracies a deterministic formula of the cell.
//
// The formula has the real landscape's features a search test needs: a
// cell with no path from input to output scores a constant (10% / 1%, as
// in the benchmark), so many cells tie; capacity on live edges, depth and a
// residual edge raise accuracy, too many convolutions lower it a little,
// so the optimum is not the all-conv cell; the 12-epoch signal is a noisy,
// imperfect proxy of the 200-epoch test accuracy (hash noise per column).
func WriteGeneratedNB201(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(zw, "index,arch,c10_val12,c10_test12,c100_val12,c100_test12,c10_test200,c100_test200\n"); err != nil {
		return err
	}
	for i := range nb201Cells {
		// A bijection of 0..15624 (7919 is prime, so coprime to 5^6)
		// spreads neighbouring cells over the file, as the real index
		// order does.
		code := (i*7919 + 4321) % nb201Cells
		var g [6]int
		for k := range g {
			g[k] = code % 5
			code /= 5
		}
		r := generatedRow(g)
		if _, err := fmt.Fprintf(zw, "%d,%s,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f\n", i, archString(g),
			r[0], r[1], r[2], r[3], r[4], r[5]); err != nil {
			return err
		}
	}
	return zw.Close()
}

func archString(g [6]int) string {
	s := "|"
	for k, e := range nb201Edges {
		if k == 1 || k == 3 {
			s += "+|"
		}
		s += fmt.Sprintf("%s~%d|", nb201Ops[g[k]], e[1])
	}
	return s
}

// generatedRow is c10_val12, c10_test12, c100_val12, c100_test12,
// c10_test200, c100_test200 of cell g.
func generatedRow(g [6]int) [6]float64 {
	const (
		none, skip, conv1, conv3, pool = 0, 1, 2, 3, 4
	)
	// reach[n]: node n gets the input; useful[n]: node n feeds the output.
	var reach, useful [4]bool
	reach[0] = true
	for k, e := range nb201Edges {
		if g[k] != none && reach[e[1]] {
			reach[e[0]] = true
		}
	}
	useful[3] = true
	for k := len(nb201Edges) - 1; k >= 0; k-- {
		if e := nb201Edges[k]; g[k] != none && useful[e[0]] {
			useful[e[1]] = true
		}
	}
	if !reach[3] {
		return [6]float64{10, 10, 1, 1, 10, 1}
	}
	weight := [6]float64{1.0, 0.8, 1.1, 0.7, 0.9, 1.2}
	opCap := [5]float64{none: 0, skip: 0.1, conv1: 0.6, conv3: 1.0, pool: 0.2}
	var capacity float64
	n1, n3 := 0, 0
	residual := false
	for k, e := range nb201Edges {
		if g[k] == none || !reach[e[1]] || !useful[e[0]] {
			continue // a dead edge computes nothing the output sees
		}
		capacity += weight[k] * opCap[g[k]]
		switch g[k] {
		case conv1:
			n1++
		case conv3:
			n3++
		}
		if g[k] == skip && e[1] == 0 {
			residual = true
		}
	}
	// depth: the most convolutions on one live path from input to output.
	var depth [4]int
	for n := range depth {
		depth[n] = -1
	}
	depth[0] = 0
	for k, e := range nb201Edges {
		if g[k] == none || depth[e[1]] < 0 {
			continue
		}
		d := depth[e[1]]
		if g[k] == conv1 || g[k] == conv3 {
			d++
		}
		depth[e[0]] = max(depth[e[0]], d)
	}
	score := 1.2*capacity + 0.8*float64(depth[3])
	if residual && depth[3] > 0 {
		score += 0.8
	}
	if depth[3] == 0 {
		score -= 1.5 // only pooling and identities: a linear model
	}
	score -= 0.4 * float64(max(n1+n3-4, 0))

	code := 0
	for k := len(g) - 1; k >= 0; k-- {
		code = code*5 + g[k]
	}
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	c10Test200 := round(55+39.5*sig((score-0.5)/1.4)+0.3*noise(code, 0), 100)
	c100Test200 := round(20+54*sig((score-1.5)/1.6)+0.6*noise(code, 1), 100)
	// Twelve epochs favour cheap operations and are luckier or not per
	// cell: the signal ranks cells like the final accuracy only roughly.
	score12 := score + 0.3*float64(n1) - 0.2*float64(n3) + 1.2*noise(code, 6)
	c10Val12 := round(35+51*sig((score12-2.0)/1.6)+1.5*noise(code, 2), 1000)
	c10Test12 := round(c10Val12+5+0.8*noise(code, 3), 100)
	c100Val12 := round(10+52*sig((score12-3.0)/1.7)+1.2*noise(code, 4), 100)
	c100Test12 := round(c100Val12+0.6*noise(code, 5), 100)
	return [6]float64{c10Val12, c10Test12, c100Val12, c100Test12, c10Test200, c100Test200}
}

// round keeps as many decimals as the benchmark's columns have, so the
// compressed file stays small.
func round(x, scale float64) float64 { return math.Round(x*scale) / scale }

// noise is a deterministic value in [-1, 1] for (code, column): the sum of
// two splitmix64 uniforms, so it peaks at 0.
func noise(code, column int) float64 {
	u := func(x uint64) float64 {
		x += 0x9e3779b97f4a7c15
		x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
		x = (x ^ x>>27) * 0x94d049bb133111eb
		x ^= x >> 31
		return float64(x>>11) / (1 << 53)
	}
	seed := uint64(code)*8 + uint64(column)
	return u(seed) + u(seed^0x5bd1e995<<20) - 1
}
