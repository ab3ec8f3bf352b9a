package mine

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/arbor-nas/arbor/tree"
)

// ProbeCatalog measures the interface of every `ok` module in real PyTorch
// and sets Usable, ProbeErr and Interface; modules that already carry a
// result (from AdoptProbes) are not probed again. Every other module is
// marked not usable. progress, if set, is called after each probe.
func ProbeCatalog(ctx context.Context, cat *Catalog, cfg Config, log *slog.Logger, progress func(done, total int)) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	var todo []*Module
	for _, m := range cat.Modules {
		if m.Status != StatusOK || m.Guess == nil {
			no := false
			m.Usable, m.ProbeErr, m.Interface = &no, "", nil
			continue
		}
		if m.Usable == nil { // not adopted from an earlier probe
			todo = append(todo, m)
		}
	}
	cat.Probe = &ProbeSettings{Widths: cfg.ProbeWidths, RefHW: cfg.RefHW}
	if len(todo) == 0 {
		return nil
	}
	// Modules are independent, so cfg.Jobs children probe in parallel;
	// each result lands in its own module, so the order does not matter.
	jobs := min(max(cfg.Jobs, 1), len(todo))
	probers := make([]*Prober, jobs)
	for i := range probers {
		p, err := NewProber(ctx, cfg, log)
		if err != nil {
			for _, q := range probers[:i] {
				q.Close()
			}
			return err
		}
		probers[i] = p
	}
	defer func() {
		for _, p := range probers {
			p.Close()
		}
	}()
	next := make(chan *Module)
	errs := make(chan error, jobs)
	var mu sync.Mutex
	done := 0
	for _, p := range probers {
		go func(p *Prober) {
			var first error
			for m := range next {
				if first != nil {
					continue
				}
				if err := probeModule(ctx, p, m, cfg); err != nil {
					first = err
					continue
				}
				if progress != nil {
					mu.Lock()
					done++
					progress(done, len(todo))
					mu.Unlock()
				}
			}
			errs <- first
		}(p)
	}
