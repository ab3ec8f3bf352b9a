package evolve

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/arbor-nas/arbor/tree"
)

// Far moves: how the method travels when the search has stalled.
//
// One-edit children of the top few parents stop paying when the archive
// sits in a local optimum (a weak seed, or a cell whose every neighbour is
// worse): random chains of several edits then beat the method because they
// travel further. So once no new best has been found for StallConfig.After
// trained candidates, the diversity category (minimal LLM use, emphasis on
// diversity) offers multi-edit moves: each offered option is the planner's
// operation at one place followed by one or two further seeded edits of
// the same kind elsewhere, applied and gated like any option. The planner
// still chooses the coarse operation and the category, and the resolver
// still chooses among pre-gated options; only the reach of an option grows,
// with the length of the stall.

// StallConfig sets when the search counts as stalled and how far the
// diversity category's moves then reach.
type StallConfig struct {
	// Trained candidates in a row without a new best after which the search
	// counts as stalled (0: a tenth of budget.trained, at least 8; without a
	// trained budget, 10).
	After int `mapstructure:"after" yaml:"after"`
	// Most edits in one move of the diversity category while stalled (1
	// switches far moves off); a move has one edit more per After
	// candidates of the stall.
	MaxEdits int `mapstructure:"max_edits" yaml:"max_edits"`
}

// DefaultStallConfig: far moves of up to three edits.
func DefaultStallConfig() StallConfig { return StallConfig{MaxEdits: 3} }

// Validate names the first bad key.
func (c StallConfig) Validate() error {
	if c.After < 0 {
		return fmt.Errorf("evolve.stall.after: must be >= 0, got %d", c.After)
	}
	if c.MaxEdits < 1 || c.MaxEdits > 8 {
		return fmt.Errorf("evolve.stall.max_edits: must be in [1, 8], got %d", c.MaxEdits)
	}
	return nil
}

// stallAfter is StallConfig.After with its default resolved.
func (e *Engine) stallAfter() int {
	if n := e.Config.Stall.After; n > 0 {
		return n
	}
	if b := e.Config.Budget.Trained; b > 0 {
		return max(8, b/10)
	}
	return 10
}

// sinceBest counts the feasible candidates finished after the best one.
func (e *Engine) sinceBest() int {
	f := e.arch.feasible
	n := 0
	for i := len(f) - 1; i >= 0 && f[i] != e.arch.best; i-- {
		n++
	}
	return n
}

// reach is how many edits one move of category cat makes now: 1, or more
// for the diversity category while the search is stalled.
func (e *Engine) reach(cat string) int {
	if cat != CatDiversity || e.Config.Stall.MaxEdits <= 1 {
		return 1
	}
	after := e.stallAfter()
	s := e.sinceBest()
	if s < after {
		return 1
	}
	return min(e.Config.Stall.MaxEdits, 1+s/after)
}

// extend applies n further seeded edits to child, the result of first:
// each a uniform draw among the parent's options (at another place than
// the edits before it) with a uniform value. Enumerating the child's own
// options would cost a full enumeration per chain; the parent's options
// still apply to the child wherever the first edit left their place as it
// was, and the gate checks the result. It returns the child and what the
// further edits did, or ok false when no further edit applies.
func (e *Engine) extend(child *tree.Tree, first option, opts []option, n int, rng *rand.Rand) (*tree.Tree, []string, bool) {
	var did []string
	used := []option{first}
	clash := func(o option) bool {
		for _, u := range used {
			if o.Path == u.Path && o.Arg == u.Arg || o.Op != tree.OpChangeArg && (strings.HasPrefix(o.Path, u.Path+"/") || strings.HasPrefix(u.Path, o.Path+"/")) {
				return true
			}
		}
		return false
	}
	for range n {
		applied := false
		for _, i := range rng.Perm(len(opts))[:min(len(opts), 8)] {
			o := opts[i]
			if o.Op == tree.OpCompose || clash(o) {
				continue // a block defined mid-chain would not join the palette
			}
			vals := e.optionValues(o)
			if len(vals) == 0 {
				continue
			}
			v := vals[rng.IntN(len(vals))]
			next, err := o.applyValue(child, v, e.Catalog)
			if err != nil {
				continue
			}
			child = next
			used = append(used, o)
			d := o.describe()
			if o.Op == tree.OpChangeArg {
				d = fmt.Sprintf("set %s of %s to %s", o.Arg, o.Path, choiceString(v))
			}
			did = append(did, d)
			applied = true
			break
		}
		if !applied {
			return nil, nil, false
		}
	}
	return child, did, true
}

// farNote is how a far move's further edits are described to the resolver
// and recorded in the rationale.
func farNote(did []string) string {
	if len(did) == 0 {
		return ""
	}
	return "; then " + strings.Join(did, "; then ")
}
