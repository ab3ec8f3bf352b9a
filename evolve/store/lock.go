package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// LockFile is the run directory's lock file. The one process that writes
// a run (the store opened by CreateStore or OpenStore) holds an exclusive
// flock on it for as long as the store is open. The kernel drops the lock
// when that process dies, however it dies, so the lock is also how a
// reader tells a live run from one whose process is gone (Owner).
const LockFile = "run.lock"

// ErrLocked means another process has the run open for writing.
var ErrLocked = errors.New("run is in use")

// lockWait is how long acquiring waits out a lock held only for a moment:
// Owner's probe takes a shared lock for a few microseconds.
const lockWait = 500 * time.Millisecond

// runLock is a held run lock.
type runLock struct{ f *os.File }

// acquireLock takes dir's run lock, or fails with ErrLocked naming the
// holder's pid. The file's content is the holder's pid, for that message.
func acquireLock(dir string) (*runLock, error) {
	path := filepath.Join(dir, LockFile)
	deadline := time.Now().Add(lockWait)
	for {
		// O_CLOEXEC (Go's default): children never inherit the lock, so a
		// training process outliving arbor cannot keep the run "alive".
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("run lock %s: %w", path, err)
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			if time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			who := "another process"
			if pid := lockHolder(path); pid > 0 {
				who = fmt.Sprintf("arbor (pid %d)", pid)
			}
			return nil, fmt.Errorf("run dir %s: %w by %s, which writes it; wait for it to finish or stop it first (two writers would train the same candidates twice)", dir, ErrLocked, who)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("run lock %s: %w", path, err)
		}
		// A file removed (and perhaps re-created) between the open and the
		// lock is not the run's lock any more: start again on the new one.
		if !sameFile(f, path) {
			f.Close()
			continue
		}
		if err = f.Truncate(0); err == nil {
			_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("run lock %s: %w", path, err)
		}
		return &runLock{f: f}, nil
	}
}

// release drops the lock. The file stays: removing it would let a process
// that opened it before the removal lock a file nobody else sees.
func (l *runLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor drops the flock
	l.f = nil
	return err
}

// sameFile says whether the open f is still the file at path.
func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// lockHolder is the pid written in the lock file at path (0: none).
func lockHolder(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// Owner says whether a process has the run in dir open for writing right
// now (an `arbor evolve` or a resume), and that process's pid when alive.
// It probes the run lock without waiting and without disturbing the
// holder; a run with no lock file (made before the lock existed, or never
// started) has no owner. Reading a run never takes its lock.
func Owner(dir string) (pid int, alive bool) {
	path := filepath.Join(dir, LockFile)
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return 0, false
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		return 0, false // a filesystem without flock: nothing is known
	}
	return lockHolder(path), true
}

// RunState is what a run is doing, as `arbor status`, the report and the
// dashboard show it.
type RunState string

const (
	// RunEmpty: no event stored yet, and no process owns the run.
	RunEmpty RunState = "empty"
	// RunRunning: a process owns the run (it holds the run lock).
	RunRunning RunState = "running"
	// RunFinished: the last event is run-finished.
	RunFinished RunState = "finished"
	// RunStopped: no process owns the run and it did not finish (killed,
	// crashed, interrupted): resume it.
	RunStopped RunState = "stopped"
)

// State is the state of the run in dir, from its last event (hasEvents
// false: none) and its lock (Owner). A run-finished event wins over a
// lock still held by a process on its way out.
func State(dir string, last Event, hasEvents bool) RunState {
	if hasEvents && last.Kind == EventRunFinished {
		return RunFinished
	}
	if _, alive := Owner(dir); alive {
		return RunRunning
	}
	if !hasEvents {
		return RunEmpty
	}
	return RunStopped
}

// StoppedText describes a stopped run whose directory is given as dir,
// with the command that resumes it.
func StoppedText(dir string) string {
	return "stopped (process gone); resume with `arbor evolve --resume " + dir + "`"
}
