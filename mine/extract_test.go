package mine

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const fixtureRoot = "testdata/fixpkg"

func mineRoots(t testing.TB, cfg Config, opt Options, roots ...string) (*Catalog, Stats) {
	t.Helper()
	cat, st, err := Mine(context.Background(), roots, cfg, opt)
	if err != nil {
		t.Fatalf("Mine(%v): %v", roots, err)
	}
	return cat, st
}

func byQual(cat *Catalog) map[string]*Module {
	m := map[string]*Module{}
	for _, mod := range cat.Modules {
		m[mod.QualName] = mod
	}
	return m
}

func paramNames(ps []Param) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestMineFixture(t *testing.T) {
	cat, st := mineRoots(t, DefaultConfig(), Options{}, fixtureRoot)
	if st.Files != 18 || st.Parsed != 18 {
		t.Errorf("files=%d parsed=%d, want 18 and 18", st.Files, st.Parsed)
	}
	if got := cat.Roots[0].Package; got != "fixpkg" {
		t.Errorf("root package = %q, want fixpkg", got)
	}
	mods := byQual(cat)
	tests := []struct {
		qual     string
		status   string
		params   string // comma-joined constructor parameter names
		inputs   int
		category string
		has      []string // substrings of the bundle
		lacks    []string
	}{
		{qual: "fixpkg.aliases_a.ViaAsAlias", status: StatusOK, params: "dim", inputs: 1, has: []string{"import torch.nn as nn\n"}},
		{qual: "fixpkg.aliases_b.ViaFromImport", status: StatusOK, inputs: 1, has: []string{"from torch import nn\n"}},
		{qual: "fixpkg.aliases_b.ViaTorchDotted", status: StatusOK, inputs: 1, has: []string{"import torch\n"}},
		{qual: "fixpkg.aliases_c.ViaRenamedModule", status: StatusOK, params: "channels", inputs: 1,
			has: []string{"from torch.nn import Module as M\n", "from torch.nn import Identity\n"}},
		{qual: "fixpkg.aliases_c.ViaAssignedAlias", status: StatusOK, inputs: 1, has: []string{"Base = M\n", "from torch.nn import Module as M"}},
		{qual: "fixpkg.decorated.Registered", status: StatusOK, params: "channels", inputs: 1,
			has: []string{"@register\nclass Registered", "def register(cls):", "REGISTRY = {}", "def traced(fn):", "import functools\n"}},
		{qual: "fixpkg.decorated.Outer", status: StatusOK, params: "dim", inputs: 1},
		{qual: "fixpkg.decorated.Outer.Inner", status: StatusOK, params: "dim", inputs: 1,
			has: []string{"\nclass Inner(nn.Module):\n    \"\"\"Nested inside"}, lacks: []string{"class Outer"}},
		{qual: "fixpkg.decorated.Holder.HeldPool", status: StatusOK, params: "kernel_size", inputs: 1, category: CatPooling,
			has: []string{"@register\nclass HeldPool", "def register("}, lacks: []string{"class Holder"}},
		{qual: "fixpkg.derived.WideBlock", status: StatusOK, params: "inplanes,planes,stride,downsample", inputs: 1, category: CatConvBlock,
			has:   []string{"class BasicBlock(nn.Module):", "def conv3x3(", "class WideBlock(BasicBlock):", "from typing import Optional\n"},
			lacks: []string{"from .resnet", "import fixpkg"}},
		{qual: "fixpkg.derived.AliasedBase", status: StatusOK, params: "inplanes,planes,stride,downsample", inputs: 1,
			has: []string{"BB = BasicBlock\n", "class AliasedBase(BB):"}},
		{qual: "fixpkg.star.UsesStar", status: StatusOK, params: "in_channels,out_channels,kernel_size,stride", inputs: 1,
			has: []string{"class ConvBN(nn.Module):", "def make_divisible(", "DEFAULT_MOMENTUM = 0.1", "import math\n"}},
		{qual: "fixpkg.star.StarBase", status: StatusOK, inputs: 1, has: []string{"from torch.nn import *\n"}},
		{qual: "fixpkg.conditional.Gate", status: StatusOK, params: "channels,reduction", inputs: 1,
			has: []string{"    from torch.nn import SiLU as Act\nexcept ImportError:", "from fixpkg.accelerated import fast_gate", "fast_gate = None"}},
		{qual: "fixpkg.dc.MLPBlock", status: StatusOK, params: "dim,hidden,drop_rate", inputs: 1,
			has: []string{"@dataclass(eq=False)\nclass MLPBlock", "from dataclasses import dataclass\n"}, lacks: []string{"field"}},
		{qual: "fixpkg.multi.Fuse", status: StatusOK, inputs: 2},
		{qual: "fixpkg.multi.CrossAttention", status: StatusOK, params: "dim,num_heads", inputs: 3, category: CatAttention},
		{qual: "fixpkg.multi.Variadic", status: StatusOK, inputs: 1},
		{qual: "fixpkg.layers.ConvBN", status: StatusOK, params: "in_channels,out_channels,kernel_size,stride", inputs: 1, category: CatConvBlock},
		{qual: "fixpkg.latin1.Latin", status: StatusOK, inputs: 1},
		{qual: "fixpkg.transforms.auto.AutoMode", status: StatusOK, params: "mode", inputs: 1,
			has:   []string{"class Mode(Enum):", "from enum import Enum\n", "F = _arbor_types.SimpleNamespace(resize_mode=resize_mode)"},
			lacks: []string{"import fixpkg", "from fixpkg"}},
		{qual: "fixpkg.derived.ViaModule", status: StatusOK, params: "in_channels,out_channels,kernel_size,stride", inputs: 1,
			has:   []string{"class ConvBN(nn.Module):", "layers = _arbor_types.SimpleNamespace(ConvBN=ConvBN)", "class ViaModule(layers.ConvBN):"},
			lacks: []string{"from fixpkg"}},
		{qual: "fixpkg.problems.UsesMissing", status: StatusUnresolved, inputs: 1},
		{qual: "fixpkg.problems.UsesUndefined", status: StatusUnresolved, inputs: 1},
		{qual: "fixpkg.problems.NeedsConfig", status: StatusNeedsArgs, params: "cfg,norm_layer", inputs: 1},
		{qual: "fixpkg.broken.BeforeBreak", status: StatusOK, inputs: 1},
		{qual: "fixpkg.broken.Broken", status: StatusSyntaxError},
		{qual: "fixpkg.broken.SwallowedByBreak", status: StatusSyntaxError},
	}
	for _, tc := range tests {
		t.Run(tc.qual, func(t *testing.T) {
			m := mods[tc.qual]
			if m == nil {
				t.Fatalf("module %s not mined", tc.qual)
			}
			if m.Status != tc.status {
				t.Errorf("status = %s (%s), want %s", m.Status, m.Reason, tc.status)
			}
			if tc.status != StatusOK && m.Reason == "" {
				t.Errorf("status %s without a reason", m.Status)
			}
			if tc.status == StatusSyntaxError {
				return
			}
			if got := strings.Join(paramNames(m.Params), ","); got != tc.params {
				t.Errorf("params = %q, want %q", got, tc.params)
			}
			if m.TensorInputs != tc.inputs {
				t.Errorf("tensor inputs = %d, want %d", m.TensorInputs, tc.inputs)
			}
			if tc.category != "" && m.Category != tc.category {
				t.Errorf("category = %s, want %s", m.Category, tc.category)
			}
			for _, s := range tc.has {
				if !strings.Contains(m.Source, s) {
					t.Errorf("bundle lacks %q:\n%s", s, m.Source)
				}
			}
			for _, s := range tc.lacks {
				if strings.Contains(m.Source, s) {
					t.Errorf("bundle should not contain %q:\n%s", s, m.Source)
				}
			}
			if m.Status == StatusOK && !strings.Contains(m.Source, "class "+m.Name) {
				t.Errorf("bundle does not define class %s", m.Name)
			}
		})
	}
	for _, q := range []string{"fixpkg.aliases_c.NotAModule", "fixpkg.aliases_c.AlsoNot", "fixpkg.decorated.Holder"} {
		if mods[q] != nil {
			t.Errorf("%s is not an nn.Module but was mined", q)
		}
	}
	if len(cat.Modules) != 29 {
		t.Errorf("mined %d modules, want 29", len(cat.Modules))
	}
	if r := mods["fixpkg.problems.UsesMissing"].Reason; !strings.Contains(r, "fixpkg.nothere") {
		t.Errorf("unresolved reason %q does not name the missing module", r)
	}
	if m := mods["fixpkg.layers.ConvBN"]; m.Doc != "Convolution followed by batch norm." || m.Lines != [2]int{14, 26} {
		t.Errorf("ConvBN doc=%q lines=%v", m.Doc, m.Lines)
	}
}

