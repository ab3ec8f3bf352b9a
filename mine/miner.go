package mine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
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
	Files  int
	Parsed int // files parsed by tree-sitter
	Cached int // files whose facts came from the cache
	// Hashed counts the files read to hash them; the others kept the size
	// and mtime they had when the cache hashed them.
	Hashed int
	// OutsideLinks counts symlinks skipped because they lead out of their
	// root.
	OutsideLinks int
	Seconds      float64
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
	outside := 0
	for i, r := range roots {
		r = filepath.Clean(r)
		fs, out, err := discover(i, r, cfg, warn)
		if err != nil {
			return nil, Stats{}, err
		}
		outside += out
		dir := r
		if st, err := os.Stat(r); err == nil && !st.IsDir() {
			dir = filepath.Dir(r)
		}
		cat.Roots = append(cat.Roots, Root{Path: r, Package: packagePrefix(dir), Commit: gitCommit(dir), Files: len(fs)})
		files = append(files, fs...)
	}

	cache := openCache(opt.CachePath)
	defer cache.close()
	hashStart := time.Now()
	reads := hashAll(ctx, files, cfg.Jobs, cache, warn)
	if err := ctx.Err(); err != nil {
		return nil, Stats{}, err
	}
	// The warnings so far (discovery, unreadable files) are part of what
	// the catalog is computed from; the parser's come later.
	mu.Lock()
	readWarnings := slices.Clone(cat.Warnings)
	mu.Unlock()
	fp := fingerprint(cat.Roots, files, reads, readWarnings)
	if prev := cache.catalog(fp); prev != nil {
		// Nothing that decides the catalog changed: no file is parsed and
		// nothing is resolved again.
		st := Stats{Files: len(files), OutsideLinks: outside, Seconds: time.Since(start).Seconds()}
		for _, r := range reads {
			if r.hash != "" {
				st.Cached++
			}
			if !r.stamped {
				st.Hashed++
			}
		}
		if fresh := stamps(files, reads, hashStart); len(fresh) > len(cache.header.Stamps) {
			// Only the stamps changed; the catalog and facts are copied.
			if err := cache.restamp(fresh); err != nil {
				log.Warn(err.Error())
			}
		}
		return prev, st, nil
	}
	facts := cache.facts()
	if cache.warn != nil {
		warn(cache.warn.Error())
	}
	cache.close()
	readStamped(ctx, files, reads, cfg.Jobs, warn)
	if err := ctx.Err(); err != nil {
		return nil, Stats{}, err
	}
	res, st, err := parseMissing(ctx, files, reads, cfg.Jobs, facts, warn)
	if err != nil {
		return nil, st, err
	}
	for _, r := range reads {
		if !r.stamped {
			st.Hashed++
		}
	}
	// The hashes of files read just now replace what their stamps said, and
	// the cache warnings are part of the catalog.
	header := cacheHeader{Fingerprint: fingerprint(cat.Roots, files, reads, readWarnings), Stamps: stamps(files, reads, hashStart)}
	// The facts are encoded for the cache on another core while the
	// single-threaded resolution runs.
	type encoded struct {
		b   []byte
		err error
	}
	factsDone := make(chan encoded, 1)
	if opt.CachePath != "" {
		fresh := make(map[string]*fileFacts, len(res))
		for _, r := range res {
			if r.facts != nil {
				fresh[r.hash] = r.facts
			}
		}
		go func() {
			b, err := encodeFacts(fresh)
			factsDone <- encoded{b, err}
		}()
	}

	idx := make([]*rootIndex, len(cat.Roots))
	for i := range cat.Roots {
		idx[i] = &rootIndex{info: cat.Roots[i], byMod: map[string]*srcFile{}, moduleMemo: map[classKey]bool{}, missing: map[string]bool{}}
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
	if opt.CachePath != "" {
		e := <-factsDone
		err := e.err
		if err == nil {
			var catGob []byte
			if catGob, err = encodeCatalog(cat); err == nil {
				err = saveCache(opt.CachePath, header, catGob, e.b)
			}
		}
		if err != nil {
			cat.Warnings = append(cat.Warnings, err.Error())
			log.Warn(err.Error())
		}
	}
	st.Files = len(files)
	st.OutsideLinks = outside
	st.Seconds = time.Since(start).Seconds()
	return cat, st, nil
}

type parsed struct {
	hash  string
	src   []byte
	facts *fileFacts
	// size and modNS are the file's stat before it was read; stamped: the
	// hash came from the cache's stamp and the file has not been read.
	size, modNS int64
	stamped     bool
}

// hashAll hashes every file with `jobs` workers: a file whose size and
// mtime match its stamp in the cache keeps the stamp's hash unread, the
// others are read. An unreadable file is warned about and left with a nil
// src and no hash.
func hashAll(ctx context.Context, files []sourceFile, jobs int, c *cache, warn func(string)) []parsed {
	res := make([]parsed, len(files))
	forEach(ctx, len(files), jobs, func(_ *extractor, i int) *extractor {
		r := &res[i]
		if st, err := os.Stat(files[i].Abs); err == nil {
			r.size, r.modNS = st.Size(), st.ModTime().UnixNano()
			if h, ok := c.stamp(files[i].Abs, r.size, r.modNS); ok {
				r.hash, r.stamped = h, true
				return nil
			}
		}
		readOne(files[i], r, warn)
		return nil
	})
	return res
}

// readStamped reads the files hashAll left unread, because parsing or
// resolution needs their source; their hash is taken again from what was
// read.
func readStamped(ctx context.Context, files []sourceFile, res []parsed, jobs int, warn func(string)) {
	forEach(ctx, len(files), jobs, func(_ *extractor, i int) *extractor {
		if res[i].stamped && res[i].src == nil {
			readOne(files[i], &res[i], warn)
		}
		return nil
	})
}

