package tree

import (
	"errors"
	"testing"
)

// chooser turns fuzz bytes into choices; it repeats the stream when it runs
// out so every input drives a full sequence.
type chooser struct {
	b []byte
	i int
}

func (c *chooser) intn(n int) int {
	if n <= 1 || len(c.b) == 0 {
		return 0
	}
	v := int(c.b[c.i%len(c.b)])<<8 | int(c.b[(c.i+1)%len(c.b)])
	c.i += 2
	return v % n
}

// randomEdit applies one transformation chosen by ch: either an enumerated
// option (always valid) or a raw transformation with arbitrary arguments
// (valid or a typed error). It returns the new tree, or the old one when the
// edit was rejected, and fails the test on an untyped error or an invalid
// result.
func randomEdit(t testing.TB, ch *chooser, tr *Tree, cands []*Node, cat Catalog) *Tree {
	t.Helper()
	ops := OpKinds()
	op := ops[ch.intn(len(ops))]
	var nt *Tree
	var err error
	if ch.intn(4) > 0 {
		opts := Options(tr, op, cands, cat)
		if len(opts) == 0 {
			return tr
		}
		o := opts[ch.intn(len(opts))]
		if o.Op == OpChangeArg {
			o.Value = pickValue(ch, o)
		}
		nt, err = Apply(tr, o, cat)
		if err != nil && o.Op != OpChangeArg {
			t.Fatalf("enumerated option %s failed: %v", o, err)
		}
	} else {
		paths := tr.Paths()
		p := paths[ch.intn(len(paths))]
		n := cands[ch.intn(len(cands))]
		switch op {
		case OpChangeArg:
			args := []string{"out", "kernel", "stride", "groups", "padding", "n", "p", "e1_0", "e3_2", "size", "bias", "act"}
			vals := []Value{Int(ch.intn(70) - 3), Bool(true), String(CellConv1x1), Float(0.3), String("relu"), Ints(1, 2)}
			nt, err = ChangeArg(tr, p, args[ch.intn(len(args))], vals[ch.intn(len(vals))], cat)
		case OpSwap:
			nt, err = Swap(tr, p, n, cat)
		case OpInsert:
			nt, err = Insert(tr, p, ch.intn(12)-1, n, cat)
		case OpDelete:
			nt, err = Delete(tr, p, cat)
		case OpCompose:
			nt, err = Compose(tr, p, ch.intn(6), ch.intn(8), "grp", cat)
		case OpDuplicate:
			nt, err = Duplicate(tr, p, cat)
		case OpWrapResidual:
			nt, err = WrapResidual(tr, p, cat)
		}
	}
	if err != nil {
		var te *TransformError
		if !errors.As(err, &te) {
			t.Fatalf("%s returned an untyped error %T: %v", op, err, err)
		}
		return tr
	}
	if _, err := Check(nt, cat); err != nil {
		t.Fatalf("%s returned a tree that fails Check: %v", op, err)
	}
	return nt
}

// pickValue chooses a value for a change-arg option: a listed valid choice,
// or a value inside the range.
func pickValue(ch *chooser, o Option) Value {
	if len(o.Choices) > 0 {
		return o.Choices[ch.intn(len(o.Choices))]
	}
	r := o.Range
	switch r.Type {
	case TypeInt:
		hi := int(r.Max)
		if hi > 96 {
			hi = 96
		}
		lo := int(r.Min)
		if hi < lo {
			hi = lo
		}
		return Int(lo + ch.intn(hi-lo+1))
	case TypeFloat:
		return Float(r.Min + (r.Max-r.Min)*float64(ch.intn(101))/100)
	}
	return r.Default
}
