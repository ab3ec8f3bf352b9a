package evolve

import (
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"

	"github.com/arbor-nas/arbor/evolve/store"
)

// archive is the engine's in-memory view of the run: every candidate ever
// proposed, the feasible ones (parents), and the hashes the dedup gate
// checks. It is rebuilt from the store on resume, so it holds nothing the
// store does not.
type archive struct {
	byID     map[string]*Candidate
	order    []*Candidate // proposal order
	feasible []*Candidate // trained ok, in finishing order (regularized evolution's ages)
	byHash   map[string]string
	byCode   map[string]string
	best     *Candidate
	// lastWin is the most recent candidate with reward 1.
	lastWin *Candidate
	// children counts the proposals made from each parent.
	children map[string]int
}

func newArchive() *archive {
	return &archive{byID: map[string]*Candidate{}, byHash: map[string]string{}, byCode: map[string]string{}, children: map[string]int{}}
}

// add registers a proposed candidate and its hashes.
func (a *archive) add(c *Candidate) {
	a.byID[c.ID] = c
	a.order = append(a.order, c)
	if c.ParentID != "" {
		a.children[c.ParentID]++
	}
	a.remember(c)
}

func (a *archive) remember(c *Candidate) {
	if c.Hash != "" {
		if _, ok := a.byHash[c.Hash]; !ok {
			a.byHash[c.Hash] = c.ID
		}
	}
	if c.CodeHash != "" {
		if _, ok := a.byCode[c.CodeHash]; !ok {
			a.byCode[c.CodeHash] = c.ID
		}
	}
}

// duplicateOf returns the ID of an earlier candidate with the same
// structural hash or the same normalized-code hash.
func (a *archive) duplicateOf(hash, codeHash string) (id, which string, dup bool) {
	if hash != "" {
		if id, ok := a.byHash[hash]; ok {
			return id, "structural hash", true
		}
	}
	if codeHash != "" {
		if id, ok := a.byCode[codeHash]; ok {
			return id, "code hash", true
		}
	}
	return "", "", false
}

// finished records a candidate's result; it reports whether it is a new best.
func (a *archive) finished(c *Candidate) (newBest bool) {
	if c.Reward == 1 {
		a.lastWin = c
	}
	if !c.Feasible() {
		return false
	}
	a.feasible = append(a.feasible, c)
	if a.best == nil || store.Rank(c, a.best) < 0 {
		// A tie goes to the earlier proposal (store.Rank), whichever
		// finished first; only a higher accuracy is an improvement.
		newBest = a.best == nil || c.Result.ValAcc > a.best.Result.ValAcc
		a.best = c
	}
	return newBest
}

func (a *archive) bestAcc() float64 {
	if a.best == nil {
		return 0
	}
	return a.best.Result.ValAcc
}

// ranked returns the feasible candidates, best validation accuracy first
// (ties: earlier first, so the order is deterministic).
func ranked(cs []*Candidate) []*Candidate {
	r := slices.Clone(cs)
	slices.SortStableFunc(r, store.Rank)
	return r
}

// selectParent draws a parent from the feasible archive; nil when empty.
func (a *archive) selectParent(cfg ParentConfig, rng *rand.Rand) *Candidate {
	if len(a.feasible) == 0 {
		return nil
	}
	switch cfg.Method {
	case ParentsTournament:
		return Tournament(a.feasible, cfg.TournamentSize, rng)
	default:
		top := ranked(a.feasible)
		if len(top) > cfg.K {
			top = top[:cfg.K]
		}
		return top[rng.IntN(len(top))]
	}
}

// Tournament samples size members of pool without replacement and returns
// the best (ties to the lower seq). Strategies use it as the parents do.
func Tournament(pool []*Candidate, size int, rng *rand.Rand) *Candidate {
	if size > len(pool) {
		size = len(pool)
	}
	idx := rng.Perm(len(pool))[:size]
	var best *Candidate
	for _, i := range idx {
		c := pool[i]
		if best == nil || store.Rank(c, best) < 0 {
			best = c
		}
	}
	return best
}

// population is regularized evolution's population: the most recent
// `size` feasible candidates. Age-based removal is implicit: the oldest
// fall off the window as new ones finish.
func (a *archive) population(size int) []*Candidate {
	if len(a.feasible) <= size {
		return a.feasible
	}
	return a.feasible[len(a.feasible)-size:]
}

// normalizeCode collapses whitespace so that two renderings that differ
// only in spacing or blank lines hash the same (the NNGPT/LEMUR check).
func normalizeCode(src string) string {
	var b strings.Builder
	b.Grow(len(src))
	space := false
	for _, r := range src {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}
