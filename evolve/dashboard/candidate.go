package dashboard

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/tree"
)

// candidateView is one candidate's page.
type candidateView struct {
	// Step is what `arbor lineage --json` says of it: operation, where,
	// module, arguments, rationale, status word, accuracy and the gain
	// over its parent.
	report.Step
	Version  int64  `json:"version"`
	Seq      int64  `json:"seq"`
	Strategy string `json:"strategy"`
	Gate     string `json:"gate"`
	Reason   string `json:"reason,omitempty"`
	Result   any    `json:"result"`
	FLOPs    int64  `json:"flops"`
	Hash     string `json:"hash,omitempty"`
	Reward   int    `json:"reward"`
	Source   string `json:"source"`
	// Tree is the architecture with per-node counts; TreeError says why
	// counts or the tree are missing (a codegen candidate has no tree).
	Tree      *treeNode `json:"tree,omitempty"`
	TreeError string    `json:"tree_error,omitempty"`
	Removed   []string  `json:"removed,omitempty"` // parent's nodes the child lacks
	Changed   []string  `json:"changed,omitempty"` // paths added or changed against the parent
	// Diff is the PyTorch source against the parent's (none for a seed).
	Diff []diffLine `json:"diff,omitempty"`
	// Weights says the run kept this candidate's weights (a download).
	Weights  bool          `json:"weights"`
	Lineage  []report.Step `json:"lineage"`
	Calls    []callView    `json:"calls"`
	Children []string      `json:"children"`
}

type treeNode struct {
	Name     string      `json:"name"`
	Path     string      `json:"path"`
	Kind     string      `json:"kind"`
	What     string      `json:"what,omitempty"` // primitive op or catalog module
	Args     string      `json:"args,omitempty"`
	Out      string      `json:"out,omitempty"`
	Params   int64       `json:"params"`
	MACs     int64       `json:"macs"`
	Counted  bool        `json:"counted"`
	Change   string      `json:"change,omitempty"` // added | changed
	Children []*treeNode `json:"children,omitempty"`
}

type callView struct {
	Time      time.Time `json:"time"`
	Model     string    `json:"model"`
	Category  string    `json:"category"`
	Operation string    `json:"operation,omitempty"`
	Outcome   string    `json:"outcome"`
	Requests  int       `json:"requests"` // attempts + transport retries
	Repairs   int       `json:"repairs"`
	Retries   int       `json:"retries"`
	TokensIn  int       `json:"tokens_in"`
	TokensOut int       `json:"tokens_out"`
	CostUSD   float64   `json:"cost_usd"`
	LatencyMS float64   `json:"latency_ms"`
	Choice    string    `json:"choice,omitempty"` // the validated option
	Error     string    `json:"error,omitempty"`
	Prompt    string    `json:"prompt,omitempty"`
	Answer    string    `json:"answer,omitempty"`
}

func nodeWhat(n *tree.Node) string {
	switch {
	case n.Op != "":
		return n.Op
	case n.Module != "":
		return n.Module
	}
	return ""
}

func nodeArgs(n *tree.Node) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(n.Args)) {
		parts = append(parts, k+"="+n.Args[k].String())
	}
	return strings.Join(parts, ", ")
}

// sameNode reports whether two nodes agree on everything but children.
func sameNode(a, b *tree.Node) bool {
	if a.Kind != b.Kind || a.Op != b.Op || a.Module != b.Module || len(a.Args) != len(b.Args) || len(a.Children) != len(b.Children) {
		return false
	}
	for k, v := range a.Args {
		w, ok := b.Args[k]
		if !ok || !v.Equal(w) {
			return false
		}
	}
	for i := range a.Children {
		if a.Children[i].Name != b.Children[i].Name {
			return false
		}
	}
	return true
}

