package mine

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/python"
)

// extractor parses files with one tree-sitter parser. Parsers are not safe
// for concurrent use, so each worker owns one extractor.
type extractor struct {
	parser *sitter.Parser
}

func newExtractor() *extractor {
	p := sitter.NewParser()
	p.SetLanguage(python.GetLanguage())
	return &extractor{parser: p}
}

func (e *extractor) Close() { e.parser.Close() }

// extract parses src and collects the facts the resolver needs.
func (e *extractor) extract(ctx context.Context, src []byte) (*fileFacts, error) {
	t, err := e.parser.ParseCtx(ctx, nil, src)
	if err != nil {
		return nil, fmt.Errorf("tree-sitter parse: %w", err)
	}
	defer t.Close()
	root := t.RootNode()
	w := &walker{src: src, facts: &fileFacts{HasError: root.HasError()}}
	for _, c := range namedChildren(root) {
		w.topLevel(c)
	}
	return w.facts, nil
}

type walker struct {
	src   []byte
	facts *fileFacts
}

func (w *walker) text(n *sitter.Node) string {
	if n == nil {
		return ""
	}
	return string(w.src[n.StartByte():n.EndByte()])
}

func (w *walker) topLevel(n *sitter.Node) {
	u := unit{Start: int(n.StartByte()), End: int(n.EndByte()), Line: int(n.StartPoint().Row) + 1}
	idx := len(w.facts.Units)
	switch n.Type() {
	case "import_statement", "import_from_statement":
		u.Kind = unitImport
		u.Imports = w.imports(n)
		for _, im := range u.Imports {
			if !im.Star {
				u.Binds = append(u.Binds, im.Alias)
			}
		}
	case "future_import_statement":
		u.Kind = unitFuture
	case "class_definition", "decorated_definition", "function_definition":
		def := definitionOf(n)
		name := w.text(def.ChildByFieldName("name"))
		u.Binds = []string{name}
		if def.Type() == "class_definition" {
			u.Kind = unitClass
			w.class(n, def, idx, "", false)
		} else {
			u.Kind = unitDef
		}
		u.Uses = freeNames(w.src[u.Start:u.End])
	case "expression_statement":
		if a := n.NamedChild(0); a != nil && a.Type() == "assignment" {
			u.Kind = unitAssign
			u.Binds = w.assignTargets(a, nil)
			if r := a.ChildByFieldName("right"); r != nil && (r.Type() == "attribute" || r.Type() == "identifier") {
				u.Alias = w.text(r)
			}
			u.Uses = freeNames(w.src[u.Start:u.End])
		}
	case "if_statement", "try_statement", "with_statement", "for_statement", "while_statement":
		u.Kind = unitCompound
		w.compound(n, &u, idx)
		u.Uses = freeNames(w.src[u.Start:u.End])
	}
	if n.HasError() {
		w.broken(n)
	}
	w.facts.Units = append(w.facts.Units, u)
}

// definitionOf unwraps a decorated_definition.
func definitionOf(n *sitter.Node) *sitter.Node {
	if n.Type() == "decorated_definition" {
		if d := n.ChildByFieldName("definition"); d != nil {
			return d
		}
	}
	return n
}

// compound collects what a top-level if/try/with binds: its imports (which
// are conditional), definitions and assignments, at any depth of blocks.
func (w *walker) compound(n *sitter.Node, u *unit, idx int) {
	for _, c := range namedChildren(n) {
		switch c.Type() {
		case "block", "else_clause", "elif_clause", "except_clause", "finally_clause", "except_group_clause":
			w.compound(c, u, idx)
		case "import_statement", "import_from_statement":
			for _, im := range w.imports(c) {
				u.Imports = append(u.Imports, im)
				if !im.Star {
					u.Binds = append(u.Binds, im.Alias)
				}
			}
		case "class_definition", "decorated_definition", "function_definition":
			def := definitionOf(c)
			u.Binds = append(u.Binds, w.text(def.ChildByFieldName("name")))
			if def.Type() == "class_definition" {
				w.class(c, def, idx, "", false)
			}
		case "expression_statement":
			if a := c.NamedChild(0); a != nil && a.Type() == "assignment" {
				u.Binds = w.assignTargets(a, u.Binds)
			}
		case "if_statement", "try_statement", "with_statement", "for_statement", "while_statement":
			w.compound(c, u, idx)
		}
	}
}

