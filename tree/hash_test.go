package tree

import (
	"strings"
	"testing"
)

func TestHashInvariances(t *testing.T) {
	base, err := Parse([]byte(smallTree))
	if err != nil {
		t.Fatal(err)
	}
	h := Hash(base)
	if len(h) != 64 {
		t.Fatalf("hash %q is not SHA-256 hex", h)
	}
	same := map[string]string{
		"key order": `{"root": {"children": [
		    {"args": {"out": 8}, "op": "conv2d", "name": "conv", "kind": "op"},
		    {"op": "batchnorm2d", "kind": "op", "name": "bn"},
		    {"name": "pool", "op": "adaptiveavgpool2d", "kind": "op"},
		    {"kind": "op", "op": "flatten", "name": "flat"},
		    {"args": {"out": 4}, "kind": "op", "name": "fc", "op": "linear"}], "kind": "seq"},
		  "classes": 4, "input": [3, 8, 8], "schema": 1}`,
		"whitespace": strings.Join(strings.Fields(smallTree), ""),
		"explicit defaults": strings.NewReplacer(
			`"args": {"out": 8}`, `"args": {"out": 8, "kernel": 3, "stride": 1, "padding": 1, "groups": 1, "bias": false}`,
			`"op": "adaptiveavgpool2d"`, `"op": "adaptiveavgpool2d", "args": {"size": 1}`,
			`"args": {"out": 4}`, `"args": {"out": 4, "bias": true}`,
		).Replace(smallTree),
		"float spelling": strings.Replace(smallTree, `"out": 8}`, `"out": 8.0}`, 1),
		"names":          strings.Replace(smallTree, `"name": "bn"`, `"name": "norm"`, 1),
	}
	for name, doc := range same {
		t.Run(name, func(t *testing.T) {
			tr, err := Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if Hash(tr) != h {
				t.Fatalf("hash changed")
			}
		})
	}
	t.Run("defaults in cells, pools and residuals", func(t *testing.T) {
		a := &Tree{Input: Shape{4, 8, 8}, Classes: 2, Root: Seq("",
			&Node{Kind: KindCell, Name: "c", Args: A("e1_0", "skip_connect")},
			&Node{Kind: KindResidual, Name: "r", Children: []*Node{Op("m", "maxpool2d", A("kernel", 3, "padding", 1, "stride", 1))}},
			Op("pool", "adaptiveavgpool2d", nil), Op("fc", "linear", A("out", 2)))}
		b := &Tree{Input: Shape{4, 8, 8}, Classes: 2, Root: Seq("",
			&Node{Kind: KindCell, Name: "c", Args: A("e1_0", "skip_connect", "e2_1", "none", "nodes", 4, "tie", "")},
			&Node{Kind: KindResidual, Name: "r", Args: A("act", "none"), Children: []*Node{Op("m", "maxpool2d", A("kernel", 3, "padding", 1, "stride", 1))}},
			Op("pool", "adaptiveavgpool2d", nil), Op("fc", "linear", A("out", 2)))}
		if Hash(a) != Hash(b) {
			t.Fatal("explicit defaults changed the hash")
		}
		c := *b
		c.Root = Seq("", b.Root.Children[0], b.Root.Children[1], b.Root.Children[2],
			Op("fc", "linear", A("out", 2)))
		c.Root.Children[1] = &Node{Kind: KindResidual, Name: "r", Children: []*Node{Op("m", "maxpool2d", A("kernel", 3, "padding", 1, "stride", 2))}}
		if Hash(&c) == Hash(a) {
			t.Fatal("a stride that differs from the kernel-derived default did not change the hash")
		}
	})
}

// TestHashSensitivity changes every argument of every node of two seeds, one
// at a time, and requires a different hash each time.
func TestHashSensitivity(t *testing.T) {
	for _, seed := range []string{"resnet20", "nb201-resnet", "mobilenetv2-small"} {
		tr := mustSeed(t, seed, Shape{3, 32, 32}, 10)
		h := Hash(tr)
		changed := 0
		for _, p := range tr.Paths() {
			n, _ := tr.Find(p)
			for _, spec := range ArgSpecs(n, nil) {
				if spec.Name == "tie" {
					continue
				}
				cur := EffectiveArg(n, spec)
				v := otherValue(spec, cur)
				if v.IsZero() {
					continue
				}
				nt, err := changeArg(tr, p, spec.Name, v, nil) // unchecked: the hash covers invalid trees too
				if err != nil {
					t.Fatal(err)
				}
				h2 := Hash(nt)
				if h2 == h {
					t.Errorf("%s: changing %s %s from %s to %s kept the hash", seed, p, spec.Name, cur, v)
				}
				changed++
			}
		}
		if changed < 20 {
			t.Fatalf("%s: only %d arguments changed", seed, changed)
		}
		for _, alt := range []*Tree{{Input: Shape{1, 32, 32}, Classes: 10, Root: tr.Root}, {Input: tr.Input, Classes: 100, Root: tr.Root}} {
			if Hash(alt) == h {
				t.Errorf("%s: input or classes change kept the hash", seed)
			}
		}
	}
}

