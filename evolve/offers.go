package evolve

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/arbor-nas/arbor/llm"
	"github.com/arbor-nas/arbor/tree"
)

// Pre-gated options: every option a resolver is shown has already been
// applied, and its child has passed the cheap gate (shapes, the
// evaluator's space, constraints, structural and rendered-code dedup
// against every earlier proposal). An argument the resolver fills offers
// only values whose child passed. So a resolver's answer, whatever it is,
// becomes a trained candidate unless the dry run or training fails, and
// no call is spent on a child the gate would reject.

// gated is a child that passed the cheap gate, with what the gate learned.
type gated struct {
	child    *tree.Tree
	params   int64
	flops    int64
	hash     string
	codeHash string
	source   string
}

// offerChild is one argument value of an offer (the zero Value for
// options without an argument) and its gated child.
type offerChild struct {
	value tree.Value
	// far describes the further edits of a far move (farNote); "" for a
	// one-edit child.
	far string
	gated
}

// offer is one option as the resolver sees it: the tool's option and the
// children of its passing argument values.
type offer struct {
	opt      option
	children []offerChild
}

// Offers are the pre-gated options of one operation at one parent.
type Offers struct {
	Op       string
	parent   *Candidate
	tree     *tree.Tree
	list     []offer
	complete bool // every enumerated option was tried (not cut at the quota)
	// Filtered counts the children the cheap gate removed, by stage.
	Filtered map[string]int
}

// Len is the number of options that passed.
func (o *Offers) Len() int {
	if o == nil {
		return 0
	}
	return len(o.list)
}

// Parent is the candidate the offers were made at.
func (o *Offers) Parent() *Candidate { return o.parent }

// OfferedChild is one pre-gated child of Offers, as a strategy ranks it.
type OfferedChild struct {
	Tree   *tree.Tree
	Params int64
	FLOPs  int64
}

// Children lists the gated children of every option, option by option,
// in the offers' (diverse) order.
func (o *Offers) Children() []OfferedChild {
	var out []OfferedChild
	for _, x := range o.list {
		for _, c := range x.children {
			out = append(out, OfferedChild{Tree: c.child, Params: c.params, FLOPs: c.flops})
		}
	}
	return out
}

// Keep returns a copy of o with only the children whose index in
// Children keep accepts; an option left without a child is dropped.
func (o *Offers) Keep(keep func(i int) bool) *Offers {
	out := *o
	out.list = nil
	k := 0
	for _, x := range o.list {
		var kids []offerChild
		for _, c := range x.children {
			if keep(k) {
				kids = append(kids, c)
			}
			k++
		}
		if len(kids) > 0 {
			out.list = append(out.list, offer{opt: x.opt, children: kids})
		}
	}
	return &out
}

// maxTriedOptions bounds the options applied and gated for one offer set,
// as a multiple of evolve.max_options, so an exhausted neighbourhood costs
// bounded time.
const maxTriedOptions = 6