func readOne(f sourceFile, r *parsed, warn func(string)) {
	src, err := os.ReadFile(f.Abs)
	if err != nil {
		warn(fmt.Sprintf("%s: skipped: %v", f.Abs, err))
		r.hash, r.src = "", nil
		return
	}
	sum := sha256.Sum256(src)
	r.hash, r.src, r.stamped = hex.EncodeToString(sum[:]), src, false
}

// stamps are the stamps the next build may trust: files last modified at
// least racyWindow before hashing began.
func stamps(files []sourceFile, res []parsed, hashStart time.Time) map[string]fileStamp {
	limit := hashStart.Add(-racyWindow).UnixNano()
	out := make(map[string]fileStamp, len(files))
	for i, r := range res {
		if r.hash != "" && r.modNS != 0 && r.modNS < limit {
			out[files[i].Abs] = fileStamp{Size: r.size, ModNS: r.modNS, Hash: r.hash}
		}
	}
	return out
}

// parseMissing fills in facts from the cache or, on a miss, by parsing with
// tree-sitter; each worker owns its parser.
func parseMissing(ctx context.Context, files []sourceFile, res []parsed, jobs int, cache map[string]*fileFacts, warn func(string)) ([]parsed, Stats, error) {
	var st Stats
	var mu sync.Mutex
	forEach(ctx, len(files), jobs, func(ex *extractor, i int) *extractor {
		r := &res[i]
		if r.src == nil {
			return ex
		}
		facts, hit := cache[r.hash]
		if !hit {
			if ex == nil {
				ex = newExtractor()
			}
			var err error
			if facts, err = ex.extract(ctx, r.src); err != nil {
				warn(fmt.Sprintf("%s: skipped: %v", files[i].Abs, err))
				r.src = nil
				return ex
			}
		}
		if facts.HasError {
			warn(fmt.Sprintf("%s: syntax errors; classes in the broken spans are marked %s", files[i].Abs, StatusSyntaxError))
		}
		r.facts = facts
		mu.Lock()
		if hit {
			st.Cached++
		} else {
			st.Parsed++
		}
		mu.Unlock()
		return ex
	})
	return res, st, ctx.Err()
}

// forEach runs fn over 0..n-1 on `jobs` goroutines. fn receives and returns
// the worker's extractor so a parser is created only by workers that parse,
// and closed when the worker ends.
func forEach(ctx context.Context, n, jobs int, fn func(ex *extractor, i int) *extractor) {
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ex *extractor
			for i := range next {
				ex = fn(ex, i)
			}
			if ex != nil {
				ex.Close()
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
}

// fingerprint identifies everything a catalog is computed from: the cache
// format, the arbor binary, the roots and every selected file's path and content hash, and
// the discovery warnings (which end up in the catalog).
func fingerprint(roots []Root, files []sourceFile, reads []parsed, warnings []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "v%d c%d\n", cacheVersion, CatalogVersion)
	// The catalog also depends on this program's resolver: a rebuilt arbor
	// (another size or time) does not reuse a catalog an older one made.
	if exe, err := os.Executable(); err == nil {
		if st, err := os.Stat(exe); err == nil {
			fmt.Fprintf(h, "exe %s %d %d\n", exe, st.Size(), st.ModTime().UnixNano())
		}
	}
	for _, r := range roots {
		fmt.Fprintf(h, "root %s %s %s\n", r.Path, r.Package, r.Commit)
	}
	for i, f := range files {
		fmt.Fprintf(h, "%d %s %s\n", f.Root, f.Rel, reads[i].hash)
	}
	w := slices.Clone(warnings)
	sort.Strings(w)
	for _, s := range w {
		fmt.Fprintf(h, "w %s\n", s)
	}
	return hex.EncodeToString(h.Sum(nil))
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
			Lines: c.Lines, Doc: strings.ToValidUTF8(c.Doc, "\uFFFD"), Bases: orEmpty(c.Bases), Status: StatusOK,
		}
		m.ID = moduleID(f.src[c.Start:c.End], m.QualName)
		params, initFrom, perr := ctorParams(ri, f, c, 0)
		m.Params, m.InitFrom = orEmpty(params), initFrom
		m.Forward = forwardParams(ri, f, c, 0)
		m.SizeArgs = sizeArgs(m.Forward)
		m.TensorInputs = tensorInputs(m.Forward)
		if m.SizeArgs != "" {
			m.TensorInputs = 1 // the spatial size is passed by the token adapter
		}
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
				m.Source = strings.ToValidUTF8(src, "\uFFFD")
				m.Status, m.Reason = StatusNeedsArgs, perr.Error()
			default:
				m.Source = strings.ToValidUTF8(src, "\uFFFD")
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
			Root: ri.info.Path, File: f.rel, Lines: [2]int{bc.Line, bc.Line}, Bases: orEmpty(bc.Bases),
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

// sizeArgs recognises token blocks that take the spatial size besides the
// tokens (PVT, Twins, CoaT, XCiT): forward(x, size) with a size-named
// second parameter gives "size" (called with (H, W)); forward(x, H, W)
// gives "hw". Anything else is "".
func sizeArgs(fwd []Param) string {
	var req []Param
	for _, p := range fwd {
		if p.Kind == "positional" && !p.HasDefault {
			req = append(req, p)
		}
	}
	switch {
	case len(req) == 2:
		switch strings.ToLower(req[1].Name) {
		case "size", "feat_size", "hw_shape", "hw_size", "x_size", "input_size":
			return "size"
		}
	case len(req) == 3 && req[1].Name == "H" && req[2].Name == "W":
		return "hw"
	}
	return ""
}
