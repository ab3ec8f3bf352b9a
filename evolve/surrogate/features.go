package surrogate

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Features is a sparse structural encoding of one candidate: named tokens
// with values. Sparse names keep encodings of different trees comparable
// without a fixed schema; a Vocab turns them into dense vectors.
type Features map[string]float64

// Add accumulates v on token.
func (f Features) Add(token string, v float64) { f[token] += v }

// CellEdge is one edge of a cell DAG: the op applied to node From's output,
// summed into node To. Node 0 is the cell input, the largest node its output.
type CellEdge struct {
	From, To int
	Op       string
}

// noneOp is the op that cuts an edge; a path through it carries nothing.
const noneOp = "none"

// AddCell adds a cell's genotype under prefix: one token per (edge, op), the
// one-hot encoding, and one token per input→output path whose ops are all
// live, the positional path encoding (White et al., BANANAS). Paths are
// what a cell computes, so two genotypes that differ only in dead edges
// share their path tokens; on NAS-Bench-201 that encoding is the one that
// predicts accuracy best.
func (f Features) AddCell(prefix string, edges []CellEdge) error {
	out := 0
	byFrom := map[int][]int{}
	for i, e := range edges {
		if e.From >= e.To || e.From < 0 {
			return fmt.Errorf("surrogate: cell %s edge %d→%d must go forward", prefix, e.From, e.To)
		}
		out = max(out, e.To)
		byFrom[e.From] = append(byFrom[e.From], i)
	}
	for k := range byFrom {
		sort.Slice(byFrom[k], func(a, b int) bool { return edges[byFrom[k][a]].To < edges[byFrom[k][b]].To })
	}
	live := make([]bool, len(edges))
	var walk func(node int, path []string, via []int)
	walk = func(node int, path []string, via []int) {
		if node == out {
			f.Add(prefix+"/path:"+strings.Join(path, ">"), 1)
			for _, i := range via {
				live[i] = true
			}
			return
		}
		for _, i := range byFrom[node] {
			e := edges[i]
			if e.Op == noneOp {
				continue
			}
			walk(e.To, append(path, fmt.Sprintf("%d%d:%s", e.From, e.To, e.Op)), append(via, i))
		}
	}
	walk(0, nil, nil)
	// A dead edge (on no live path) computes nothing that reaches the
	// output, so its op is encoded as none: genotypes that compute the
	// same function get the same features.
	for i, e := range edges {
		op := e.Op
		if !live[i] {
			op = noneOp
		} else {
			f.Add(prefix+"/live:"+op, 1)
		}
		f.Add(fmt.Sprintf("%s/e%d_%d=%s", prefix, e.To, e.From, op), 1)
	}
	return nil
}

// Vocab assigns dense columns to tokens. It only grows, so vectors encoded
// earlier stay valid once padded to Len.
type Vocab struct {
	index map[string]int
	names []string
}

// NewVocab returns an empty vocabulary.
func NewVocab() *Vocab { return &Vocab{index: map[string]int{}} }

// Len is the number of columns.
func (v *Vocab) Len() int { return len(v.names) }

// Learn adds f's tokens in sorted order, so the columns are deterministic.
func (v *Vocab) Learn(f Features) {
	keys := make([]string, 0, len(f))
	for k := range f {
		if _, ok := v.index[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v.index[k] = len(v.names)
		v.names = append(v.names, k)
	}
}

// Dense encodes f over the current columns; unknown tokens are dropped
// (they are absent from every fitted point, so the kernel would see them
// only as a constant offset). Counts are compressed with log1p so that a
// 15-cell network does not outweigh its genotype.
func (v *Vocab) Dense(f Features) []float64 {
	x := make([]float64, len(v.names))
	for k, val := range f {
		if i, ok := v.index[k]; ok {
			x[i] = math.Copysign(math.Log1p(math.Abs(val)), val) / math.Ln2
		}
	}
	return x
}
