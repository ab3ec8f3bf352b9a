package tree_test

import (
	"testing"

	"github.com/arbor-nas/arbor/train/traintest"
	"github.com/arbor-nas/arbor/tree"
)

// TestNB201TableArchs checks every arch string of the table parses,
// builds a tree and maps back to itself, so the bijection covers exactly
// the benchmark's space.
func TestNB201TableArchs(t *testing.T) {
	_, tab := traintest.NB201(t)
	seen := map[string]bool{}
	for i := 0; i < tab.Len(); i++ {
		arch := tab.Row(i).Arch
		g, err := tree.ParseNB201Arch(arch)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if g.String() != arch {
			t.Fatalf("row %d: %s formats as %s", i, arch, g)
		}
		seen[arch] = true
	}
	if len(seen) != 15625 {
		t.Fatalf("%d distinct archs in the table, want 15625", len(seen))
	}
}
