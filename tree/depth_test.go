package tree

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// nestedJSON is a tree whose root chain nests depth seq nodes above a relu;
// the innermost seq also holds width extra relus, to make the file large.
func nestedJSON(depth, width int) []byte {
	var b strings.Builder
	b.WriteString(`{"schema":1,"input":[10,1,1],"classes":10,"root":`)
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, `{"kind":"seq","name":"s%d","children":[`, i)
	}
	b.WriteString(`{"kind":"op","name":"act","op":"relu"}`)
	for i := 0; i < width; i++ {
		fmt.Fprintf(&b, `,{"kind":"op","name":"act%d","op":"relu"}`, i)
	}
	for i := 0; i < depth; i++ {
		b.WriteString(`]}`)
	}
	b.WriteString(`}`)
	return []byte(b.String())
}

func TestDepthLimit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		depth  int
		parse  bool // Parse accepts it
		check  bool // Check accepts it
		errHas string
	}{
		{"at the limit", MaxDepth, true, true, ""},
		{"one past the limit", MaxDepth + 1, true, false, "deeper than 100 levels (tree.MaxDepth)"},
		{"5000 deep", 5000, false, false, "line 1 column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Parse(nestedJSON(tc.depth, 0)) // the relu sits at depth tc.depth
			if (err == nil) != tc.parse {
				t.Fatalf("Parse: err %.300v, want ok=%v", err, tc.parse)
			}
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), "tree.MaxDepth") || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("Parse error %q should be a ParseError naming tree.MaxDepth and %q", err, tc.errHas)
				}
				return
			}
			_, err = Check(tr, nil)
			if (err == nil) != tc.check {
				t.Fatalf("Check: err %.300v, want ok=%v", err, tc.check)
			}
			if err != nil && (!strings.Contains(err.Error(), tc.errHas) || len(err.Error()) > 400) {
				t.Fatalf("Check error %q should name %q and stay short", err, tc.errHas)
			}
		})
	}
}

// BenchmarkParseDepth parses and checks trees at the depth limit against a
// flat tree of the same size (the baseline); the ratio shows what depth
// costs. A 5000-deep tree is refused by the pre-scan.
func BenchmarkParseDepth(b *testing.B) {
	for _, bc := range []struct {
		name         string
		depth, width int
	}{
		{"flat-4KB", 1, 100},
		{"deep-100-4KB", MaxDepth, 0},
		{"flat-150KB", 1, 4000},
		{"deep-100-150KB", MaxDepth, 3900},
		{"refused-5000", 5000, 0},
	} {
		data := nestedJSON(bc.depth, bc.width)
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				t, err := Parse(data)
				if err == nil {
					_, err = Check(t, nil)
				}
				if (err != nil) != (bc.depth > MaxDepth) {
					b.Fatal(err)
				}
			}
		})
	}
}
