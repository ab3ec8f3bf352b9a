package mine

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
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
	p, err := NewProber(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer p.Close()
	for i, m := range todo {
		if err := probeModule(ctx, p, m, cfg); err != nil {
			return err
		}
		if progress != nil {
			progress(i+1, len(todo))
		}
	}
	return nil
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
	g := m.Guess
	kw := map[string]any{}
	for k, v := range g.Fixed {
		kw[k] = v
	}
	req := probeRequest{ID: m.ID, Name: m.Name, QualName: m.QualName, Source: m.Source, Kwargs: kw,
		InArg: g.InArg, OutArg: g.OutArg, StrideArg: g.StrideArg, Widths: cfg.ProbeWidths, HW: cfg.RefHW}
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
	in := &Interface{
		InArg: g.InArg, OutArg: g.OutArg, SameWidth: r.SameWidth, PreservesShape: r.PreservesShape,
		Inputs: 1, FixedArgs: kw, Tunable: g.Tunable, Widths: cfg.ProbeWidths, RefHW: cfg.RefHW,
		OutShape: r.Shapes[0],
	}
	if r.StrideOK {
		in.StrideArg = g.StrideArg
	}
	if len(in.FixedArgs) == 0 {
		in.FixedArgs = nil
	}
	w := cfg.ProbeWidths
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
