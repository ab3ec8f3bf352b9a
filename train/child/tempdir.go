package child

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ownerFile names the process that owns a temporary directory: its pid and
// its start time (so a recycled pid is not mistaken for the owner).
const ownerFile = ".arbor-owner"

// MakeOwnedTemp creates a temporary directory under parent (os.TempDir()
// when empty) whose name starts with prefix, and records this process as
// its owner. A process killed with kill -9 cannot remove it; SweepStale,
// run by the next process that uses the same parent, does.
func MakeOwnedTemp(parent, prefix string) (string, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	// Children are started inside the directory and given paths in it:
	// a relative one would be read against itself.
	parent, err := filepath.Abs(parent)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(parent, prefix)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(selfOwner()), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// SweepStale removes the directories under parent (os.TempDir() when empty)
// whose name starts with prefix and whose owner process is gone. A
// directory without an owner file is left alone: it is not known to be ours.
// It returns how many it removed.
func SweepStale(parent, prefix string, log *slog.Logger) int {
	if parent == "" {
		parent = os.TempDir()
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		owner, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil || ownerAlive(string(owner)) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			if log != nil {
				log.Warn("child: cannot remove a stale temporary directory", "dir", dir, "err", err)
			}
			continue
		}
		n++
	}
	if n > 0 && log != nil {
		log.Info("removed temporary directories left by killed processes", "parent", parent, "prefix", prefix, "removed", n)
	}
	return n
}

func selfOwner() string {
	pid := os.Getpid()
	return fmt.Sprintf("%d %s\n", pid, procStart(pid))
}

// ownerAlive reports whether the process recorded in an owner file still
// runs: the pid exists and, where /proc tells, started at the same time.
func ownerAlive(owner string) bool {
	f := strings.Fields(owner)
	if len(f) == 0 {
		return false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM {
		return false
	}
	if len(f) > 1 && f[1] != "" {
		if now := procStart(pid); now != "" && now != f[1] {
			return false // the pid was recycled by another process
		}
	}
	return true
}

// procStart is the process's start time in clock ticks since boot (field
// 22 of /proc/PID/stat), or "" where /proc is not available.
func procStart(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces; fields after it are plain.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return ""
	}
	return f[19]
}
