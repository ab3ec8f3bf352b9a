package dashboard

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/arbor-nas/arbor/evolve"
	"github.com/arbor-nas/arbor/evolve/report"
	"github.com/arbor-nas/arbor/tree"
)

// The views below are built under the run's lock from its current state
// and cached as JSON until the next change.

// overview is the run's state at a glance: what the overview cards show.
type overview struct {
	Name       string         `json:"name"`
	Dir        string         `json:"dir"`
	Version    int64          `json:"version"`
	Error      string         `json:"error,omitempty"`
	State      string         `json:"state"` // running | finished | empty
	StopReason string         `json:"stop_reason,omitempty"`
	Strategy   string         `json:"strategy,omitempty"`
	Evaluator  string         `json:"evaluator,omitempty"`
	Trained    int            `json:"trained"`
	Budget     int            `json:"budget"`
	WallBudget float64        `json:"wall_budget_s,omitempty"`
	Candidates int            `json:"candidates"`
	ByStatus   map[string]int `json:"by_status"`
	Rejected   map[string]int `json:"rejected_by_gate"`
	TrainStat  map[string]int `json:"train_status"`
	InFlight   []inFlight     `json:"in_flight"`
	Best       *bestView      `json:"best"`
	LLM        any            `json:"llm"`
	Ops        []opView       `json:"ops"`
	StartedAt  time.Time      `json:"started_at,omitzero"`
	LastAt     time.Time      `json:"last_activity,omitzero"`
	ElapsedS   float64        `json:"elapsed_s"`
	// ETAS is the time left to the training budget at the rate since the
	// current process started; -1 when unknown.
	ETAS float64 `json:"eta_s"`
}

type inFlight struct {
	ID        string    `json:"id"`
	ParentID  string    `json:"parent_id,omitempty"`
	Op        string    `json:"op"`
	StartedAt time.Time `json:"started_at,omitzero"`
}

type bestView struct {
	ID     string  `json:"id"`
	ValAcc float64 `json:"val_acc"`
	Params int64   `json:"params"`
	FLOPs  int64   `json:"flops"`
	Nodes  int     `json:"nodes"` // tree size
	Depth  int     `json:"depth"`
}

type opView struct {
	evolve.OpStats
	Success   float64 `json:"success"`
	Posterior float64 `json:"posterior"` // mean; 0 when none
}

func (r *runSource) overviewView(now time.Time) overview {
	o := overview{Name: r.name, Dir: r.dir, Version: r.version, State: "empty", Strategy: r.cfg.Strategy, Evaluator: r.cfg.Evaluator,
		Trained: r.summary.Trained, Budget: r.cfg.Budget.Trained, WallBudget: r.cfg.Budget.WallTime.Seconds(),
		Candidates: r.summary.Candidates, ByStatus: r.summary.ByStatus, Rejected: r.summary.RejectedByReason,
		TrainStat: r.summary.TrainStatus, LLM: r.summary.LLM, InFlight: []inFlight{}, ETAS: -1}
	if r.err != nil {
		o.Error = r.err.Error()
	}
	if r.hasLast {
		o.State = "running"
		if r.last.Budget > 0 {
			o.Budget = r.last.Budget
		}
		o.LastAt = r.last.Time
	}
	if r.finished {
		o.State, o.StopReason = "finished", r.stopWhy
	}
	o.StartedAt = r.firstEvent
	for _, id := range slices.Sorted(maps.Keys(r.pending)) {
		c, _ := r.candidate(id)
		o.InFlight = append(o.InFlight, inFlight{ID: c.ID, ParentID: c.ParentID, Op: c.Op, StartedAt: c.StartedAt})
	}
	if b, ok := best(r.cands); ok {
		o.Best = &bestView{ID: b.ID, ValAcc: b.Result.ValAcc, Params: b.Params, FLOPs: b.FLOPs}
		if b.ID == r.bestID {
			o.Best.Nodes, o.Best.Depth = r.bestNodes, r.bestDepth
		}
	}
	for _, op := range r.ops {
		v := opView{OpStats: op, Success: op.SuccessRate()}
		if a, ok := r.post.Ops[op.Op]; ok && r.hasPost {
			v.Posterior = a.Mean()
		}
		o.Ops = append(o.Ops, v)
	}
	end := now
	if r.finished && r.hasLast {
		end = r.last.Time
	}
	if !o.StartedAt.IsZero() {
		o.ElapsedS = end.Sub(o.StartedAt).Seconds()
	}
	if !r.finished && o.Budget > 0 && !r.procStart.IsZero() {
		done, left := o.Trained-r.trained0, o.Budget-o.Trained
		el := now.Sub(r.procStart).Seconds()
		switch {
		case left <= 0:
			o.ETAS = 0
		case done > 0 && el > 0:
			o.ETAS = el / float64(done) * float64(left)
		}
		if w := r.cfg.Budget.WallTime.Seconds(); w > 0 {
			if rest := max(0, w-el); o.ETAS < 0 || rest < o.ETAS {
				o.ETAS = rest
			}
		}
	}
	return o
}

