package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestServeBadInput: serve refuses, with exit status 2 and a message that
// names the problem, what it cannot serve safely or at all.
func TestServeBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "give at least one RUN_DIR"},
		{[]string{"serve", dir, "--addr", "0.0.0.0:0", "--token", "a"}, "at least 16 characters"},
		{[]string{"serve", dir, "--addr", "0.0.0.0:0", "--token", " "}, "spaces"},
		{[]string{"serve", dir, "--token-file", filepath.Join(dir, "missing-token")}, "--token-file"},
		{[]string{"serve", dir, "--poll", "1ns"}, "at least 100ms"},
		{[]string{"serve", dir, "--addr", "nonsense"}, "HOST:PORT"},
		{[]string{"serve", filepath.Join(dir, "missing")}, filepath.Join(dir, "missing")},
	} {
		_, errOut, code := runUX(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("arbor %v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}