func otherValue(spec ArgSpec, cur Value) Value {
	switch spec.Type {
	case TypeInt:
		i, ok := cur.AsInt()
		if !ok {
			i = int(spec.Min)
		}
		if float64(i+1) <= spec.Max {
			return Int(i + 1)
		}
		return Int(i - 1)
	case TypeFloat:
		f, _ := cur.AsFloat()
		return Float(f/2 + 0.01)
	case TypeBool:
		b, _ := cur.AsBool()
		return Bool(!b)
	case TypeEnum:
		s, _ := cur.AsString()
		for _, c := range spec.Choices {
			if c != s {
				return String(c)
			}
		}
	}
	return Value{}
}

func TestHashIgnoresFunctionalNoOps(t *testing.T) {
	base := &Tree{Input: Shape{3, 8, 8}, Classes: 4, Root: Seq("",
		Op("c", "conv2d", A("out", 8)), Op("r", "relu", nil), Op("p", "adaptiveavgpool2d", nil), Op("fc", "linear", A("out", 4)))}
	same := []*Node{
		Seq("", Op("c", "conv2d", A("out", 8)), Op("i", "identity", nil), Op("r", "relu", nil), Op("p", "adaptiveavgpool2d", nil), Op("fc", "linear", A("out", 4))),
		Seq("", Op("c", "conv2d", A("out", 8)), Op("r", "relu", nil), Op("r2", "relu", nil), Op("p", "adaptiveavgpool2d", nil), Op("fc", "linear", A("out", 4))),
		Seq("", Seq("g", Op("c", "conv2d", A("out", 8)), Op("r", "relu", nil), Op("i", "identity", nil)), Op("p", "adaptiveavgpool2d", nil), Op("fc", "linear", A("out", 4))),
	}
	for i, r := range same {
		if got, want := Hash(&Tree{Input: base.Input, Classes: 4, Root: r}), Hash(base); got != want {
			t.Errorf("variant %d computes the same function but hashes differently", i)
		}
	}
	differ := []*Node{
		Seq("", Op("c", "conv2d", A("out", 8)), Op("r", "relu6", nil), Op("r2", "relu", nil), Op("p", "adaptiveavgpool2d", nil), Op("fc", "linear", A("out", 4))),
		Seq("", Op("c", "conv2d", A("out", 8)), Op("r", "gelu", nil), Op("p", "adaptiveavgpool2d", nil), Op("fc", "linear", A("out", 4))),
		Seq("", Op("c", "conv2d", A("out", 8)), &Node{Kind: KindBranch, Name: "b", Children: []*Node{Op("i", "identity", nil), Op("r", "relu", nil)}}, Op("p", "adaptiveavgpool2d", nil), Op("fc", "linear", A("out", 4))),
	}
	for i, r := range differ {
		if Hash(&Tree{Input: base.Input, Classes: 4, Root: r}) == Hash(base) {
			t.Errorf("variant %d computes another function but hashes the same", i)
		}
	}
}

func TestMeasurerAgreesWithCheck(t *testing.T) {
	m := NewMeasurer(nil)
	for _, name := range []string{"resnet20", "resnet56", "nb201-resnet"} {
		s, err := Seed(name, Shape{C: 3, H: 32, W: 32}, 10)
		if err != nil {
			t.Fatal(err)
		}
		trees := []*Tree{s}
		for _, k := range []OpKind{OpDelete, OpDuplicate, OpWrapResidual} {
			for i, o := range Options(s, k, nil, nil) {
				if i%7 != 0 {
					continue
				}
				c, err := Apply(s, o, nil)
				if err != nil {
					t.Fatal(err)
				}
				trees = append(trees, c)
			}
		}
		// And invalid ones: the measurer must reject what Check rejects.
		if c, err := ApplyListed(s, Option{Op: OpInsert, Path: "/", Index: 0, Node: Op("", "linear", A("out", 5))}, nil); err == nil {
			trees = append(trees, c)
		}
		for i, tr := range trees {
			rep, cerr := Check(tr, nil)
			p, f, merr := m.Measure(tr)
			if (cerr == nil) != (merr == nil) {
				t.Fatalf("%s tree %d: Check says %v, Measure %v", name, i, cerr, merr)
			}
			if cerr == nil && (rep.Params != p || rep.FLOPs != f) {
				t.Fatalf("%s tree %d: Check counts %d/%d, Measure %d/%d", name, i, rep.Params, rep.FLOPs, p, f)
			}
		}
	}
}
