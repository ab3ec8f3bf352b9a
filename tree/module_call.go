package tree

import (
	"fmt"
	"math"
	"sort"
)

// moduleCall is a module node resolved at one input shape: its output
// shape and the constructor arguments the renderer passes. Shape inference,
// counting and rendering all go through moduleCallAt, so they cannot
// disagree.
type moduleCall struct {
	out    Shape
	stride int
	// outArg is OutArg's value when the renderer passes it (-1: not passed).
	outArg int
	// divisors are width-rule arguments not set by the node whose probe
	// value does not divide the width here, set to the largest divisor of
	// the width below it.
	divisors map[string]int
	// callables are the callable arguments to pass: arg -> table name.
	callables map[string]string
}

// moduleCallAt resolves module node n with spec m at input in. Errors name
// the argument or the width that does not fit.
func moduleCallAt(n *Node, m *ModuleSpec, in Shape, p *pathRef) (moduleCall, error) {
	c := moduleCall{outArg: -1}
	cout := in.C
	switch {
	case m.OutLinear != nil:
		f := m.OutLinear[0] + m.OutLinear[1]*float64(in.C)
		cout = int(math.Round(f))
		if cout < 1 || math.Abs(f-float64(cout)) > 1e-6 {
			return c, &ShapeError{Path: p.String(), Want: Shape{1, in.H, in.W}, Got: in,
				Reason: fmt.Sprintf("module %q makes %.4g + %.4g*in output channels, not a positive integer at width %d", n.Module, m.OutLinear[0], m.OutLinear[1], in.C)}
		}
	case m.OutRatio > 1 && m.OutArg != "":
		k := m.OutRatio
		v, set := 0, false
		if !m.SameWidth {
			if a, ok := n.Args[m.OutArg]; ok {
				v, _ = a.AsInt()
				set = true
			}
		}
		if !set {
			if in.C%k != 0 {
				return c, &ArgError{Path: p.String(), Arg: m.OutArg,
					Reason: fmt.Sprintf("the output is %d x %s; to keep the width %d, %s would be %d/%d, not an integer", k, m.OutArg, in.C, m.OutArg, in.C, k)}
			}
			v = in.C / k
		}
		c.outArg, cout = v, k*v
	case m.OutArg != "" && !m.SameWidth:
		cout = intArg(n, m.OutArg, in.C)
		c.outArg = cout
	}
	if m.Layout == LayoutVec && (in.H != 1 || in.W != 1) {
		return c, &ShapeError{Path: p.String(), Want: Shape{in.C, 1, 1}, Got: in,
			Reason: fmt.Sprintf("module %q takes (N, C) features: put it after adaptiveavgpool2d", n.Module)}
	}
	if m.MinHW > 0 && (in.H < m.MinHW || in.W < m.MinHW) {
		return c, &ShapeError{Path: p.String(), Want: Shape{in.C, m.MinHW, m.MinHW}, Got: in,
			Reason: fmt.Sprintf("module %q needs H and W of at least %d", n.Module, m.MinHW)}
	}
	if m.WidthMultiple > 1 && in.C%m.WidthMultiple != 0 {
		return c, &ShapeError{Path: p.String(), Want: Shape{roundUp(in.C, m.WidthMultiple), in.H, in.W}, Got: in,
			Reason: fmt.Sprintf("module %q needs an input width that is a multiple of %d", n.Module, m.WidthMultiple)}
	}
	for _, r := range m.WidthRules {
		if r.Value < 1 {
			continue
		}
		g := gcd(in.C, cout)
		if v, ok := n.Args[r.Arg]; ok {
			d, _ := v.AsInt()
			if d < 1 || g%d != 0 {
				return c, &ArgError{Path: p.String(), Arg: r.Arg,
					Reason: fmt.Sprintf("%d must divide the width (in %d, out %d)", d, in.C, cout)}
			}
			continue
		}
		if g%r.Value != 0 {
			if c.divisors == nil {
				c.divisors = map[string]int{}
			}
			c.divisors[r.Arg] = largestDivisorAtMost(g, r.Value)
		}
	}
	for _, ca := range m.CallableArgs {
		name := ca.Default
		if v, ok := n.Args[ca.Arg]; ok {
			name, _ = v.AsString()
		}
		if name == "" {
			continue
		}
		if t := callable(name); t == nil || t.Kind != ca.Kind {
			return c, &ArgError{Path: p.String(), Arg: ca.Arg, Reason: fmt.Sprintf("%q is not a %s layer; choose one of %v", name, ca.Kind, CallablesOf(ca.Kind))}
		}
		if c.callables == nil {
			c.callables = map[string]string{}
		}
		c.callables[ca.Arg] = name
	}
	stride := 1
	if m.StrideArg != "" {
		if v, ok := n.Args[m.StrideArg]; ok {
			stride, _ = v.AsInt()
		} else if v, ok := valueFromAny(m.FixedArgs[m.StrideArg]); ok {
			stride, _ = v.AsInt()
		}
		if stride < 1 {
			stride = 1
		}
	}
	c.stride = stride
	c.out = Shape{cout, (in.H + stride - 1) / stride, (in.W + stride - 1) / stride}
	switch {
	case m.OutHW > 0:
		c.out.H, c.out.W = m.OutHW, m.OutHW
	case m.HWAdd != 0:
		c.out.H, c.out.W = in.H+m.HWAdd, in.W+m.HWAdd
		if c.out.H < 1 || c.out.W < 1 {
			return c, &ShapeError{Path: p.String(), Want: Shape{in.C, 1 - m.HWAdd, 1 - m.HWAdd}, Got: in,
				Reason: fmt.Sprintf("module %q changes H and W by %d, which leaves nothing of a %dx%d input", n.Module, m.HWAdd, in.H, in.W)}
		}
	case m.Downsample > 1:
		s := m.Downsample
		if in.H%s != 0 || in.W%s != 0 {
			return c, &ShapeError{Path: p.String(), Want: Shape{in.C, roundUp(in.H, s), roundUp(in.W, s)}, Got: in,
				Reason: fmt.Sprintf("module %q divides H and W by %d, so they must be multiples of %d", n.Module, s, s)}
		}
		c.out.H, c.out.W = in.H/s, in.W/s
	}
	return c, nil
}

