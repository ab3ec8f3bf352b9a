package evolve

import "github.com/arbor-nas/arbor/evolve/store"

// The engine writes its candidates, events and planner state to the run
// store (package store), which owns these records; the names below let
// the engine's code say Candidate rather than store.Candidate.
type (
	Store     = store.Store
	Candidate = store.Candidate
	Status    = store.Status
	Event     = store.Event
	EventKind = store.EventKind
	Write     = store.Write
)

// Candidate statuses, gate stages and event kinds (see package store).
const (
	StatusRejected = store.StatusRejected
	StatusPending  = store.StatusPending
	StatusTrained  = store.StatusTrained
	StatusFailed   = store.StatusFailed

	GatePass        = store.GatePass
	GateProposal    = store.GateProposal
	GateShape       = store.GateShape
	GateSpace       = store.GateSpace
	GateConstraints = store.GateConstraints
	GateDuplicate   = store.GateDuplicate
	GateDryRun      = store.GateDryRun

	EventRunStarted    = store.EventRunStarted
	EventResumed       = store.EventResumed
	EventProposed      = store.EventProposed
	EventRejected      = store.EventRejected
	EventStarted       = store.EventStarted
	EventFinished      = store.EventFinished
	EventBestImproved  = store.EventBestImproved
	EventBudgetReached = store.EventBudgetReached
	EventDraining      = store.EventDraining
	EventRunFinished   = store.EventRunFinished

	MetaConfig   = store.MetaConfig
	MetaSeed     = store.MetaSeed
	MetaStrategy = store.MetaStrategy
	MetaCreated  = store.MetaCreated
	MetaPreGate  = store.MetaPreGate
	MetaNoise    = store.MetaNoise
)

// candidateID is the stable ID of the seq-th proposal.
func candidateID(seq int64) string { return store.CandidateID(seq) }
