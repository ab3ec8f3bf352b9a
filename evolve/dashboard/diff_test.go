package dashboard

import (
	"fmt"
	"strings"
	"testing"
)

func TestLineDiff(t *testing.T) {
	lines := func(n int, edit map[int]string) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			if s, ok := edit[i]; ok {
				if s != "" {
					b.WriteString(s + "\n")
				}
				continue
			}
			fmt.Fprintf(&b, "line %d\n", i)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name string
		a, b string
		want string // ops and texts, one per line
	}{
		{"same", lines(3, nil), lines(3, nil), "@ 3 unchanged lines"},
		{"changed middle, folded", lines(20, nil), lines(20, map[int]string{10: "line ten"}),
			"@ 6 unchanged lines|  line 7|  line 8|  line 9|- line 10|+ line ten|  line 11|  line 12|  line 13|@ 7 unchanged lines"},
		{"insert", "a\nb\n", "a\nx\nb\n", "  a|+ x|  b"},
		{"delete", "a\nx\nb\n", "a\nb\n", "  a|- x|  b"},
		{"from empty", "", "a\n", "+ a"},
		{"replace all", "a\nb\n", "c\n", "- a|- b|+ c"},
		{"interleaved", "a\nb\nc\nd\n", "a\nc\nb\nd\n", "  a|- b|  c|+ b|  d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, d := range lineDiff(tc.a, tc.b) {
				got = append(got, d.Op+" "+d.Text)
			}
			if g := strings.Join(got, "|"); g != tc.want {
				t.Errorf("diff:\n got %s\nwant %s", g, tc.want)
			}
		})
	}
	// Line numbers: a '-' line has its parent's number, a '+' the child's.
	for _, d := range lineDiff("a\nb\nc\n", "a\nB\nc\n") {
		if d.Op == "-" && (d.A != 2 || d.B != 0) || d.Op == "+" && (d.B != 2 || d.A != 0) {
			t.Errorf("line numbers: %+v", d)
		}
	}
}

// FuzzLineDiff: applying the diff's kept and added lines gives the child,
// its kept and removed lines the parent (when nothing is folded away).
func FuzzLineDiff(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nc\nd\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		var all []diffLine
		x, y := splitLines(a), splitLines(b)
		all = lcsDiff(x, y, 0)
		var gotA, gotB []string
		for _, d := range all {
			switch d.Op {
			case " ":
				gotA, gotB = append(gotA, d.Text), append(gotB, d.Text)
			case "-":
				gotA = append(gotA, d.Text)
			case "+":
				gotB = append(gotB, d.Text)
			}
		}
		if strings.Join(gotA, "\n") != strings.Join(x, "\n") || strings.Join(gotB, "\n") != strings.Join(y, "\n") {
			t.Fatalf("diff of %q and %q does not rebuild them", a, b)
		}
	})
}