// The catalog of the fixture, byte for byte; run `go test -update` after an
// intended change and review the diff.
func TestCatalogGolden(t *testing.T) {
	cat, _ := mineRoots(t, DefaultConfig(), Options{}, fixtureRoot)
	// The fixture lives in arbor's own repository, whose HEAD moves.
	cat.Roots[0].Commit = ""
	path := filepath.Join(t.TempDir(), "catalog.json")
	if err := cat.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden := "testdata/fixpkg.catalog.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("catalog differs from %s; rerun with -update and review the diff", golden)
	}
	back, err := LoadCatalog(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Modules) != len(cat.Modules) || back.Modules[3].ID != cat.Modules[3].ID {
		t.Errorf("LoadCatalog round trip lost modules")
	}
}

func TestMineIsDeterministicAcrossJobs(t *testing.T) {
	a := DefaultConfig()
	a.Jobs = 1
	b := DefaultConfig()
	b.Jobs = 4
	ca, _ := mineRoots(t, a, Options{}, fixtureRoot)
	cb, _ := mineRoots(t, b, Options{}, fixtureRoot)
	pa, pb := filepath.Join(t.TempDir(), "a.json"), filepath.Join(t.TempDir(), "b.json")
	if err := ca.Save(pa); err != nil {
		t.Fatal(err)
	}
	if err := cb.Save(pb); err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(pa)
	y, _ := os.ReadFile(pb)
	if !bytes.Equal(x, y) {
		t.Error("catalog depends on the number of jobs")
	}
}