func (w *walker) assignTargets(a *sitter.Node, out []string) []string {
	var collect func(n *sitter.Node)
	collect = func(n *sitter.Node) {
		if n == nil {
			return
		}
		switch n.Type() {
		case "identifier":
			out = append(out, w.text(n))
		case "pattern_list", "tuple_pattern", "list_pattern", "expression_list", "tuple", "list":
			for _, c := range namedChildren(n) {
				collect(c)
			}
		}
	}
	collect(a.ChildByFieldName("left"))
	if r := a.ChildByFieldName("right"); r != nil && r.Type() == "assignment" {
		out = w.assignTargets(r, out) // a = b = value
	}
	return out
}

func (w *walker) imports(n *sitter.Node) []importSpec {
	var out []importSpec
	if n.Type() == "import_statement" {
		for _, c := range namedChildren(n) {
			switch c.Type() {
			case "dotted_name":
				mod := w.text(c)
				out = append(out, importSpec{Module: mod, Alias: strings.SplitN(mod, ".", 2)[0], StmtStart: int(n.StartByte()), StmtEnd: int(n.EndByte())})
			case "aliased_import":
				out = append(out, importSpec{Module: w.text(c.ChildByFieldName("name")), Alias: w.text(c.ChildByFieldName("alias")), AsAlias: true, StmtStart: int(n.StartByte()), StmtEnd: int(n.EndByte())})
			}
		}
		return out
	}
	base := importSpec{StmtStart: int(n.StartByte()), StmtEnd: int(n.EndByte())}
	if m := n.ChildByFieldName("module_name"); m != nil {
		base.ModStart, base.ModEnd = int(m.StartByte()), int(m.EndByte())
		if m.Type() == "relative_import" {
			for _, c := range namedChildren(m) {
				switch c.Type() {
				case "import_prefix":
					base.Level = int(c.EndByte() - c.StartByte())
				case "dotted_name":
					base.Module = w.text(c)
				}
			}
		} else {
			base.Module = w.text(m)
		}
	}
	cur := sitter.NewTreeCursor(n)
	defer cur.Close()
	for ok := cur.GoToFirstChild(); ok; ok = cur.GoToNextSibling() {
		c := cur.CurrentNode()
		if c.Type() == "wildcard_import" {
			s := base
			s.Star = true
			out = append(out, s)
			continue
		}
		if cur.CurrentFieldName() != "name" {
			continue
		}
		s := base
		switch c.Type() {
		case "dotted_name":
			s.Name = w.text(c)
			s.Alias = s.Name
		case "aliased_import":
			s.Name = w.text(c.ChildByFieldName("name"))
			s.Alias = w.text(c.ChildByFieldName("alias"))
		default:
			continue
		}
		out = append(out, s)
	}
	return out
}

