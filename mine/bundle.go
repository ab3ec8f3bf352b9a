package mine

import (
	"fmt"
	"sort"
	"strings"
)

// bundler assembles a standalone source for one class: the transitive
// closure of the top-level statements it uses, across the files of its root,
// in dependency order, with external imports kept as import lines.
type bundler struct {
	ri       *rootIndex
	futures  []string
	imports  []string
	seenImp  map[string]bool
	chunks   []string
	state    map[unitKey]uint8  // 1 in progress, 2 done
	needed   map[nameKey]uint8  // 1 being resolved, 2 available
	definers map[string]definer // global name -> what defines it
	err      error
	// renames gives the bundle-wide name of a global as a file sees it,
	// for names that two files define differently (see bundle).
	renames map[nameKey]string
	// clash is the first such name found: the second definer, and the
	// first.
	clash, clashPrev *nameKey
}

type definer struct {
	k    unitKey
	text string
}

type unitKey struct {
	f *srcFile
	u int
}

type nameKey struct {
	f    *srcFile
	name string
}

func newBundler(ri *rootIndex) *bundler {
	return &bundler{ri: ri, seenImp: map[string]bool{}, state: map[unitKey]uint8{},
		needed: map[nameKey]uint8{}, definers: map[string]definer{}}
}

// bundle returns the standalone source defining class c of file f under its
// own name. Python modules are separate namespaces, a bundle is one: when
// two files define one global name differently (timm's get_same_padding in
// layers/padding.py and models/efficientvit_mit.py), the second file's
// definition and every use of it that goes through that file is renamed
// (get_same_padding_efficientvit_mit), and the bundle is assembled again.
func bundle(ri *rootIndex, f *srcFile, c *classFacts) (string, error) {
	renames := map[nameKey]string{}
	for attempt := 0; ; attempt++ {
		src, clash, err := bundleOnce(ri, f, c, renames)
		if clash == nil || attempt >= 8 {
			return src, err
		}
		if clash[0] == (nameKey{f, c.Name}) && clash[1].f != nil {
			clash[0] = clash[1] // the class keeps its name: rename the other
		}
		k := clash[0]
		if _, done := renames[k]; done {
			return src, err
		}
		stem := strings.TrimSuffix(k.f.rel[strings.LastIndexByte(k.f.rel, '/')+1:], ".py")
		renames[k] = k.name + "_" + sanitizeIdent(stem)
	}
}

