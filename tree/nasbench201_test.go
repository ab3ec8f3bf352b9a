package tree

import (
	"strings"
	"testing"
)

var cifar = Shape{3, 32, 32}

// allNB201Archs enumerates the 5^6 = 15,625 genotypes in a fixed order.
func allNB201Archs() []NB201Genotype {
	ops := CellOps()
	var out []NB201Genotype
	var g NB201Genotype
	var rec func(k int)
	rec = func(k int) {
		if k == len(g) {
			out = append(out, g)
			return
		}
		for _, op := range ops {
			g[k] = op
			rec(k + 1)
		}
	}
	rec(0)
	return out
}

// TestNB201Bijection round-trips all 15,625 arch strings through the tree
// and checks that distinct archs give distinct trees (structural hashes).
func TestNB201Bijection(t *testing.T) {
	all := allNB201Archs()
	if len(all) != 15625 {
		t.Fatalf("%d genotypes", len(all))
	}
	hashes := make(map[string]string, len(all))
	for _, g := range all {
		arch := g.String()
		tr, err := NB201FromArch(arch, cifar, 10)
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		back, err := NB201Arch(tr)
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		if back != arch {
			t.Fatalf("round trip %s -> %s", arch, back)
		}
		h := Hash(tr)
		if prev, dup := hashes[h]; dup {
			t.Fatalf("%s and %s hash alike", prev, arch)
		}
		hashes[h] = arch
	}
}

func TestNB201Skeleton(t *testing.T) {
	const arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
	tr, err := NB201FromArch(arch, cifar, 100)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Check(tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Output != (Shape{100, 1, 1}) {
		t.Errorf("output %v", rep.Output)
	}
	for path, want := range map[string]Shape{
		"/stage1/cell4": {16, 32, 32},
		"/reduce1":      {32, 16, 16},
		"/stage2/cell0": {32, 16, 16},
		"/reduce2":      {64, 8, 8},
		"/stage3/cell4": {64, 8, 8},
	} {
		if got := rep.Nodes[path].Out; got != want {
			t.Errorf("%s out %v, want %v", path, got, want)
		}
	}
	cells := 0
	tr.Walk(func(_ string, n *Node) bool {
		if n.Kind == KindCell {
			cells++
		}
		return true
	})
	if cells != 15 {
		t.Errorf("%d cells, want 15", cells)
	}
	// The all-none genotype has no cell parameters; the all-3x3 one has the
	// most. The difference is exactly the cell convs: 5 cells x 6 edges x
	// (9C^2 + 2C) per stage.
	none, _ := NB201FromArch(NB201Genotype{"none", "none", "none", "none", "none", "none"}.String(), cifar, 10)
	conv := NB201Genotype{}
	for k := range conv {
		conv[k] = CellConv3x3
	}
	full, _ := NB201FromGenotype(conv, cifar, 10)
	rn, _ := Check(none, nil)
	rf, _ := Check(full, nil)
	var want int64
	for _, c := range nb201Widths {
		want += 5 * 6 * int64(9*c*c+2*c)
	}
	if got := rf.Params - rn.Params; got != want {
		t.Errorf("cell params %d, want %d", got, want)
	}
}

func TestParseNB201ArchErrors(t *testing.T) {
	tests := []struct{ arch, want string }{
		{"", "3 nodes"},
		{"|none~0|+|none~0|none~1|", "3 nodes"},
		{"none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must start and end"},
		{"|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 has 1 inputs"},
		{"|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must be op~0"},
		{"|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", `op "conv"`},
		{"|none|+|none~0|none~1|+|none~0|none~1|none~2|", "must be op~0"},
	}
	for _, tc := range tests {
		if _, err := NB201FromArch(tc.arch, cifar, 10); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.arch, err, tc.want)
		}
	}
	if _, err := NB201FromArch(allNB201Archs()[0].String(), cifar, 0); err == nil {
		t.Error("classes 0 accepted")
	}
}

// TestNB201ArchOutsideSpace checks that every way of leaving the space is
// named: a cell that disagrees, a missing cell, an edited skeleton, a
// different tie.
func TestNB201ArchOutsideSpace(t *testing.T) {
	base, err := NB201FromArch("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|", cifar, 10)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(fn func(root *Node)) *Tree {
		c := &Tree{Input: base.Input, Classes: base.Classes, Root: base.Root.DeepCopy()}
		fn(c.Root)
		return c
	}
	child := func(n *Node, name string) *Node {
		for _, c := range n.Children {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("no child %s", name)
		return nil
	}
	tests := []struct {
		name string
		tr   *Tree
		want string
	}{
		{"nil", nil, "no root"},
		{"one cell differs", edit(func(r *Node) {
			child(child(r, "stage2"), "cell3").Args["e2_0"] = String(CellConv3x3)
		}), "cell /stage2/cell3 has e2_0=nor_conv_3x3"},
		{"cell removed", edit(func(r *Node) {
			s := child(r, "stage3")
			s.Children = s.Children[:4]
		}), "has 14 cells"},
		{"untied", edit(func(r *Node) {
			var untie func(n *Node)
			untie = func(n *Node) {
				if n.Kind == KindCell {
					n.Args["tie"] = String("")
				}
				for _, c := range n.Children {
					untie(c)
				}
			}
			untie(r)
		}), `has tie ""`},
		{"stem widened", edit(func(r *Node) {
			child(child(r, "stem"), "conv").Args["out"] = Int(24)
		}), "differs from the NB201 skeleton"},
		{"extra op", edit(func(r *Node) {
			r.Children = append(r.Children[:2], append([]*Node{Op("extra", "relu", nil)}, r.Children[2:]...)...)
		}), "differs from the NB201 skeleton"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NB201Arch(tc.tr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzParseNB201Arch: any string either fails to parse or round-trips.
func FuzzParseNB201Arch(f *testing.F) {
	f.Add("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|")
	f.Add("|none~0|+|none~0|none~1|")
	f.Add("||+||+||")
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseNB201Arch(s)
		if err != nil {
			return
		}
		if g.String() != s {
			t.Fatalf("parsed %q but formats as %q", s, g.String())
		}
	})
}

// BenchmarkNB201Arch is the per-candidate cost of mapping a tree to its
// arch string (the tabular evaluator's key); the baseline is the exact
// hash comparison the fast structural path avoids.
func BenchmarkNB201Arch(b *testing.B) {
	tr, err := NB201FromArch("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|", cifar, 10)
	if err != nil {
		b.Fatal(err)
	}
	var base float64
	b.Run("hash-baseline", func(b *testing.B) {
		for b.Loop() {
			g, _ := NB201GenotypeOf(tr)
			if Hash(nb201Build(g, tr.Input, tr.Classes)) != Hash(tr) {
				b.Fatal("hash differs")
			}
		}
		base = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("NB201Arch", func(b *testing.B) {
		for b.Loop() {
			if _, err := NB201Arch(tr); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/base, "x-baseline")
	})
}
