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

// MetaNoise holds the proxy's measured noise (JSON Noise): the seed's
// validation accuracies over repeated trainings and their standard
// deviation.
const MetaNoise = "noise"

// Noise is the proxy's measured noise: the first seed architecture's
// validation accuracies over trainings with different training seeds
// (the first is the seed candidate's own), and their sample standard
// deviation in accuracy points.
type Noise struct {
	Values []float64 `json:"values"`
	Sigma  float64   `json:"sigma"`
	// Margin is what a child had to beat its parent by to count as a win
	// (evolve.noise.margin times Sigma).
	Margin float64 `json:"margin"`
}

// DecisionKey is the meta key of the decision (llm.Decision as JSON) the
// resolver settled for candidate id: what it was shown, exactly.
func DecisionKey(id string) string { return "decision/" + id }