// counts applies the probe's polynomials. They are exact where the probe
// measured: input width == output width (or any input width for OutLinear
// modules, whose output follows the input). For a width-changing module the
// quadratic term uses in*out and the linear term (in+out)/2, an estimate
// that is exact for modules whose weights are all in x out (a 1x1 conv).
func (c moduleCall) counts(m *ModuleSpec, in Shape) (params, macs int64) {
	ci, co := float64(in.C), float64(c.out.C)
	if m.OutLinear != nil {
		co = ci
	}
	poly := func(k [3]float64) float64 { return k[0] + k[1]*(ci+co)/2 + k[2]*ci*co }
	mac := poly(m.MACPoly)
	if m.RefHW > 0 && m.Layout != LayoutVec {
		// MACs follow the input's resolution for modules that resize.
		hw := float64(c.out.H * c.out.W)
		if m.Downsample > 1 || m.OutHW > 0 || m.HWAdd != 0 {
			hw = float64(in.H * in.W)
		}
		mac *= hw / float64(m.RefHW*m.RefHW)
	}
	return int64(math.Round(poly(m.ParamPoly))), int64(math.Round(mac))
}

// CountExact reports whether Check's parameter count for module node n at
// input in is exactly PyTorch's: the probe's polynomial is evaluated where
// it was measured (output width == input width, or an OutLinear module),
// with the probe's argument values (none changed by the node or adapted to
// the width), apart from the stride and the activation.
func CountExact(n *Node, m *ModuleSpec, in Shape) bool {
	c, err := moduleCallAt(n, m, in, &pathRef{})
	if err != nil || len(c.divisors) > 0 {
		return false
	}
	if m.OutLinear == nil && c.out.C != in.C {
		return false
	}
	for k := range n.Args {
		if k == m.StrideArg || (k == m.OutArg && m.OutRatio > 1) {
			continue
		}
		if ca := callableArg(m, k); ca != nil && ca.Kind == CallableAct {
			continue
		}
		return false
	}
	return true
}

func callableArg(m *ModuleSpec, arg string) *CallableArg {
	for i := range m.CallableArgs {
		if m.CallableArgs[i].Arg == arg {
			return &m.CallableArgs[i]
		}
	}
	return nil
}

// kwargs returns the constructor's keyword arguments in a fixed order, as
// (name, rendered Python) pairs.
func (c moduleCall) kwargs(n *Node, m *ModuleSpec, in Shape) [][2]string {
	var out [][2]string
	taken := map[string]bool{}
	add := func(k string, b []byte) {
		out = append(out, [2]string{k, string(b)})
		taken[k] = true
	}
	if m.InArg != "" {
		add(m.InArg, appendInt(nil, in.C))
	}
	if m.OutArg != "" && c.outArg >= 0 {
		add(m.OutArg, appendInt(nil, c.outArg))
	}
	var keys []string
	for k := range m.FixedArgs {
		keys = append(keys, k)
	}
	for k := range n.Args {
		if _, dup := m.FixedArgs[k]; !dup {
			keys = append(keys, k)
		}
	}
	for k := range c.divisors {
		if _, dup := m.FixedArgs[k]; !dup {
			if _, dup := n.Args[k]; !dup {
				keys = append(keys, k)
			}
		}
	}
	for _, ca := range m.CallableArgs {
		if _, ok := c.callables[ca.Arg]; ok {
			keys = append(keys, ca.Arg)
		}
	}
	sort.Strings(keys)
	for i, k := range keys {
		if taken[k] || (i > 0 && keys[i-1] == k) {
			continue
		}
		switch {
		case c.callables[k] != "":
			e, _ := CallableExpr(c.callables[k])
			add(k, []byte(e))
		case c.divisors[k] > 0:
			add(k, appendInt(nil, c.divisors[k]))
		default:
			if v, ok := n.Args[k]; ok {
				add(k, v.appendPy(nil))
			} else {
				add(k, appendPyAny(nil, m.FixedArgs[k]))
			}
		}
	}
	return out
}

func appendInt(b []byte, i int) []byte {
	return fmt.Appendf(b, "%d", i)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	if a < 0 {
		return -a
	}
	return a
}

func roundUp(x, k int) int { return (x + k - 1) / k * k }

// largestDivisorAtMost returns the largest divisor of w that is <= v.
func largestDivisorAtMost(w, v int) int {
	for d := min(v, w); d > 1; d-- {
		if w%d == 0 {
			return d
		}
	}
	return 1
}

// layoutHelper names the adapter class of a layout ("" for NCHW).
func layoutHelper(layout string) (int, bool) {
	switch layout {
	case LayoutTokens:
		return helperTokens, true
	case LayoutNHWC:
		return helperNHWC, true
	case LayoutNCL:
		return helperNCL, true
	case LayoutPooled:
		return helperPooled, true
	case LayoutVec:
		return helperVec, true
	}
	return 0, false
}
