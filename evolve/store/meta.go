package store

// Meta keys the engine writes.
const (
	MetaConfig   = "config" // the evolve config as JSON
	MetaSeed     = "seed"
	MetaStrategy = "strategy"
	MetaCreated  = "created"
	// MetaPreGate holds the pre-gate's counts of children removed before
	// any resolver saw them, by gate stage (JSON object).
	MetaPreGate = "pregate_filtered"
)
