package tree

// Python helper definitions emitted into rendered files, each only when the
// tree needs it, in this fixed order.
const (
	helperSeq = iota
	helperResidual
	helperProj
	helperBranch
	helperZero
	helperFlatten
	helperLinear
	helperCell
	helperTokens
	helperNHWC
	helperNCL
	helperPooled
	helperVec
	numHelpers
)

var helperNames = [numHelpers]string{"_seq", "_Residual", "_proj", "_Branch", "_Zero", "_Flatten", "_Linear", "_Cell", "_Tokens", "_NHWC", "_NCL", "_Pooled", "_Vec"}

var helperSources = [numHelpers]string{
	helperSeq: `def _seq(*named):
    """nn.Sequential with named children; a name that shadows an nn.Module
    attribute (e.g. "forward", "training") gets underscores appended."""
    taken = set(dir(nn.Sequential()))
    d = OrderedDict()
    for n, m in named:
        while n in taken or n in d:
            n += "_"
        d[n] = m
    return nn.Sequential(d)
`,
	helperResidual: `class _Residual(nn.Module):
    """out = act(body(x) + shortcut(x)); a None shortcut is the identity."""

    def __init__(self, body, shortcut=None, act=None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut
        self.act = act

    def forward(self, x):
        y = self.body(x) + (x if self.shortcut is None else self.shortcut(x))
        return y if self.act is None else self.act(y)
`,
	helperProj: `def _proj(cin, cout, stride):
    """The automatic residual projection: 1x1 conv (no bias) + batch norm."""
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
`,
	helperBranch: `class _Branch(nn.Module):
    """Parallel paths concatenated on channels."""

    def __init__(self, *paths):
        super().__init__()
        self.paths = nn.ModuleList(paths)

    def forward(self, x):
        return torch.cat([p(x) for p in self.paths], dim=1)
`,
	helperZero: `class _Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)
`,
	helperFlatten: `class _Flatten(nn.Module):
    """Flattens to (N, C*H*W, 1, 1): tensors stay 4-D throughout."""

    def forward(self, x):
        return x.flatten(1)[:, :, None, None]
`,
	helperLinear: `class _Linear(nn.Linear):
    """nn.Linear on (N, F, 1, 1) tensors."""

    def forward(self, x):
        # nn.functional.linear, not super().forward: torch.jit.script
        # compiles neither super() nor a call to the base class's forward.
        return nn.functional.linear(x.flatten(1), self.weight, self.bias)[:, :, None, None]
`,
	helperCell: `def _cell_op(op, C):
    if op == "skip_connect":
        return nn.Identity()
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    k = 1 if op == "nor_conv_1x1" else 3
    return nn.Sequential(nn.ReLU(), nn.Conv2d(C, C, k, padding=k // 2, bias=False), nn.BatchNorm2d(C))


class _Cell(nn.Module):
    """NAS-Bench-201 cell: node j is the sum of op(node i) over edges i -> j;
    the output is the last node. Edges that are "none" are left out.
    forward walks the ModuleDict rather than indexing it by a computed key,
    so that torch.jit.script compiles it."""

    def __init__(self, C, nodes, edges):
        super().__init__()
        self.nodes = nodes
        self.edges = nn.ModuleDict()
        self.wiring = {}
        for j, i, op in edges:
            key = "e%d_%d" % (j, i)
            self.edges[key] = _cell_op(op, C)
            self.wiring[key] = (j, i)

    def forward(self, x):
        states = [x]
        for j in range(1, self.nodes):
            s = torch.zeros_like(x)
            for key, op in self.edges.items():
                jj, i = self.wiring[key]
                if jj == j:
                    s = s + op(states[i])
            states.append(s)
        return states[-1]
`,
	helperTokens: `class _Tokens(nn.Module):
    """Layout adapter: (N, C, H, W) -> (N, H*W, C) tokens -> module -> back.
    size "size" also passes (H, W), "hw" passes H, W (token blocks that need
    the spatial layout of their tokens)."""

    def __init__(self, m, size=""):
        super().__init__()
        self.m = m
        self.size = size

    def forward(self, x):
        n, _, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)
        if self.size == "size":
            y = self.m(t, (h, w))
        elif self.size == "hw":
            y = self.m(t, h, w)
        else:
            y = self.m(t)
        return y.transpose(1, 2).reshape(n, -1, h, w)
`,
	helperNHWC: `class _NHWC(nn.Module):
    """Layout adapter: (N, C, H, W) -> channels-last (N, H, W, C) -> module -> back."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
`,
	helperNCL: `class _NCL(nn.Module):
    """Layout adapter: (N, C, H, W) -> (N, C, H*W) -> 1-D module -> back."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        n, _, h, w = x.shape
        return self.m(x.flatten(2)).reshape(n, -1, h, w)
`,
	helperPooled: `class _Pooled(nn.Module):
    """Layout adapter: a pooling head's (N, C) output as (N, C, 1, 1)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)[:, :, None, None]
`,
	helperVec: `class _Vec(nn.Module):
    """Layout adapter: (N, C, 1, 1) -> (N, C) features -> module -> back."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x.flatten(1))[:, :, None, None]
`,
}
