package tree

// ModuleSpec is what the tree needs to know about a mined catalog module to
// infer shapes, count parameters, enumerate options and render it. It is
// produced by the mine package's probe (measured in real PyTorch) and
// consumed here without any I/O.
//
// The contract for using a module inside a tree: the node's input width C is
// known from shape inference; the renderer passes C to InArg (when set) and
// the node's output width to OutArg (when set). When SameWidth is true the
// module cannot change width, so output width == input width. Every other
// required constructor argument comes from the node's Args, falling back to
// FixedArgs (the values the probe used successfully).
type ModuleSpec struct {
	ID       string `json:"id"`
	Name     string `json:"name"`     // Python class name, as defined in Source
	QualName string `json:"qualname"` // e.g. torchvision.models.resnet.BasicBlock
	Category string `json:"category"` // conv-block, attention, norm, activation, pooling, head, other

	// Source is a standalone Python bundle that defines class Name and
	// everything it needs (external imports kept as import lines).
	Source string `json:"source"`

	InArg     string `json:"in_arg,omitempty"`     // constructor arg receiving input channels
	OutArg    string `json:"out_arg,omitempty"`    // constructor arg setting output channels
	SameWidth bool   `json:"same_width,omitempty"` // output channels always equal input channels
	StrideArg string `json:"stride_arg,omitempty"` // arg that downsamples spatially when 2
	// PreservesShape: with the probe's arguments, (C,H,W) in == (C,H,W) out.
	PreservesShape bool `json:"preserves_shape"`
	// Inputs is the number of tensor inputs forward takes; only 1 is usable in a seq.
	Inputs int `json:"inputs"`

	// FixedArgs are the constructor arguments (other than InArg/OutArg) the
	// probe used; JSON literals (float64, bool, string, []any).
	FixedArgs map[string]any `json:"fixed_args,omitempty"`
	// Tunable lists constructor arguments a transformation may change, with ranges.
	Tunable []ArgRange `json:"tunable,omitempty"`

	// ParamPoly gives the parameter count at width w (in == out == w, probe
	// args) as c0 + c1*w + c2*w^2, fitted exactly from probes at three widths.
	ParamPoly [3]float64 `json:"param_poly"`
	// MACPoly is the same for multiply-accumulates at a RefHW x RefHW input;
	// MACs scale with H*W / (RefHW*RefHW).
	MACPoly [3]float64 `json:"mac_poly"`
	RefHW   int        `json:"ref_hw"`
}

// ArgRange describes a tunable constructor argument of a module.
type ArgRange struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"` // int, float, bool, string, enum, ints
	Min     float64  `json:"min,omitempty"`
	Max     float64  `json:"max,omitempty"`
	Choices []string `json:"choices,omitempty"`
	Default any      `json:"default,omitempty"`
}

// Catalog resolves module IDs for trees that contain module nodes. A nil
// Catalog is valid for trees made only of primitives.
type Catalog interface {
	Module(id string) (*ModuleSpec, bool)
}

// MapCatalog is the simplest Catalog, keyed by ID.
type MapCatalog map[string]*ModuleSpec

// Module implements Catalog.
func (m MapCatalog) Module(id string) (*ModuleSpec, bool) {
	s, ok := m[id]
	return s, ok
}
