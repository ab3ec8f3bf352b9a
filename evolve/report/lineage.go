package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/arbor-nas/arbor/evolve/store"
)

// Step is one step of a lineage chain, as JSON.
type Step struct {
	ID        string         `json:"id"`
	ParentID  string         `json:"parent_id,omitempty"`
	Op        string         `json:"op"`
	Transform string         `json:"transform,omitempty"`
	Category  string         `json:"category,omitempty"`
	Path      string         `json:"path,omitempty"`
	Module    string         `json:"module,omitempty"`
	Args      map[string]any `json:"args,omitempty"`
	Rationale string         `json:"rationale,omitempty"`
	Fallback  bool           `json:"fallback,omitempty"`
	Status    string         `json:"status"`
	ValAcc    float64        `json:"val_acc"`
	// Delta is the accuracy gain over the parent, in percentage points;
	// absent for the seed and for steps where either did not train.
	Delta  *float64 `json:"delta,omitempty"`
	Params int64    `json:"params"`
}

// StepOf is step i of chain (the seed first).
func StepOf(chain []store.Candidate, i int) Step {
	c := chain[i]
	st := Step{ID: c.ID, ParentID: c.ParentID, Op: c.Op, Transform: c.Transform, Category: c.Category, Path: c.Path,
		Module: c.Module, Args: c.Args, Rationale: c.Rationale, Fallback: c.Fallback, Status: StatusWord(c),
		ValAcc: c.Result.ValAcc, Params: c.Params}
	if i > 0 && c.Feasible() && chain[i-1].Feasible() {
		d := c.Result.ValAcc - chain[i-1].Result.ValAcc
		st.Delta = &d
	}
	return st
}

// StatusWord is the candidate's state in one word: ok, a failure class,
// rejected (with the gate) or pending.
func StatusWord(c store.Candidate) string {
	switch c.Status {
	case store.StatusTrained, store.StatusFailed:
		return string(c.Result.Status)
	case store.StatusRejected:
		return "rejected at " + c.Gate
	}
	return string(c.Status)
}

// WriteLineage prints the chain from the seed to its last candidate, one
// block per step.
func WriteLineage(w io.Writer, chain []store.Candidate) {
	last := chain[len(chain)-1]
	fmt.Fprintf(w, "%s: %s from the seed %s", last.ID, Plural(len(chain)-1, "step"), chain[0].ID)
	if last.Feasible() && chain[0].Feasible() {
		fmt.Fprintf(w, ", val_acc %.2f%% -> %.2f%% (%+.2f points)", chain[0].Result.ValAcc, last.Result.ValAcc, last.Result.ValAcc-chain[0].Result.ValAcc)
	}
	fmt.Fprintln(w)
	for i := range chain {
		st := StepOf(chain, i)
		c := chain[i]
		fmt.Fprintln(w)
		acc := "not trained"
		if c.Status == store.StatusTrained || c.Status == store.StatusFailed {
			acc = fmt.Sprintf("val_acc %.2f%%", c.Result.ValAcc)
		}
		delta := ""
		if st.Delta != nil {
			delta = fmt.Sprintf(" (%+.2f vs parent)", *st.Delta)
		}
		fmt.Fprintf(w, "%d. %s  %s  %s%s  %s params  %s\n", i, c.ID, StatusWord(c), acc, delta, Count(c.Params), Count(c.FLOPs)+" FLOPs")
		if c.Op == store.OpSeed {
			fmt.Fprintf(w, "   seed: %s\n", OrDash(c.Rationale))
			continue
		}
		op := c.Op
		if c.Transform != "" && strings.ReplaceAll(c.Transform, "_", "-") != c.Op {
			op += " (" + c.Transform + ")"
		}
		if c.Category != "" {
			op += ", prompt category " + c.Category
		}
		fmt.Fprintf(w, "   operation: %s\n   path:      %s\n", op, OrDash(c.Path))
		if c.Module != "" {
			fmt.Fprintf(w, "   module:    %s\n", c.Module)
		}
		if len(c.Args) > 0 {
			b, _ := json.Marshal(c.Args)
			fmt.Fprintf(w, "   args:      %s\n", b)
		}
		why := c.Rationale
		if c.Fallback {
			why = "(the resolver's answer was invalid; a random valid option was used) " + why
		}
		if why != "" {
			fmt.Fprintf(w, "   rationale: %s\n", oneLine(why, 300))
		}
	}
}

// oneLine folds whitespace and cuts s to n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// WriteFamilyDot writes every candidate that reached training as a node,
// with an edge from its parent labelled by the operation. The chain's
// members are drawn bold; the best candidate is filled.
func WriteFamilyDot(w io.Writer, dir string, all []store.Candidate, chain []store.Candidate) error {
	onChain := map[string]bool{}
	for _, c := range chain {
		onChain[c.ID] = true
	}
	best := Top(all, ValAcc, 1)
	bestID := ""
	if len(best) == 1 {
		bestID = best[0].ID
	}
	var b strings.Builder
	fmt.Fprintf(&b, "// arbor lineage %s --dot: render with  dot -Tsvg -o family.svg\n", dir)
	b.WriteString("digraph family {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=Helvetica, fontsize=10];\n  edge [fontname=Helvetica, fontsize=9];\n")
	fmt.Fprintf(&b, "  label=%q;\n  labelloc=t;\n", "family tree of "+dir+" (green: trained, red: failed, grey: pending; bold: lineage; filled: best val_acc)")
	kept := map[string]bool{}
	for _, c := range all {
		if c.Status == store.StatusRejected {
			continue // rejected proposals have no children and would swamp the picture
		}
		kept[c.ID] = true
		label := fmt.Sprintf("%s\\n%s", c.ID, Count(c.Params)+" params")
		color := "grey50"
		switch {
		case c.Feasible():
			label = fmt.Sprintf("%s\\n%.2f%%  %s", c.ID, c.Result.ValAcc, Count(c.Params))
			color = "darkgreen"
		case c.Status == store.StatusFailed:
			label = fmt.Sprintf("%s\\n%s", c.ID, c.Result.Status)
			color = "firebrick"
		}
		attrs := []string{fmt.Sprintf("label=\"%s\"", label), "color=" + color}
		style := []string{"rounded"}
		if onChain[c.ID] {
			style = append(style, "bold")
			attrs = append(attrs, "penwidth=2.5")
		}
		if c.ID == bestID {
			style = append(style, "filled")
			attrs = append(attrs, "fillcolor=palegreen")
		}
		attrs = append(attrs, fmt.Sprintf("style=%q", strings.Join(style, ",")))
		fmt.Fprintf(&b, "  %q [%s];\n", c.ID, strings.Join(attrs, ", "))
	}
	for _, c := range all {
		if !kept[c.ID] || c.ParentID == "" || !kept[c.ParentID] {
			continue
		}
		attrs := []string{fmt.Sprintf("label=%q", c.Op)}
		if onChain[c.ID] && onChain[c.ParentID] {
			attrs = append(attrs, "penwidth=2.5")
		}
		fmt.Fprintf(&b, "  %q -> %q [%s];\n", c.ParentID, c.ID, strings.Join(attrs, ", "))
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
