package dashboard

import (
	"strings"

	"github.com/arbor-nas/arbor/evolve/report"
)

// diffLine is one line of a unified source diff: Op is ' ' (both), '-'
// (the parent's only), '+' (the child's only), or '@' for a run of
// unchanged lines left out (Text says how many).
type diffLine struct {
	Op   string `json:"op"`
	Text string `json:"text"`
	A    int    `json:"a,omitempty"` // line number in the parent (1-based)
	B    int    `json:"b,omitempty"` // line number in the child
}

// diffContext is how many unchanged lines are kept around each change.
const diffContext = 3

// maxDiffCells bounds the quadratic part of lineDiff; beyond it the
// changed middle is shown as removed and added whole.
const maxDiffCells = 4_000_000

// lineDiff is the line diff of a (the parent's source) against b (the
// child's), unchanged runs longer than twice the context folded. The
// common prefix and suffix are cut first (an edit is local, so the middle
// is small) and the middle is aligned by longest common subsequence.
func lineDiff(a, b string) []diffLine {
	x, y := splitLines(a), splitLines(b)
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	var all []diffLine
	for i := 0; i < pre; i++ {
		all = append(all, diffLine{Op: " ", Text: x[i], A: i + 1, B: i + 1})
	}
	mx, my := x[pre:len(x)-suf], y[pre:len(y)-suf]
	all = append(all, lcsDiff(mx, my, pre)...)
	for i := 0; i < suf; i++ {
		ia, ib := len(x)-suf+i, len(y)-suf+i
		all = append(all, diffLine{Op: " ", Text: x[ia], A: ia + 1, B: ib + 1})
	}
	return fold(all)
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// lcsDiff aligns x and y (lines after off common ones) by a longest common
// subsequence.
func lcsDiff(x, y []string, off int) []diffLine {
	var out []diffLine
	if len(x)*len(y) > maxDiffCells || len(x) == 0 || len(y) == 0 {
		for i, l := range x {
			out = append(out, diffLine{Op: "-", Text: l, A: off + i + 1})
		}
		for j, l := range y {
			out = append(out, diffLine{Op: "+", Text: l, B: off + j + 1})
		}
		return out
	}
	// l[i][j]: LCS length of x[i:] and y[j:].
	w := len(y) + 1
	l := make([]int32, (len(x)+1)*w)
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				l[i*w+j] = l[(i+1)*w+j+1] + 1
			} else {
				l[i*w+j] = max(l[(i+1)*w+j], l[i*w+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out = append(out, diffLine{Op: " ", Text: x[i], A: off + i + 1, B: off + j + 1})
			i++
			j++
		case j < len(y) && (i == len(x) || l[i*w+j+1] > l[(i+1)*w+j]):
			out = append(out, diffLine{Op: "+", Text: y[j], B: off + j + 1})
			j++
		default:
			out = append(out, diffLine{Op: "-", Text: x[i], A: off + i + 1})
			i++
		}
	}
	return out
}

// fold keeps diffContext unchanged lines around each change and replaces
// the rest of each unchanged run by one '@' line.
func fold(all []diffLine) []diffLine {
	keep := make([]bool, len(all))
	for i, d := range all {
		if d.Op != " " {
			for k := max(0, i-diffContext); k <= min(len(all)-1, i+diffContext); k++ {
				keep[k] = true
			}
		}
	}
	out := []diffLine{}
	for i := 0; i < len(all); {
		if keep[i] {
			out = append(out, all[i])
			i++
			continue
		}
		j := i
		for j < len(all) && !keep[j] {
			j++
		}
		out = append(out, diffLine{Op: "@", Text: report.Plural(j-i, "unchanged line")})
		i = j
	}
	return out
}