func sanitizeIdent(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !isIdentPart(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

func bundleOnce(ri *rootIndex, f *srcFile, c *classFacts, renames map[nameKey]string) (string, *[2]nameKey, error) {
	b := newBundler(ri)
	b.renames = renames
	if q := qualify(f.mod, c.Path); isAnchorQual(q) {
		return fmt.Sprintf("from %s import %s\n", f.mod, c.Name), nil, nil
	}
	if !c.Nested {
		b.emitUnit(f, c.Unit)
	} else {
		// A nested class only sees globals (class scopes do not nest in
		// Python), so it is lifted to the top level, dedented.
		src := f.src[c.Start:c.End]
		for _, name := range freeNames(src) {
			if name != c.Name {
				b.need(f, name)
			}
		}
		b.chunks = append(b.chunks, b.renamed(f, dedent(string(src), c.Indent)))
	}
	if b.err != nil {
		if b.clash != nil {
			return "", &[2]nameKey{*b.clash, *b.clashPrev}, b.err
		}
		return "", nil, b.err
	}
	var sb strings.Builder
	for _, s := range b.futures {
		sb.WriteString(s + "\n")
	}
	for _, s := range b.imports {
		sb.WriteString(s + "\n")
	}
	for _, s := range b.chunks {
		sb.WriteString("\n\n" + s + "\n")
	}
	return sb.String(), nil, nil
}

// final is the bundle-wide name of global `name` as file f sees it.
func (b *bundler) final(f *srcFile, name string) string {
	if nn, ok := b.renames[nameKey{f, name}]; ok {
		return nn
	}
	return name
}

// follow makes f's view of name carry the rename of the definition it
// resolved to in file to.
func (b *bundler) follow(f *srcFile, name string, to *srcFile, toName string) {
	if nn, ok := b.renames[nameKey{to, toName}]; ok {
		b.renames[nameKey{f, name}] = nn
	}
}

// renamed applies f's renames to a chunk of f's source.
func (b *bundler) renamed(f *srcFile, text string) string {
	var m map[string]string
	for k, v := range b.renames {
		if k.f == f {
			if m == nil {
				m = map[string]string{}
			}
			m[k.name] = v
		}
	}
	return renameNames(text, m)
}

func (b *bundler) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

func (b *bundler) addImport(line string) {
	if !b.seenImp[line] {
		b.seenImp[line] = true
		b.imports = append(b.imports, line)
	}
}

// need makes the global `name`, as file f sees it, exist in the bundle.
func (b *bundler) need(f *srcFile, name string) {
	k := nameKey{f, name}
	if b.needed[k] != 0 || b.err != nil {
		return
	}
	b.needed[k] = 1
	defer func() { b.needed[k] = 2 }()
	if isAnchorQual(f.mod+"."+name) && f.class(name) != nil {
		b.addImport(fmt.Sprintf("from %s import %s", f.mod, name))
		return
	}
	units := f.binds[name]
	if len(units) == 0 {
		b.needFromStars(f, name)
		return
	}
	for _, ui := range units {
		u := f.facts.Units[ui]
		if u.Kind == unitImport {
			for _, im := range u.Imports {
				if !im.Star && im.Alias == name {
					b.importSpec(f, im)
				}
			}
			continue
		}
		b.emitUnit(f, ui)
	}
}

// needFromStars resolves a name no statement binds through `import *`.
// Unknown names are builtins or locals and need nothing.
func (b *bundler) needFromStars(f *srcFile, name string) {
	for i := len(f.stars) - 1; i >= 0; i-- {
		im := f.stars[i]
		abs, err := f.absModule(im)
		if err != nil {
			b.fail(err)
			return
		}
		if tf := b.ri.byMod[abs]; tf != nil {
			switch b.needed[nameKey{tf, name}] {
			case 2:
				return // already in the bundle
			case 1:
				continue // star-import cycle (a package __init__ re-exporting this file)
			}
			if t, err := b.ri.lookup(tf, name, 0); err == nil && t.kind != tNone {
				b.need(tf, name)
				b.follow(f, name, tf, name)
				return
			}
			continue
		}
		// An external star import may provide it; keeping the line is cheap.
		b.addImport(fmt.Sprintf("from %s import *", abs))
	}
}

func (b *bundler) importSpec(f *srcFile, im importSpec) {
	abs, err := f.absModule(im)
	if err != nil {
		b.fail(err)
		return
	}
	if im.Name == "" {
		if sub := b.ri.byMod[abs]; sub != nil && im.AsAlias && !b.ri.installed() {
			b.namespace(f, im.Alias, sub) // import mylib.layers as L
			return
		}
		if im.AsAlias {
			b.addImport(fmt.Sprintf("import %s as %s", abs, im.Alias))
		} else {
			b.addImport("import " + abs)
		}
		return
	}
	line := fmt.Sprintf("from %s import %s", abs, im.Name)
	if im.Alias != im.Name {
		line += " as " + im.Alias
	}
	tf := b.ri.byMod[abs]
	if tf == nil && b.ri.ownsModule(abs) {
		b.fail(fmt.Errorf("%s imports %s from %s, which is not in the mined root", f.rel, im.Name, abs))
		return
	}
	if tf == nil || isAnchorQual(abs+"."+im.Name) {
		b.addImport(line)
		return
	}
	t, err := b.ri.lookup(tf, im.Name, 0)
	if err != nil {
		b.fail(err)
		return
	}
	if t.kind == tModule {
		b.moduleObject(f, im.Alias, t.file, line)
		return
	}
	if t.kind == tNone {
		if sub := b.ri.byMod[abs+"."+im.Name]; sub != nil {
			b.moduleObject(f, im.Alias, sub, line)
			return
		}
		b.fail(fmt.Errorf("%s imports %s from %s, which does not define it", f.rel, im.Name, abs))
		return
	}
	b.need(tf, im.Name)
	b.follow(f, im.Alias, tf, im.Name)
	if b.final(f, im.Alias) == b.final(tf, im.Name) {
		return // renamed: f's uses are rewritten to the new name
	}
	if a, n := b.final(f, im.Alias), b.final(tf, im.Name); a != n {
		b.define(a, unitKey{f, -1}, fmt.Sprintf("%s = %s", a, n))
	}
}

// moduleObject provides an in-root module imported as an object
// (`from . import layers`). An installed package is simply imported; a
// cloned repository is not importable, so the attributes the file uses
// (layers.ConvBN) are inlined and gathered in a namespace of that name.
func (b *bundler) moduleObject(f *srcFile, alias string, mod *srcFile, line string) {
	if b.ri.installed() {
		b.addImport(line)
		return
	}
	b.namespace(f, alias, mod)
}

func (b *bundler) namespace(f *srcFile, alias string, mod *srcFile) {
	var attrs []string
	seen := map[string]bool{}
	for _, a := range attrUses(f.src, alias) {
		if seen[a] {
			continue
		}
		seen[a] = true
		if t, err := b.ri.lookup(mod, a, 0); err != nil || t.kind == tNone {
			continue // a submodule or a name the module lacks: left out
		}
		b.need(mod, a)
		attrs = append(attrs, a)
	}
	b.addImport("import types as _arbor_types")
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s = _arbor_types.SimpleNamespace(", alias)
	for i, a := range attrs {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "%s=%s", a, b.final(mod, a))
	}
	sb.WriteString(")  # stands in for module " + mod.mod)
	b.define(b.final(f, alias), unitKey{f, -2}, b.renamed(f, sb.String()))
}

// attrUses lists the attributes accessed as `name.attr` in src.
func attrUses(src []byte, name string) []string {
	var out []string
	s := string(src)
	for i := strings.Index(s, name+"."); i >= 0; {
		if i == 0 || !isIdentPart(s[i-1]) && s[i-1] != '.' {
			j := i + len(name) + 1
			k := j
			for k < len(s) && isIdentPart(s[k]) {
				k++
			}
			if k > j && isIdentStart(s[j]) {
				out = append(out, s[j:k])
			}
		}
		next := strings.Index(s[i+1:], name+".")
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return out
}

// emitUnit copies one top-level statement after everything it uses.
func (b *bundler) emitUnit(f *srcFile, ui int) {
	k := unitKey{f, ui}
	if b.state[k] != 0 || b.err != nil {
		return
	}
	b.state[k] = 1
	for _, s := range f.future {
		if !b.seenImp[s] {
			b.seenImp[s] = true
			b.futures = append(b.futures, s)
		}
	}
	u := f.facts.Units[ui]
	own := map[string]bool{}
	for _, n := range u.Binds {
		own[n] = true
	}
	for _, n := range u.Uses {
		if !own[n] {
			b.need(f, n)
		}
	}
	text := string(f.src[u.Start:u.End])
	var inlined map[string]bool
	if u.Kind == unitCompound {
		var err error
		if text, inlined, err = b.rewriteCompound(f, u, text); err != nil {
			b.fail(err)
			return
		}
	}
	text = b.renamed(f, text)
	for _, n := range u.Binds {
		if !inlined[n] {
			b.defineOnly(b.final(f, n), k, text)
		}
	}
	b.chunks = append(b.chunks, text)
	b.state[k] = 2
}

func (b *bundler) define(name string, k unitKey, text string) {
	if b.defineOnly(name, k, text) {
		b.chunks = append(b.chunks, text)
	}
}

// defineOnly records who defines a global; two different definitions of one
// name from different places would silently shadow each other in the flat
// bundle, so that is an error.
func (b *bundler) defineOnly(name string, k unitKey, text string) bool {
	if prev, ok := b.definers[name]; ok {
		if prev.k == k || prev.text == text {
			return false // the same definition (e.g. `F = functional` in two files)
		}
		if prev.k.f != k.f {
			if b.clash == nil && k.f != nil {
				b.clash = &nameKey{k.f, b.original(k.f, name)}
				b.clashPrev = &nameKey{prev.k.f, b.original(prev.k.f, name)}
			}
			b.fail(fmt.Errorf("bundle name collision: %s is defined in both %s and %s", name, prev.k.f.rel, k.f.rel))
		}
		return false
	}
	b.definers[name] = definer{k, text}
	return true
}

// original is the name in f's own source of bundle-wide name.
func (b *bundler) original(f *srcFile, name string) string {
	for k, v := range b.renames {
		if k.f == f && v == name {
			return k.name
		}
	}
	return name
}

// rewriteCompound prepares a verbatim compound statement (a try/except
// ImportError block, an if on the Python version) for the flat bundle.
// Relative imports become absolute. In a cloned (not installed) root an
// import of an in-root name cannot work at all, so the name's definition is
// inlined instead and the import statement becomes `pass` (plus `alias =
// name` for renamed imports): timm's
//
//	try:
//	    from torch.nn.functional import rms_norm
//	except ImportError:
//	    from .fast_norm import rms_norm
//
// then keeps the inlined fallback whenever torch lacks the function. The
// names so provided are returned: their definer is the inlined code, not
// this statement.
func (b *bundler) rewriteCompound(f *srcFile, u unit, text string) (string, map[string]bool, error) {
	type edit struct {
		s, e int
		repl string
	}
	var edits []edit
	var inlined map[string]bool
	byStmt := map[int][]importSpec{}
	var stmts []int
	for _, im := range u.Imports {
		if im.StmtEnd <= im.StmtStart {
			continue
		}
		if _, ok := byStmt[im.StmtStart]; !ok {
			stmts = append(stmts, im.StmtStart)
		}
		byStmt[im.StmtStart] = append(byStmt[im.StmtStart], im)
	}
	handled := map[int]bool{}
	if !b.ri.installed() {
		for _, st := range stmts {
			ims := byStmt[st]
			ok := true
			for _, im := range ims {
				if !b.inRootName(f, im) {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			repl := "pass"
			for _, im := range ims {
				abs, _ := f.absModule(im)
				tf := b.ri.byMod[abs]
				b.need(tf, im.Name)
				b.follow(f, im.Alias, tf, im.Name)
				if b.final(f, im.Alias) != im.Alias {
					// renamed: uses are rewritten, nothing to bind
				} else if im.Alias != im.Name {
					repl += "; " + im.Alias + " = " + im.Name
				} else {
					if inlined == nil {
						inlined = map[string]bool{}
					}
					inlined[im.Name] = true
				}
			}
			edits = append(edits, edit{ims[0].StmtStart - u.Start, ims[0].StmtEnd - u.Start, repl})
			handled[st] = true
		}
	}
	for _, im := range u.Imports {
		if handled[im.StmtStart] || im.Level == 0 || im.ModEnd <= im.ModStart {
			continue
		}
		abs, err := f.absModule(im)
		if err != nil {
			return "", nil, err
		}
		edits = append(edits, edit{im.ModStart - u.Start, im.ModEnd - u.Start, abs})
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].s < edits[j].s })
	var sb strings.Builder
	last := 0
	for _, e := range edits {
		if e.s < last || e.e > len(text) {
			continue
		}
		sb.WriteString(text[last:e.s])
		sb.WriteString(e.repl)
		last = e.e
	}
	sb.WriteString(text[last:])
	return sb.String(), inlined, nil
}

// inRootName reports whether im imports a name (not a module, not a star)
// that a mined file of this root defines.
func (b *bundler) inRootName(f *srcFile, im importSpec) bool {
	if im.Star || im.Name == "" {
		return false
	}
	abs, err := f.absModule(im)
	if err != nil {
		return false
	}
	tf := b.ri.byMod[abs]
	if tf == nil {
		return false
	}
	t, err := b.ri.lookup(tf, im.Name, 0)
	return err == nil && t.kind == tLocal
}

func dedent(s string, n int) string {
	if n == 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if i == 0 {
			continue // the first line starts at the node, already unindented
		}
		k := 0
		for k < n && k < len(l) && (l[k] == ' ' || l[k] == '\t') {
			k++
		}
		lines[i] = l[k:]
	}
	return strings.Join(lines, "\n")
}
