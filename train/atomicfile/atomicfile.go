// Package atomicfile writes files so that a reader sees either the old
// content or the whole new one, never a fragment: the bytes go to a
// temporary file in the same folder, are synced, and the temporary file is
// renamed over the target (then the folder is synced). A kill -9, a full
// disk or a failed encoder leaves the previous file as it was. Every file
// arbor writes (reports, exports, the catalog, tree outputs) goes through
// it.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// tempMark separates a target's name from the writer's pid in the names
// of temporary files: .NAME.arbor-tmp-PID-RANDOM.
const tempMark = ".arbor-tmp-"

// File is a file being written; its content replaces the target only on
// Commit. Close without Commit discards it.
type File struct {
	*os.File
	path string
	perm os.FileMode
	done bool
}

// Create starts writing path with permissions perm. Temporary files that
// killed writers left for the same target are removed first.
func Create(path string, perm os.FileMode) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	sweep(dir, base)
	f, err := os.CreateTemp(dir, "."+base+tempMark+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &File{File: f, path: path, perm: perm}, nil
}

// Commit syncs the content and renames it over the target.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("write %s: already committed or closed", f.path)
	}
	f.done = true
	tmp := f.File.Name()
	err := f.File.Chmod(f.perm)
	if err == nil {
		err = f.File.Sync()
	}
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	syncDir(filepath.Dir(f.path))
	return nil
}

// Close discards the content unless it was committed; it is safe to defer
// after Create.
func (f *File) Close() error {
	if f.done {
		return nil
	}
	f.done = true
	f.File.Close()
	return os.Remove(f.File.Name())
}

// WriteFile writes data to path atomically.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write writes what fill produces to path atomically; when fill fails the
// target is left untouched.
func Write(path string, perm os.FileMode, fill func(io.Writer) error) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := fill(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// WriteTo writes what src writes (a plot, an image) to path atomically.
func WriteTo(path string, perm os.FileMode, src io.WriterTo) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := src.WriteTo(w)
		return err
	})
}

// sweep removes the temporary files of base in dir whose writer is gone.
func sweep(dir, base string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + base + tempMark
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 || alive(pid) {
			continue
		}
		os.Remove(filepath.Join(dir, e.Name()))
	}
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
