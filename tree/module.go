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

	// Layout is the tensor layout forward takes (see LayoutTokens etc.);
	// "" is NCHW. The tree stays NCHW and renders any other layout behind
	// a parameter-free adapter: NCHW -> layout -> module -> NCHW.
	Layout string `json:"layout,omitempty"`
	// SizeArgs, for LayoutTokens: forward also takes the spatial size,
	// "size" as forward(x, (H, W)) or "hw" as forward(x, H, W) (PVT, Twins,
	// CoaT and XCiT blocks); the adapter passes it.
	SizeArgs string `json:"size_args,omitempty"`
	// OutRatio k > 1: the output width is k times OutArg's value (ResNet's
	// Bottleneck: planes * expansion 4); OutArg's value defaults to in/k.
	OutRatio int `json:"out_ratio,omitempty"`
	// OutLinear, when set, is the output width of a module without an
	// output-width argument as OutLinear[0] + OutLinear[1]*in (Inception
	// blocks concatenate fixed-width branches and the pooled input).
	OutLinear *[2]float64 `json:"out_linear,omitempty"`
	// Downsample s > 1: the module divides H and W by s (patch merging, a
	// /4 stem); H and W must be multiples of s. OutHW k > 0: the output is
	// k x k whatever the input (a global pool).
	Downsample int `json:"downsample,omitempty"`
	OutHW      int `json:"out_hw,omitempty"`
	// MinHW > 0: the module needs H and W of at least MinHW (it failed on the
	// probe's small input and ran on one of MinHW, e.g. an auxiliary head's
	// 5x5 pooling).
	MinHW int `json:"min_hw,omitempty"`
	// HWAdd d != 0: H and W change by d (a padding layer +2, an unpadded
	// 3x3 pool -2).
	HWAdd int `json:"hw_add,omitempty"`
	// WidthMultiple > 1: the input width must be a multiple of it (found
	// by the probe, e.g. a GroupNorm(32) built inside the module).
	WidthMultiple int `json:"width_multiple,omitempty"`
	// WidthRules are arguments whose value must divide the width.
	WidthRules []WidthRule `json:"width_rules,omitempty"`
	// CallableArgs are constructor arguments that take a layer class; the
	// tree offers the alternatives of CallableTable by kind.
	CallableArgs []CallableArg `json:"callable_args,omitempty"`

	// ParamPoly gives the parameter count at width w (in == out == w, probe
	// args) as c0 + c1*w + c2*w^2, fitted exactly from probes at three
	// widths. With OutLinear, w is the input width and the output follows.
	ParamPoly [3]float64 `json:"param_poly"`
	// MACPoly is the same for multiply-accumulates at a RefHW x RefHW input;
	// MACs scale with H*W / (RefHW*RefHW).
	MACPoly [3]float64 `json:"mac_poly"`
	RefHW   int        `json:"ref_hw"`
}

// The tensor layouts a module's forward may take besides NCHW.
const (
	LayoutNCHW   = ""
	LayoutTokens = "tokens" // (B, H*W, C): ViT-style token sequences
	LayoutNHWC   = "nhwc"   // (B, H, W, C): channels-last, Swin and ConvNeXt blocks
	LayoutNCL    = "ncl"    // (B, C, H*W): 1-D layers over the flattened pixels
	// LayoutPooled takes NCHW and returns (B, C): a pooling head; the tree
	// sees (C, 1, 1), as after adaptiveavgpool2d.
	LayoutPooled = "pooled"
	// LayoutVec takes and returns (B, C) features: a module that works
	// after the global pool (a norm + linear head); the input must be
	// (C, 1, 1), as for the tree's own linear.
	LayoutVec = "vec"
)

// WidthRule says the width must be divisible by argument Arg's value;
// Value is the value the probe used (the argument's default or guess).
type WidthRule struct {
	Arg   string `json:"arg"`
	Value int    `json:"value"`
}

// CallableArg is a constructor argument that takes a layer class (norm_layer,
// act_layer, conv_layer). Default is the CallableTable name used when the
// node does not set one; "" keeps the module's own default.
type CallableArg struct {
	Arg     string `json:"arg"`
	Kind    string `json:"kind"`
	Default string `json:"default,omitempty"`
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
