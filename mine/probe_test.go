package mine

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/train/testenv"
)

// needTorch returns an interpreter that can import torch.
func needTorch(t *testing.T) string {
	t.Helper()
	return testenv.Require(t, testenv.Torch)
}

func TestProbeFixture(t *testing.T) {
	needTorch(t)
	cfg := DefaultConfig()
	cat, _ := mineRoots(t, cfg, Options{}, fixtureRoot)
	if err := ProbeCatalog(context.Background(), cat, cfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	mods := byQual(cat)
	tests := []struct {
		qual      string
		usable    bool
		in, out   string
		same      bool
		stride    string
		preserves bool
		poly      [3]float64
		errHas    string
	}{
		{qual: "fixpkg.layers.ConvBN", usable: true, in: "in_channels", out: "out_channels", stride: "stride", preserves: true, poly: [3]float64{0, 2, 9}},
		{qual: "fixpkg.star.UsesStar", usable: true, in: "in_channels", out: "out_channels", stride: "stride", preserves: true, poly: [3]float64{0, 2, 9}},
		// Without a downsample the identity shortcut forces in == out and
		// stride 2 cannot work.
		{qual: "fixpkg.resnet.BasicBlock", usable: true, in: "inplanes", out: "planes", same: true, preserves: true, poly: [3]float64{0, 4, 18}},
		{qual: "fixpkg.derived.WideBlock", usable: true, in: "inplanes", out: "planes", same: true, preserves: true, poly: [3]float64{0, 4, 18}},
		{qual: "fixpkg.derived.AliasedBase", usable: true, in: "inplanes", out: "planes", same: true, preserves: true, poly: [3]float64{0, 4, 18}},
		{qual: "fixpkg.conditional.Gate", usable: true, in: "channels", same: true, preserves: true, poly: [3]float64{0, 1.25, 0.5}},
		{qual: "fixpkg.dc.MLPBlock", usable: true, in: "dim", same: true, preserves: true, poly: [3]float64{32, 65, 0}},
		{qual: "fixpkg.decorated.Registered", usable: true, in: "channels", same: true, preserves: true, poly: [3]float64{0, 2, 0}},
		{qual: "fixpkg.decorated.Outer.Inner", usable: true, in: "dim", same: true, preserves: true, poly: [3]float64{0, 1, 0}},
		{qual: "fixpkg.decorated.Holder.HeldPool", usable: true, same: true, preserves: true},
		{qual: "fixpkg.aliases_c.ViaRenamedModule", usable: true, in: "channels", same: true, preserves: true},
		{qual: "fixpkg.multi.Variadic", usable: true, same: true, preserves: true},
		{qual: "fixpkg.derived.ViaModule", usable: true, in: "in_channels", out: "out_channels", stride: "stride", preserves: true, poly: [3]float64{0, 2, 9}},
		{qual: "fixpkg.transforms.auto.AutoMode", usable: true, same: true, preserves: true},
		{qual: "fixpkg.latin1.Latin", usable: true, same: true, preserves: true},
		{qual: "fixpkg.multi.Fuse", errHas: "2 tensor inputs"},
		{qual: "fixpkg.multi.CrossAttention", errHas: "3 tensor inputs"},
	}
	for _, tc := range tests {
		t.Run(tc.qual, func(t *testing.T) {
			m := mods[tc.qual]
			if m == nil || m.Usable == nil {
				t.Fatalf("%s was not probed: %+v", tc.qual, m)
			}
			if *m.Usable != tc.usable {
				t.Fatalf("usable = %v (%s), want %v", *m.Usable, m.ProbeErr, tc.usable)
			}
			if !tc.usable {
				if !strings.Contains(m.ProbeErr, tc.errHas) {
					t.Errorf("probe error %q lacks %q", m.ProbeErr, tc.errHas)
				}
				return
			}
			in := m.Interface
			if in.InArg != tc.in || in.OutArg != tc.out || in.SameWidth != tc.same || in.StrideArg != tc.stride || in.PreservesShape != tc.preserves {
				t.Errorf("interface in=%q out=%q same=%v stride=%q preserves=%v, want %q %q %v %q %v",
					in.InArg, in.OutArg, in.SameWidth, in.StrideArg, in.PreservesShape, tc.in, tc.out, tc.same, tc.stride, tc.preserves)
			}
			for i := range tc.poly {
				if math.Abs(in.ParamPoly[i]-tc.poly[i]) > 1e-6 {
					t.Errorf("param poly = %v, want %v (params %v)", in.ParamPoly, tc.poly, in.Params)
					break
				}
			}
		})
	}
	// MACs of ConvBN at 12x12: the 3x3 conv only, 9*w*w*144 per sample.
	if in := mods["fixpkg.layers.ConvBN"].Interface; in != nil && in.MACPoly != [3]float64{0, 0, 9 * 144} {
		t.Errorf("ConvBN MAC poly = %v, want [0 0 1296]", in.MACPoly)
	}
}

// A hang, a segfault and os._exit each lose only their own module; the
// probe restarts and the modules after them are still measured. The child
// sees no secrets and runs in its own directory.
func TestProbeSurvivesHostileModules(t *testing.T) {
	needTorch(t)
	t.Setenv("ARBOR_TEST_API_KEY", "must-not-leak")
	t.Setenv("SOME_TOKEN", "must-not-leak")
	cfg := DefaultConfig()
	cfg.ProbeTimeout = 3 * time.Second
	cat, _ := mineRoots(t, cfg, Options{}, "testdata/hostile")
	start := time.Now()
	if err := ProbeCatalog(context.Background(), cat, cfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	mods := byQual(cat)
	tests := []struct {
		qual   string
		usable bool
		errHas string
	}{
		{"crash.Segfault", false, "crashed"},
		{"crash.HardExit", false, "crashed"},
		{"crash.Hang", false, "hung"}, // the soft CPU limit in the child, or the kill on a loaded machine
		{"crash.DeafHang", false, "hung: timed out"},
		{"spy.EnvSpy", true, ""},
		{"spy.Hog", false, "MemoryError"},
		{"zgood.StillProbed", true, ""},
	}
	for _, tc := range tests {
		m := mods[tc.qual]
		if m == nil || m.Usable == nil {
			t.Errorf("%s not probed", tc.qual)
			continue
		}
		if *m.Usable != tc.usable || !strings.Contains(m.ProbeErr, tc.errHas) {
			t.Errorf("%s: usable=%v err=%q, want usable=%v err containing %q", tc.qual, *m.Usable, m.ProbeErr, tc.usable, tc.errHas)
		}
	}
	// That the hangs were cut is shown by their errors above (the soft CPU
	// limit or "timed out after 3s"), not by the wall clock: on a loaded
	// machine each restart's torch import alone can take a minute.
	t.Logf("hostile modules probed in %s", time.Since(start).Round(time.Second))
}