// buildTree converts t to the page's tree, with counts from rep (nil: no
// counts) and the difference to parent (nil: none) marked per node.
func buildTree(t *tree.Tree, rep *tree.Report, parent *tree.Tree) (root *treeNode, changed, removed []string) {
	var pnodes map[string]*tree.Node
	if parent != nil {
		pnodes = map[string]*tree.Node{}
		parent.Walk(func(p string, n *tree.Node) bool { pnodes[p] = n; return true })
	}
	seen := map[string]bool{}
	var conv func(path string, n *tree.Node) *treeNode
	conv = func(path string, n *tree.Node) *treeNode {
		name := n.Name
		if path == "/" {
			name = "model"
		}
		tn := &treeNode{Name: name, Path: path, Kind: string(n.Kind), What: nodeWhat(n), Args: nodeArgs(n)}
		if rep != nil {
			if info, ok := rep.Nodes[path]; ok {
				tn.Params, tn.MACs, tn.Out, tn.Counted = info.Params, info.MACs, info.Out.String(), true
			}
		}
		if pnodes != nil {
			seen[path] = true
			switch pn, ok := pnodes[path]; {
			case !ok:
				tn.Change = "added"
			case !sameNode(n, pn):
				tn.Change = "changed"
			}
			if tn.Change != "" {
				changed = append(changed, path)
			}
		}
		for _, c := range n.Children {
			cp := path + "/" + c.Name
			if path == "/" {
				cp = "/" + c.Name
			}
			tn.Children = append(tn.Children, conv(cp, c))
		}
		return tn
	}
	root = conv("/", t.Root)
	for p := range pnodes {
		if !seen[p] {
			removed = append(removed, p)
		}
	}
	sort.Strings(removed)
	return root, changed, removed
}

// candidateView is c's page; c and parent are read whole (tree, source),
// parent is zero for a seed.
func (r *runSource) candidateView(c, parent store.Candidate, cat tree.Catalog, calls []store.CallRow) candidateView {
	v := candidateView{Step: report.StepOf([]store.Candidate{c}, 0), Version: r.version, Seq: c.Seq, Strategy: c.Strategy,
		Gate: c.Gate, Reason: c.Reason, Result: c.Result, FLOPs: c.FLOPs, Hash: c.Hash, Reward: c.Reward, Source: c.Source,
		Lineage: []report.Step{}, Calls: []callView{}, Children: []string{}}
	if len(c.Tree) == 0 {
		v.TreeError = "this candidate has no tree (the codegen baseline rewrites source directly)"
	} else if t, err := tree.Parse(c.Tree); err != nil {
		v.TreeError = fmt.Sprintf("stored tree: %v", err)
	} else {
		rep, err := tree.Check(t, cat)
		if err != nil {
			v.TreeError = fmt.Sprintf("per-node counts unavailable: %v", err)
			rep = nil
		}
		var pt *tree.Tree
		if len(parent.Tree) > 0 {
			pt, _ = tree.Parse(parent.Tree)
		}
		v.Tree, v.Changed, v.Removed = buildTree(t, rep, pt)
	}
	if c.ParentID != "" && (parent.Source != "" || c.Source != "") {
		v.Diff = lineDiff(parent.Source, c.Source)
	}
	_, v.Weights = checkpointFile(r.dir, c.ID)
	// Lineage from the seed, as `arbor lineage` prints it.
	var chain []store.Candidate
	seen := map[string]bool{}
	for cur := c.ID; cur != "" && !seen[cur]; {
		seen[cur] = true
		x, ok := r.candidate(cur)
		if !ok {
			break
		}
		chain = append([]store.Candidate{x}, chain...)
		cur = x.ParentID
	}
	for i := range chain {
		v.Lineage = append(v.Lineage, report.StepOf(chain, i))
	}
	if n := len(v.Lineage); n > 0 && v.Lineage[n-1].ID == c.ID {
		v.Step = v.Lineage[n-1] // with the gain over its parent
	}
	for _, x := range r.cands {
		if x.ParentID == c.ID {
			v.Children = append(v.Children, x.ID)
		}
	}
	for _, call := range calls {
		v.Calls = append(v.Calls, callOf(call))
	}
	return v
}
