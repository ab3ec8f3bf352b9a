package tree

import (
	"errors"
	"sort"
	"strings"
	"testing"
)

func TestTransformsArePureAndShare(t *testing.T) {
	cat := testCatalog()
	base := mustSeed(t, "resnet20", Shape{3, 32, 32}, 10)
	before, _ := base.Canonical()
	h := Hash(base)
	edits := []struct {
		name string
		fn   func() (*Tree, error)
	}{
		{"change-arg", func() (*Tree, error) { return ChangeArg(base, "/stage1/block1/body/conv1", "kernel", Int(5), cat) }},
		{"swap", func() (*Tree, error) { return Swap(base, "/stage1/block1/body/relu1", Op("", "gelu", nil), cat) }},
		{"insert", func() (*Tree, error) { return Insert(base, "/stage1/block1/body", 2, Module("", "test/se", nil), cat) }},
		{"delete", func() (*Tree, error) { return Delete(base, "/stage1/block1/body/relu1", cat) }},
		{"compose", func() (*Tree, error) { return Compose(base, "/stage1/block1/body", 0, 3, "unit", cat) }},
		{"duplicate", func() (*Tree, error) { return Duplicate(base, "/stage1/block2", cat) }},
		{"wrap", func() (*Tree, error) { return WrapResidual(base, "/stage1/block1/body/conv2", cat) }},
	}
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			nt, err := e.fn()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Check(nt, cat); err != nil {
				t.Fatalf("result fails Check: %v", err)
			}
			after, _ := base.Canonical()
			if string(after) != string(before) || Hash(base) != h {
				t.Fatal("the transformation modified its input")
			}
			s3a, _ := base.Find("/stage3")
			s3b, _ := nt.Find("/stage3")
			if s3a != s3b {
				t.Fatal("untouched subtree /stage3 was copied instead of shared")
			}
			if e.name != "compose" && Hash(nt) == h {
				t.Fatal("hash did not change")
			}
		})
	}
}

func TestTransformResults(t *testing.T) {
	cat := testCatalog()
	base := mustSeed(t, "resnet20", Shape{3, 32, 32}, 10)
	t.Run("insert names and position", func(t *testing.T) {
		nt, err := Insert(base, "/stage1/block1/body", 1, Op("relu1", "relu", nil), cat)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := nt.Find("/stage1/block1/body")
		if got := body.Children[1].Name; got != "relu1_2" {
			t.Fatalf("inserted name %q, want relu1_2", got)
		}
	})
	t.Run("width change inside residual gets projection", func(t *testing.T) {
		nt, err := ChangeArg(base, "/stage1/block1/body/conv2", "out", Int(24), cat)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := Check(nt, cat)
		b, _ := Check(base, cat)
		// conv2 16->24 instead of 16->16, bn2 24 instead of 16, projection 16*24+48;
		// stage1/block2's conv1 now reads 24 channels and block2 needs a
		// 24->16 projection.
		want := b.Params + 9*16*8 + 2*8 + 16*24 + 48 + 9*8*16 + 24*16 + 32
		if r.Params != want {
			t.Fatalf("params %d, want %d", r.Params, want)
		}
	})
	t.Run("duplicate deepens with own name", func(t *testing.T) {
		nt, err := Duplicate(base, "/stage2/block1", cat)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nt.Find("/stage2/block1_2/body/conv1"); err != nil {
			t.Fatal(err)
		}
		r, _ := Check(nt, cat)
		if r.Output != (Shape{10, 1, 1}) {
			t.Fatalf("output %v", r.Output)
		}
	})
	t.Run("tied cells change together", func(t *testing.T) {
		nb := mustSeed(t, "nb201-resnet", Shape{3, 32, 32}, 10)
		nt, err := ChangeArg(nb, "/stage2/cell3", "e3_1", String(CellConv1x1), nil)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		nt.Walk(func(_ string, m *Node) bool {
			if m.Kind == KindCell {
				n++
				if cellEdge(m, 3, 1) != CellConv1x1 {
					t.Errorf("cell %s not changed", m.Name)
				}
			}
			return true
		})
		if n != 15 {
			t.Fatalf("%d cells, want 15", n)
		}
	})
}

