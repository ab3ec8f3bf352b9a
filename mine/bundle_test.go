package mine

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Two static resolution rules, each checked by running the bundle: an
// in-root fallback import inside try/except is inlined (the import would
// need the cloned package installed), and two files defining one global
// differently both keep their own definition under distinct names.
func TestBundleInlinesFallbacksAndRenamesClashes(t *testing.T) {
	py := needTorch(t)
	root := filepath.Join(t.TempDir(), "pkg")
	writeFile(t, filepath.Join(root, "__init__.py"), "")
	writeFile(t, filepath.Join(root, "fast.py"), "def rms(x):\n    return x * 2\n\n\ndef fast_rms(x):\n    return rms(x) + 1\n")
	writeFile(t, filepath.Join(root, "norm.py"), `import torch.nn as nn
from .fast import fast_rms

try:
    from torch.nn.functional import no_such_function as rms
except ImportError:
    from .fast import rms


class Norm(nn.Module):
    def forward(self, x):
        return rms(x) + fast_rms(x)
`)
	writeFile(t, filepath.Join(root, "b.py"), "import torch.nn as nn\n\n\ndef pad():\n    return 20\n\n\nclass Block(nn.Module):\n    def forward(self, x):\n        return x + pad()\n")
	writeFile(t, filepath.Join(root, "a.py"), `import torch.nn as nn
from .b import Block


def pad():
    return 1


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()

    def forward(self, x):
        return self.block(x) + pad()
`)
	cat, _ := mineRoots(t, DefaultConfig(), Options{}, root)
	mods := byQual(cat)
	for _, tc := range []struct {
		qual string
		in   int
		want string // forward(in) printed by Python
	}{
		{"pkg.norm.Norm", 3, "13"}, // rms(3) + fast_rms(3) = 6 + 7
		{"pkg.a.Outer", 0, "21"},   // Block: 0 + 20, then + 1
	} {
		m := mods[tc.qual]
		if m == nil || m.Status != StatusOK {
			t.Fatalf("%s: %+v", tc.qual, m)
		}
		prog := m.Source + "\nprint(" + m.Name + "()(" + strconv.Itoa(tc.in) + "))\n"
		out, err := exec.Command(py, "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: bundle does not run: %v\n%s\n---\n%s", tc.qual, err, out, m.Source)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("%s: forward gave %s, want %s\n%s", tc.qual, got, tc.want, m.Source)
		}
	}
	if src := mods["pkg.a.Outer"].Source; !strings.Contains(src, "def pad_a():") {
		t.Errorf("clashing pad of b.py was not renamed:\n%s", src)
	}
}
