package child

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSweepStale: a directory whose owner is gone is removed, one owned by
// a live process (this one) or with no owner file is kept.
func TestSweepStale(t *testing.T) {
	parent := t.TempDir()
	live, err := MakeOwnedTemp(parent, "arbor-x-")
	if err != nil {
		t.Fatal(err)
	}
	dead, err := MakeOwnedTemp(parent, "arbor-x-")
	if err != nil {
		t.Fatal(err)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dead, ownerFile), []byte(fmt.Sprintf("%d 1\n", gone.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	recycled, err := MakeOwnedTemp(parent, "arbor-x-")
	if err != nil {
		t.Fatal(err)
	}
	// This process's pid with another start time: a recycled pid.
	if err := os.WriteFile(filepath.Join(recycled, ownerFile), []byte(fmt.Sprintf("%d 12345\n", os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(parent, "arbor-x-foreign")
	other := filepath.Join(parent, "other-dead")
	for _, d := range []string{foreign, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(other, ownerFile), []byte("999999999 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := SweepStale(parent, "arbor-x-", nil); n != 2 {
		t.Errorf("removed %d, want 2 (dead owner, recycled pid)", n)
	}
	for d, want := range map[string]bool{live: true, dead: false, recycled: false, foreign: true, other: true} {
		_, err := os.Stat(d)
		if got := err == nil; got != want {
			t.Errorf("%s exists=%v, want %v", filepath.Base(d), got, want)
		}
	}
}