func TestTransformErrors(t *testing.T) {
	cat := testCatalog()
	base := mustSeed(t, "resnet20", Shape{3, 32, 32}, 10)
	tests := []struct {
		name  string
		fn    func() (*Tree, error)
		cause any // pointer to the typed cause wanted, or nil
		want  string
	}{
		{"no such path", func() (*Tree, error) { return Delete(base, "/stage9", cat) }, nil, "no such node"},
		{"delete root", func() (*Tree, error) { return Delete(base, "/", cat) }, nil, "root"},
		{"delete residual body", func() (*Tree, error) { return Delete(base, "/stage1/block1/body", cat) }, nil, "cannot delete"},
		{"pool larger than input", func() (*Tree, error) { return Insert(base, "/head", 1, Op("", "maxpool2d", A("kernel", 5)), cat) }, new(*ShapeError), "larger than"},
		{"delete makes bad shape", func() (*Tree, error) {
			nt, _ := Delete(base, "/head/pool", cat)
			return Delete(nt, "/head/flatten", cat)
		}, new(*ShapeError), "linear"},
		{"arg out of range", func() (*Tree, error) { return ChangeArg(base, "/stem/conv", "kernel", Int(40), cat) }, new(*ArgError), "out of range"},
		{"arg wrong type", func() (*Tree, error) { return ChangeArg(base, "/stem/conv", "bias", Int(1), cat) }, new(*ArgError), "want bool"},
		{"arg unknown", func() (*Tree, error) { return ChangeArg(base, "/stem/conv", "dilation", Int(2), cat) }, new(*ArgError), "unknown"},
		{"groups must divide", func() (*Tree, error) { return ChangeArg(base, "/stem/conv", "groups", Int(2), cat) }, new(*ArgError), "divide"},
		{"swap breaks classes", func() (*Tree, error) { return Swap(base, "/head/fc", Op("", "linear", A("out", 7)), cat) }, new(*ShapeError), "classes"},
		{"insert into op", func() (*Tree, error) { return Insert(base, "/stem/conv", 0, Op("", "relu", nil), cat) }, nil, "only insert into"},
		{"insert index", func() (*Tree, error) { return Insert(base, "/stem", 9, Op("", "relu", nil), cat) }, nil, "out of range"},
		{"insert unknown op", func() (*Tree, error) { return Insert(base, "/stem", 0, Op("", "softmax", nil), cat) }, new(*NodeError), "unknown op"},
		{"insert module without catalog", func() (*Tree, error) { return Insert(base, "/stem", 0, Module("", "test/se", nil), nil) }, new(*NodeError), "needs a catalog"},
		{"insert missing module", func() (*Tree, error) { return Insert(base, "/stem", 0, Module("", "test/nope", nil), cat) }, new(*NodeError), "not in the catalog"},
		{"module in arg", func() (*Tree, error) { return Insert(base, "/stem", 0, Module("", "test/proj", A("in_ch", 3)), cat) }, new(*ArgError), "inferred"},
		{"compose range", func() (*Tree, error) { return Compose(base, "/stem", 2, 2, "", cat) }, nil, "range"},
		{"duplicate root", func() (*Tree, error) { return Duplicate(base, "/", cat) }, nil, "seq"},
		{"cycle via change-arg", func() (*Tree, error) {
			nb := mustSeed(t, "nb201-resnet", Shape{3, 32, 32}, 10)
			return ChangeArg(nb, "/stage1/cell0", "e1_2", String(CellSkip), nil)
		}, nil, "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nt, err := tc.fn()
			if err == nil {
				t.Fatalf("want an error, got a tree (hash %s)", Hash(nt))
			}
			var te *TransformError
			if !errors.As(err, &te) {
				t.Fatalf("want *TransformError, got %T: %v", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			switch c := tc.cause.(type) {
			case **ShapeError:
				if !errors.As(err, c) {
					t.Fatalf("cause is not a *ShapeError: %v", err)
				}
			case **ArgError:
				if !errors.As(err, c) {
					t.Fatalf("cause is not a *ArgError: %v", err)
				}
			case **NodeError:
				if !errors.As(err, c) {
					t.Fatalf("cause is not a *NodeError: %v", err)
				}
			}
		})
	}
}

// TestOptionsMatchTransforms checks the incremental enumeration against the
// plain transformations exhaustively: an option is listed exactly when the
// transformation succeeds, and every listed option applies to a valid tree.
func TestOptionsMatchTransforms(t *testing.T) {
	cat := testCatalog()
	cands := testCandidates()
	for _, seed := range []string{"resnet20", "nb201-resnet", "mobilenetv2-small"} {
		base := mustSeed(t, seed, Shape{3, 16, 16}, 10)
		// A repeat with two copies exercises the non-local path.
		base, err := Insert(base, "/stage1", 0, &Node{Kind: KindRepeat, Name: "rep", Args: A("n", 2), Children: []*Node{Op("c", "conv2d", A("out", 16))}}, cat)
		if err != nil {
			t.Fatal(err)
		}
		paths := base.Paths()
		type key struct {
			op   OpKind
			path string
			idx  int
			cand int
		}
		for _, op := range []OpKind{OpInsert, OpSwap, OpDelete, OpDuplicate, OpWrapResidual} {
			got := map[key]bool{}
			for _, o := range Options(base, op, cands, cat) {
				got[key{op, o.Path, o.Index, o.Candidate}] = true
				if _, err := Apply(base, o, cat); err != nil {
					t.Errorf("%s: listed option %s fails: %v", seed, o, err)
				}
			}
			want := map[key]bool{}
			for _, p := range paths {
				n, _ := base.Find(p)
				switch op {
				case OpInsert:
					for i := 0; i <= len(n.Children); i++ {
						for k, c := range cands {
							if _, err := Insert(base, p, i, c, cat); err == nil {
								want[key{op, p, i, k}] = true
							}
						}
					}
				case OpSwap:
					for k, c := range cands {
						if _, err := Swap(base, p, c, cat); err == nil {
							want[key{op, p, 0, k}] = true
						}
					}
				case OpDelete:
					if _, err := Delete(base, p, cat); err == nil {
						want[key{op, p, 0, 0}] = true
					}
				case OpDuplicate:
					if _, err := Duplicate(base, p, cat); err == nil {
						want[key{op, p, 0, 0}] = true
					}
				case OpWrapResidual:
					if _, err := WrapResidual(base, p, cat); err == nil && n.Kind != KindResidual {
						want[key{op, p, 0, 0}] = true
					}
				}
			}
			if len(want) == 0 {
				t.Errorf("%s %s: no valid edits at all", seed, op)
			}
			var diff []string
			for k := range want {
				if !got[k] {
					diff = append(diff, "missing "+string(k.op)+" "+k.path)
				}
			}
			for k := range got {
				if !want[k] {
					diff = append(diff, "extra "+string(k.op)+" "+k.path)
				}
			}
			sort.Strings(diff)
			if len(diff) > 0 {
				t.Errorf("%s %s: %d mismatches, e.g. %v", seed, op, len(diff), diff[:min(5, len(diff))])
			}
		}
	}
}

func TestOptionsChangeArgAndCompose(t *testing.T) {
	nb := mustSeed(t, "nb201-resnet", Shape{3, 32, 32}, 10)
	opts := Options(nb, OpChangeArg, nil, nil)
	cellOpts := 0
	for _, o := range opts {
		if strings.Contains(o.Path, "cell") {
			cellOpts++
			if o.Path != "/stage1/cell0" {
				t.Fatalf("tied cells listed more than once: %s", o.Path)
			}
		}
		for _, v := range o.Choices {
			o.Value = v
			if _, err := Apply(nb, o, nil); err != nil {
				t.Fatalf("choice %s of %s fails: %v", v, o, err)
			}
		}
	}
	if cellOpts != 7 { // nodes + 6 edges
		t.Fatalf("%d cell options, want 7", cellOpts)
	}
	r20 := mustSeed(t, "resnet20", Shape{3, 32, 32}, 10)
	comp := Options(r20, OpCompose, nil, nil)
	if len(comp) == 0 {
		t.Fatal("no compose options")
	}
	for _, o := range comp[:10] {
		nt, err := Apply(r20, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if Hash(nt) != Hash(r20) {
			t.Fatalf("compose %s changed the structural hash", o)
		}
	}
	// Deterministic order.
	again := Options(r20, OpCompose, nil, nil)
	for i := range comp {
		if OptionKey(comp[i]) != OptionKey(again[i]) {
			t.Fatal("option order is not deterministic")
		}
	}
}
