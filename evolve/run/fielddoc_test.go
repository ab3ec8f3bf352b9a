package run

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// modulePath is the import path prefix of arbor's own packages; a field
// whose type comes from another module (time.Duration) is a leaf.
const modulePath = "github.com/arbor-nas/arbor/"

// docWalker reads the doc comments of the configuration structs from the
// Go source, following field types across arbor's packages.
type docWalker struct {
	root  string                         // repository root
	fset  *token.FileSet                 // positions, for errors
	pkgs  map[string]map[string]typeDecl // import path -> type name -> declaration
	keys  map[string]string              // leaf key -> doc
	secs  map[string]string              // section key -> doc
	where map[string]string              // key -> file:line, for errors
}

type typeDecl struct {
	spec *ast.TypeSpec
	doc  string
	file *ast.File
}

// docText folds a comment group into one line of prose.
func docText(g *ast.CommentGroup) string {
	if g == nil {
		return ""
	}
	return strings.Join(strings.Fields(g.Text()), " ")
}

// pkg parses the non-test files of the package at import path.
func (w *docWalker) pkg(path string) (map[string]typeDecl, error) {
	if p, ok := w.pkgs[path]; ok {
		return p, nil
	}
	dir := filepath.Join(w.root, strings.TrimPrefix(path, modulePath))
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	out := map[string]typeDecl{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(w.fset, f, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, d := range af.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, s := range gd.Specs {
				ts := s.(*ast.TypeSpec)
				doc := docText(ts.Doc)
				if doc == "" && len(gd.Specs) == 1 {
					doc = docText(gd.Doc)
				}
				out[ts.Name.Name] = typeDecl{spec: ts, doc: doc, file: af}
			}
		}
	}
	w.pkgs[path] = out
	return out, nil
}

// resolve finds the struct a field type names: a type of the same package
// or of another arbor package; nil for anything else (a leaf).
func (w *docWalker) resolve(path string, file *ast.File, t ast.Expr) (string, typeDecl, *ast.StructType, error) {
	var pkgPath, name string
	switch x := t.(type) {
	case *ast.Ident:
		pkgPath, name = path, x.Name
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		if !ok {
			return "", typeDecl{}, nil, nil
		}
		for _, imp := range file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			local := filepath.Base(p)
			if imp.Name != nil {
				local = imp.Name.Name
			}
			if local == id.Name {
				pkgPath = p
			}
		}
		if !strings.HasPrefix(pkgPath, modulePath) {
			return "", typeDecl{}, nil, nil
		}
		name = x.Sel.Name
	default:
		return "", typeDecl{}, nil, nil
	}
	types, err := w.pkg(pkgPath)
	if err != nil {
		return "", typeDecl{}, nil, err
	}
	td, ok := types[name]
	if !ok {
		return "", typeDecl{}, nil, nil
	}
	st, _ := td.spec.Type.(*ast.StructType)
	return pkgPath, td, st, nil
}

// walk records the docs of every field of st under prefix.
func (w *docWalker) walk(path string, file *ast.File, st *ast.StructType, prefix string) error {
	for _, f := range st.Fields.List {
		if f.Tag == nil {
			continue
		}
		tagv, _ := strconv.Unquote(f.Tag.Value)
		tag, opts, _ := strings.Cut(reflect.StructTag(tagv).Get("mapstructure"), ",")
		subPath, td, sub, err := w.resolve(path, file, f.Type)
		if err != nil {
			return err
		}
		if opts == "squash" && len(f.Names) == 0 {
			if sub != nil {
				if err := w.walk(subPath, td.file, sub, prefix); err != nil {
					return err
				}
			}
			continue
		}
		if tag == "" || tag == "-" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		doc := docText(f.Doc)
		if doc == "" {
			doc = docText(f.Comment)
		}
		w.where[key] = w.fset.Position(f.Pos()).String()
		if sub == nil {
			w.keys[key] = doc
			continue
		}
		if doc == "" {
			doc = td.doc
		}
		w.secs[key] = doc
		if err := w.walk(subPath, td.file, sub, key); err != nil {
			return err
		}
	}
	return nil
}

// collectFieldDocs reads the doc comment of every key and section of
// Config from the source under root.
func collectFieldDocs(root string) (keys, secs, where map[string]string, err error) {
	w := &docWalker{root: root, fset: token.NewFileSet(), pkgs: map[string]map[string]typeDecl{},
		keys: map[string]string{}, secs: map[string]string{}, where: map[string]string{}}
	types, err := w.pkg(modulePath + "evolve/run")
	if err != nil {
		return nil, nil, nil, err
	}
	td := types["Config"]
	if err := w.walk(modulePath+"evolve/run", td.file, td.spec.Type.(*ast.StructType), ""); err != nil {
		return nil, nil, nil, err
	}
	return w.keys, w.secs, w.where, nil
}

// fieldDocsSource is the generated fielddocs.go.
func fieldDocsSource(keys, secs map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated by `go generate ./evolve/run` from the doc comments of the\n" +
		"// configuration structs; DO NOT EDIT. Change the comment on the field instead.\n\npackage run\n\n")
	for _, m := range []struct {
		name, doc string
		docs      map[string]string
	}{
		{"keyDocs", "keyDocs is the doc comment of every leaf key's field.", keys},
		{"sectionDocs", "sectionDocs is the doc comment of every section's field (or its type).", secs},
	} {
		fmt.Fprintf(&b, "// %s\nfunc %s() map[string]string {\n\treturn map[string]string{\n", m.doc, m.name)
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range m.docs {
				if !yield(k) {
					return
				}
			}
		}) {
			fmt.Fprintf(&b, "\t\t%q: %q,\n", k, m.docs[k])
		}
		b.WriteString("\t}\n}\n\n")
	}
	return format.Source(b.Bytes())
}

// TestFieldDocsUpToDate fails when fielddocs.go differs from the doc
// comments of the configuration structs; `go generate ./evolve/run` (or
// go test ./evolve/run -run FieldDocs -update) rewrites it.
func TestFieldDocsUpToDate(t *testing.T) {
	keys, secs, where, err := collectFieldDocs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []map[string]string{keys, secs} {
		for k, d := range m {
			if d == "" {
				t.Errorf("%s (%s) has no doc comment: write one on the field; it is the key's documentation", k, where[k])
			}
		}
	}
	want, err := fieldDocsSource(keys, secs)
	if err != nil {
		t.Fatal(err)
	}
	if updating() {
		if err := os.WriteFile("fielddocs.go", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("fielddocs.go")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("fielddocs.go is stale (%v): run go generate ./evolve/run", err)
	}
}
