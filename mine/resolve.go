package mine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// srcFile is a parsed file placed in its root's module namespace.
type srcFile struct {
	root   *rootIndex
	rel    string
	mod    string
	isInit bool
	src    []byte
	facts  *fileFacts
	binds  map[string][]int // name -> units binding it, in source order
	stars  []importSpec
	future []string
}

// rootIndex resolves names across the files of one root.
type rootIndex struct {
	info  Root
	byMod map[string]*srcFile
	// moduleMemo caches isModuleClass per (file, class path); false while
	// being computed, which breaks inheritance cycles.
	moduleMemo map[classKey]bool
	// missing caches ownsModule's look at the disk.
	missing map[string]bool
}

type classKey struct {
	f    *srcFile
	path string
}

func newSrcFile(ri *rootIndex, rel string, src []byte, facts *fileFacts) *srcFile {
	mod, isInit := moduleName(ri.info.Package, rel)
	f := &srcFile{root: ri, rel: rel, mod: mod, isInit: isInit, src: src, facts: facts, binds: map[string][]int{}}
	for i, u := range facts.Units {
		for _, b := range u.Binds {
			f.binds[b] = append(f.binds[b], i)
		}
		for _, im := range u.Imports {
			if im.Star {
				f.stars = append(f.stars, im)
			}
		}
		if u.Kind == unitFuture {
			f.future = append(f.future, string(src[u.Start:u.End]))
		}
	}
	return f
}

// absModule resolves an import's module to a dotted absolute name.
func (f *srcFile) absModule(im importSpec) (string, error) {
	if im.Level == 0 {
		return im.Module, nil
	}
	pkg := strings.Split(f.mod, ".")
	if f.mod == "" {
		pkg = nil
	}
	if !f.isInit && len(pkg) > 0 {
		pkg = pkg[:len(pkg)-1]
	}
	if im.Level-1 > len(pkg) || (len(pkg) == im.Level-1 && im.Module == "") {
		return "", fmt.Errorf("relative import %s%s in %s goes above the root's package %q", strings.Repeat(".", im.Level), im.Module, f.rel, f.root.info.Package)
	}
	pkg = pkg[:len(pkg)-(im.Level-1)]
	if im.Module != "" {
		pkg = append(pkg, im.Module)
	}
	return strings.Join(pkg, "."), nil
}

// target is what a name resolves to.
type target struct {
	kind  targetKind
	file  *srcFile // local definition or in-root module
	name  string   // name bound in file
	qual  string   // external dotted name
	units []int
}

type targetKind uint8

const (
	tNone targetKind = iota
	tLocal
	tModule
	tExternal
)

// lookup resolves a global name as seen from file f.
func (ri *rootIndex) lookup(f *srcFile, name string, depth int) (target, error) {
	return ri.lookupSeen(f, name, depth, map[nameKey]bool{})
}

// lookupSeen carries the (file, name) pairs already tried, so star-import
// cycles (a package's __init__ star-importing itself) end at once instead
// of branching exponentially.
func (ri *rootIndex) lookupSeen(f *srcFile, name string, depth int, seen map[nameKey]bool) (target, error) {
	if depth > 32 {
		return target{}, fmt.Errorf("import chain for %s in %s is too deep (cycle?)", name, f.rel)
	}
	if seen[nameKey{f, name}] {
		return target{}, nil
	}
	seen[nameKey{f, name}] = true
	if units := f.binds[name]; len(units) > 0 {
		u := f.facts.Units[units[len(units)-1]]
		for i := len(u.Imports) - 1; i >= 0; i-- {
			if im := u.Imports[i]; !im.Star && im.Alias == name {
				return ri.lookupImport(f, im, depth, seen)
			}
		}
		return target{kind: tLocal, file: f, name: name, units: units}, nil
	}
	var ext string
	for i := len(f.stars) - 1; i >= 0; i-- {
		abs, err := f.absModule(f.stars[i])
		if err != nil {
			return target{}, err
		}
		if tf := ri.byMod[abs]; tf != nil {
			if t, err := ri.lookupSeen(tf, name, depth+1, seen); err == nil && t.kind != tNone {
				return t, nil
			}
		} else if ext == "" {
			ext = abs + "." + name
		}
	}
	if ext != "" {
		return target{kind: tExternal, qual: ext}, nil
	}
	return target{}, nil
}

