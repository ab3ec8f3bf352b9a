package main

import (
	"bytes"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/png"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/mine"
	"github.com/arbor-nas/arbor/train/testenv"
	"github.com/arbor-nas/arbor/train/traintest"
)

// This file is the chaos test of issue 23: hostile mined code under the
// sandbox, and kill -9 during every command that writes a user's file.

// hostileModule is train/testdata/hostile.py: a module whose constructor
// reads arbor's /proc/PID/environ for the API key, opens a socket and writes
// a file outside its folder, then raises saying which of the three worked.
func hostileModule(t *testing.T, canary string, port int, mark string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "train", "testdata", "hostile.py"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("@CANARY@", canary, "@PORT@", fmt.Sprint(port), "@MARK@", mark).Replace(string(b))
}

// TestHostileModuleUnderProbe runs `arbor mine --probe` with the API key in
// arbor's own environment over a folder holding the hostile module and a
// harmless one. Under bwrap none of the three attacks succeeds, the module
// is recorded as failing with its own message, and the harmless module is
// probed usable. Unconfined (--sandbox none, the control) all three succeed:
// the attacks are real, and the test fails without the sandbox.
func TestHostileModuleUnderProbe(t *testing.T) {
	needTorch(t)
	testenv.Require(t, testenv.Bubblewrap)
	for _, tc := range []struct{ sandbox, won string }{{"bwrap", "none"}, {"none", "environ,socket,write"}} {
		t.Run(tc.sandbox, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			var accepted atomic.Int32
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					accepted.Add(1)
					c.Close()
				}
			}()
			b := make([]byte, 12)
			crand.Read(b)
			mark := "sk-arbor-canary-" + hex.EncodeToString(b)
			canary := filepath.Join(t.TempDir(), "canary")
			src := t.TempDir()
			writeFile(t, src, "hostile.py", hostileModule(t, canary, ln.Addr().(*net.TCPAddr).Port, mark))
			writeFile(t, src, "good.py", "import torch.nn as nn\n\n\nclass Harmless(nn.Module):\n    def __init__(self, channels=8):\n        super().__init__()\n        self.conv = nn.Conv2d(channels, channels, 3, padding=1)\n\n    def forward(self, x):\n        return self.conv(x)\n")
			out := filepath.Join(t.TempDir(), "catalog.json")
			cmd := arborCmd("mine", src, "--probe", "--sandbox", tc.sandbox, "--no-cache", "-o", out)
			cmd.Env = append(cmd.Env, "OPENAI_API_KEY="+mark)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("arbor mine --probe: %v\n%s", err, stderr.String())
			}
			cat, err := mine.LoadCatalog(out)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*mine.Module{}
			for _, m := range cat.Modules {
				got[m.Name] = m
			}
			h, g := got["Hostile"], got["Harmless"]
			if h == nil || g == nil {
				t.Fatalf("catalog modules %v: want Hostile and Harmless", got)
			}
			want := "attacks that succeeded: " + tc.won
			if h.Usable == nil || *h.Usable || !strings.Contains(h.ProbeErr, want) {
				t.Errorf("Hostile: usable %v, probe error %q; want a failure reporting %q", h.Usable, h.ProbeErr, want)
			}
			if g.Usable == nil || !*g.Usable {
				t.Errorf("Harmless was not probed usable after the hostile module (%q): the run did not go on", g.ProbeErr)
			}
			_, statErr := os.Stat(canary)
			wrote, connected := statErr == nil, accepted.Load() > 0
			if confined := tc.sandbox == "bwrap"; wrote == confined || connected == confined {
				t.Errorf("sandbox %s: file outside written %v, socket connected %v", tc.sandbox, wrote, connected)
			}
			if strings.Contains(stdout.String()+stderr.String(), mark) {
				t.Errorf("the key appears in arbor mine's output")
			}
		})
	}
}

