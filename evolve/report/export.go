package report

import (
	"fmt"
	"strings"

	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/tree"
)

// ExportSource is the standalone PyTorch file of c: the source the run
// rendered (with the run's catalog) and trained, or, when the store lacks
// it, the tree rendered anew with cat (the run's catalog: run.Catalog);
// plus a header saying where it came from and a main that builds it.
func ExportSource(dir string, c store.Candidate, cat tree.Catalog) (string, error) {
	if len(c.Tree) == 0 {
		return "", fmt.Errorf("candidate %s has no stored tree (a codegen candidate?); nothing to export", c.ID)
	}
	t, err := tree.Parse(c.Tree)
	if err != nil {
		return "", fmt.Errorf("candidate %s: stored tree: %w", c.ID, err)
	}
	src := c.Source
	if src == "" {
		if src, err = tree.Render(t, cat); err != nil {
			return "", fmt.Errorf("candidate %s: render: %w", c.ID, err)
		}
	}
	// The rendered class becomes _Searched; Candidate wraps its network
	// and takes the input shape and class count as arguments.
	const class = "\nclass Candidate(nn.Module):\n"
	if strings.Count(src, class) != 1 {
		return "", fmt.Errorf("candidate %s: the rendered source does not define class Candidate once; cannot export it", c.ID)
	}
	src = strings.Replace(src, class, "\nclass _Searched(nn.Module):\n", 1)
	var b strings.Builder
	fmt.Fprintf(&b, "# Exported by `arbor best -o` from run %s, candidate %s (parent %s, %s).\n", dir, c.ID, OrDash(c.ParentID), OpAt(c))
	fmt.Fprintf(&b, "# In the search: validation accuracy %.2f%%", c.Result.ValAcc)
	if c.Result.TestAcc > 0 {
		fmt.Fprintf(&b, ", test accuracy %.2f%%", c.Result.TestAcc)
	}
	fmt.Fprintf(&b, "; %d parameters, %d FLOPs.\n# Input %s, %d classes. Needs only torch: import class Candidate from this file\n"+
		"# (Candidate(input_shape=(C, H, W), num_classes=K) for another task); torch.jit.script(Candidate()) compiles it.\n",
		c.Params, c.FLOPs, t.Input, t.Classes)
	b.WriteString(strings.TrimRight(src, "\n"))
	shape := fmt.Sprintf("(%d, %d, %d)", t.Input.C, t.Input.H, t.Input.W)
	fmt.Fprintf(&b, exportTail, shape, t.Classes, c.ID, shape, t.Classes, shape, t.Classes)
	return b.String(), nil
}

// exportTail is the exported file's public class and main. Arguments:
// the searched input shape and class count, the candidate ID, and the
// two again as the constructor's defaults.
const exportTail = `


_SEARCHED_SHAPE = %s
_SEARCHED_CLASSES = %d


def _replace(root, name, new):
    parent, _, attr = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, attr, new)


class Candidate(nn.Module):
    """Candidate %s of the search, built for input %s and %d classes.

    Another input_shape or num_classes re-creates the first convolution or
    the classifier for them (those layers then start untrained); every other
    layer is as searched. Raises ValueError when the architecture cannot
    take the shape (a classifier fed by a flatten needs the searched H, W).
    """

    def __init__(self, input_shape=%s, num_classes=%d):
        super().__init__()
        self.input_shape = tuple(int(v) for v in input_shape)
        self.num_classes = int(num_classes)
        if len(self.input_shape) != 3:
            raise ValueError("input_shape must be (C, H, W), got %%r" %% (input_shape,))
        net = _Searched().net
        if self.input_shape[0] != _SEARCHED_SHAPE[0]:
            convs = [(n, m) for n, m in net.named_modules() if isinstance(m, nn.Conv2d)]
            if not convs or convs[0][1].in_channels != _SEARCHED_SHAPE[0] or convs[0][1].groups != 1:
                raise ValueError("cannot change the input channels: the first layer is not a plain convolution over %%d channels" %% _SEARCHED_SHAPE[0])
            n, m = convs[0]
            _replace(net, n, nn.Conv2d(self.input_shape[0], m.out_channels, m.kernel_size, stride=m.stride, padding=m.padding,
                                       dilation=m.dilation, bias=m.bias is not None, padding_mode=m.padding_mode))
        if self.num_classes != _SEARCHED_CLASSES:
            fcs = [(n, m) for n, m in net.named_modules() if isinstance(m, nn.Linear)]
            if not fcs or fcs[-1][1].out_features != _SEARCHED_CLASSES:
                raise ValueError("cannot change the class count: the last layer is not a linear classifier to %%d classes" %% _SEARCHED_CLASSES)
            n, m = fcs[-1]
            _replace(net, n, type(m)(m.in_features, self.num_classes, bias=m.bias is not None))
        self.net = net
        if self.input_shape != tuple(_SEARCHED_SHAPE) or self.num_classes != _SEARCHED_CLASSES:
            was = net.training
            net.eval()
            try:
                with torch.no_grad():
                    y = self.forward(torch.zeros(1, *self.input_shape))
            except RuntimeError as e:
                raise ValueError("input_shape %%r does not fit this architecture (searched at %%r): %%s" %% (self.input_shape, _SEARCHED_SHAPE, e)) from e
            net.train(was)
            if tuple(y.shape) != (1, self.num_classes):
                raise ValueError("input_shape %%r gives output %%r, want (1, %%d)" %% (self.input_shape, tuple(y.shape), self.num_classes))

    def forward(self, x):
        return self.net(x).flatten(1)


if __name__ == "__main__":
    # Build the model, check one forward pass on a dummy batch, and compile it.
    model = Candidate()
    x = torch.randn(2, *model.input_shape)
    y = model(x)
    print("output", tuple(y.shape), "parameters", sum(p.numel() for p in model.parameters()))
    try:
        scripted = torch.jit.script(model)
        scripted(x)
        print("torch.jit.script: ok")
    except Exception as e:  # a mined module may not be TorchScript
        print("torch.jit.script: not scriptable:", str(e).strip().splitlines()[0])
`