func (ri *rootIndex) lookupImport(f *srcFile, im importSpec, depth int, seen map[nameKey]bool) (target, error) {
	abs, err := f.absModule(im)
	if err != nil {
		return target{}, err
	}
	if im.Name == "" {
		mod := abs
		if !im.AsAlias {
			mod = strings.SplitN(abs, ".", 2)[0]
		}
		if tf := ri.byMod[mod]; tf != nil {
			return target{kind: tModule, file: tf, qual: mod}, nil
		}
		return target{kind: tExternal, qual: mod}, nil
	}
	tf := ri.byMod[abs]
	if tf == nil {
		if ri.ownsModule(abs) {
			return target{}, fmt.Errorf("%s imports %s from %s, which is not in the mined root", f.rel, im.Name, abs)
		}
		return target{kind: tExternal, qual: abs + "." + im.Name}, nil
	}
	if t, err := ri.lookupSeen(tf, im.Name, depth+1, seen); err != nil || t.kind != tNone {
		return t, err
	}
	if sub := ri.byMod[abs+"."+im.Name]; sub != nil {
		return target{kind: tModule, file: sub, qual: sub.mod}, nil
	}
	return target{}, fmt.Errorf("%s imports %s from %s, which does not define it", f.rel, im.Name, abs)
}

// ownsModule reports a module inside the root's own package that was not
// mined and has nothing on disk to import (no .py, package directory or
// compiled extension such as torch/_C.*.so): importing it cannot work.
// Modules of the root's parent packages (torchvision for
// torchvision/models) are taken as installed.
func (ri *rootIndex) ownsModule(abs string) bool {
	p := ri.info.Package
	if p == "" || (abs != p && !strings.HasPrefix(abs, p+".")) {
		return false
	}
	if v, ok := ri.missing[abs]; ok {
		return v
	}
	dir := ri.info.Path
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		dir = filepath.Dir(dir)
	}
	base := dir
	if rest := strings.TrimPrefix(abs, p); rest != "" {
		base = filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(strings.TrimPrefix(rest, "."), ".", "/")))
	}
	found := false
	for _, cand := range []string{base, base + ".py", base + ".so", base + ".pyd"} {
		if _, err := os.Stat(cand); err == nil {
			found = true
			break
		}
	}
	// A compiled extension (torch/_C.*.so) provides its own submodules
	// (torch._C._distributed_c10d), so any compiled ancestor counts.
	for b := base; !found && len(b) > len(dir); b = filepath.Dir(b) {
		for _, pat := range []string{b + ".so", b + ".pyd", b + ".*.so", b + ".*.pyd"} {
			if m, _ := filepath.Glob(pat); len(m) > 0 {
				found = true
				break
			}
		}
	}
	ri.missing[abs] = !found
	return !found
}

// installed reports whether the root sits in an interpreter's package
// directory, where its own modules can be imported instead of inlined.
func (ri *rootIndex) installed() bool {
	p := filepath.ToSlash(ri.info.Path)
	return ri.info.Package != "" && (strings.Contains(p, "/site-packages/") || strings.Contains(p, "/dist-packages/"))
}

// resolveDotted follows a dotted expression (nn.Module, models.resnet.X).
func (ri *rootIndex) resolveDotted(f *srcFile, expr string) (target, error) {
	return ri.resolveDottedDepth(f, expr, 0)
}