// offers lists up to Config.MaxOptions pre-gated options of operation op
// at parent, in a seeded diverse order. The order, the palette sample and
// hence the result depend only on the run seed and trial.
//
// reach > 1 makes every option a far move (far.go): the option's edit
// followed by reach-1 further seeded edits, each chain its own option.
func (e *Engine) offers(parent *Candidate, op string, trial int64, quota, reach int) (*Offers, error) {
	t, err := e.treeOf(parent)
	if err != nil {
		return nil, err
	}
	out := &Offers{Op: op, parent: parent, tree: t, Filtered: map[string]int{}}
	if t == nil { // a codegen candidate: no tree to transform
		out.complete = true
		return out, nil
	}
	kinds, prefer := e.treeOps(op, parent)
	if len(kinds) == 0 {
		out.complete = true
		return out, nil
	}
	opts, err := e.options(parent.ID, t, kinds)
	if err != nil {
		return nil, err
	}
	order := diverseOrder(opts, e.rngFor(trial, rngOptions))
	var farRng *rand.Rand
	if reach > 1 {
		farRng = e.rngFor(trial, streamID("far"))
	}
	seen := map[string]bool{} // hashes gated in this set: two options may make one child
	m := tree.NewMeasurer(e.Catalog)
	tries := 0
	out.complete = true
	for _, i := range order {
		if len(out.list) >= quota {
			out.complete = false
			break
		}
		if tries >= maxTriedOptions*max(quota, 8) {
			out.complete = false
			break
		}
		tries++
		o := opts[i]
		var kids []offerChild
		for _, v := range e.optionValues(o) {
			if prefer != nil && !prefer(o, v) {
				continue
			}
			child, err := o.applyValue(t, v, e.Catalog)
			if err != nil {
				out.Filtered[GateProposal]++
				continue
			}
			far := ""
			if reach > 1 {
				var did []string
				var ok bool
				if child, did, ok = e.extend(child, o, opts, reach-1, farRng); !ok {
					out.Filtered[GateProposal]++
					continue
				}
				far = farNote(did)
			}
			g, stage, _ := e.gateTree(child, seen, m)
			if stage != "" {
				out.Filtered[stage]++
				continue
			}
			seen[g.hash] = true
			kid := offerChild{value: v, far: far, gated: g}
			if reach > 1 {
				// Each chain is its own option: its further edits differ.
				out.list = append(out.list, offer{opt: o, children: []offerChild{kid}})
				continue
			}
			kids = append(kids, kid)
		}
		if len(kids) > 0 {
			out.list = append(out.list, offer{opt: o, children: kids})
		}
	}
	return out, nil
}

// optionValues are the argument values an option's children are made
// with: the valid alternatives of a change-arg (small domains listed by
// the tools, wide numeric ranges discretised around the current value),
// or the zero Value for options without an argument.
func (e *Engine) optionValues(o option) []tree.Value {
	if o.Op != tree.OpChangeArg {
		return []tree.Value{{}}
	}
	if len(o.Choices) > 0 {
		return o.Choices
	}
	var out []tree.Value
	add := func(v tree.Value) {
		if !v.Equal(o.Current) && !slices.ContainsFunc(out, v.Equal) {
			out = append(out, v)
		}
	}
	spec := o.Range
	switch spec.Type {
	case tree.TypeInt:
		c, ok := o.Current.AsInt()
		if !ok {
			return nil
		}
		for _, f := range []float64{0.5, 0.75, 1.25, 1.5, 2} {
			x := float64(c) * f
			if c%8 == 0 && c >= 16 {
				x = math.Round(x/8) * 8 // widths stay multiples of 8
			}
			x = math.Round(x)
			if (spec.Max > spec.Min && (x < spec.Min || x > spec.Max)) || x < 1 {
				continue
			}
			add(tree.Int(int(x)))
		}
	case tree.TypeFloat:
		c, ok := o.Current.AsFloat()
		if !ok {
			return nil
		}
		for _, f := range []float64{0.5, 0.75, 1.25, 1.5} {
			x := math.Round(c*f*1e4) / 1e4
			if spec.Max > spec.Min && (x < spec.Min || x > spec.Max) {
				continue
			}
			add(tree.Float(x))
		}
	}
	return out
}

// applyValue applies the option with value v (change-arg) or as listed.
func (o option) applyValue(t *tree.Tree, v tree.Value, cat tree.Catalog) (*tree.Tree, error) {
	to := *o.Option
	if o.Op == tree.OpChangeArg {
		to.Value = v
	}
	return o.applyOption(t, to, cat)
}

