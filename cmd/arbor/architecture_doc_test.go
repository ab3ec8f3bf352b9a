package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestArchitectureDoc keeps docs/architecture.md true: its table of
// import arrows must be the code's (every non-test file of every package),
// its library snippet must be librarySearch's body (which
// TestLibrarySearch runs), and the promises it
// states about the graph must hold. -update rewrites the table and the
// snippet from the code.
func TestArchitectureDoc(t *testing.T) {
	root := filepath.Join("..", "..")
	path := filepath.Join(root, "docs", "architecture.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	graph, err := importGraph(root)
	if err != nil {
		t.Fatal(err)
	}
	want := doc
	want, err = replaceBetween(want, "| package | imports (arbor packages) |\n|---|---|\n", "<!-- end imports -->", importRows(graph))
	if err != nil {
		t.Fatal(err)
	}
	snippet, err := funcBody(filepath.Join(root, "evolve", "run", "library_test.go"), "librarySearch")
	if err != nil {
		t.Fatal(err)
	}
	want, err = replaceBetween(want, "available without package `main`", "```\n\n", func(section string) (string, error) {
		i := strings.Index(section, "```go\n")
		if i < 0 {
			return "", fmt.Errorf("no ```go block after \"available without package `main`\"")
		}
		return section[:i] + "```go\n" + snippet, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want != doc {
		if updating() {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s differs from the code (go test ./cmd/arbor -run TestArchitectureDoc -update rewrites it):\n%s", path, firstDiff(doc, want))
	}
	// The promises the page states in words.
	for _, reader := range []string{"evolve/report", "evolve/dashboard"} {
		for _, engine := range []string{"evolve", "evolve/run"} {
			if reaches(graph, reader, engine) {
				t.Errorf("%s imports %s (directly or not); the page says readers never import the engine", reader, engine)
			}
		}
	}
	if got := graph["tree"]; len(got) != 0 {
		t.Errorf("tree imports %v; the page says it imports no other arbor package", got)
	}
	for _, d := range graph["train"] {
		if !strings.HasPrefix(d, "train/") {
			t.Errorf("train imports %s; the page says only its own sub-packages", d)
		}
	}
}

// importGraph maps each package below root (by its path from root) to the
// arbor packages its non-test files import, sorted.
func importGraph(root string) (map[string][]string, error) {
	const module = "github.com/arbor-nas/arbor/"
	graph := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		deps := graph[pkg]
		if deps == nil {
			deps = []string{}
		}
		for _, imp := range f.Imports {
			ip, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if dep, ok := strings.CutPrefix(ip, module); ok && !slices.Contains(deps, dep) {
				deps = append(deps, dep)
			}
		}
		slices.Sort(deps)
		graph[pkg] = deps
		return nil
	})
	return graph, err
}

// importRows is the table's body: one row per package, in order.
func importRows(graph map[string][]string) func(string) (string, error) {
	return func(string) (string, error) {
		var b strings.Builder
		pkgs := make([]string, 0, len(graph))
		for p := range graph {
			pkgs = append(pkgs, p)
		}
		slices.Sort(pkgs)
		for _, p := range pkgs {
			var deps []string
			for _, d := range graph[p] {
				deps = append(deps, "`"+d+"`")
			}
			imports := strings.Join(deps, ", ")
			if imports == "" {
				imports = "none"
			}
			fmt.Fprintf(&b, "| `%s` | %s |\n", p, imports)
		}
		return b.String(), nil
	}
}

// reaches reports whether from imports to, directly or through others.
func reaches(graph map[string][]string, from, to string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(p string) bool {
		if seen[p] {
			return false
		}
		seen[p] = true
		for _, d := range graph[p] {
			if d == to || walk(d) {
				return true
			}
		}
		return false
	}
	return walk(from)
}

// replaceBetween rewrites what lies between the first start and the next
// end in s (both kept) with fn's answer for it.
func replaceBetween(s, start, end string, fn func(string) (string, error)) (string, error) {
	i := strings.Index(s, start)
	if i < 0 {
		return "", fmt.Errorf("docs/architecture.md has no %q", start)
	}
	i += len(start)
	j := strings.Index(s[i:], end)
	if j < 0 {
		return "", fmt.Errorf("docs/architecture.md has no %q after %q", end, start)
	}
	mid, err := fn(s[i : i+j])
	if err != nil {
		return "", err
	}
	return s[:i] + mid + s[i+j:], nil
}

// funcBody is the body of function name in file, unindented once.
func funcBody(file, name string) (string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		return "", err
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != name {
			continue
		}
		body := string(src[fset.Position(fn.Body.Lbrace).Offset+1 : fset.Position(fn.Body.Rbrace).Offset])
		var b strings.Builder
		for _, line := range strings.Split(strings.Trim(body, "\n"), "\n") {
			b.WriteString(strings.TrimPrefix(line, "\t") + "\n")
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("%s has no func %s", file, name)
}

// firstDiff shows where two texts first part.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n  doc:  %s\n  code: %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("the doc has %d lines, the code wants %d", len(al), len(bl))
}