// class records a class definition (and, recursively, classes nested in its
// body). outer is the dotted path of enclosing classes.
func (w *walker) class(n, def *sitter.Node, unitIdx int, outer string, nested bool) {
	name := w.text(def.ChildByFieldName("name"))
	path := name
	if outer != "" {
		path = outer + "." + name
	}
	cf := classFacts{
		Name: name, Path: path, Unit: unitIdx, Nested: nested,
		Start: int(n.StartByte()), End: int(n.EndByte()),
		Lines:    [2]int{int(n.StartPoint().Row) + 1, int(n.EndPoint().Row) + 1},
		Indent:   int(n.StartPoint().Column),
		HasError: n.HasError(),
	}
	if n.Type() == "decorated_definition" {
		for _, c := range namedChildren(n) {
			if c.Type() == "decorator" {
				d := strings.TrimSpace(strings.TrimPrefix(w.text(c), "@"))
				cf.Decorators = append(cf.Decorators, d)
				head := d
				if k := strings.IndexByte(head, '('); k >= 0 {
					head = head[:k]
				}
				if head == "dataclass" || strings.HasSuffix(head, ".dataclass") {
					cf.Dataclass = true
				}
			}
		}
	}
	if sc := def.ChildByFieldName("superclasses"); sc != nil {
		for _, c := range namedChildren(sc) {
			if c.Type() != "keyword_argument" && c.Type() != "comment" {
				cf.Bases = append(cf.Bases, w.text(c))
			}
		}
	}
	body := def.ChildByFieldName("body")
	var nestedDefs [][2]*sitter.Node
	if body != nil {
		for i, st := range namedChildren(body) {
			switch st.Type() {
			case "expression_statement":
				e := st.NamedChild(0)
				if e == nil {
					continue
				}
				if i == 0 && e.Type() == "string" {
					cf.Doc = firstDocLine(w.text(e))
				}
				if e.Type() == "assignment" {
					l := e.ChildByFieldName("left")
					if l != nil && l.Type() == "identifier" && e.ChildByFieldName("type") != nil {
						p := Param{Name: w.text(l), Kind: "positional", Annotation: w.text(e.ChildByFieldName("type"))}
						if r := e.ChildByFieldName("right"); r != nil {
							p.Default, p.HasDefault = w.text(r), true
							p.Literal = parseLiteral(p.Default)
						}
						cf.Fields = append(cf.Fields, p)
					}
				}
			case "function_definition", "decorated_definition":
				fd := definitionOf(st)
				if fd.Type() == "class_definition" {
					nestedDefs = append(nestedDefs, [2]*sitter.Node{st, fd})
					continue
				}
				switch w.text(fd.ChildByFieldName("name")) {
				case "__init__":
					cf.HasInit = true
					cf.Init = w.params(fd.ChildByFieldName("parameters"))
					cf.Submodules = w.submodules(fd.ChildByFieldName("body"), cf.Submodules)
				case "__post_init__":
					cf.Submodules = w.submodules(fd.ChildByFieldName("body"), cf.Submodules)
				case "forward":
					cf.HasForward = true
					cf.Forward = w.params(fd.ChildByFieldName("parameters"))
				}
			case "class_definition":
				nestedDefs = append(nestedDefs, [2]*sitter.Node{st, st})
			}
		}
	}
	w.facts.Classes = append(w.facts.Classes, cf)
	for _, nd := range nestedDefs {
		w.class(nd[0], nd[1], unitIdx, path, true)
	}
}

// params converts a `parameters` node, dropping self/cls.
func (w *walker) params(n *sitter.Node) []Param {
	if n == nil {
		return nil
	}
	var out []Param
	kwOnly := false
	for i, c := range namedChildren(n) {
		kind := "positional"
		if kwOnly {
			kind = "keyword"
		}
		var p Param
		switch c.Type() {
		case "identifier":
			p = Param{Name: w.text(c), Kind: kind}
		case "typed_parameter":
			inner := c.NamedChild(0)
			p = Param{Name: w.text(inner), Kind: kind, Annotation: w.text(c.ChildByFieldName("type"))}
			switch inner.Type() {
			case "list_splat_pattern":
				p.Name, p.Kind, kwOnly = strings.TrimPrefix(p.Name, "*"), "var-positional", true
			case "dictionary_splat_pattern":
				p.Name, p.Kind = strings.TrimPrefix(p.Name, "**"), "var-keyword"
			}
		case "default_parameter", "typed_default_parameter":
			p = Param{Name: w.text(c.ChildByFieldName("name")), Kind: kind,
				Annotation: w.text(c.ChildByFieldName("type")), Default: w.text(c.ChildByFieldName("value")), HasDefault: true}
			p.Literal = parseLiteral(p.Default)
		case "list_splat_pattern":
			p = Param{Name: strings.TrimPrefix(w.text(c), "*"), Kind: "var-positional"}
			kwOnly = true
		case "dictionary_splat_pattern":
			p = Param{Name: strings.TrimPrefix(w.text(c), "**"), Kind: "var-keyword"}
		case "keyword_separator":
			kwOnly = true
			continue
		default:
			continue
		}
		if len(out) == 0 && i == 0 && (p.Name == "self" || p.Name == "cls") {
			continue
		}
		out = append(out, p)
	}
	return out
}

