package mine

import (
	"bufio"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
)

// cacheVersion changes whenever fileFacts or the extractor's output changes,
// so a stale cache is ignored rather than misread.
const cacheVersion = 3

type cacheFile struct {
	Version int
	Facts   map[string]*fileFacts // sha256 of the file content, hex
}

// loadCache returns the cached facts, or an empty map when the cache is
// missing, stale or unreadable (it is only an accelerator).
func loadCache(path string) (map[string]*fileFacts, error) {
	empty := map[string]*fileFacts{}
	if path == "" {
		return empty, nil
	}
	fh, err := os.Open(path)
	if os.IsNotExist(err) {
		return empty, nil
	}
	if err != nil {
		return empty, fmt.Errorf("open mining cache %s: %w", path, err)
	}
	defer fh.Close()
	var c cacheFile
	if err := gob.NewDecoder(bufio.NewReaderSize(fh, 1<<20)).Decode(&c); err != nil {
		return empty, fmt.Errorf("mining cache %s is unreadable, rebuilding it: %w", path, err)
	}
	if c.Version != cacheVersion || c.Facts == nil {
		return empty, nil
	}
	return c.Facts, nil
}

// saveCache writes only the entries of this run, so the cache does not grow
// with files that were deleted or changed.
func saveCache(path string, facts map[string]*fileFacts) error {
	if path == "" {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mine-cache-*")
	if err != nil {
		return fmt.Errorf("write mining cache %s: %w", path, err)
	}
	w := bufio.NewWriterSize(tmp, 1<<20)
	err = gob.NewEncoder(w).Encode(cacheFile{Version: cacheVersion, Facts: facts})
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