func TestMergeIdenticalModulesAcrossRoots(t *testing.T) {
	cat, _ := mineRoots(t, DefaultConfig(), Options{}, fixtureRoot, fixtureRoot+"/layers.py")
	m := byQual(cat)["fixpkg.layers.ConvBN"]
	if m == nil || len(m.AlsoIn) != 1 || !strings.HasSuffix(m.AlsoIn[0], "layers.py") {
		t.Fatalf("ConvBN found twice should be merged with also_in, got %+v", m)
	}
	if len(cat.Roots) != 2 {
		t.Errorf("roots = %d, want 2", len(cat.Roots))
	}
}

// A cloned repository: the root is not a package, the library inside it
// imports itself absolutely (from mylib.layers import ...).
func TestMineRepositoryWithAbsoluteImports(t *testing.T) {
	cat, _ := mineRoots(t, DefaultConfig(), Options{}, "testdata/repo")
	mods := byQual(cat)
	if cat.Roots[0].Package != "" {
		t.Errorf("root package = %q, want none", cat.Roots[0].Package)
	}
	b := mods["mylib.blocks.Block"]
	if b == nil || b.Status != StatusOK {
		t.Fatalf("mylib.blocks.Block not mined ok: %+v", b)
	}
	for _, s := range []string{"class ChannelNorm(nn.Module):", "EPS = 1e-6", "import torch\n"} {
		if !strings.Contains(b.Source, s) {
			t.Errorf("bundle lacks %q:\n%s", s, b.Source)
		}
	}
	if strings.Contains(b.Source, "mylib") {
		t.Errorf("bundle still imports the uninstalled library:\n%s", b.Source)
	}
	if idx := strings.Index(b.Source, "class ChannelNorm"); idx > strings.Index(b.Source, "class Block") {
		t.Error("a dependency is defined after its user")
	}
}
