package tree

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ArgType is an argument's type.
type ArgType string

// The argument types.
const (
	TypeInt    ArgType = "int"
	TypeFloat  ArgType = "float"
	TypeBool   ArgType = "bool"
	TypeString ArgType = "string"
	TypeEnum   ArgType = "enum"
	TypeInts   ArgType = "ints"
)

// ArgSpec describes one typed argument and its allowed range.
type ArgSpec struct {
	Name    string   `json:"name"`
	Type    ArgType  `json:"type"`
	Min     float64  `json:"min,omitempty"` // int, float, and each element of ints
	Max     float64  `json:"max,omitempty"`
	Choices []string `json:"choices,omitempty"` // enum
	// Default is the static default; the zero Value means the argument is
	// required or has a DefaultRule.
	Default Value `json:"default,omitzero"`
	// DefaultRule describes a default that depends on other arguments or on
	// the input shape: "kernel" (= the kernel arg), "kernel//2", "input
	// width". An argument equal to its resolved default is omitted from the
	// canonical form, so writing it out never changes the hash.
	DefaultRule string `json:"default_rule,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Doc         string `json:"doc,omitempty"`
}

// PrimitiveSpec describes a built-in primitive op.
type PrimitiveSpec struct {
	Name string    `json:"name"`
	Doc  string    `json:"doc"`
	Args []ArgSpec `json:"args"`
}

// arg returns the named spec.
func (p *PrimitiveSpec) arg(name string) *ArgSpec {
	for i := range p.Args {
		if p.Args[i].Name == name {
			return &p.Args[i]
		}
	}
	return nil
}

// primitiveTable is read-only after package initialization.
var primitiveTable = []PrimitiveSpec{
	{Name: "conv2d", Doc: "2-D convolution, bias off by default; in_channels inferred", Args: []ArgSpec{
		{Name: "out", Type: TypeInt, Min: 1, Max: 4096, DefaultRule: "input width", Doc: "output channels"},
		{Name: "kernel", Type: TypeInt, Min: 1, Max: 11, Default: Int(3)},
		{Name: "stride", Type: TypeInt, Min: 1, Max: 4, Default: Int(1)},
		{Name: "padding", Type: TypeInt, Min: 0, Max: 10, DefaultRule: "kernel//2"},
		{Name: "groups", Type: TypeInt, Min: 0, Max: 4096, Default: Int(1), Doc: "must divide in and out; 0 = depthwise (groups = input width)"},
		{Name: "bias", Type: TypeBool, Default: Bool(false)},
	}},
	{Name: "batchnorm2d", Doc: "batch norm over the input width, affine (2*C parameters)"},
	{Name: "relu", Doc: "ReLU"},
	{Name: "relu6", Doc: "ReLU6"},
	{Name: "gelu", Doc: "GELU"},
	{Name: "silu", Doc: "SiLU (swish)"},
	{Name: "hardswish", Doc: "Hardswish"},
	{Name: "maxpool2d", Doc: "max pooling", Args: []ArgSpec{
		{Name: "kernel", Type: TypeInt, Min: 1, Max: 8, Default: Int(2)},
		{Name: "stride", Type: TypeInt, Min: 1, Max: 8, DefaultRule: "kernel"},
		{Name: "padding", Type: TypeInt, Min: 0, Max: 4, Default: Int(0), Doc: "at most kernel//2"},
	}},
	{Name: "avgpool2d", Doc: "average pooling (count_include_pad as in PyTorch)", Args: []ArgSpec{
		{Name: "kernel", Type: TypeInt, Min: 1, Max: 8, Default: Int(2)},
		{Name: "stride", Type: TypeInt, Min: 1, Max: 8, DefaultRule: "kernel"},
		{Name: "padding", Type: TypeInt, Min: 0, Max: 4, Default: Int(0), Doc: "at most kernel//2"},
	}},
	{Name: "adaptiveavgpool2d", Doc: "adaptive average pooling to size x size", Args: []ArgSpec{
		{Name: "size", Type: TypeInt, Min: 1, Max: 64, Default: Int(1)},
	}},
	{Name: "flatten", Doc: "flattens (C,H,W) to (C*H*W,1,1)"},
	{Name: "linear", Doc: "fully connected layer; needs a (F,1,1) input; bias on by default", Args: []ArgSpec{
		{Name: "out", Type: TypeInt, Min: 1, Max: 65536, Required: true, Doc: "output features"},
		{Name: "bias", Type: TypeBool, Default: Bool(true)},
	}},
	{Name: "dropout", Doc: "dropout", Args: []ArgSpec{
		{Name: "p", Type: TypeFloat, Min: 0, Max: 0.95, Default: Float(0.5)},
	}},
	{Name: "identity", Doc: "identity"},
	{Name: "zero", Doc: "outputs zeros of the input's shape"},
}

// primitive returns the spec of a primitive op, or nil.
func primitive(op string) *PrimitiveSpec {
	for i := range primitiveTable {
		if primitiveTable[i].Name == op {
			return &primitiveTable[i]
		}
	}
	return nil
}

// PrimitiveNames lists the primitive op names in a fixed order.
func PrimitiveNames() []string {
	out := make([]string, len(primitiveTable))
	for i, p := range primitiveTable {
		out[i] = p.Name
	}
	return out
}

// residualArgs are the arguments of residual nodes.
var residualArgs = []ArgSpec{
	{Name: "act", Type: TypeEnum, Choices: []string{"none", "relu", "relu6", "gelu", "silu", "hardswish"}, Default: String("none"), Doc: "activation applied after the sum"},
}

// repeatArgs are the arguments of repeat nodes.
var repeatArgs = []ArgSpec{
	{Name: "n", Type: TypeInt, Min: 1, Max: 64, Required: true, Doc: "number of copies"},
}

// nodeArgSpecs returns the argument specs for a non-module node, or nil when
// the node kind takes no arguments. Cells are handled by cellArgSpec.
func nodeArgSpecs(n *Node) []ArgSpec {
	switch n.Kind {
	case KindOp:
		if p := primitive(n.Op); p != nil {
			return p.Args
		}
	case KindResidual:
		return residualArgs
	case KindRepeat:
		return repeatArgs
	}
	return nil
}

// ArgSpecs returns (a copy of) the argument specs that apply to node n; a
// module node's come from the catalog (none without one).
func ArgSpecs(n *Node, cat Catalog) []ArgSpec {
	return append([]ArgSpec(nil), argSpecs(n, cat)...)
}

func argSpecs(n *Node, cat Catalog) []ArgSpec {
	switch n.Kind {
	case KindCell:
		nodes := cellNodes(n)
		specs := []ArgSpec{cellNodesSpec, cellTieSpec}
		for j := 1; j < nodes; j++ {
			for i := 0; i < j; i++ {
				specs = append(specs, cellEdgeSpec(edgeName(j, i)))
			}
		}
		return specs
	case KindModule:
		if cat == nil {
			return nil
		}
		spec, ok := cat.Module(n.Module)
		if !ok {
			return nil
		}
		return moduleArgSpecs(spec)
	}
	return nodeArgSpecs(n)
}

// moduleArgSpecs converts a module's tunable ranges (plus its OutArg and
// StrideArg) into ArgSpecs.
func moduleArgSpecs(m *ModuleSpec) []ArgSpec {
	var specs []ArgSpec
	seen := map[string]bool{}
	switch {
	case m.OutArg != "" && !m.SameWidth && m.OutRatio > 1:
		specs = append(specs, ArgSpec{Name: m.OutArg, Type: TypeInt, Min: 1, Max: 4096, DefaultRule: "input width / ratio",
			Doc: fmt.Sprintf("output channels = %d x this", m.OutRatio)})
		seen[m.OutArg] = true
	case m.OutArg != "" && !m.SameWidth && m.OutLinear == nil:
		specs = append(specs, ArgSpec{Name: m.OutArg, Type: TypeInt, Min: 1, Max: 4096, DefaultRule: "input width", Doc: "output channels"})
		seen[m.OutArg] = true
	}
	for _, ca := range m.CallableArgs {
		seen[ca.Arg] = true
		s := ArgSpec{Name: ca.Arg, Type: TypeEnum, Choices: CallablesOf(ca.Kind), Doc: ca.Kind + " layer class"}
		if ca.Default != "" {
			s.Default = String(ca.Default)
		} else {
			s.DefaultRule = "the module's own default"
		}
		specs = append(specs, s)
	}
	for _, r := range m.Tunable {
		if seen[r.Name] || r.Name == m.InArg {
			continue
		}
		seen[r.Name] = true
		s := ArgSpec{Name: r.Name, Type: ArgType(r.Type), Min: r.Min, Max: r.Max, Choices: r.Choices}
		if v, ok := valueFromAny(r.Default); ok {
			s.Default = v
		}
		specs = append(specs, s)
	}
	if m.StrideArg != "" && !seen[m.StrideArg] {
		specs = append(specs, ArgSpec{Name: m.StrideArg, Type: TypeInt, Min: 1, Max: 2, Default: Int(1), Doc: "2 halves H and W"})
	}
	return specs
}

// checkValue validates v against spec; it returns a reason or "".
func checkValue(spec *ArgSpec, v Value) string {
	switch spec.Type {
	case TypeInt:
		i, ok := v.AsInt()
		if !ok {
			return "want int, got " + v.typeName() + " " + v.String()
		}
		if spec.Min != 0 || spec.Max != 0 {
			if float64(i) < spec.Min || float64(i) > spec.Max {
				return fmt.Sprintf("%d out of range [%s, %s]", i, fmtNum(spec.Min), fmtNum(spec.Max))
			}
		}
	case TypeFloat:
		f, ok := v.AsFloat()
		if !ok {
			return "want float, got " + v.typeName() + " " + v.String()
		}
		if spec.Min != 0 || spec.Max != 0 {
			if f < spec.Min || f > spec.Max {
				return fmt.Sprintf("%s out of range [%s, %s]", fmtNum(f), fmtNum(spec.Min), fmtNum(spec.Max))
			}
		}
	case TypeBool:
		if _, ok := v.AsBool(); !ok {
			return "want bool, got " + v.typeName() + " " + v.String()
		}
	case TypeString:
		if _, ok := v.AsString(); !ok {
			return "want string, got " + v.typeName() + " " + v.String()
		}
	case TypeEnum:
		s, ok := v.AsString()
		if !ok {
			return "want one of " + strings.Join(spec.Choices, "|") + ", got " + v.typeName() + " " + v.String()
		}
		found := false
		for _, c := range spec.Choices {
			if c == s {
				found = true
				break
			}
		}
		if !found {
			return fmt.Sprintf("%q is not one of %s", s, strings.Join(spec.Choices, "|"))
		}
	case TypeInts:
		l, ok := v.AsInts()
		if !ok {
			return "want int list, got " + v.typeName() + " " + v.String()
		}
		if spec.Min != 0 || spec.Max != 0 {
			for _, x := range l {
				if float64(x) < spec.Min || float64(x) > spec.Max {
					return fmt.Sprintf("element %d out of range [%s, %s]", x, fmtNum(spec.Min), fmtNum(spec.Max))
				}
			}
		}
	default:
		return "unknown argument type " + string(spec.Type)
	}
	return ""
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// checkArgs validates n.Args against specs: unknown names, types, ranges,
// required arguments. Errors name the path and argument.
func checkArgs(path string, n *Node, specs []ArgSpec) error {
	for i := range specs {
		s := &specs[i]
		v, ok := n.Args[s.Name]
		if !ok {
			if s.Required {
				return &ArgError{Path: path, Arg: s.Name, Reason: "required argument missing"}
			}
			continue
		}
		if r := checkValue(s, v); r != "" {
			return &ArgError{Path: path, Arg: s.Name, Reason: r}
		}
	}
	if len(n.Args) > countKnown(n.Args, specs) {
		for _, k := range sortedKeys(n.Args) {
			if findSpec(specs, k) == nil {
				return &ArgError{Path: path, Arg: k, Reason: "unknown argument; known: " + specNames(specs)}
			}
		}
	}
	return nil
}

func countKnown(args map[string]Value, specs []ArgSpec) int {
	c := 0
	for i := range specs {
		if _, ok := args[specs[i].Name]; ok {
			c++
		}
	}
	return c
}

func findSpec(specs []ArgSpec, name string) *ArgSpec {
	for i := range specs {
		if specs[i].Name == name {
			return &specs[i]
		}
	}
	return nil
}

func specNames(specs []ArgSpec) string {
	if len(specs) == 0 {
		return "(none)"
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

func sortedKeys(m map[string]Value) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// intArg returns an int argument, or def when absent.
func intArg(n *Node, name string, def int) int {
	if v, ok := n.Args[name]; ok {
		if i, ok := v.AsInt(); ok {
			return i
		}
	}
	return def
}

// isDefault reports whether the node's value for spec equals the resolved
// default, so the canonical form can omit it.
func isDefault(n *Node, spec *ArgSpec, v Value) bool {
	if !spec.Default.IsZero() {
		return spec.Default.Equal(v) || (spec.Type == TypeFloat && numEqual(spec.Default, v))
	}
	switch spec.DefaultRule {
	case "kernel":
		k := intArg(n, "kernel", defaultInt(n, "kernel"))
		i, ok := v.AsInt()
		return ok && i == k
	case "kernel//2":
		k := intArg(n, "kernel", defaultInt(n, "kernel"))
		i, ok := v.AsInt()
		return ok && i == k/2
	}
	return false
}

func numEqual(a, b Value) bool {
	x, ok1 := a.AsFloat()
	y, ok2 := b.AsFloat()
	return ok1 && ok2 && x == y
}

// defaultInt returns the static int default of a primitive's argument.
func defaultInt(n *Node, name string) int {
	if p := primitive(n.Op); p != nil {
		if s := p.arg(name); s != nil {
			if i, ok := s.Default.AsInt(); ok {
				return i
			}
		}
	}
	return 0
}

// EffectiveArg returns the value n uses for spec: the explicit value, else
// the static default, else the resolved DefaultRule ("kernel",
// "kernel//2"); the zero Value when it depends on the input shape.
func EffectiveArg(n *Node, spec ArgSpec) Value {
	if v, ok := n.Args[spec.Name]; ok {
		return v
	}
	if !spec.Default.IsZero() {
		return spec.Default
	}
	k := intArg(n, "kernel", defaultInt(n, "kernel"))
	switch spec.DefaultRule {
	case "kernel":
		return Int(k)
	case "kernel//2":
		return Int(k / 2)
	}
	return Value{}
}