func (ri *rootIndex) resolveDottedDepth(f *srcFile, expr string, depth int) (target, error) {
	if depth > 8 {
		return target{}, nil // alias cycle: Base = Other; Other = Base
	}
	parts := strings.Split(expr, ".")
	for _, p := range parts {
		if !isIdentifier(p) {
			return target{}, nil // subscripted or called bases are not followed
		}
	}
	t, err := ri.lookup(f, parts[0], 0)
	if err != nil {
		return t, err
	}
	for hops := 0; t.kind == tLocal && hops < 8; hops++ {
		// `Base = nn.Module` style aliases.
		u := t.file.facts.Units[t.units[len(t.units)-1]]
		if u.Kind != unitAssign || u.Alias == "" || u.Alias == parts[0] {
			break
		}
		if t, err = ri.resolveDottedDepth(t.file, u.Alias, depth+1); err != nil {
			return t, err
		}
	}
	for _, p := range parts[1:] {
		switch t.kind {
		case tExternal:
			t.qual += "." + p
		case tModule:
			if sub := ri.byMod[t.file.mod+"."+p]; sub != nil {
				t = target{kind: tModule, file: sub, qual: sub.mod}
				continue
			}
			if t, err = ri.lookup(t.file, p, 0); err != nil {
				return t, err
			}
		default:
			return target{}, nil
		}
	}
	return t, nil
}

// anchorQual are the qualified names of nn.Module itself. Mining torch's own
// source finds the class; it is imported, never inlined, so that mined
// modules stay real torch.nn.Module subclasses.
func isAnchorQual(q string) bool {
	return q == "torch.nn.modules.module.Module" || q == "torch.nn.Module"
}

// isModuleQual decides module-ness of an external class by its qualified
// name: anything PyTorch exports as a layer class under torch.nn.
func isModuleQual(q string) bool {
	if isAnchorQual(q) || q == "torch.jit.ScriptModule" {
		return true
	}
	for _, p := range []string{"torch.nn.", "torch.ao.nn."} {
		rest, ok := strings.CutPrefix(q, p)
		if !ok {
			continue
		}
		if strings.HasPrefix(rest, "parameter.") || strings.HasPrefix(rest, "functional") || strings.HasPrefix(rest, "init.") {
			return false
		}
		last := rest[strings.LastIndexByte(rest, '.')+1:]
		switch last {
		case "Parameter", "UninitializedParameter", "UninitializedBuffer", "Buffer":
			return false
		}
		return last != "" && unicode.IsUpper(rune(last[0]))
	}
	return false
}

// baseModule resolves one base expression and reports whether it is an
// nn.Module; it also returns the resolved class for constructor inheritance.
func (ri *rootIndex) baseModule(f *srcFile, base string) (bool, target, error) {
	t, err := ri.resolveDotted(f, base)
	if err != nil {
		return false, t, err
	}
	switch t.kind {
	case tExternal:
		return isModuleQual(t.qual), t, nil
	case tLocal:
		c := t.file.class(t.name)
		if c == nil {
			return false, t, nil
		}
		return ri.isModuleClass(t.file, c), t, nil
	}
	return false, t, nil
}

func (ri *rootIndex) isModuleClass(f *srcFile, c *classFacts) bool {
	key := classKey{f, c.Path}
	if v, ok := ri.moduleMemo[key]; ok {
		return v
	}
	ri.moduleMemo[key] = false
	if isAnchorQual(f.mod + "." + c.Path) {
		ri.moduleMemo[key] = true
		return true
	}
	for _, b := range c.Bases {
		if ok, _, _ := ri.baseModule(f, b); ok {
			ri.moduleMemo[key] = true
			return true
		}
	}
	return false
}

// class finds a top-level (or compound-nested) class by name; the last
// definition wins, as in Python.
func (f *srcFile) class(name string) *classFacts {
	for i := len(f.facts.Classes) - 1; i >= 0; i-- {
		if c := &f.facts.Classes[i]; c.Path == name {
			return c
		}
	}
	return nil
}

func isIdentifier(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentPart(s[i]) {
			return false
		}
	}
	return true
}
