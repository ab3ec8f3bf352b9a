package mine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options are per-run settings of Mine that are not configuration.
type Options struct {
	// CachePath holds parsed facts by content hash; "" disables caching.
	CachePath string
	Logger    *slog.Logger
}

// Stats describes one mining run.
type Stats struct {
	Files   int
	Parsed  int // files parsed by tree-sitter
	Cached  int // files whose facts came from the cache
	Seconds float64
}

// CachePathFor is where `arbor mine -o catalog.json` keeps its cache.
func CachePathFor(catalogPath string) string { return catalogPath + ".cache" }

// Mine extracts the nn.Module classes of every root into one catalog.
// Problems with single files become warnings; only a root that cannot be
// read at all, or a cancelled context, is an error.
func Mine(ctx context.Context, roots []string, cfg Config, opt Options) (*Catalog, Stats, error) {
	start := time.Now()
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, Stats{}, err
	}
	cat := &Catalog{Version: CatalogVersion}
	var mu sync.Mutex
	warn := func(s string) {
		mu.Lock()
		cat.Warnings = append(cat.Warnings, s)
		mu.Unlock()
		log.Warn(s)
	}
	var files []sourceFile
	for i, r := range roots {
		r = filepath.Clean(r)
		fs, err := discover(i, r, cfg, warn)
		if err != nil {
			return nil, Stats{}, err
		}
		dir := r
		if st, err := os.Stat(r); err == nil && !st.IsDir() {
			dir = filepath.Dir(r)
		}
		cat.Roots = append(cat.Roots, Root{Path: r, Package: packagePrefix(dir), Commit: gitCommit(dir), Files: len(fs)})
		files = append(files, fs...)
	}

	cache, err := loadCache(opt.CachePath)
	if err != nil {
		warn(err.Error())
	}
	res, st, err := parseAll(ctx, files, cfg.Jobs, cache, warn)
	if err != nil {
		return nil, st, err
	}
	fresh := make(map[string]*fileFacts, len(res))
	for _, r := range res {
		if r.facts != nil {
			fresh[r.hash] = r.facts
		}
	}
	if err := saveCache(opt.CachePath, fresh); err != nil {
		warn(err.Error())
	}

	idx := make([]*rootIndex, len(cat.Roots))
	for i := range cat.Roots {
		idx[i] = &rootIndex{info: cat.Roots[i], byMod: map[string]*srcFile{}, moduleMemo: map[classKey]bool{}}
	}
	var all []*srcFile
	for i, r := range res {
		if r.facts == nil {
			continue
		}
		ri := idx[files[i].Root]
		f := newSrcFile(ri, files[i].Rel, r.src, r.facts)
		if prev := ri.byMod[f.mod]; prev != nil {
			warn(fmt.Sprintf("%s and %s both map to module %s; using the first", prev.rel, f.rel, f.mod))
			continue
		}
		ri.byMod[f.mod] = f
		all = append(all, f)
	}
	byID := map[string]*Module{}
	for _, f := range all {
		for _, m := range modulesOf(f) {
			if prev := byID[m.ID]; prev != nil {
				prev.AlsoIn = append(prev.AlsoIn, filepath.Join(m.Root, m.File))
				continue
			}
			byID[m.ID] = m
			cat.Modules = append(cat.Modules, m)
		}
	}
	sort.SliceStable(cat.Modules, func(i, j int) bool {
		a, b := cat.Modules[i], cat.Modules[j]
		if a.QualName != b.QualName {
			return a.QualName < b.QualName
		}
		return a.ID < b.ID
	})
	sort.Strings(cat.Warnings) // workers finish in any order
	st.Files = len(files)
	st.Seconds = time.Since(start).Seconds()
	return cat, st, nil
}

type parsed struct {
	hash  string
	src   []byte
	facts *fileFacts
}

// parseAll reads, hashes and (on a cache miss) parses the files with `jobs`
// workers, each owning its tree-sitter parser.
func parseAll(ctx context.Context, files []sourceFile, jobs int, cache map[string]*fileFacts, warn func(string)) ([]parsed, Stats, error) {
	res := make([]parsed, len(files))
	var st Stats
	var mu sync.Mutex
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ex *extractor
			defer func() {
				if ex != nil {
					ex.Close()
				}
			}()
			for i := range next {
				src, err := os.ReadFile(files[i].Abs)
				if err != nil {
					warn(fmt.Sprintf("%s: skipped: %v", files[i].Abs, err))
					continue
				}
				sum := sha256.Sum256(src)
				h := hex.EncodeToString(sum[:])
				facts, hit := cache[h]
				if !hit {
					if ex == nil {
						ex = newExtractor()
					}
					if facts, err = ex.extract(ctx, src); err != nil {
						warn(fmt.Sprintf("%s: skipped: %v", files[i].Abs, err))
						continue
					}
				}
				if facts.HasError {
					warn(fmt.Sprintf("%s: syntax errors; classes in the broken spans are marked %s", files[i].Abs, StatusSyntaxError))
				}
				res[i] = parsed{hash: h, src: src, facts: facts}
				mu.Lock()
				if hit {
					st.Cached++
				} else {
					st.Parsed++
				}
				mu.Unlock()
			}
		}()
	}
	var err error