// rowColumns name the fields of each candidates-table row, in order.
var rowColumns = []string{"seq", "id", "parent", "op", "category", "status", "outcome", "val_acc", "test_acc", "params",
	"flops", "latency_ms", "reward", "wall_s", "finished_s", "module", "path", "llm_tokens", "llm_cost"}

// rowsView is the candidates table: one array per candidate, columns as
// named, so 2,000 candidates stay a small download.
type rowsView struct {
	Version int64    `json:"version"`
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
}

// outcome is the candidate's state in one word, as `arbor lineage` says it.
func outcome(c evolve.Candidate) string { return report.StatusWord(c) }

func (r *runSource) rowsView() rowsView {
	v := rowsView{Version: r.version, Columns: rowColumns, Rows: make([][]any, 0, len(r.cands))}
	for _, c := range r.cands {
		fin := -1.0
		if !c.FinishedAt.IsZero() && !r.firstEvent.IsZero() {
			fin = round(c.FinishedAt.Sub(r.firstEvent).Seconds(), 3)
		}
		v.Rows = append(v.Rows, []any{c.Seq, c.ID, c.ParentID, c.Op, c.Category, string(c.Status), outcome(c),
			round(c.Result.ValAcc, 4), round(c.Result.TestAcc, 4), c.Params, c.FLOPs, round(c.Result.LatencyMS, 4), c.Reward,
			round(c.Result.WallS, 3), fin, c.Module, c.Path, c.LLMTokens, c.LLMCost})
	}
	return v
}

func round(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	if x < 0 {
		return -float64(int64(-x*p+0.5)) / p
	}
	return float64(int64(x*p+0.5)) / p
}

// chartsView holds the series the charts draw; points name candidates so
// a hover shows one and a click opens it.
type chartsView struct {
	Version int64 `json:"version"`
	// BestByCandidate: x = candidates trained (in finishing order), the
	// best val acc so far; Trained: every feasible one's own accuracy.
	BestByCandidate []point `json:"best_by_candidate"`
	TrainedPoints   []point `json:"trained_points"`
	// BestByTime: x = seconds since the run's first event.
	BestByTime []point `json:"best_by_time"`
	// Pareto fronts (IDs, by rising cost) per objective.
	Pareto map[string][]string `json:"pareto"`
	// Posteriors over time: per operation, and per "op/category", the
	// posterior mean after each planner update (x = updates so far),
	// replayed from the store and checked against the saved planner state.
	OpPosterior  map[string][]point `json:"op_posterior"`
	CatPosterior map[string][]point `json:"cat_posterior"`
	// PosteriorExact is false when the reconstruction does not end at the
	// saved state (a run resumed with another planner configuration).
	PosteriorExact bool           `json:"posterior_exact"`
	Rejections     map[string]int `json:"rejections"`
	Failures       map[string]int `json:"failures"`
	// RejectionsOverTime: per gate stage, cumulative count (x = proposals).
	RejectionsOverTime map[string][]point `json:"rejections_over_time"`
	MaxParams          int64              `json:"max_params,omitempty"`
	MaxFLOPs           int64              `json:"max_flops,omitempty"`
}

type point struct {
	X  float64 `json:"x"`
	Y  float64 `json:"y"`
	ID string  `json:"id,omitempty"`
}

