package tree

import (
	"testing"
)

func benchResNet56(b *testing.B) *Tree {
	t, err := Seed("resnet56", Shape{3, 32, 32}, 10)
	if err != nil {
		b.Fatal(err)
	}
	return t
}

// BenchmarkHashCheckRenderResNet56 is the dedup gate's cost per candidate:
// structural hash, full shape check with counts, and rendering. Target: < 1 ms.
func BenchmarkHashCheckRenderResNet56(b *testing.B) {
	t := benchResNet56(b)
	b.ReportAllocs()
	for b.Loop() {
		if Hash(t) == "" {
			b.Fatal("empty hash")
		}
		if _, err := Check(t, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := Render(t, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// The three parts alone, to see where the time goes.
func BenchmarkHashResNet56(b *testing.B) {
	t := benchResNet56(b)
	b.ReportAllocs()
	for b.Loop() {
		Hash(t)
	}
}

func BenchmarkCheckResNet56(b *testing.B) {
	t := benchResNet56(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Check(t, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderResNet56(b *testing.B) {
	t := benchResNet56(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(t, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOptionsInsertResNet56 enumerates every valid insert of 200
// catalog-module candidates (shape-preserving, width-changing, strided)
// over ResNet-56. Target: < 50 ms. ns/pair is per (position, candidate).
func BenchmarkOptionsInsertResNet56(b *testing.B) {
	t := benchResNet56(b)
	cat, cands := benchCatalog(200)
	pairs := insertPairs(t, len(cands))
	var n int
	b.ReportAllocs()
	for b.Loop() {
		n = len(Options(t, OpInsert, cands, cat))
	}
	b.ReportMetric(float64(n), "options")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(pairs), "ns/pair")
}

// BenchmarkOptionsInsertResNet56Naive is the baseline: Insert plus a full
// Validate for every (position, candidate) pair, over the first 20 of the
// 200 candidates (the full set would take seconds); compare ns/pair.
func BenchmarkOptionsInsertResNet56Naive(b *testing.B) {
	t := benchResNet56(b)
	cat, cands := benchCatalog(200)
	cands = cands[:20]
	pairs := insertPairs(t, len(cands))
	var n int
	for b.Loop() {
		n = 0
		t.Walk(func(p string, node *Node) bool {
			if node.Kind != KindSeq {
				return true
			}
			for i := 0; i <= len(node.Children); i++ {
				for _, c := range cands {
					if _, err := Insert(t, p, i, c, cat); err == nil {
						n++
					}
				}
			}
			return true
		})
	}
	b.ReportMetric(float64(n), "options")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(pairs), "ns/pair")
}

func insertPairs(t *Tree, cands int) int {
	positions := 0
	t.Walk(func(_ string, n *Node) bool {
		if n.Kind == KindSeq || n.Kind == KindBranch {
			positions += len(n.Children) + 1
		}
		return true
	})
	return positions * cands
}
