package llm

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// OfflineModel is the Usage.Model of choices made without a model.
const OfflineModel = "offline"

// Offline resolver policies (llm.offline.policy).
const (
	// PolicyCategories follows each prompt category's meaning with simple
	// rules, so the planner's category choice changes the proposal:
	// exploit takes the option nearest the winning edits, reverse the one
	// that undoes or inverts the last losing edit, diversity the least
	// explored path or module.
	PolicyCategories = "categories"
	// PolicyUniform ignores the category: a uniform draw among the
	// options (the ablation baseline; the reference method found random
	// swaps hard to beat).
	PolicyUniform = "uniform"
)

// Offline resolves decisions without any network. Its draws depend only on
// the seed and the decision, so results are reproducible under concurrency.
type Offline struct {
	seed   uint64
	args   string
	policy string
}

// NewOffline returns an offline resolver; cfg.Args is "uniform" or
// "defaults", cfg.Policy "categories" (default) or "uniform".
func NewOffline(seed uint64, cfg OfflineConfig) *Offline {
	o := &Offline{seed: seed, args: cfg.Args, policy: cfg.Policy}
	if o.args == "" {
		o.args = "uniform"
	}
	if o.policy == "" {
		o.policy = PolicyCategories
	}
	return o
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
	var c Choice
	if o.policy == PolicyCategories {
		c = categoryChoice(d, rng, o.args)
	} else {
		c = randomChoice(d.Options, rng, o.args)
		c.Rationale = fmt.Sprintf("offline resolver: %s draw among %d options (seed %d)", o.args, len(d.Options), o.seed)
	}
	c.Usage.Model = OfflineModel
	return c, nil
}

// categoryChoice implements PolicyCategories: every option is scored by
// the category's rule, the best score wins, ties are broken by the seeded
// draw. The rationale says which rule decided.
func categoryChoice(d Decision, rng *rand.Rand, mode string) Choice {
	var score func(Option) (float64, map[string]any)
	why := ""
	switch d.Category {
	case Exploit:
		wins := steps(d.Parent.History, true)
		if len(wins) == 0 {
			break
		}
		why = "exploit: nearest to the winning edit " + describeStep(wins[0])
		score = func(o Option) (float64, map[string]any) { return nearest(o, wins) }
	case Reverse:
		losses := steps(d.Parent.History, false)
		if len(losses) == 0 {
			break
		}
		why = "reverse: against the losing edit " + describeStep(losses[0])
		score = func(o Option) (float64, map[string]any) { return undo(o, losses[0]) }
	case Diversity:
		why = "diversity: the least explored path or module"
		score = func(o Option) (float64, map[string]any) { return -float64(o.Uses), nil }
	}
	if score == nil {
		c := randomChoice(d.Options, rng, mode)
		c.Rationale = fmt.Sprintf("offline %s: no edit of that kind in the lineage yet; uniform draw among %d options", d.Category, len(d.Options))
		return c
	}
	best, bestScore := []int(nil), math.Inf(-1)
	args := make([]map[string]any, len(d.Options))
	for i, o := range d.Options {
		s, a := score(o)
		args[i] = a
		switch {
		case s > bestScore:
			best, bestScore = []int{i}, s
		case s == bestScore:
			best = append(best, i)
		}
	}
	i := best[rng.IntN(len(best))]
	o := d.Options[i]
	c := Choice{OptionID: o.ID, Args: map[string]any{}}
	for _, a := range o.Args {
		if v, ok := args[i][a.Name]; ok {
			c.Args[a.Name] = v
		} else {
			c.Args[a.Name] = sampleArg(a, rng, mode)
		}
	}
	c.Rationale = fmt.Sprintf("offline %s (score %g, %d tied of %d)", why, bestScore, len(best), len(d.Options))
	return c
}

// steps returns the history's winning (or losing) edits, most recent
// first: the parent's children already tried come after its ancestors in
// the history, so they count as the most recent.
func steps(h []Step, wins bool) []Step {
	var out []Step
	for i := len(h) - 1; i >= 0; i-- {
		if (h[i].Reward == 1) == wins && h[i].Transform != "" {
			out = append(out, h[i])
		}
	}
	return out
}

func describeStep(s Step) string {
	d := s.Transform + " at " + s.Path
	if s.Module != "" {
		d += " (" + s.Module + ")"
	}
	if s.Arg != "" {
		d += fmt.Sprintf(" %s %s -> %s", s.Arg, s.Before, s.After)
	}
	return d + fmt.Sprintf(", %+.2f points", s.Delta)
}

// similarity of an option to an edit: the same transformation, module,
// argument and place count, the most recent edits the most.
func similarity(o Option, s Step) float64 {
	x := 0.0
	if o.Transform == s.Transform {
		x += 2
	}
	if s.Module != "" && o.Node == s.Module {
		x += 3
	}
	if s.Arg != "" && o.Arg == s.Arg {
		x += 3
	}
	if o.Path == s.Path {
		x += 1
	} else if parentOf(o.Path) == parentOf(s.Path) {
		x += 0.5
	}
	return x
}