feed:
	for i := range files {
		select {
		case next <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	return res, st, err
}

// modulesOf builds the catalog entries for the nn.Module classes of f.
func modulesOf(f *srcFile) []*Module {
	ri := f.root
	var out []*Module
	for i := range f.facts.Classes {
		c := &f.facts.Classes[i]
		if !ri.isModuleClass(f, c) {
			continue
		}
		m := &Module{
			Name: c.Name, QualName: qualify(f.mod, c.Path), Root: ri.info.Path, File: f.rel,
			Lines: c.Lines, Doc: c.Doc, Bases: nonNil(c.Bases), Status: StatusOK,
		}
		m.ID = moduleID(f.src[c.Start:c.End], m.QualName)
		params, initFrom, perr := ctorParams(ri, f, c, 0)
		m.Params, m.InitFrom = nonNilP(params), initFrom
		m.Forward = forwardParams(ri, f, c, 0)
		m.TensorInputs = tensorInputs(m.Forward)
		m.Submodules = c.Submodules
		m.Category = categorize(c.Name, f.rel, c.Submodules)
		switch {
		case c.HasError:
			m.Status, m.Reason = StatusSyntaxError, fmt.Sprintf("syntax error inside lines %d-%d", c.Lines[0], c.Lines[1])
		default:
			src, err := bundle(ri, f, c)
			switch {
			case err != nil:
				m.Status, m.Reason = StatusUnresolved, err.Error()
			case perr != nil:
				m.Source = src
				m.Status, m.Reason = StatusNeedsArgs, perr.Error()
			default:
				m.Source = src
				g, missing := guessArgs(params)
				m.Guess = g
				if len(missing) > 0 {
					m.Status, m.Reason = StatusNeedsArgs, "cannot guess constructor arguments: "+strings.Join(missing, ", ")
				}
			}
		}
		out = append(out, m)
	}
	for _, bc := range f.facts.Broken {
		isMod := false
		for _, b := range bc.Bases {
			if ok, _, _ := ri.baseModule(f, b); ok {
				isMod = true
			}
		}
		if !isMod {
			continue
		}
		q := qualify(f.mod, bc.Name)
		out = append(out, &Module{
			ID: moduleID([]byte(fmt.Sprintf("broken:%d", bc.Line)), q), Name: bc.Name, QualName: q,
			Root: ri.info.Path, File: f.rel, Lines: [2]int{bc.Line, bc.Line}, Bases: nonNil(bc.Bases),
			Params: []Param{}, Category: categorize(bc.Name, f.rel, nil), Status: StatusSyntaxError,
			Reason: fmt.Sprintf("class header at line %d lies in a span tree-sitter could not parse", bc.Line),
		})
	}
	return out
}

func qualify(mod, path string) string {
	if mod == "" {
		return path
	}
	return mod + "." + path
}

// moduleID hashes the whitespace-normalized class source and its qualified
// name, so reformatting does not change it but any code change does.
func moduleID(src []byte, qual string) string {
	h := sha256.New()
	for _, line := range strings.Split(string(src), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			h.Write([]byte(line))
			h.Write([]byte{'\n'})
		}
	}
	h.Write([]byte{0})
	h.Write([]byte(qual))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// ctorParams finds the constructor: own __init__, dataclass fields, or the
// first base's, inherited. An external layer's constructor is not visible.
func ctorParams(ri *rootIndex, f *srcFile, c *classFacts, depth int) ([]Param, string, error) {
	if c.HasInit && !onlyVariadic(c.Init) {
		return c.Init, "", nil
	}
	if c.Dataclass && !c.HasInit {
		return c.Fields, "", nil
	}
	if depth > 16 {
		return nil, "", fmt.Errorf("constructor inheritance too deep")
	}
	for _, b := range c.Bases {
		_, t, err := ri.baseModule(f, b)
		if err != nil {
			continue
		}
		switch t.kind {
		case tLocal:
			if bc := t.file.class(t.name); bc != nil {
				p, _, err := ctorParams(ri, t.file, bc, depth+1)
				return p, qualify(t.file.mod, bc.Path), err
			}
		case tExternal:
			if isAnchorQual(t.qual) {
				return nil, "", nil
			}
			if isModuleQual(t.qual) && !c.HasInit {
				return nil, t.qual, fmt.Errorf("constructor inherited from %s is not in the mined source", t.qual)
			}
		}
	}
	return nil, "", nil
}

// onlyVariadic: `def __init__(self, *args, **kwargs)` forwards to the base,
// whose signature is the real one.
func onlyVariadic(ps []Param) bool {
	if len(ps) == 0 {
		return false
	}
	for _, p := range ps {
		if p.Kind != "var-positional" && p.Kind != "var-keyword" {
			return false
		}
	}
	return true
}

func forwardParams(ri *rootIndex, f *srcFile, c *classFacts, depth int) []Param {
	if c.HasForward || depth > 16 {
		return c.Forward
	}
	for _, b := range c.Bases {
		if _, t, err := ri.baseModule(f, b); err == nil && t.kind == tLocal {
			if bc := t.file.class(t.name); bc != nil {
				return forwardParams(ri, t.file, bc, depth+1)
			}
		}
	}
	return nil
}

// tensorInputs counts forward's required positional parameters; a bare
// *args counts as one, and an unknown forward (inherited from an external
// layer) is assumed to take one tensor, which the probe then checks.
func tensorInputs(fwd []Param) int {
	n, variadic := 0, false
	for _, p := range fwd {
		switch {
		case p.Kind == "positional" && !p.HasDefault:
			n++
		case p.Kind == "var-positional":
			variadic = true
		}
	}
	if n == 0 && (variadic || fwd == nil) {
		return 1
	}
	return n
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilP(s []Param) []Param {
	if s == nil {
		return []Param{}
	}
	return s
}
