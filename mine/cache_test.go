package mine

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func saved(t *testing.T, c *Catalog) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.json")
	if err := c.Save(p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCacheSkipsUnchangedFiles(t *testing.T) {
	root := filepath.Join(t.TempDir(), "fixpkg")
	copyTree(t, fixtureRoot, root)
	opt := Options{CachePath: CachePathFor(filepath.Join(t.TempDir(), "catalog.json"))}
	first, st1 := mineRoots(t, DefaultConfig(), opt, root)
	if st1.Parsed != 18 || st1.Cached != 0 {
		t.Fatalf("first build parsed %d cached %d, want 18/0", st1.Parsed, st1.Cached)
	}
	second, st2 := mineRoots(t, DefaultConfig(), opt, root)
	if st2.Parsed != 0 || st2.Cached != 18 {
		t.Fatalf("rebuild parsed %d cached %d, want 0/18", st2.Parsed, st2.Cached)
	}
	if a, b := saved(t, first), saved(t, second); !bytes.Equal(a, b) {
		t.Fatal("catalog from the cache differs from the parsed one")
	}
	f, err := os.OpenFile(filepath.Join(root, "layers.py"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\n\nclass Added(nn.Module):\n    def forward(self, x):\n        return x\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	third, st3 := mineRoots(t, DefaultConfig(), opt, root)
	if st3.Parsed != 1 || st3.Cached != 17 {
		t.Fatalf("after editing one file parsed %d cached %d, want 1/17", st3.Parsed, st3.Cached)
	}
	if byQual(third)["fixpkg.layers.Added"] == nil {
		t.Fatal("class added to a changed file was not mined")
	}
	// A corrupt cache is ignored with a warning, never fatal.
	if err := os.WriteFile(opt.CachePath, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	fourth, st4 := mineRoots(t, DefaultConfig(), opt, root)
	if st4.Parsed != 18 || len(fourth.Warnings) == 0 {
		t.Fatalf("corrupt cache: parsed %d, warnings %q", st4.Parsed, fourth.Warnings)
	}
}
