package mine

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/arbor-nas/arbor/train/atomicfile"
)

// cacheVersion changes whenever fileFacts or the extractor's output changes,
// so a stale cache is ignored rather than misread.
const cacheVersion = 7

// The cache file is a gob stream of three values: a cacheHeader, the last
// catalog mined (gob-encoded into a []byte) and the facts (map of content
// hash to fileFacts, gob-encoded into a []byte so it can be encoded while
// the catalog is still being resolved). A rebuild reads the header first:
// its stamps give the content hash of every file whose size and mtime are
// unchanged without reading it, and when the fingerprint then matches the
// catalog is decoded and the facts are never touched.
type cacheHeader struct {
	Version     int
	Fingerprint string
	Stamps      map[string]fileStamp // by absolute path
}

// fileStamp is what a file looked like when it was hashed.
type fileStamp struct {
	Size, ModNS int64
	Hash        string
}

// racyWindow: a file modified this close before it was hashed may change
// again within the same mtime tick (the kernel's clock is coarse), so its
// stamp is not trusted; it is hashed again next time.
const racyWindow = 2 * time.Second

type cache struct {
	path   string
	fh     *os.File
	dec    *gob.Decoder
	header cacheHeader
	catGob []byte // the catalog's bytes, once catalog has read them
	warn   error  // why the cache could not be used
}

// openCache reads the cache's header; a missing, stale or unreadable cache
// is empty (it is only an accelerator), with an error to warn about.
func openCache(path string) *cache {
	c := &cache{path: path}
	if path == "" {
		return c
	}
	fh, err := os.Open(path)
	if os.IsNotExist(err) {
		return c
	}
	if err != nil {
		c.warn = fmt.Errorf("open mining cache %s: %w", path, err)
		return c
	}
	registerGobTypes()
	dec := gob.NewDecoder(bufio.NewReaderSize(fh, 1<<20))
	var h cacheHeader
	if err := dec.Decode(&h); err != nil {
		fh.Close()
		c.warn = fmt.Errorf("mining cache %s is unreadable, rebuilding it: %w", path, err)
		return c
	}
	if h.Version != cacheVersion {
		fh.Close()
		return c
	}
	c.fh, c.dec, c.header = fh, dec, h
	return c
}

func (c *cache) close() {
	if c.fh != nil {
		c.fh.Close()
		c.fh = nil
	}
}

// stamp is the cached hash of the file at abs, if its size and mtime are
// those it had when hashed.
func (c *cache) stamp(abs string, size, modNS int64) (string, bool) {
	s, ok := c.header.Stamps[abs]
	if !ok || s.Size != size || s.ModNS != modNS {
		return "", false
	}
	return s.Hash, true
}

// catalog is the last catalog mined, when fp is its fingerprint.
func (c *cache) catalog(fp string) *Catalog {
	if c.dec == nil || c.header.Fingerprint != fp {
		return nil
	}
	var b []byte
	if err := c.dec.Decode(&b); err != nil {
		c.warn = fmt.Errorf("mining cache %s is unreadable, rebuilding it: %w", c.path, err)
		c.dec = nil
		return nil
	}
	c.catGob = b
	var cat Catalog
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&cat); err != nil {
		c.warn = fmt.Errorf("mining cache %s is unreadable, rebuilding it: %w", c.path, err)
		c.dec = nil
		return nil
	}
	// gob drops empty-but-present slices; the catalog file keeps them.
	for _, m := range cat.Modules {
		m.Bases, m.Params = orEmpty(m.Bases), orEmpty(m.Params)
	}
	return &cat
}

// restamp rewrites the cache with new stamps and the catalog and facts it
// holds, after catalog returned the catalog: files that had no stamp were
// hashed, and the next build need not hash them again.
func (c *cache) restamp(stamps map[string]fileStamp) error {
	var factsGob []byte
	if err := c.dec.Decode(&factsGob); err != nil {
		return fmt.Errorf("mining cache %s is unreadable: %w", c.path, err)
	}
	h := c.header
	h.Stamps = stamps
	return saveCache(c.path, h, c.catGob, factsGob)
}

// facts are the parsed facts of the last build, by content hash. Call it
// instead of catalog, not after.
func (c *cache) facts() map[string]*fileFacts {
	out := map[string]*fileFacts{}
	if c.dec == nil {
		return out
	}
	var catGob, factsGob []byte
	err := c.dec.Decode(&catGob)
	if err == nil {
		err = c.dec.Decode(&factsGob)
	}
	var facts map[string]*fileFacts
	if err == nil {
		err = gob.NewDecoder(bytes.NewReader(factsGob)).Decode(&facts)
	}
	if err != nil {
		c.warn = fmt.Errorf("mining cache %s is unreadable, rebuilding it: %w", c.path, err)
		return out
	}
	if facts != nil {
		out = facts
	}
	return out
}

// registerGobTypes names the concrete types that argument values (decoded
// JSON literals held in `any`) take, which gob must know to encode them.
// Registering the same type again is a no-op.
func registerGobTypes() {
	gob.Register([]any(nil))
	gob.Register(map[string]any(nil))
}

// encodeCatalog is the catalog's bytes in the cache.
func encodeCatalog(cat *Catalog) ([]byte, error) {
	registerGobTypes()
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(cat)
	return buf.Bytes(), err
}

// encodeFacts is run concurrently with resolution.
func encodeFacts(facts map[string]*fileFacts) ([]byte, error) {
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(facts)
	return buf.Bytes(), err
}

// saveCache writes only the entries of this run, so the cache does not grow
// with files that were deleted or changed.
func saveCache(path string, h cacheHeader, catGob, factsGob []byte) error {
	if path == "" {
		return nil
	}
	h.Version = cacheVersion
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		enc := gob.NewEncoder(bw)
		for _, v := range []any{h, catGob, factsGob} {
			if err := enc.Encode(v); err != nil {
				return err
			}
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("write mining cache %s: %w", path, err)
	}
	return nil
}
