package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/mine"
)

func runMineCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestMineAndCatalogCommands(t *testing.T) {
	dir := t.TempDir()
	cat := filepath.Join(dir, "catalog.json")
	fixture := filepath.Join("..", "..", "mine", "testdata", "fixpkg")
	out, err := runMineCLI(t, "mine", fixture, "-o", cat, "--jobs", "2")
	if err != nil {
		t.Fatalf("arbor mine: %v", err)
	}
	// The one-line summary: files, modules, ok, usable, seconds.
	if !strings.Contains(out, "mined 18 files (18 parsed, 0 cached), 29 modules, 24 ok, - usable in ") {
		t.Errorf("summary = %q", out)
	}
	if out, err = runMineCLI(t, "mine", fixture, "-o", cat); err != nil || !strings.Contains(out, "(0 parsed, 18 cached)") {
		t.Errorf("rebuild: %v %q", err, out)
	}
	c, err := mine.LoadCatalog(cat)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok, _ := c.Counts(); n != 29 || ok != 24 {
		t.Errorf("catalog counts %d/%d", n, ok)
	}
	out, err = runMineCLI(t, "catalog", "list", cat, "--category", "pooling")
	if err != nil || !strings.Contains(out, "fixpkg.decorated.Holder.HeldPool") || strings.Contains(out, "ConvBN") {
		t.Errorf("catalog list --category pooling: %v\n%s", err, out)
	}
	out, err = runMineCLI(t, "catalog", "show", cat, "ConvBN")
	if err != nil || !strings.Contains(out, "init:      (in_channels, out_channels, kernel_size=3, stride=1)") ||
		!strings.Contains(out, "class ConvBN(nn.Module):") {
		t.Errorf("catalog show: %v\n%s", err, out)
	}
}

func TestMineUsageErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "does-not-exist")
	good := filepath.Join(dir, "c.json")
	tests := []struct {
		name string
		args []string
		want string // substring of the error
	}{
		{"nonexistent path", []string{"mine", missing, "-o", good}, missing},
		{"no path", []string{"mine", "-o", good}, "at least one PATH"},
		{"bad jobs", []string{"mine", dir, "-o", good, "--jobs", "0"}, "mine.jobs"},
		{"bad flag", []string{"mine", dir, "--frobnicate"}, "frobnicate"},
		{"output dir missing", []string{"mine", dir, "-o", filepath.Join(missing, "c.json")}, "output directory"},
		{"list needs a file", []string{"catalog", "list"}, "one CATALOG"},
		{"list missing file", []string{"catalog", "list", missing}, missing},
		{"show unknown module", []string{"catalog", "show", filepath.Join("..", "..", "mine", "testdata", "fixpkg.catalog.golden.json"), "NoSuchThing"}, "NoSuchThing"},
		{"catalog without subcommand", []string{"catalog"}, "needs a subcommand: list, show"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runMineCLI(t, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			if exitCode(err) != 2 {
				t.Errorf("exit code %d for %v, want 2", exitCode(err), err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
		})
	}
}
