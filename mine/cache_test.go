package mine

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
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

// TestCacheTrustsStamps: an unchanged rebuild reads no file whose size and
// mtime are what they were when hashed; a file modified just before it was
// hashed is hashed again next time (its mtime tick may not have ended); a
// rewritten file is parsed again.
func TestCacheTrustsStamps(t *testing.T) {
	root := filepath.Join(t.TempDir(), "fixpkg")
	copyTree(t, fixtureRoot, root)
	old := time.Now().Add(-time.Hour)
	var paths []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return err
	})
	for _, p := range paths {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	recent := filepath.Join(root, "layers.py")
	if err := os.Chtimes(recent, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	opt := Options{CachePath: CachePathFor(filepath.Join(t.TempDir(), "catalog.json"))}
	first, st := mineRoots(t, DefaultConfig(), opt, root)
	if st.Hashed != 18 || st.Parsed != 18 {
		t.Fatalf("first build hashed %d parsed %d, want 18/18", st.Hashed, st.Parsed)
	}
	second, st := mineRoots(t, DefaultConfig(), opt, root)
	if st.Hashed != 1 || st.Parsed != 0 || st.Cached != 18 {
		t.Fatalf("rebuild hashed %d parsed %d cached %d, want 1 (the recently modified file)/0/18", st.Hashed, st.Parsed, st.Cached)
	}
	if a, b := saved(t, first), saved(t, second); !bytes.Equal(a, b) {
		t.Fatal("catalog from the cache differs from the parsed one")
	}
	if err := os.Chtimes(recent, old, old); err != nil {
		t.Fatal(err)
	}
	mineRoots(t, DefaultConfig(), opt, root)
	_, st = mineRoots(t, DefaultConfig(), opt, root)
	if st.Hashed != 0 || st.Parsed != 0 {
		t.Fatalf("unchanged rebuild hashed %d parsed %d, want 0/0", st.Hashed, st.Parsed)
	}
	if err := os.WriteFile(recent, []byte("import torch.nn as nn\n\n\nclass Only(nn.Module):\n    pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	third, st := mineRoots(t, DefaultConfig(), opt, root)
	// Resolving the catalog again needs every file's source.
	if st.Hashed != 18 || st.Parsed != 1 {
		t.Fatalf("after rewriting one file hashed %d parsed %d, want 18/1", st.Hashed, st.Parsed)
	}
	if byQual(third)["fixpkg.layers.Only"] == nil {
		t.Fatal("the rewritten file's class was not mined")
	}
}
