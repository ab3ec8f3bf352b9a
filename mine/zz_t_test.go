package mine

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestZZPhases(t *testing.T) {
	cfg := DefaultConfig()
	roots := []string{"/usr/lib/python3/dist-packages/torch", "/usr/lib/python3/dist-packages/torchvision"}
	for k := 0; k < 3; k++ {
		t0 := time.Now()
		var files []sourceFile
		for i, r := range roots {
			fs, _ := discover(i, r, cfg, func(string) {})
			files = append(files, fs...)
		}
		t1 := time.Now()
		reads := readAll(context.Background(), files, 2, func(string) {})
		t2 := time.Now()
		res, _, _ := parseMissing(context.Background(), files, reads, 2, map[string]*fileFacts{}, func(string) {})
		t3 := time.Now()
		_ = res
		dir := t.TempDir()
		cat, _, _ := Mine(context.Background(), roots, cfg, Options{CachePath: filepath.Join(dir, "x.cache")})
		t4 := time.Now()
		cat.Save(filepath.Join(dir, "c.json"))
		t5 := time.Now()
		t.Logf("discover %v read %v parse %v fullmine %v save %v", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), t5.Sub(t4))
	}
}
