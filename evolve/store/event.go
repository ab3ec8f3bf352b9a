package store

import "time"

// EventKind names what happened. The set is closed so displays (progress
// bars, --json streams) can switch on it.
type EventKind string

const (
	EventRunStarted    EventKind = "run-started"
	EventResumed       EventKind = "resumed"
	EventProposed      EventKind = "candidate-proposed"
	EventRejected      EventKind = "candidate-rejected"
	EventStarted       EventKind = "candidate-started"
	EventFinished      EventKind = "candidate-finished"
	EventBestImproved  EventKind = "best-improved"
	EventBudgetReached EventKind = "budget-reached"
	EventDraining      EventKind = "draining"
	EventRunFinished   EventKind = "run-finished"
)

// Event is one typed notification from the engine. Fields not relevant to
// a kind are left zero. The engine also stores every event in the run store.
type Event struct {
	Time        time.Time `json:"time"`
	Kind        EventKind `json:"kind"`
	CandidateID string    `json:"candidate_id,omitempty"`
	ParentID    string    `json:"parent_id,omitempty"`
	Op          string    `json:"op,omitempty"`
	Category    string    `json:"category,omitempty"`
	Path        string    `json:"path,omitempty"`
	Module      string    `json:"module,omitempty"`
	// Gate and Reason are set for rejections.
	Gate   string `json:"gate,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Status, ValAcc, Params, FLOPs and WallS are set when a candidate finishes.
	Status string  `json:"status,omitempty"`
	ValAcc float64 `json:"val_acc,omitempty"`
	Params int64   `json:"params,omitempty"`
	FLOPs  int64   `json:"flops,omitempty"`
	WallS  float64 `json:"wall_s,omitempty"`
	// Progress counters, always set.
	Trained  int `json:"trained"`
	Budget   int `json:"budget"`
	InFlight int `json:"in_flight"`
	Rejected int `json:"rejected"`
	// BestValAcc is the best validation accuracy so far.
	BestValAcc float64 `json:"best_val_acc"`
	LLMCost    float64 `json:"llm_cost,omitempty"`
	Message    string  `json:"message,omitempty"`
}
