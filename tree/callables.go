package tree

// Callable is one entry of the table of layer classes that a module's
// callable argument (norm_layer, act_layer, conv_layer) may receive.
type Callable struct {
	Name string // the value stored in a node's argument, e.g. "GELU"
	Kind string // CallableNorm, CallableTokenNorm, CallableSeqNorm, CallableAct, CallableConv
	// Expr is the Python expression passed to the constructor; it names a
	// torch class or a helper defined by Helper.
	Expr   string
	Helper string // Python source defining Expr's helper, or ""
	Doc    string
}

// Kinds of callable arguments. A norm layer is called with the channel
// count (norm_layer(C)); which norm fits depends on where the channels are,
// so the kind follows the module's layout.
const (
	CallableNorm      = "norm"       // NCHW feature maps
	CallableTokenNorm = "token-norm" // channels last: tokens or NHWC
	CallableSeqNorm   = "seq-norm"   // (B, C, L)
	CallableAct       = "act"
	CallableConv      = "conv"
)

// callableTable is the small, documented table of defaults and
// alternatives (read-only). The first entry of a kind is its default. Every
// entry accepts the keyword arguments modules commonly pass (eps, inplace),
// so swapping one for another never breaks a constructor call; norms keep
// 2*C parameters, activations none, so counts stay the same.
var callableTable = []Callable{
	{Name: "BatchNorm2d", Kind: CallableNorm, Expr: "nn.BatchNorm2d", Doc: "batch norm over NCHW channels"},
	{Name: "GroupNorm", Kind: CallableNorm, Expr: "_GroupNorm", Doc: "group norm, gcd(C, 8) groups, affine", Helper: `class _GroupNorm(nn.GroupNorm):
    """nn.GroupNorm called like a batch norm: _GroupNorm(C, eps=...)."""

    def __init__(self, num_channels, eps=1e-5, affine=True, **kwargs):
        import math
        super().__init__(math.gcd(int(num_channels), 8), num_channels, eps=eps, affine=affine)
`},
	{Name: "LayerNorm", Kind: CallableTokenNorm, Expr: "nn.LayerNorm", Doc: "layer norm over the last (channel) dimension"},
	{Name: "BatchNorm1d", Kind: CallableSeqNorm, Expr: "nn.BatchNorm1d", Doc: "batch norm over (B, C, L) channels"},
	{Name: "ReLU", Kind: CallableAct, Expr: "nn.ReLU", Doc: "ReLU"},
	{Name: "GELU", Kind: CallableAct, Expr: "_GELU", Doc: "GELU (accepts and ignores inplace)", Helper: `def _GELU(*args, **kwargs):
    """nn.GELU for callers that pass inplace=..., which nn.GELU rejects."""
    return nn.GELU()
`},
	{Name: "SiLU", Kind: CallableAct, Expr: "nn.SiLU", Doc: "SiLU (swish)"},
	{Name: "Conv2d", Kind: CallableConv, Expr: "nn.Conv2d", Doc: "2-D convolution"},
}

// CallableTable returns a copy of the table of callable arguments' values.
func CallableTable() []Callable { return append([]Callable(nil), callableTable...) }

// CallablesOf lists the table's names of one kind, the default first.
func CallablesOf(kind string) []string {
	var out []string
	for _, c := range callableTable {
		if c.Kind == kind {
			out = append(out, c.Name)
		}
	}
	return out
}

// callable returns the table entry named name, or nil.
func callable(name string) *Callable {
	for i := range callableTable {
		if callableTable[i].Name == name {
			return &callableTable[i]
		}
	}
	return nil
}

// CallablePreamble is the Python source that defines every helper the
// table's expressions use; the probe runs it before a module's bundle.
func CallablePreamble() string {
	s := "import torch.nn as nn\n"
	for _, c := range callableTable {
		if c.Helper != "" {
			s += "\n\n" + c.Helper
		}
	}
	return s
}

// CallableExpr returns the Python expression for a table name.
func CallableExpr(name string) (string, bool) {
	if c := callable(name); c != nil {
		return c.Expr, true
	}
	return "", false
}