func (r *runSource) chartsView() chartsView {
	v := chartsView{Version: r.version, Pareto: map[string][]string{}, OpPosterior: map[string][]point{},
		CatPosterior: map[string][]point{}, Rejections: r.summary.RejectedByReason, Failures: map[string]int{},
		RejectionsOverTime: map[string][]point{}, MaxParams: r.cfg.MaxParams, MaxFLOPs: r.cfg.MaxFLOPs}
	for k, n := range r.summary.TrainStatus {
		if k != "ok" {
			v.Failures[k] = n
		}
	}
	order := report.TrainingOrder(r.cands)
	bestAcc, bestID := -1.0, ""
	for i, c := range order {
		x := float64(i + 1)
		if c.Feasible() {
			v.TrainedPoints = append(v.TrainedPoints, point{X: x, Y: c.Result.ValAcc, ID: c.ID})
			if c.Result.ValAcc > bestAcc {
				bestAcc, bestID = c.Result.ValAcc, c.ID
				if !r.firstEvent.IsZero() {
					v.BestByTime = append(v.BestByTime, point{X: round(c.FinishedAt.Sub(r.firstEvent).Seconds(), 3), Y: bestAcc, ID: bestID})
				}
			}
		}
		if bestAcc >= 0 {
			v.BestByCandidate = append(v.BestByCandidate, point{X: x, Y: bestAcc, ID: bestID})
		}
	}
	ok := report.Feasible(r.cands)
	metric, _ := report.Metric(report.ValAcc)
	for _, name := range objectives {
		if name == "latency" && !slices.ContainsFunc(ok, func(c evolve.Candidate) bool { return c.Result.LatencyMS > 0 }) {
			continue
		}
		cost, _, _ := report.Objective(name)
		for _, c := range report.ParetoFront(ok, metric, cost) {
			v.Pareto[name] = append(v.Pareto[name], c.ID)
		}
	}
	v.PosteriorExact = r.posteriorSeries(&v)
	counts := map[string]int{}
	for i, c := range r.cands {
		if c.Status == evolve.StatusRejected {
			counts[c.Gate]++
			v.RejectionsOverTime[c.Gate] = append(v.RejectionsOverTime[c.Gate], point{X: float64(i + 1), Y: float64(counts[c.Gate]), ID: c.ID})
		}
	}
	return v
}

// posteriorSeries replays the planner's Beta updates from the store: a
// rejected proposal counts as reward 0 when it was proposed, a trained or
// failed candidate as its stored reward when it finished. The priors are
// the ones the saved state implies (alpha - wins, beta - losses). It
// reports whether the replay ends exactly at the saved state (it does not
// when children were screened out unstored, as thompson+surrogate does).
func (r *runSource) posteriorSeries(v *chartsView) bool {
	if !r.hasPost {
		return false
	}
	type arm struct{ a, b float64 }
	prior := func(a evolve.Arm) arm { return arm{a.Alpha - float64(a.Wins), a.Beta - float64(a.Pulls-a.Wins)} }
	ops := map[string]arm{}
	cats := map[string]arm{}
	for op, a := range r.post.Ops {
		ops[op] = prior(a)
		for cat, ca := range r.post.Cats[op] {
			cats[op+"/"+cat] = prior(ca)
		}
	}
	type update struct {
		at  time.Time
		c   *evolve.Candidate
		win bool
	}
	var ups []update
	for i := range r.cands {
		c := &r.cands[i]
		if _, ok := ops[c.Op]; !ok {
			continue
		}
		switch {
		case c.Status == evolve.StatusRejected:
			ups = append(ups, update{c.ProposedAt, c, false})
		case (c.Status == evolve.StatusTrained || c.Status == evolve.StatusFailed) && c.Reward >= 0:
			ups = append(ups, update{c.FinishedAt, c, c.Reward == 1})
		}
	}
	slices.SortStableFunc(ups, func(a, b update) int { return a.at.Compare(b.at) })
	for i, u := range ups {
		w := 0.0
		if u.win {
			w = 1
		}
		x := float64(i + 1)
		a := ops[u.c.Op]
		a.a, a.b = a.a+w, a.b+1-w
		ops[u.c.Op] = a
		v.OpPosterior[u.c.Op] = append(v.OpPosterior[u.c.Op], point{X: x, Y: a.a / (a.a + a.b), ID: u.c.ID})
		key := u.c.Op + "/" + u.c.Category
		if ca, ok := cats[key]; ok {
			ca.a, ca.b = ca.a+w, ca.b+1-w
			cats[key] = ca
			v.CatPosterior[key] = append(v.CatPosterior[key], point{X: x, Y: ca.a / (ca.a + ca.b), ID: u.c.ID})
		}
	}
	exact := true
	for op, a := range r.post.Ops {
		if got := ops[op]; got.a != a.Alpha || got.b != a.Beta {
			exact = false
		}
	}
	return exact
}

// lineageView is the run's family tree: every candidate that reached
// training, placed by a tidy layered layout (x = generation, y = leaf
// order), with the path from the seed to the best marked.
type lineageView struct {
	Version  int64         `json:"version"`
	Nodes    []lineageNode `json:"nodes"`
	BestPath []string      `json:"best_path"`
	MaxDepth int           `json:"max_depth"`
	Leaves   int           `json:"leaves"`
}

type lineageNode struct {
	ID     string  `json:"id"`
	Parent string  `json:"parent,omitempty"`
	Op     string  `json:"op"`
	Status string  `json:"status"`
	ValAcc float64 `json:"val_acc"`
	X      int     `json:"x"`
	Y      float64 `json:"y"`
}

