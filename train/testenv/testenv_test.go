package testenv

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRequired(t *testing.T) {
	tests := []struct {
		spec string
		dep  Dep
		want bool
	}{
		{"all", Torch, true},
		{"all", Chromium, true},
		{"all", Slurm, false},
		{"all", NB201Real, false},
		{"slurm", Slurm, true},
		{"all,slurm", Slurm, true},
		{" torch , chromium", Chromium, true},
		{"torchvision", Torch, false},
		{"", Torch, false},
	}
	for _, tc := range tests {
		if got := Required(tc.spec, tc.dep); got != tc.want {
			t.Errorf("Required(%q, %s) = %v, want %v", tc.spec, tc.dep, got, tc.want)
		}
	}
}

// recorder is a testing.TB whose Skipf and Fatalf only record, so Require's
// choice can be seen.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Skipf(format string, a ...any)  { r.skipped = fmt.Sprintf(format, a...) }
func (r *recorder) Fatalf(format string, a ...any) { r.failed = fmt.Sprintf(format, a...) }

// TestRequireMissing: a missing dependency skips, with a message naming
// it and the switch, unless the switch names it: then it fails.
func TestRequireMissing(t *testing.T) {
	t.Setenv("ARBOR_SLURM_CONF", "")
	for _, spec := range []string{"", "all", "all,slurm"} {
		t.Setenv(RequireEnv, spec)
		r := &recorder{TB: t}
		if got := Require(r, Slurm); got != "" {
			t.Fatalf("%s=%q: Require returned %q for a missing dependency", RequireEnv, spec, got)
		}
		if Required(spec, Slurm) {
			if r.failed == "" || r.skipped != "" || !strings.Contains(r.failed, "ARBOR_SLURM_CONF") {
				t.Errorf("%s=%q: failed %q, skipped %q; want a failure naming ARBOR_SLURM_CONF", RequireEnv, spec, r.failed, r.skipped)
			}
			continue
		}
		if r.skipped == "" || r.failed != "" || !strings.Contains(r.skipped, RequireEnv+"=slurm") {
			t.Errorf("%s=%q: failed %q, skipped %q; want a skip that names %s=slurm", RequireEnv, spec, r.failed, r.skipped, RequireEnv)
		}
	}
}

// TestRequirePresent: a dependency that is there gives its path, whatever
// the switch says.
func TestRequirePresent(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "slurm.conf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ARBOR_SLURM_CONF", conf)
	t.Setenv(RequireEnv, "")
	r := &recorder{TB: t}
	if got := Require(r, Slurm); got != conf || r.skipped != "" || r.failed != "" {
		t.Fatalf("Require = %q (skipped %q, failed %q), want %q", got, r.skipped, r.failed, conf)
	}
	if _, err := Find("gpu"); err == nil || !strings.Contains(err.Error(), "unknown dependency") {
		t.Fatalf("Find(gpu): %v", err)
	}
}

func TestNB201Table(t *testing.T) {
	p := NB201Table(t)
	if !strings.HasSuffix(p, NB201TablePath) {
		t.Fatalf("NB201Table = %q", p)
	}
}

// TestNoAdHocSkips: no test in the repository skips on its own; a missing
// dependency goes through Require, so that `make test` fails on it. A skip
// that is not about a dependency (a fuzz input outside the domain, a
// helper process) carries a "skip-ok:" comment on its line or the one
// above, saying why.
func TestNoAdHocSkips(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") || filepath.Dir(path) == filepath.Join(root, "train", "testenv") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		okLines := map[int]bool{}
		for _, g := range f.Comments {
			for _, c := range g.List {
				if strings.Contains(c.Text, "skip-ok:") {
					line := fset.Position(c.Slash).Line
					okLines[line], okLines[line+1] = true, true
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Skip" && sel.Sel.Name != "Skipf" && sel.Sel.Name != "SkipNow") {
				return true
			}
			if pos := fset.Position(call.Pos()); !okLines[pos.Line] {
				rel, _ := filepath.Rel(root, pos.Filename)
				bad = append(bad, fmt.Sprintf("%s:%d", rel, pos.Line))
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("tests skip on their own at %s: use testenv.Require for a missing dependency (or say why with a skip-ok: comment)", strings.Join(bad, ", "))
	}
}