// reverting is the score of an option that would undo or overwrite a win
// in the parent's lineage: exploit takes it only when nothing else is
// offered.
const reverting = -1000

// nearest is exploit's score: similarity to the winning edits (weighted
// by recency) and, for an argument, the value that moves it the way the
// nearest win moved its own. Exploit builds on the wins: an option that
// would undo or overwrite one of the parent's winning ancestors' edits
// (the same argument of the same node changed again, the swapped node
// swapped or deleted, the inserted node deleted) scores reverting.
func nearest(o Option, wins []Step) (float64, map[string]any) {
	score, w := 0.0, 1.0
	for _, s := range wins {
		if undoes(o, s) && !continues(o, s) {
			if !s.Tried {
				return reverting, nil
			}
			// A sibling's winning value at this very argument is taken
			// (that child exists): another value here is not building
			// on it; the same value elsewhere is.
			w /= 2
			continue
		}
		score += w * similarity(o, s)
		w /= 2
	}
	if len(o.Args) == 1 && o.Arg != "" {
		for _, s := range wins {
			if s.Arg == "" {
				continue
			}
			if v, ok := towards(o, s.Before, s.After, s.Arg == o.Arg); ok {
				return score + 1, map[string]any{o.Args[0].Name: v}
			}
		}
	}
	return score, nil
}

// continues reports whether o can change the numeric argument s changed
// further in the same direction (48 -> 64 after a winning 32 -> 48): that
// builds on the win rather than undoing it.
func continues(o Option, s Step) bool {
	if s.Transform != "change_arg" || !isNumber(s.Before) || !isNumber(s.After) || len(o.Args) != 1 {
		return false
	}
	_, ok := towards(o, s.Before, s.After, false)
	return ok
}

// undoes reports whether option o would undo or overwrite the edit s made
// to the parent's lineage.
func undoes(o Option, s Step) bool {
	switch s.Transform {
	case "change_arg":
		return o.Transform == "change_arg" && o.Path == s.Path && o.Arg == s.Arg
	case "swap":
		return (o.Transform == "swap" || o.Transform == "delete") && o.Path == s.Path
	case "insert", "wrap_residual", "duplicate", "compose":
		// The inserted node lies under the seq the insert named (its own
		// path is not recorded), a wrapped or duplicated one at or beside
		// the path: deleting any of them may delete the win.
		return o.Transform == "delete" && (o.Path == s.Path || parentOf(o.Path) == s.Path || parentOf(o.Path) == parentOf(s.Path) && s.Transform != "insert")
	case "delete":
		return (o.Transform == "insert" || o.Transform == "swap") && s.Module != "" && o.Node == s.Module &&
			(o.Path == parentOf(s.Path) || parentOf(o.Path) == parentOf(s.Path))
	}
	return false
}

// undo is reverse's score: the option that undoes the losing edit (the
// argument back to its value before, the inserted node deleted, the
// deleted kind inserted) or goes the opposite way, and never the losing
// direction itself.
func undo(o Option, s Step) (float64, map[string]any) {
	inverse := map[string]string{"insert": "delete", "delete": "insert", "wrap_residual": "delete",
		"duplicate": "delete", "compose": "delete", "swap": "swap", "change_arg": "change_arg"}
	score := 0.0
	if o.Transform == inverse[s.Transform] {
		score += 2
	}
	if o.Path == s.Path || parentOf(o.Path) == s.Path || o.Path == parentOf(s.Path) {
		score += 2
	}
	if s.Module != "" && o.Node == s.Module {
		if o.Transform == s.Transform {
			score -= 3 // the losing direction again
		}
	}
	if s.Arg != "" && o.Arg == s.Arg {
		score += 2
		if v, ok := towards(o, s.After, s.Before, true); ok {
			return score + 2, map[string]any{o.Args[0].Name: v}
		}
	}
	return score, nil
}

// towards picks the offered value of o's argument that moves from "from"
// to "to": "to" itself when offered (and exact), otherwise the smallest
// step in that numeric direction from the current value.
func towards(o Option, from, to string, exact bool) (any, bool) {
	a := o.Args[0]
	if exact || !isNumber(to) {
		for _, c := range a.Choices {
			if c == to {
				return c, true
			}
		}
	}
	f, err1 := strconv.ParseFloat(from, 64)
	t, err2 := strconv.ParseFloat(to, 64)
	cur, err3 := strconv.ParseFloat(o.Current, 64)
	if err1 != nil || err2 != nil || err3 != nil || f == t {
		return nil, false
	}
	dir := math.Copysign(1, t-f)
	best, bestD := "", math.Inf(1)
	for _, c := range a.Choices {
		v, err := strconv.ParseFloat(c, 64)
		if err != nil || (v-cur)*dir <= 0 {
			continue
		}
		if d := math.Abs(v - cur); d < bestD {
			best, bestD = c, d
		}
	}
	return best, best != ""
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func parentOf(path string) string {
	for i := len(path) - 1; i > 0; i-- {
		if path[i] == '/' {
			return path[:i]
		}
	}
	return "/"
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
