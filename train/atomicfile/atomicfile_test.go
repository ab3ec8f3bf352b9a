package atomicfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	for _, content := range []string{"first\n", "second, longer\n", ""} {
		if err := WriteFile(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
			t.Errorf("mode %v, want 0640", fi.Mode().Perm())
		}
	}
	assertOnly(t, dir, "out.txt")
}

// TestFailedFillKeepsOld: an encoder that fails half way leaves the old
// file as it was and no temporary file.
func TestFailedFillKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := WriteFile(path, []byte("good"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(path, 0o644, func(w io.Writer) error {
		w.Write([]byte("fragm"))
		return errors.New("encoder broke")
	})
	if err == nil || !strings.Contains(err.Error(), "encoder broke") || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v, want one naming the file and the cause", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "good" {
		t.Errorf("content %q after a failed write, want the old %q", got, "good")
	}
	assertOnly(t, dir, "out.txt")
}

// TestSweepsDeadWritersTemps: the temporary file of a writer killed with
// kill -9 is removed by the next write of the same target; that of a live
// writer (this process) is not.
func TestSweepsDeadWritersTemps(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(dir, ".out.txt"+tempMark+strconv.Itoa(cmd.Process.Pid)+"-123")
	live := filepath.Join(dir, ".out.txt"+tempMark+strconv.Itoa(os.Getpid())+"-456")
	for _, p := range []string{dead, live} {
		os.WriteFile(p, []byte("frag"), 0o644)
	}
	if err := WriteFile(filepath.Join(dir, "out.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); err == nil {
		t.Errorf("a dead writer's temporary file was left")
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live writer's temporary file was removed")
	}
}

// TestFullDiskKeepsPrevious fills a 256 KiB tmpfs: the atomic write fails
// with ENOSPC and the previous file is intact; a plain os.WriteFile (the
// control) leaves a fragment in its place. Mounting needs root, which the
// CI and make test run as.
func TestFullDiskKeepsPrevious(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a small tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	good := bytes.Repeat([]byte("good export\n"), 4096) // 48 KiB
	big := bytes.Repeat([]byte("new export!\n"), 16384) // 192 KiB
	for _, name := range []string{"atomic.py", "plain.py"} {
		if err := WriteFile(filepath.Join(dir, name), good, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Fill what is left, minus a little, so the new file cannot fit.
	filler, _ := os.Create(filepath.Join(dir, "filler"))
	filler.Write(make([]byte, 256<<10-2*len(good)-64<<10))
	filler.Close()

	err := WriteFile(filepath.Join(dir, "atomic.py"), big, 0o644)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("atomic write on a full disk: %v, want ENOSPC", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "atomic.py")); !bytes.Equal(got, good) {
		t.Errorf("atomic.py is %d bytes after the failed write, want the previous %d", len(got), len(good))
	}
	if err := os.WriteFile(filepath.Join(dir, "plain.py"), big, 0o644); err == nil {
		t.Fatal("control: os.WriteFile of 192 KiB fit on the full tmpfs; the test filled nothing")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "plain.py")); bytes.Equal(got, good) {
		t.Errorf("control: os.WriteFile kept the old file; the test cannot tell atomic from plain")
	} else {
		t.Logf("control: a plain os.WriteFile left a %d-byte fragment where the %d-byte good file was", len(got), len(good))
	}
	assertOnly(t, dir, "atomic.py", "filler", "plain.py")
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("files %v, want exactly %v", got, names)
	}
}