// submodules records `self.x = Callee(...)` anywhere in a method body.
func (w *walker) submodules(body *sitter.Node, out []Submodule) []Submodule {
	if body == nil {
		return out
	}
	for _, st := range namedChildren(body) {
		switch st.Type() {
		case "expression_statement":
			a := st.NamedChild(0)
			if a == nil || a.Type() != "assignment" {
				continue
			}
			l, r := a.ChildByFieldName("left"), a.ChildByFieldName("right")
			if l == nil || r == nil || l.Type() != "attribute" || r.Type() != "call" {
				continue
			}
			if obj := l.ChildByFieldName("object"); obj == nil || w.text(obj) != "self" {
				continue
			}
			out = append(out, Submodule{Name: w.text(l.ChildByFieldName("attribute")), Call: w.text(r.ChildByFieldName("function"))})
		case "if_statement", "for_statement", "while_statement", "with_statement", "try_statement",
			"block", "else_clause", "elif_clause", "except_clause", "finally_clause":
			out = w.submodules(st, out)
		}
	}
	return out
}

// classLine finds class headers in text tree-sitter could not parse.
var classLine = regexp.MustCompile(`(?m)^[ \t]*class[ \t]+([A-Za-z_][A-Za-z_0-9]*)[ \t]*(?:\(([^)\n]*)\))?`)

// broken reports the class headers inside a top-level statement that holds a
// syntax error, other than the statement's own (already recorded) class.
func (w *walker) broken(n *sitter.Node) {
	start := int(n.StartByte())
	text := w.src[start:n.EndByte()]
	own := -1
	if d := definitionOf(n); d.Type() == "class_definition" {
		own = int(d.StartByte()) - start
	}
	for _, m := range classLine.FindAllSubmatchIndex(text, -1) {
		kw := m[0] + strings.Index(string(text[m[0]:m[1]]), "class")
		if kw == own {
			continue
		}
		bc := brokenClass{Name: string(text[m[2]:m[3]]), Line: int(n.StartPoint().Row) + 1 + strings.Count(string(text[:kw]), "\n")}
		if m[4] >= 0 {
			for _, b := range strings.Split(string(text[m[4]:m[5]]), ",") {
				if b = strings.TrimSpace(b); b != "" && !strings.Contains(b, "=") {
					bc.Bases = append(bc.Bases, b)
				}
			}
		}
		w.facts.Broken = append(w.facts.Broken, bc)
	}
}

func firstDocLine(s string) string {
	s = strings.TrimLeft(s, "rRuUbBfF")
	for _, q := range []string{`"""`, `'''`, `"`, `'`} {
		if strings.HasPrefix(s, q) && strings.HasSuffix(s, q) && len(s) >= 2*len(q) {
			s = s[len(q) : len(s)-len(q)]
			break
		}
	}
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return strings.ToValidUTF8(line, "\uFFFD")
		}
	}
	return ""
}

// namedChildren lists n's named children with a tree cursor. NamedChild(i) and the sibling calls each walk
// from the first child, so a loop over them is quadratic in the number of
// statements: seconds for one large generated file.
func namedChildren(n *sitter.Node) []*sitter.Node {
	c := sitter.NewTreeCursor(n)
	defer c.Close()
	if !c.GoToFirstChild() {
		return nil
	}
	var out []*sitter.Node
	for {
		if nd := c.CurrentNode(); nd.IsNamed() {
			out = append(out, nd)
		}
		if !c.GoToNextSibling() {
			return out
		}
	}
}
