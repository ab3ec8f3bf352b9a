package dashboard

import (
	"maps"
	"slices"
	"time"

	"github.com/arbor-nas/arbor/evolve/store"
)

// overview is the run's state at a glance: what the overview cards show.
type overview struct {
	Name       string         `json:"name"`
	Dir        string         `json:"dir"`
	Version    int64          `json:"version"`
	Error      string         `json:"error,omitempty"`
	State      string         `json:"state"` // running | finished | stopped | empty (store.RunState)
	StopReason string         `json:"stop_reason,omitempty"`
	Strategy   string         `json:"strategy,omitempty"`
	Evaluator  string         `json:"evaluator,omitempty"`
	Trained    int            `json:"trained"`
	Budget     int            `json:"budget"`
	WallBudget float64        `json:"wall_budget_s,omitempty"`
	Candidates int            `json:"candidates"`
	ByStatus   map[string]int `json:"by_status"`
	Rejected   map[string]int `json:"rejected_by_gate"`
	// PreGate counts the children removed before any resolver saw them.
	PreGate       map[string]int `json:"pregate_filtered"`
	LLMPerTrained any            `json:"llm_per_trained"`
	TrainStat     map[string]int `json:"train_status"`
	InFlight      []inFlight     `json:"in_flight"`
	Best          *bestView      `json:"best"`
	LLM           any            `json:"llm"`
	Ops           []opView       `json:"ops"`
	StartedAt     time.Time      `json:"started_at,omitzero"`
	LastAt        time.Time      `json:"last_activity,omitzero"`
	ElapsedS      float64        `json:"elapsed_s"`
	// ETAS is the time left to the training budget at the rate since the
	// current process started; -1 when unknown.
	ETAS float64 `json:"eta_s"`
	// Retrained is the best finalist of `arbor retrain`: its test
	// accuracy over seeds, the run's published figure.
	Retrained *retrainedView `json:"retrained,omitempty"`
}

type retrainedView struct {
	ID       string  `json:"id"`
	N        int     `json:"n"`
	TestMean float64 `json:"test_mean"`
	TestStd  float64 `json:"test_std"`
	Epochs   int     `json:"epochs"`
	Finalist int     `json:"finalists"`
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
	store.OpStats
	Success   float64 `json:"success"`
	Posterior float64 `json:"posterior"` // mean; 0 when none
}

func (r *runSource) overviewView(now time.Time) overview {
	o := overview{Name: r.name, Dir: r.dir, Version: r.version, State: "empty", Strategy: r.cfg.Strategy, Evaluator: r.cfg.Evaluator,
		Trained: r.summary.Trained, Budget: r.cfg.Budget, WallBudget: r.cfg.WallTime.Seconds(),
		Candidates: r.summary.Candidates, ByStatus: r.summary.ByStatus, Rejected: r.summary.RejectedByReason,
		TrainStat: r.summary.TrainStatus, LLM: r.summary.LLM, PreGate: r.summary.PreGate, LLMPerTrained: r.summary.LLMPerTrained, InFlight: []inFlight{}, ETAS: -1}
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
	} else if r.hasLast {
		// No run-finished event: running only while a process holds the
		// run's lock; otherwise it died (kill -9, a crash) or was
		// interrupted, and says how to resume it.
		if _, alive := store.Owner(r.dir); !alive {
			o.State, o.StopReason = string(store.RunStopped), store.StoppedText(r.dir)
		}
	}
	if r.hasRetrain && r.retrain != nil {
		if b, ok := r.retrain.Best(); ok {
			o.Retrained = &retrainedView{ID: b.ID, N: b.N, TestMean: b.TestMean, TestStd: b.TestStd, Epochs: r.retrain.Recipe.Epochs, Finalist: len(r.retrain.Candidates)}
		}
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
	if o.State == string(store.RunRunning) && o.Budget > 0 && !r.procStart.IsZero() {
		done, left := o.Trained-r.trained0, o.Budget-o.Trained
		el := now.Sub(r.procStart).Seconds()
		switch {
		case left <= 0:
			o.ETAS = 0
		case done > 0 && el > 0:
			o.ETAS = el / float64(done) * float64(left)
		}
		if w := r.cfg.WallTime.Seconds(); w > 0 {
			if rest := max(0, w-el); o.ETAS < 0 || rest < o.ETAS {
				o.ETAS = rest
			}
		}
	}
	return o
}