func (r *runSource) lineageView() lineageView {
	v := lineageView{Version: r.version}
	kept := map[string]*lineageNode{}
	children := map[string][]string{}
	var roots []string
	for _, c := range r.cands {
		if c.Status == evolve.StatusRejected {
			continue // rejected proposals have no children and would swamp the picture
		}
		v.Nodes = append(v.Nodes, lineageNode{ID: c.ID, Parent: c.ParentID, Op: c.Op, Status: outcome(c), ValAcc: c.Result.ValAcc})
	}
	for i := range v.Nodes {
		kept[v.Nodes[i].ID] = &v.Nodes[i]
	}
	for _, n := range v.Nodes {
		if _, ok := kept[n.Parent]; ok && n.Parent != "" {
			children[n.Parent] = append(children[n.Parent], n.ID)
		} else {
			roots = append(roots, n.ID)
		}
	}
	leaf := 0
	var place func(id string, depth int) float64
	place = func(id string, depth int) float64 {
		n := kept[id]
		n.X = depth
		v.MaxDepth = max(v.MaxDepth, depth)
		kids := children[id]
		if len(kids) == 0 {
			n.Y = float64(leaf)
			leaf++
			return n.Y
		}
		lo, hi := 0.0, 0.0
		for i, k := range kids {
			y := place(k, depth+1)
			if i == 0 {
				lo = y
			}
			hi = y
		}
		n.Y = (lo + hi) / 2
		return n.Y
	}
	for _, id := range roots {
		place(id, 0)
	}
	v.Leaves = leaf
	if b, ok := best(r.cands); ok {
		for cur := b.ID; cur != ""; {
			n, ok := kept[cur]
			if !ok {
				break
			}
			v.BestPath = append([]string{cur}, v.BestPath...)
			cur = n.Parent
		}
	}
	return v
}

// candidateView is one candidate's page.
type candidateView struct {
	Version   int64          `json:"version"`
	ID        string         `json:"id"`
	Seq       int64          `json:"seq"`
	ParentID  string         `json:"parent_id,omitempty"`
	Strategy  string         `json:"strategy"`
	Op        string         `json:"op"`
	Transform string         `json:"transform,omitempty"`
	Category  string         `json:"category,omitempty"`
	Path      string         `json:"path,omitempty"`
	Module    string         `json:"module,omitempty"`
	Args      map[string]any `json:"args,omitempty"`
	Rationale string         `json:"rationale,omitempty"`
	Fallback  bool           `json:"fallback,omitempty"`
	Status    string         `json:"status"`
	Outcome   string         `json:"outcome"`
	Gate      string         `json:"gate"`
	Reason    string         `json:"reason,omitempty"`
	Result    any            `json:"result"`
	Params    int64          `json:"params"`
	FLOPs     int64          `json:"flops"`
	Hash      string         `json:"hash,omitempty"`
	Reward    int            `json:"reward"`
	Source    string         `json:"source"`
	// Tree is the architecture with per-node counts; TreeError says why
	// counts or the tree are missing (a codegen candidate has no tree).
	Tree      *treeNode     `json:"tree,omitempty"`
	TreeError string        `json:"tree_error,omitempty"`
	Removed   []string      `json:"removed,omitempty"` // parent's nodes the child lacks
	Changed   []string      `json:"changed,omitempty"` // paths added or changed against the parent
	Lineage   []report.Step `json:"lineage"`
	Calls     []callView    `json:"calls"`
	Children  []string      `json:"children"`
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
func (r *runSource) candidateView(c, parent evolve.Candidate, cat tree.Catalog, calls []evolve.CallRow) candidateView {
	v := candidateView{Version: r.version, ID: c.ID, Seq: c.Seq, ParentID: c.ParentID, Strategy: c.Strategy, Op: c.Op,
		Transform: c.Transform, Category: c.Category, Path: c.Path, Module: c.Module, Args: c.Args, Rationale: c.Rationale,
		Fallback: c.Fallback, Status: string(c.Status), Outcome: outcome(c), Gate: c.Gate, Reason: c.Reason, Result: c.Result,
		Params: c.Params, FLOPs: c.FLOPs, Hash: c.Hash, Reward: c.Reward, Source: c.Source, Lineage: []report.Step{},
		Calls: []callView{}, Children: []string{}}
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
	// Lineage from the seed, as `arbor lineage` prints it.
	var chain []evolve.Candidate
	seen := map[string]bool{}
	for cur := c.ID; cur != "" && !seen[cur]; {
		seen[cur] = true
		x, ok := r.candidate(cur)
		if !ok {
			break
		}
		chain = append([]evolve.Candidate{x}, chain...)
		cur = x.ParentID
	}
	for i := range chain {
		v.Lineage = append(v.Lineage, report.StepOf(chain, i))
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