// TestKillsLeaveNoPartialFiles kills `arbor report` and `arbor best
// --export` with SIGKILL 100 times each, at random moments within their
// run time, and checks after every kill that each file they write is
// either absent or whole: PNGs decode, SVG and HTML are complete, the
// export equals the one an unkilled run writes. After the kills, one
// complete run of each leaves no temporary file behind.
func TestKillsLeaveNoPartialFiles(t *testing.T) {
	kills := 100
	if testing.Short() {
		kills = 10
	}
	table, _ := traintest.NB201(t)
	dir := t.TempDir()
	cfg := tabularConfig(t, dir, table, "", 12)
	if _, errOut, code := runUX(t, "evolve", "--config", cfg, "--quiet"); code != 0 {
		t.Fatalf("evolve: exit %d: %s", code, errOut)
	}
	run := filepath.Join(dir, "run")
	rng := rand.New(rand.NewPCG(23, 9))
	for _, tc := range []struct {
		name  string
		args  func(out string) []string
		check func(t *testing.T, out string, ref map[string][]byte)
	}{
		{"report", func(out string) []string { return []string{"report", run, "-o", out} }, checkReport},
		{"best-export", func(out string) []string {
			return []string{"best", run, "--export", filepath.Join(out, "best.py"), "--tree", filepath.Join(out, "best.json")}
		}, checkSame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refDir := t.TempDir()
			start := time.Now()
			if out, err := arborCmd(tc.args(refDir)...).CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			took := time.Since(start)
			ref := readDir(t, refDir)
			if len(ref) == 0 {
				t.Fatal("the unkilled run wrote nothing")
			}
			out := t.TempDir()
			for i := range kills {
				cmd := arborCmd(tc.args(out)...)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Duration(rng.Int64N(int64(took + took/5))))
				cmd.Process.Kill()
				cmd.Wait()
				tc.check(t, out, ref)
				if t.Failed() {
					t.Fatalf("after kill %d of %d", i+1, kills)
				}
			}
			if b, err := arborCmd(tc.args(out)...).CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			for name := range readDir(t, out) {
				if strings.HasPrefix(name, ".") {
					t.Errorf("temporary file %s left after a complete run", name)
				}
			}
			t.Logf("%d kills within %v of start (a whole run takes %v): no partial file", kills, took+took/5, took.Round(time.Millisecond))
		})
	}
}

// readDir maps the names of the regular files in dir to their content.
func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && e.Type().IsRegular() {
			out[e.Name()] = b
		}
	}
	return out
}

// checkReport: every report file present is whole (temporary dot-files of
// the killed writer aside).
func checkReport(t *testing.T, out string, ref map[string][]byte) {
	for name, b := range readDir(t, out) {
		if strings.HasPrefix(name, ".") {
			continue
		}
		if _, known := ref[name]; !known {
			t.Errorf("%s: a file the complete run does not write", name)
		}
		switch filepath.Ext(name) {
		case ".png":
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("%s: %d bytes, not a whole PNG: %v", name, len(b), err)
			}
		case ".svg":
			if !bytes.HasSuffix(bytes.TrimSpace(b), []byte("</svg>")) {
				t.Errorf("%s: %d bytes, not a whole SVG", name, len(b))
			}
		case ".html":
			if !bytes.HasSuffix(bytes.TrimSpace(b), []byte("</html>")) {
				t.Errorf("%s: %d bytes, not a whole page", name, len(b))
			}
		default:
			if len(b) == 0 {
				t.Errorf("%s: empty", name)
			}
		}
	}
}

// checkSame: every file present equals the unkilled run's.
func checkSame(t *testing.T, out string, ref map[string][]byte) {
	for name, b := range readDir(t, out) {
		if strings.HasPrefix(name, ".") {
			continue
		}
		if !bytes.Equal(b, ref[name]) {
			t.Errorf("%s: %d bytes differ from the complete export (%d bytes)", name, len(b), len(ref[name]))
		}
	}
	var v any
	if b, ok := readDir(t, out)["best.json"]; ok && json.Unmarshal(b, &v) != nil {
		t.Errorf("best.json is not JSON")
	}
}
