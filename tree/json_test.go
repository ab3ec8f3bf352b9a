package tree

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func mustSeed(t testing.TB, name string, in Shape, classes int) *Tree {
	t.Helper()
	tr, err := Seed(name, in, classes)
	if err != nil {
		t.Fatalf("Seed(%s): %v", name, err)
	}
	return tr
}

func TestCanonicalRoundTrip(t *testing.T) {
	for _, name := range Seeds() {
		t.Run(name, func(t *testing.T) {
			tr := mustSeed(t, name, Shape{3, 32, 32}, 10)
			data, err := tr.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse(Canonical): %v", err)
			}
			again, _ := back.Canonical()
			if string(again) != string(data) {
				t.Fatalf("canonical form is not a fixed point")
			}
			if Hash(back) != Hash(tr) {
				t.Fatalf("hash changed across a round trip")
			}
			compact, _ := json.Marshal(tr)
			if !json.Valid(compact) || strings.Contains(string(compact), "\n") {
				t.Fatalf("MarshalJSON is not compact JSON")
			}
		})
	}
}

const smallTree = `{
  "schema": 1,
  "input": [3, 8, 8],
  "classes": 4,
  "root": {"kind": "seq", "children": [
    {"kind": "op", "name": "conv", "op": "conv2d", "args": {"out": 8}},
    {"kind": "op", "name": "bn", "op": "batchnorm2d"},
    {"kind": "op", "name": "pool", "op": "adaptiveavgpool2d"},
    {"kind": "op", "name": "flat", "op": "flatten"},
    {"kind": "op", "name": "fc", "op": "linear", "args": {"out": 4}}
  ]}
}`

func TestParseErrors(t *testing.T) {
	replace := func(old, new string) string { return strings.Replace(smallTree, old, new, 1) }
	tests := []struct {
		name      string
		doc       string
		line, col int    // for *ParseError
		path, arg string // for typed validation errors
		want      string // substring of the message
	}{
		{name: "missing comma", doc: replace(`"classes": 4,`, `"classes": 4`), line: 5, col: 3, want: "invalid character"},
		{name: "truncated", doc: smallTree[:40], line: 4, col: 2, want: "unexpected end"},
		{name: "wrong JSON type", doc: replace(`"kind": "op", "name": "bn"`, `"kind": 7, "name": "bn"`), line: 7, want: "kind"},
		{name: "unknown field", doc: replace(`"classes": 4,`, `"classes": 4, "colour": 1,`), line: 4, col: 17, want: "unknown field"},
		{name: "unknown kind", doc: replace(`"kind": "op", "name": "bn"`, `"kind": "layer", "name": "bn"`), path: "/bn", want: "unknown kind"},
		{name: "unknown op", doc: replace(`"op": "batchnorm2d"`, `"op": "batchnorm3d"`), path: "/bn", want: "unknown op"},
		{name: "wrong arg type", doc: replace(`"out": 8}`, `"out": "eight"}`), path: "/conv", arg: "out", want: "want int"},
		{name: "float for int", doc: replace(`"out": 8}`, `"out": 8.5}`), path: "/conv", arg: "out", want: "want int"},
		{name: "out of range", doc: replace(`"out": 8}`, `"out": 8, "kernel": 99}`), path: "/conv", arg: "kernel", want: "out of range"},
		{name: "unknown arg", doc: replace(`"out": 8}`, `"out": 8, "dilation": 2}`), path: "/conv", arg: "dilation", want: "unknown argument"},
		{name: "null arg", doc: replace(`"out": 8}`, `"out": null}`), path: "/conv", arg: "out", want: "null"},
		{name: "duplicate name", doc: replace(`"name": "bn"`, `"name": "conv"`), path: "/", want: "unique"},
		{name: "bad name", doc: replace(`"name": "bn"`, `"name": "b/n"`), path: "/", want: "bad name"},
		{name: "missing linear out", doc: replace(`"args": {"out": 4}`, `"args": {}`), path: "/fc", arg: "out", want: "required"},
		{name: "cell cycle", doc: replace(`{"kind": "op", "name": "bn", "op": "batchnorm2d"}`, `{"kind": "cell", "name": "c", "args": {"e1_0": "nor_conv_3x3", "e1_2": "skip_connect"}}`), path: "/c", want: "cycle"},
		{name: "cell self loop", doc: replace(`{"kind": "op", "name": "bn", "op": "batchnorm2d"}`, `{"kind": "cell", "name": "c", "args": {"e2_2": "skip_connect"}}`), path: "/c", want: "cycle"},
		{name: "cell bad edge op", doc: replace(`{"kind": "op", "name": "bn", "op": "batchnorm2d"}`, `{"kind": "cell", "name": "c", "args": {"e1_0": "conv_5x5"}}`), path: "/c", arg: "e1_0", want: "not one of"},
		{name: "cell missing node", doc: replace(`{"kind": "op", "name": "bn", "op": "batchnorm2d"}`, `{"kind": "cell", "name": "c", "args": {"e4_0": "skip_connect"}}`), path: "/c", arg: "e4_0", want: "does not exist"},
		{name: "schema", doc: replace(`"schema": 1`, `"schema": 2`), want: "schema 2"},
		{name: "trailing data", doc: smallTree + "\n {}", line: 13, col: 2, want: "after the JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil {
				t.Fatal("Parse accepted bad input")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			var pe *ParseError
			var ne *NodeError
			var ae *ArgError
			switch {
			case tc.line > 0:
				if !errors.As(err, &pe) {
					t.Fatalf("want *ParseError, got %T %v", err, err)
				}
				if pe.Line != tc.line || (tc.col > 0 && pe.Col != tc.col) {
					t.Fatalf("position %d:%d, want %d:%d (%v)", pe.Line, pe.Col, tc.line, tc.col, err)
				}
			case tc.arg != "":
				if !errors.As(err, &ae) || ae.Path != tc.path || ae.Arg != tc.arg {
					t.Fatalf("want *ArgError at %s arg %s, got %T %v", tc.path, tc.arg, err, err)
				}
			case tc.path != "":
				if !errors.As(err, &ne) || ne.Path != tc.path {
					t.Fatalf("want *NodeError at %s, got %T %v", tc.path, err, err)
				}
			}
		})
	}
}

func TestParseValidSmallTree(t *testing.T) {
	tr, err := Parse([]byte(smallTree))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Check(tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	// conv 3->8 3x3 no bias: 216; bn: 16; linear 8->4 with bias: 36.
	if rep.Params != 216+16+36 {
		t.Fatalf("params %d, want %d", rep.Params, 216+16+36)
	}
	// conv MACs 8*8*8*27 + linear 32.
	if rep.FLOPs != 8*8*8*27+32 {
		t.Fatalf("MACs %d, want %d", rep.FLOPs, 8*8*8*27+32)
	}
	if got := rep.Nodes["/conv"]; got.In != (Shape{3, 8, 8}) || got.Out != (Shape{8, 8, 8}) || got.Params != 216 {
		t.Fatalf("/conv info %+v", got)
	}
}
