package dashboard

import (
	"github.com/arbor-nas/arbor/evolve/store"
)

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
		if c.Status == store.StatusRejected {
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
