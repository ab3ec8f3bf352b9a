package evolve

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuiltinsUsePublicEnv type-checks the package and fails when a
// built-in strategy (strategy_<name>.go) uses an unexported identifier
// declared elsewhere in the package: a built-in gets no more than a
// third-party strategy, the public Env.
func TestBuiltinsUsePublicEnv(t *testing.T) {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	// Imported packages are not needed to resolve this package's own
	// identifiers: every import is an empty package, and the errors that
	// causes are ignored.
	conf := types.Config{Importer: emptyImporter{}, Error: func(error) {}}
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}, Selections: map[*ast.SelectorExpr]*types.Selection{}}
	pkg, _ := conf.Check("github.com/arbor-nas/arbor/evolve", fset, files, info)
	plugin := func(pos token.Pos) bool { return isPluginFile(fset.Position(pos).Filename) }
	checked := 0
	for _, f := range files {
		if !plugin(f.Pos()) {
			continue
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			id, ok := n.(*ast.Ident)
			if !ok {
				return true
			}
			obj := info.Uses[id]
			if obj == nil || obj.Pkg() != pkg || obj.Exported() || plugin(obj.Pos()) {
				return true
			}
			if _, local := obj.(*types.Var); local && obj.Parent() != nil && obj.Parent() != pkg.Scope() {
				return true // a local variable or parameter
			}
			t.Errorf("%s: built-in strategy uses %s, declared in %s: use the public Env (or export what a third-party strategy would need too)",
				fset.Position(id.Pos()), id.Name, filepath.Base(fset.Position(obj.Pos()).Filename))
			return true
		})
	}
	if checked < len(Builtins()) {
		t.Fatalf("checked %d strategy files, want one per built-in (%d)", checked, len(Builtins()))
	}
}

// isPluginFile: strategy_<name>.go holds one strategy; strategy.go is the
// contract and the Env.
func isPluginFile(path string) bool {
	base := filepath.Base(path)
	return strings.HasPrefix(base, "strategy_") && !strings.HasSuffix(base, "_test.go")
}

type emptyImporter struct{}

func (emptyImporter) Import(path string) (*types.Package, error) {
	return types.NewPackage(path, filepath.Base(path)), nil
}