// gateTree runs the cheap gate on t. stage is "" when it passes; seen
// holds structural hashes to treat as taken besides the archive's; m
// (nil: a fresh one) memoizes shape inference across siblings.
func (e *Engine) gateTree(t *tree.Tree, seen map[string]bool, m *tree.Measurer) (g gated, stage, reason string) {
	g.child = t
	if m == nil {
		m = tree.NewMeasurer(e.Catalog)
	}
	params, flops, err := m.Measure(t)
	if err != nil {
		return g, GateShape, err.Error()
	}
	g.params, g.flops, g.hash = params, flops, tree.Hash(t)
	if e.Arch != nil {
		if _, err := e.Arch(t); err != nil {
			return g, GateSpace, err.Error()
		}
	}
	if why := e.violates(params, flops); why != "" {
		return g, GateConstraints, why
	}
	if id, which, dup := e.arch.duplicateOf(g.hash, ""); dup {
		return g, GateDuplicate, fmt.Sprintf("same %s as %s", which, id)
	}
	if seen[g.hash] {
		return g, GateDuplicate, "same structural hash as another option"
	}
	src, err := tree.Render(t, e.Catalog)
	if err != nil {
		return g, GateShape, "render: " + err.Error()
	}
	g.source, g.codeHash = src, codeHash(src)
	if id, which, dup := e.arch.duplicateOf("", g.codeHash); dup {
		return g, GateDuplicate, fmt.Sprintf("same %s as %s", which, id)
	}
	return g, "", ""
}

// violates judges the constraints (train.limits max_params, max_flops) on
// counts, however they were measured: tree counts here, the dry run's
// PyTorch counts after. It is the one place the rule is written.
func (e *Engine) violates(params, flops int64) string {
	l := e.Job.Limits
	switch {
	case l.MaxParams > 0 && params > l.MaxParams:
		return fmt.Sprintf("max_params: %d parameters > %d", params, l.MaxParams)
	case l.MaxFLOPs > 0 && flops > l.MaxFLOPs:
		return fmt.Sprintf("max_flops: %d FLOPs > %d", flops, l.MaxFLOPs)
	}
	return ""
}

// decision converts offers for the resolver. Option i is "o<i+1>".
func (e *Engine) decision(offers *Offers, cat string, trial int64) llm.Decision {
	d := llm.Decision{Operation: offers.Op, Category: llm.Category(cat), Parent: e.parentSummary(offers.parent, offers.tree),
		Options: make([]llm.Option, len(offers.list)), Trial: int(trial),
		Limits: llm.ChildLimits{MaxParams: e.Job.Limits.MaxParams, MaxFLOPs: e.Job.Limits.MaxFLOPs}}
	uses := e.usage()
	for i, x := range offers.list {
		o := x.opt.decisionOption(fmt.Sprintf("o%d", i+1), e.Catalog)
		if far := x.children[0].far; far != "" {
			o.Description += far
		}
		if x.opt.Op == tree.OpChangeArg {
			r := llm.ArgRange{Name: x.opt.Arg, Type: llm.ArgEnum}
			for _, c := range x.children {
				r.Choices = append(r.Choices, choiceString(c.value))
			}
			r.Default = r.Choices[0]
			o.Args = []llm.ArgRange{r}
			o.Arg, o.Current = x.opt.Arg, choiceString(x.opt.Current)
		}
		for _, c := range x.children {
			cc := llm.ChildCost{Params: c.params, FLOPs: c.flops}
			if x.opt.Op == tree.OpChangeArg {
				cc.Value = x.opt.Arg + "=" + choiceString(c.value)
			}
			o.Children = append(o.Children, cc)
		}
		o.Transform, o.Node = string(x.opt.Op), x.opt.moduleName()
		o.Uses = uses.path[o.Path] + uses.module[x.opt.moduleName()]
		if x.opt.Arg != "" {
			o.Uses += uses.arg[x.opt.Arg]
		}
		d.Options[i] = o
	}
	return d
}

// pick finds the offered child a resolver's choice names.
func (offers *Offers) pick(d llm.Decision, choice llm.Choice) (*offer, *offerChild, error) {
	for i := range d.Options {
		if d.Options[i].ID != choice.OptionID {
			continue
		}
		x := &offers.list[i]
		if x.opt.Op != tree.OpChangeArg {
			return x, &x.children[0], nil
		}
		v, ok := choice.Args[x.opt.Arg]
		if !ok {
			return x, &x.children[0], nil // omitted: the first offered value
		}
		s := fmt.Sprint(v)
		for j := range x.children {
			if choiceString(x.children[j].value) == s {
				return x, &x.children[j], nil
			}
		}
		return nil, nil, fmt.Errorf("the resolver set %s=%v, which was not offered", x.opt.Arg, v)
	}
	return nil, nil, fmt.Errorf("the resolver chose %q, which was not offered", choice.OptionID)
}