feed:
	for _, m := range todo {
		select {
		case next <- m:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	var first error
	for range probers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// AdoptProbes copies probe results from an earlier catalog for modules
// whose id and standalone source are unchanged, when that catalog was
// probed with the same widths and input size; it returns how many.
// Re-running `arbor mine --probe` then probes only what changed.
func (c *Catalog) AdoptProbes(prev *Catalog, cfg Config) int {
	if prev == nil || prev.Probe == nil || prev.Probe.Widths != cfg.ProbeWidths || prev.Probe.RefHW != cfg.RefHW {
		return 0
	}
	old := make(map[string]*Module, len(prev.Modules))
	for _, m := range prev.Modules {
		old[m.ID] = m
	}
	n := 0
	for _, m := range c.Modules {
		p := old[m.ID]
		if m.Status != StatusOK || p == nil || p.Usable == nil || p.Source != m.Source || p.Status != StatusOK {
			continue
		}
		m.Usable, m.ProbeErr, m.Interface = p.Usable, p.ProbeErr, p.Interface
		n++
	}
	return n
}

func probeModule(ctx context.Context, p *Prober, m *Module, cfg Config) error {
	no := false
	m.Usable = &no
	if m.TensorInputs != 1 {
		m.ProbeErr = fmt.Sprintf("forward takes %d tensor inputs; only single-input modules fit a sequence", m.TensorInputs)
		return nil
	}
	if wholeClassifier(m.Params) {
		// Built at full ImageNet size, these take seconds to construct and
		// are models, not blocks; not probing them keeps `arbor mine` fast.
		m.ProbeErr = "a whole image classifier (in_chans=3 and num_classes): not a block for a tree"
		return nil
	}
	g := m.Guess
	kw := map[string]any{}
	for k, v := range g.Fixed {
		kw[k] = v
	}
	req := probeRequest{ModuleID: m.ID, Name: m.Name, QualName: m.QualName, Source: m.Source, Kwargs: kw,
		InArg: g.InArg, OutArg: g.OutArg, StrideArg: g.StrideArg, Widths: cfg.ProbeWidths, HW: cfg.RefHW,
		Divisors: g.Divisors, SizeArgs: m.SizeArgs, SoftTimeout: min(2, cfg.ProbeTimeout.Seconds()/4)}
	if len(g.Callables) > 0 {
		req.Callables = g.Callables
		req.CallableDefaults, req.CallableExprs = map[string]string{}, map[string]string{}
		for _, c := range tree.CallableTable() {
			if _, ok := req.CallableDefaults[c.Kind]; !ok {
				req.CallableDefaults[c.Kind] = c.Name
			}
			req.CallableExprs[c.Name] = c.Expr
		}
		req.Preamble = tree.CallablePreamble()
		req.Optional = sortedKeys(g.Optional)
		req.NoneDefault = sortedKeys(g.NoneDefault)
	}
	r, err := p.probe(ctx, req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", m.QualName, err)
	}
	// Arguments hidden behind **kwargs (BasicConv2d(in, out, **kwargs)
	// forwarding to nn.Conv2d) only show up as a TypeError; guess those by
	// name and try once more.
	if !r.OK {
		if extra := missingGuessable(r.Error, kw); len(extra) > 0 {
			for k, v := range extra {
				kw[k] = v
			}
			if r, err = p.probe(ctx, req); err != nil {
				return fmt.Errorf("probe %s: %w", m.QualName, err)
			}
		}
	}
	if !r.OK {
		m.ProbeErr = r.Error
		return nil
	}
	if len(r.Params) != 3 || len(r.MACs) != 3 || len(r.Shapes) == 0 {
		m.ProbeErr = "probe reply lacks measurements at three widths"
		return nil
	}
	if len(r.Widths) != 3 {
		m.ProbeErr = "probe reply lacks the widths it measured at"
		return nil
	}
	w := [3]int{r.Widths[0], r.Widths[1], r.Widths[2]}
	in := &Interface{
		InArg: g.InArg, OutArg: g.OutArg, SameWidth: r.SameWidth, PreservesShape: r.PreservesShape,
		Inputs: 1, FixedArgs: kw, Tunable: g.Tunable, Widths: w, RefHW: cfg.RefHW,
		OutShape: r.Shapes[0],
	}
	if r.Layout != "nchw" {
		in.Layout = r.Layout
	}
	if in.Layout == tree.LayoutTokens {
		in.SizeArgs = m.SizeArgs
	}
	if r.Ratio > 1 {
		in.OutRatio = r.Ratio
		in.SameWidth = r.IdentityRatio || r.SameWidth
	}
	if r.FixedOutArg != "" {
		kw[r.FixedOutArg] = 16 // the probe fixed it: the output does not follow it
	}
	if len(r.OutLinear) == 2 {
		in.OutLinear = &[2]float64{r.OutLinear[0], r.OutLinear[1]}
		in.SameWidth, in.OutArg = false, ""
	}
	in.Downsample, in.OutHW, in.HWAdd = r.Downsample, r.OutHW, r.HWAdd
	if r.HW > 0 {
		in.RefHW = r.HW
		if r.HW > cfg.RefHW {
			in.MinHW = r.HW // it failed at the usual size
		}
	}
	if r.WidthMultiple > 1 {
		in.WidthMultiple = r.WidthMultiple
	}
	for _, a := range sortedKeys(g.Divisors) {
		in.WidthRules = append(in.WidthRules, tree.WidthRule{Arg: a, Value: g.Divisors[a]})
	}
	for _, a := range sortedKeys(g.Callables) {
		ca := tree.CallableArg{Arg: a, Kind: r.CallableKinds[a], Default: r.CallablesUsed[a]}
		if g.Optional[a] && !slices.Contains(r.CallablesRequired, a) {
			// The module has its own default: keep it, offer the table's
			// alternatives of the kind.
			ca.Default = ""
		}
		if ca.Kind != "" {
			in.CallableArgs = append(in.CallableArgs, ca)
		}
	}
	if r.StrideOK {
		in.StrideArg = g.StrideArg
	}
	if len(in.FixedArgs) == 0 {
		in.FixedArgs = nil
	}
	for i := 0; i < 3; i++ {
		in.Params[i], in.MACs[i] = r.Params[i], r.MACs[i]
	}
	in.ParamPoly = fitQuadratic(w, in.Params)
	in.MACPoly = fitQuadratic(w, in.MACs)
	m.Interface = in
	yes := true
	m.Usable = &yes
	return nil
}

// fitQuadratic returns c with c0 + c1*w + c2*w^2 through the three points
// exactly (Newton divided differences).
func fitQuadratic(w [3]int, y [3]int64) [3]float64 {
	x0, x1, x2 := float64(w[0]), float64(w[1]), float64(w[2])
	y0, y1, y2 := float64(y[0]), float64(y[1]), float64(y[2])
	d01 := (y1 - y0) / (x1 - x0)
	d12 := (y2 - y1) / (x2 - x1)
	c2 := (d12 - d01) / (x2 - x0)
	c1 := d01 - c2*(x0+x1)
	c0 := y0 - c1*x0 - c2*x0*x0
	return [3]float64{c0, c1, c2}
}

// missingArgs matches CPython's "f() missing 2 required positional
// arguments: 'a' and 'b'" (and keyword-only) errors.
var missingArgs = regexp.MustCompile(`missing \d+ required (?:positional|keyword-only) arguments?: ((?:'\w+'(?:, | and |, and )?)+)`)
var quotedName = regexp.MustCompile(`'(\w+)'`)

func missingGuessable(errText string, have map[string]any) map[string]any {
	m := missingArgs.FindStringSubmatch(errText)
	if m == nil {
		return nil
	}
	out := map[string]any{}
	for _, q := range quotedName.FindAllStringSubmatch(m[1], -1) {
		name := q[1]
		if _, dup := have[name]; dup {
			return nil
		}
		v, ok := fixedGuess(name)
		if !ok {
			return nil
		}
		out[name] = v
		if name == "kernel_size" {
			if _, ok := have["padding"]; !ok {
				out["padding"] = 1
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// wholeClassifier: a constructor with an image's input channels (a 3-channel
// default) and num_classes is a complete model (timm's ConvNeXt, Xception).
func wholeClassifier(params []Param) bool {
	var classes, image bool
	for _, p := range params {
		switch strings.ToLower(p.Name) {
		case "num_classes":
			classes = true
		case "in_chans", "in_chs", "in_channels", "input_channels":
			image = p.HasDefault && strings.TrimSpace(p.Default) == "3"
		}
	}
	return classes && image
}
