package mine

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// sourceFile is one .py file selected for mining.
type sourceFile struct {
	Root int    // index into the roots
	Rel  string // slash path relative to the root
	Abs  string
	Size int64
}

// discover lists the .py files under root (a directory or a single file),
// following directory symlinks once each so that a symlink loop ends the
// descent with a warning instead of recursing forever. A symlink whose
// target lies outside the root is skipped with a warning and counted in
// outside: mining a folder never reads files elsewhere on the machine.
func discover(rootIdx int, root string, cfg Config, warn func(string)) (out []sourceFile, outside int, err error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, 0, fmt.Errorf("mine root %s: %w", root, err)
	}
	if !st.IsDir() {
		if !strings.HasSuffix(root, ".py") {
			return nil, 0, fmt.Errorf("mine root %s: not a directory or a .py file", root)
		}
		return []sourceFile{{Root: rootIdx, Rel: filepath.Base(root), Abs: root, Size: st.Size()}}, 0, nil
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, 0, fmt.Errorf("mine root %s: %w", root, err)
	}
	visited := map[string]bool{}
	var walk func(dir, rel string)
	walk = func(dir, rel string) {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			warn(fmt.Sprintf("%s: skipped: %v", dir, err))
			return
		}
		if visited[real] {
			warn(fmt.Sprintf("%s: skipped: symlink loop back to %s", dir, real))
			return
		}
		visited[real] = true
		entries, err := os.ReadDir(dir)
		if err != nil {
			warn(fmt.Sprintf("%s: skipped directory: %v", dir, err))
		}
		for _, e := range entries {
			name := e.Name()
			abs := filepath.Join(dir, name)
			r := path.Join(rel, name)
			if strings.HasPrefix(name, ".") || name == "__pycache__" {
				continue
			}
			info, err := os.Stat(abs) // follows symlinks
			if err != nil {
				if e.Type()&fs.ModeSymlink != 0 {
					warn(fmt.Sprintf("%s: skipped broken or looping symlink: %v", abs, err))
				} else {
					warn(fmt.Sprintf("%s: skipped: %v", abs, err))
				}
				continue
			}
			if e.Type()&fs.ModeSymlink != 0 {
				if target, err := filepath.EvalSymlinks(abs); err != nil || !within(realRoot, target) {
					warn(fmt.Sprintf("%s: skipped: symlink to %s, outside the mined root %s", abs, target, root))
					outside++
					continue
				}
			}
			if info.IsDir() {
				if excluded(r+"/", name, cfg.Exclude) {
					continue
				}
				walk(abs, r)
				continue
			}
			if !strings.HasSuffix(name, ".py") || !info.Mode().IsRegular() {
				continue
			}
			if len(cfg.Include) > 0 && !excluded(r, name, cfg.Include) {
				continue
			}
			if excluded(r, name, cfg.Exclude) {
				continue
			}
			if info.Size() > cfg.MaxFileBytes {
				warn(fmt.Sprintf("%s: skipped: %d bytes exceeds mine.max_file_bytes=%d", abs, info.Size(), cfg.MaxFileBytes))
				continue
			}
			out = append(out, sourceFile{Root: rootIdx, Rel: r, Abs: abs, Size: info.Size()})
		}
	}
	walk(root, "")
	return out, outside, nil
}

// within reports whether path is dir or lies below it (both resolved).
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// excluded reports whether any glob matches: patterns with a '/' match the
// relative path (a trailing "/**" matches everything below), others the base name.
func excluded(rel, base string, globs []string) bool {
	for _, g := range globs {
		if strings.HasSuffix(g, "/**") {
			if p := strings.TrimSuffix(g, "/**"); strings.HasPrefix(rel, p+"/") || rel == p {
				return true
			}
			continue
		}
		target := base
		if strings.Contains(g, "/") {
			target = strings.TrimSuffix(rel, "/")
		}
		if ok, _ := path.Match(g, target); ok {
			return true
		}
	}
	return false
}

// packagePrefix is the dotted package a directory lives in: the chain of
// ancestors (itself included) that hold an __init__.py.
func packagePrefix(dir string) string {
	var parts []string
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "__init__.py")); err != nil {
			break
		}
		parts = append([]string{filepath.Base(d)}, parts...)
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return strings.Join(parts, ".")
}

// moduleName maps a root-relative file to its dotted module name.
func moduleName(prefix, rel string) (mod string, isInit bool) {
	rel = strings.TrimSuffix(rel, ".py")
	parts := strings.Split(rel, "/")
	if parts[len(parts)-1] == "__init__" {
		parts, isInit = parts[:len(parts)-1], true
	}
	if prefix != "" {
		parts = append([]string{prefix}, parts...)
	}
	return strings.Join(parts, "."), isInit
}

// gitCommit returns HEAD of the repository containing dir, reading .git
// directly so that mining does not depend on a git binary.
func gitCommit(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for d := abs; ; {
		g := filepath.Join(d, ".git")
		if st, err := os.Stat(g); err == nil {
			if !st.IsDir() { // worktree or submodule: "gitdir: path"
				b, err := os.ReadFile(g)
				if err != nil {
					return ""
				}
				p := strings.TrimSpace(strings.TrimPrefix(string(b), "gitdir:"))
				if !filepath.IsAbs(p) {
					p = filepath.Join(d, p)
				}
				g = p
			}
			return readHead(g)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

func readHead(gitDir string) string {
	b, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return ""
	}
	head := strings.TrimSpace(string(b))
	ref, isRef := strings.CutPrefix(head, "ref: ")
	if !isRef {
		return head
	}
	if b, err := os.ReadFile(filepath.Join(gitDir, filepath.FromSlash(ref))); err == nil {
		return strings.TrimSpace(string(b))
	}
	// Worktrees keep refs in the common dir.
	common := gitDir
	if c, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common = filepath.Join(gitDir, strings.TrimSpace(string(c)))
		if b, err := os.ReadFile(filepath.Join(common, filepath.FromSlash(ref))); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	packed, err := os.ReadFile(filepath.Join(common, "packed-refs"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(packed), "\n") {
		if h, r, ok := strings.Cut(line, " "); ok && r == ref {
			return h
		}
	}
	return ""
}
