package mine

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
)

// cacheVersion changes whenever fileFacts or the extractor's output changes,
// so a stale cache is ignored rather than misread.
const cacheVersion = 6

// The cache file is a gob stream of three values: a cacheHeader, the facts
// (map of content hash to fileFacts, itself gob-encoded into a []byte so it
// can be encoded while the catalog is still being resolved) and the last
// catalog mined. A rebuild whose fingerprint matches the header reuses the
// catalog and never decodes the facts.
type cacheHeader struct {
	Version     int
	Fingerprint string
}

type cache struct {
	facts map[string]*fileFacts
	reuse *Catalog // the last catalog, when the fingerprint matched
}

// loadCache reads the cache; a missing, stale or unreadable cache is
// empty (it is only an accelerator), with an error to warn about.
func loadCache(path, fp string) (*cache, error) {
	c := &cache{facts: map[string]*fileFacts{}}
	if path == "" {
		return c, nil
	}
	fh, err := os.Open(path)
	if os.IsNotExist(err) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("open mining cache %s: %w", path, err)
	}
	defer fh.Close()
	registerGobTypes()
	dec := gob.NewDecoder(bufio.NewReaderSize(fh, 1<<20))
	var h cacheHeader
	var factsGob []byte
	if err := dec.Decode(&h); err != nil {
		return c, fmt.Errorf("mining cache %s is unreadable, rebuilding it: %w", path, err)
	}
	if h.Version != cacheVersion {
		return c, nil
	}
	if err := dec.Decode(&factsGob); err != nil {
		return c, fmt.Errorf("mining cache %s is unreadable, rebuilding it: %w", path, err)
	}
	if h.Fingerprint == fp {
		var cat Catalog
		if err := dec.Decode(&cat); err == nil {
			// gob drops empty-but-present slices; the catalog file keeps them.
			for _, m := range cat.Modules {
				m.Bases, m.Params = nonNil(m.Bases), nonNilP(m.Params)
			}
			c.reuse = &cat
			return c, nil
		}
	}
	var facts map[string]*fileFacts
	if err := gob.NewDecoder(bytes.NewReader(factsGob)).Decode(&facts); err != nil {
		return c, fmt.Errorf("mining cache %s is unreadable, rebuilding it: %w", path, err)
	}
	if facts != nil {
		c.facts = facts
	}
	return c, nil
}

// registerGobTypes names the concrete types that argument values (decoded
// JSON literals held in `any`) take, which gob must know to encode them.
// Registering the same type again is a no-op.
func registerGobTypes() {
	gob.Register([]any(nil))
	gob.Register(map[string]any(nil))
}

// encodeFacts is run concurrently with resolution.
func encodeFacts(facts map[string]*fileFacts) ([]byte, error) {
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(facts)
	return buf.Bytes(), err
}

// saveCache writes only the entries of this run, so the cache does not grow
// with files that were deleted or changed.
func saveCache(path string, factsGob []byte, fp string, cat *Catalog) error {
	if path == "" {
		return nil
	}
	registerGobTypes()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mine-cache-*")
	if err != nil {
		return fmt.Errorf("write mining cache %s: %w", path, err)
	}
	w := bufio.NewWriterSize(tmp, 1<<20)
	enc := gob.NewEncoder(w)
	err = enc.Encode(cacheHeader{Version: cacheVersion, Fingerprint: fp})
	if err == nil {
		err = enc.Encode(factsGob)
	}
	if err == nil {
		err = enc.Encode(cat)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write mining cache %s: %w", path, err)
	}
	return nil
}
