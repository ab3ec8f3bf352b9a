package child

import (
	"os"
	"testing"

	"github.com/arbor-nas/arbor/train/testenv"
)

func TestFindPythonFallsBack(t *testing.T) {
	testenv.Require(t, testenv.Torch)
	want, err := FindPython(t.Context(), "")
	if err != nil {
		t.Fatalf("testenv found a Python with torch, FindPython none: %v", err)
	}
	if got, err := FindPython(t.Context(), "/nonexistent/python"); err != nil || got != want {
		t.Errorf("FindPython(/nonexistent/python) = %q, %v; want the fallback %q", got, err, want)
	}
	// An interpreter without torch is passed over.
	noTorch := t.TempDir() + "/python"
	if err := os.WriteFile(noTorch, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := FindPython(t.Context(), noTorch); err != nil || got == noTorch {
		t.Errorf("FindPython(%s) = %q, %v", noTorch, got, err)
	}
}
