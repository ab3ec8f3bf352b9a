package evolve

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/train"
)

// Rewards that are not noise.
//
// A cheap proxy (one epoch on a few thousand images) gives the same
// architecture a different accuracy with every training seed, so "the
// child beat its parent" by a few tenths of a point says nothing, and a
// planner rewarded for it learns noise. So at the start of a run the
// first seed architecture is trained NoiseConfig.Repeats more times, each
// with another training seed (the job's seed, which sets the weight
// initialisation and data order; the data split stays fixed), and the
// sample standard deviation of its validation accuracies is the proxy's
// measured noise. Every strategy pays the same: the repeats run inside
// the seed's job, before anything else is trained, and are not
// candidates (they are not counted against budget.trained, and `arbor
// status` says how many there were). A child then counts as a win only
// when it beats its parent (or the best, under beats-best) by more than
// Margin times that noise. A deterministic evaluator (the NAS-Bench-201
// table) has no noise to measure.

// NoiseConfig sets how the proxy's noise is measured and how much of it a
// win must clear.
type NoiseConfig struct {
	// Extra trainings of the first seed architecture at the start of a run,
	// each with another training seed; the standard deviation of its
	// validation accuracies is the proxy's noise (0: not measured, no
	// margin). Deterministic evaluators (the NAS-Bench-201 table) skip it.
	Repeats int `mapstructure:"repeats" yaml:"repeats"`
	// A child is a win for the planner only when it beats its parent by
	// more than margin times the measured noise (in accuracy points).
	Margin float64 `mapstructure:"margin" yaml:"margin"`
}

// DefaultNoiseConfig: two extra trainings of the seed (three accuracies),
// a margin of one standard deviation.
func DefaultNoiseConfig() NoiseConfig { return NoiseConfig{Repeats: 2, Margin: 1} }

// Validate names the first bad key.
func (c NoiseConfig) Validate() error {
	if c.Repeats < 0 || c.Repeats > 10 {
		return fmt.Errorf("evolve.noise.repeats: must be in [0, 10], got %d", c.Repeats)
	}
	if c.Margin < 0 || math.IsNaN(c.Margin) || math.IsInf(c.Margin, 0) {
		return fmt.Errorf("evolve.noise.margin: must be a number >= 0, got %g", c.Margin)
	}
	return nil
}

// Noise is the measured noise of the proxy, as stored with the run.
type Noise = store.Noise

// deterministic is implemented by evaluators whose result for an
// architecture never varies (a table lookup).
type deterministic interface{ Deterministic() bool }

// measuresNoise reports whether c's job also measures the noise: the
// first seed of a fresh measurement, with repeats configured and an
// evaluator that can vary.
func (e *Engine) measuresNoise(c *Candidate) bool {
	if c.Op != OpSeed || e.noise != nil || e.Config.Noise.Repeats == 0 {
		return false
	}
	for _, o := range e.arch.order {
		if o.Op == OpSeed {
			if o != c {
				return false
			}
			break
		}
	}
	if d, ok := e.Evaluator.(deterministic); ok && d.Deterministic() {
		return false
	}
	return true
}

// repeatSeed trains job Repeats more times with other training seeds and
// returns their validation accuracies (failed repeats are left out).
func (e *Engine) repeatSeed(ctx context.Context, job train.Job) []float64 {
	var out []float64
	for k := 1; k <= e.Config.Noise.Repeats; k++ {
		j := job
		j.ID = fmt.Sprintf("%s-noise%d", job.ID, k)
		j.Seed = job.Seed + int64(k)*7919
		res, err := e.Evaluator.Evaluate(ctx, j, nil)
		if err != nil || res.Status != train.StatusOK {
			e.Log.Warn("evolve: a noise repeat of the seed did not train; the estimate uses the others", "job", j.ID, "status", res.Status, "err", err)
			continue
		}
		out = append(out, res.ValAcc)
	}
	return out
}

// noiseFrom is the noise estimate from the seed's accuracy and its repeats.
func noiseFrom(first float64, repeats []float64) *Noise {
	vals := append([]float64{first}, repeats...)
	n := &Noise{Values: vals}
	if len(vals) < 2 {
		return n
	}
	m := 0.0
	for _, v := range vals {
		m += v
	}
	m /= float64(len(vals))
	ss := 0.0
	for _, v := range vals {
		ss += (v - m) * (v - m)
	}
	n.Sigma = math.Sqrt(ss / float64(len(vals)-1))
	return n
}

// margin is how many points a child must beat its parent by to count as
// a win: Margin times the measured noise (0 before it is measured).
func (e *Engine) margin() float64 {
	if e.noise == nil {
		return 0
	}
	return e.noise.Margin
}

// loadNoise restores the measured noise from the store on resume.
func (e *Engine) loadNoise(ctx context.Context) error {
	s, ok, err := e.Store.Meta(ctx, store.MetaNoise)
	if err != nil || !ok {
		return err
	}
	var n Noise
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		return fmt.Errorf("run store %s: meta %s: %w", e.Store.Path(), store.MetaNoise, err)
	}
	e.noise = &n
	return nil
}