// resolve asks the resolver to pick among offers and fills p with the
// chosen, already gated child. A nil resolver is the seeded uniform
// offline choice.
func (e *Engine) resolve(ctx context.Context, p *Proposal, offers *Offers, cat string, resolver llm.Resolver, trial int64) (*Proposal, error) {
	c := p.Candidate
	c.ParentID, c.Op, c.Category = offers.parent.ID, offers.Op, cat
	if offers.Len() == 0 {
		return p.Reject(GateProposal, "%s: no option at parent %s passes the gate", offers.Op, offers.parent.ID), nil
	}
	d := e.decision(offers, cat, trial)
	if js, err := json.Marshal(d); err == nil {
		if e.decisions == nil {
			e.decisions = map[string][]byte{}
		}
		e.decisions[c.ID] = js
	}
	if resolver == nil {
		resolver = llm.NewOffline(e.Config.Seed^uint64(rngResolve), llm.OfflineConfig{Args: "uniform", Policy: llm.PolicyUniform})
	}
	choice, err := resolver.Resolve(ctx, d)
	p.SetUsage(choice.Usage)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return p.Reject(GateProposal, "%s: resolver: %v", offers.Op, err), nil
	}
	c.Rationale = choice.Rationale
	x, kid, err := offers.pick(d, choice)
	if err != nil {
		return p.Reject(GateProposal, "%s: %v", offers.Op, err), nil
	}
	if kid.far != "" {
		c.Rationale += " [far move while the search stalls" + kid.far + "]"
	}
	c.Path, c.Module, c.Transform = x.opt.Path, x.opt.moduleName(), string(x.opt.Op)
	c.Args = nil
	switch x.opt.Op {
	case tree.OpChangeArg:
		c.Args = map[string]any{x.opt.Arg: valueAny(kid.value)}
	case tree.OpCompose:
		c.Module = x.opt.Name
		c.Args = map[string]any{"block": x.opt.Name, "definition": blockSummary(x.opt.Node),
			"span": fmt.Sprintf("%s[%d:%d]", x.opt.Path, x.opt.Index, x.opt.To)}
		if x.opt.place != nil {
			c.Args["placed_at"] = fmt.Sprintf("%s[%d]", x.opt.place.path, x.opt.place.index)
		}
	}
	p.accept(kid.gated)
	return p, nil
}

// accept fills p from a child that passed the cheap gate.
func (p *Proposal) accept(g gated) {
	c := p.Candidate
	p.Child = g.child
	if js, err := g.child.MarshalJSON(); err == nil {
		c.Tree = js
	}
	c.Params, c.FLOPs, c.Hash = g.params, g.flops, g.hash
	c.Source, c.CodeHash = g.source, g.codeHash
	p.gated = true
}

// usageCounts is how often the run has edited each path, brought in each
// module and changed each argument: the diversity category's measure.
type usageCounts struct{ path, module, arg map[string]int }

func (e *Engine) usage() usageCounts {
	u := usageCounts{map[string]int{}, map[string]int{}, map[string]int{}}
	for _, c := range e.arch.order {
		if c.Op == OpSeed || c.Status == StatusRejected {
			continue
		}
		if c.Path != "" {
			u.path[c.Path]++
		}
		if c.Module != "" {
			u.module[c.Module]++
		}
		for k := range c.Args {
			u.arg[k]++
		}
	}
	return u
}

