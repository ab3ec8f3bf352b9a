package llm

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// OfflineModel is the Usage.Model of choices made without a model.
const OfflineModel = "offline"

// Offline resolves decisions without any network: it draws an offered
// option uniformly and fills its arguments by the configured preference. The
// reference method found random swaps beat LLM-chosen ones on its ablation,
// so this is a real baseline, not a stand-in. Draws depend only on the seed
// and the decision, so results are reproducible under concurrency.
type Offline struct {
	seed uint64
	args string
}

// NewOffline returns an offline resolver; cfg.Args is "uniform" or "defaults".
func NewOffline(seed uint64, cfg OfflineConfig) *Offline {
	mode := cfg.Args
	if mode == "" {
		mode = "uniform"
	}
	return &Offline{seed: seed, args: mode}
}

// Resolve implements Resolver.
func (o *Offline) Resolve(ctx context.Context, d Decision) (Choice, error) {
	if err := ctx.Err(); err != nil {
		return Choice{}, err
	}
	if err := d.Validate(); err != nil {
		return Choice{}, err
	}
	rng := rand.New(rand.NewPCG(o.seed, decisionKey(d, "offline")))
	c := randomChoice(d.Options, rng, o.args)
	c.Rationale = fmt.Sprintf("offline resolver: %s draw among %d options (seed %d)", o.args, len(d.Options), o.seed)
	c.Usage.Model = OfflineModel
	return c, nil
}

// randomChoice draws a valid choice; its result always passes validation
// against opts.
func randomChoice(opts []Option, rng *rand.Rand, mode string) Choice {
	o := opts[rng.IntN(len(opts))]
	args := make(map[string]any, len(o.Args))
	for _, a := range o.Args {
		args[a.Name] = sampleArg(a, rng, mode)
	}
	return Choice{OptionID: o.ID, Args: args}
}

func sampleArg(a ArgRange, rng *rand.Rand, mode string) any {
	if a.Default != nil {
		if def, err := coerceArg(a, a.Default); err == nil && (mode == "defaults" || !a.Bounded() && len(a.Choices) == 0 && a.Type != ArgBool) {
			return def
		}
	}
	var v any
	switch a.Type {
	case ArgInt:
		v = drawInt(a, rng)
	case ArgFloat:
		v = a.Min
		if a.Bounded() {
			v = a.Min + rng.Float64()*(a.Max-a.Min)
		}
	case ArgBool:
		v = rng.IntN(2) == 1
	case ArgEnum, ArgString:
		v = ""
		if len(a.Choices) > 0 {
			v = a.Choices[rng.IntN(len(a.Choices))]
		}
	case ArgInts:
		n := 1
		if def, ok := a.Default.([]any); ok && len(def) > 0 {
			n = min(len(def), maxIntsLen)
		}
		xs := make([]int, n)
		for i := range xs {
			xs[i] = drawInt(a, rng)
		}
		v = xs
	}
	if cv, err := coerceArg(a, v); err == nil {
		return cv
	}
	// A range with no valid value drawable (e.g. [0.2, 0.8] for an int)
	// keeps the lower bound; the decision's author owns that mistake.
	return v
}

func drawInt(a ArgRange, rng *rand.Rand) int {
	lo, hi := math.Ceil(a.Min), math.Floor(a.Max)
	if !a.Bounded() || hi < lo {
		return int(lo)
	}
	return int(lo) + rng.IntN(int(hi-lo)+1)
}
