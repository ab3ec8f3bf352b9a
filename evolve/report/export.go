package report

import (
	"context"
	"fmt"
	"strings"

	"github.com/arbor-nas/arbor/evolve/run"
	"github.com/arbor-nas/arbor/evolve/store"
	"github.com/arbor-nas/arbor/tree"
)

// ExportSource is the standalone PyTorch file of c: the source the run
// rendered (with the run's catalog) and trained, or, when the store lacks
// it, the tree rendered anew with the catalog of the run's configuration;
// plus a header saying where it came from and a main that builds it.
func ExportSource(ctx context.Context, s *store.Store, dir string, c store.Candidate) (string, error) {
	if len(c.Tree) == 0 {
		return "", fmt.Errorf("candidate %s has no stored tree (a codegen candidate?); nothing to export", c.ID)
	}
	t, err := tree.Parse(c.Tree)
	if err != nil {
		return "", fmt.Errorf("candidate %s: stored tree: %w", c.ID, err)
	}
	src := c.Source
	if src == "" {
		cat, err := run.Catalog(ctx, s)
		if err != nil {
			return "", err
		}
		if src, err = tree.Render(t, cat); err != nil {
			return "", fmt.Errorf("candidate %s: render: %w", c.ID, err)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Exported by `arbor best --export` from run %s, candidate %s (parent %s, %s).\n", dir, c.ID, OrDash(c.ParentID), OpAt(c))
	fmt.Fprintf(&b, "# In the search: validation accuracy %.2f%%", c.Result.ValAcc)
	if c.Result.TestAcc > 0 {
		fmt.Fprintf(&b, ", test accuracy %.2f%%", c.Result.TestAcc)
	}
	fmt.Fprintf(&b, "; %d parameters, %d FLOPs.\n# Input %s, %d classes. Needs only torch: import class Candidate from this file.\n",
		c.Params, c.FLOPs, t.Input, t.Classes)
	b.WriteString(strings.TrimRight(src, "\n"))
	fmt.Fprintf(&b, `


if __name__ == "__main__":
    # Build the model and check one forward pass on a dummy batch.
    model = Candidate()
    x = torch.randn(2, %d, %d, %d)
    y = model(x)
    print("output", tuple(y.shape), "parameters", sum(p.numel() for p in model.parameters()))
`, t.Input.C, t.Input.H, t.Input.W)
	return b.String(), nil
}