// plannedOffers draws the planner's operation and category at parent,
// masking, for this draw only, every operation with no pre-gated option
// (no reward update). ok is false when no operation has one.
func (e *Engine) plannedOffers(parent *Candidate, trial int64, quota int) (op, cat string, offers *Offers, ok bool, err error) {
	masked := map[string]bool{}
	for {
		op, cat, ok = e.Planner.Choose(func(op string) bool { return !masked[op] && e.opAllowed(op) })
		if !ok {
			return "", "", nil, false, nil
		}
		offers, err = e.cachedOffers(parent, op, trial, quota, e.reach(cat))
		if err != nil || offers.Len() > 0 {
			return op, cat, offers, err == nil, err
		}
		masked[op] = true
	}
}

// uniformOffers is plannedOffers with a uniform operation draw.
func (e *Engine) uniformOffers(parent *Candidate, trial int64, quota int) (op string, offers *Offers, ok bool, err error) {
	ops := e.usableOps()
	rng := e.rngFor(trial, rngOp)
	for len(ops) > 0 {
		i := rng.IntN(len(ops))
		op = ops[i]
		offers, err = e.cachedOffers(parent, op, trial, quota, 1)
		if err != nil || offers.Len() > 0 {
			return op, offers, err == nil, err
		}
		ops = slices.Delete(ops, i, i+1)
	}
	return "", nil, false, nil
}

// cachedOffers remembers (parent, operation) pairs with no option left:
// the archive only grows, so a neighbourhood enumerated in full that had
// nothing to offer never will (except through a new palette sample).
//
// Far moves (reach > 1) reach beyond an exhausted one-edit neighbourhood,
// so they neither read nor write that memory.
func (e *Engine) cachedOffers(parent *Candidate, op string, trial int64, quota, reach int) (*Offers, error) {
	key := optionsKey{parent: parent.ID, kind: tree.OpKind(op), epoch: -1}
	if reach <= 1 && e.exhausted[key] {
		return &Offers{Op: op, parent: parent, Filtered: map[string]int{}}, nil
	}
	start := time.Now()
	o, err := e.offers(parent, op, trial, quota, reach)
	e.gateTime += time.Since(start)
	if err != nil {
		return nil, err
	}
	for k, n := range o.Filtered {
		e.filtered[k] += n
	}
	if reach <= 1 && o.Len() == 0 && o.complete && (op != OpInsert && op != OpSwap || len(e.Modules) <= paletteModules) && op != OpRepeat {
		e.exhausted[key] = true
	}
	return o, nil
}

// parentsFrom is the order in which parents are tried: first the drawn
// one, then the rest of the feasible archive from the best down, so an
// exhausted neighbourhood moves the search to the next parent instead of
// storing a rejection.
func (e *Engine) parentsFrom(first *Candidate) []*Candidate {
	out := []*Candidate{first}
	for _, c := range ranked(e.arch.feasible) {
		if c != first {
			out = append(out, c)
		}
	}
	return out
}

// diverseOrder is the order in which options are tried: shuffled, then
// round-robin across groups (the module or primitive an option brings,
// the argument it changes, or the parent node it works under), so a large
// catalog never offers the same few modules every time.
func diverseOrder(opts []option, rng *rand.Rand) []int {
	perm := rng.Perm(len(opts))
	slot := map[groupKey]int{}
	var groups [][]int
	for _, i := range perm {
		g := opts[i].group()
		k, ok := slot[g]
		if !ok {
			k = len(groups)
			slot[g] = k
			groups = append(groups, nil)
		}
		groups[k] = append(groups[k], i)
	}
	out := make([]int, 0, len(opts))
	for round := 0; len(out) < len(opts); round++ {
		for _, g := range groups {
			if round < len(g) {
				out = append(out, g[round])
			}
		}
	}
	return out
}

// valueAny is v as a plain Go value (stored as JSON with the candidate).
func valueAny(v tree.Value) any {
	if i, ok := v.AsInt(); ok {
		return i
	}
	if f, ok := v.AsFloat(); ok {
		return f
	}
	if b, ok := v.AsBool(); ok {
		return b
	}
	if s, ok := v.AsString(); ok {
		return s
	}
	if xs, ok := v.AsInts(); ok {
		return xs
	}
	return nil
}
