package train

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arbor-nas/arbor/tree"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func newTestGate(t testing.TB, timeout time.Duration) *Gate {
	t.Helper()
	g, err := NewGate(torchPython(t), GateOptions{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

type gateCase struct {
	name    string
	input   [3]int
	classes int
}

var gateCases = []gateCase{
	{"resnet32", [3]int{3, 32, 32}, 10},
	{"resnet32", [3]int{3, 32, 32}, 10},
	{"resnet20", [3]int{1, 28, 28}, 10},
	{"tiny", [3]int{1, 8, 8}, 4},
	{"init_raises", [3]int{1, 8, 8}, 4},
	{"syntax_error", [3]int{1, 8, 8}, 4},
	{"shape_error", [3]int{1, 8, 8}, 4},
	{"wrong_logits", [3]int{1, 8, 8}, 4},
	{"oom", [3]int{1, 8, 8}, 4},
	{"forward_bug", [3]int{1, 8, 8}, 4},
	{"segfault", [3]int{1, 8, 8}, 4},
	{"tiny", [3]int{1, 8, 8}, 4}, // the gate restarted after the crash
}

// gateGolden is the stable part of a GateResult.
type gateGolden struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Params int64  `json:"params"`
	FLOPs  int64  `json:"flops"`
}

// TestGateGolden dry-runs every test candidate through one resident gate and
// compares the verdicts with testdata/gate.golden.json (-update rewrites it).
func TestGateGolden(t *testing.T) {
	g := newTestGate(t, 30*time.Second)
	var got []gateGolden
	for _, tc := range gateCases {
		src := ""
		if slices.Contains(tree.Seeds(), tc.name) {
			src = seedSource(t, tc.name, tc.input, tc.classes)
		} else {
			src = candidate(t, tc.name)
		}
		r, err := g.Check(context.Background(), src, tc.input, tc.classes)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r.Status != StatusOK && r.Error == "" {
			t.Errorf("%s: status %s without error text", tc.name, r.Status)
		}
		if r.OK() != (r.Status == StatusOK) {
			t.Errorf("%s: OK() inconsistent with %+v", tc.name, r)
		}
		got = append(got, gateGolden{tc.name, r.Status, r.Params, r.FLOPs})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	path := filepath.Join("testdata", "gate.golden.json")
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGateGolden -update)", err)
	}
	if string(want) != string(data) {
		t.Errorf("gate verdicts differ from %s:\n got %s\nwant %s", path, data, want)
	}
}

// TestGateHangRestarts: a candidate that never returns is killed with its
// children at the timeout, and the next check gets a fresh gate.
func TestGateHangRestarts(t *testing.T) {
	g := newTestGate(t, 3*time.Second)
	if r, err := g.Check(context.Background(), candidate(t, "tiny"), [3]int{1, 8, 8}, 4); err != nil || !r.OK() {
		t.Fatalf("warm-up: %v %+v", err, r)
	}
	pidfile := filepath.Join(t.TempDir(), "pid")
	r, err := g.Check(context.Background(), hangSource(t, pidfile), [3]int{1, 8, 8}, 4)
	if err != nil || r.Status != StatusTimeout {
		t.Fatalf("hang: %v %+v", err, r)
	}
	if pid := waitPID(t, pidfile, time.Second); !gone(pid, 3*time.Second) {
		t.Errorf("the hung candidate's child %d survived", pid)
	}
	if r, err := g.Check(context.Background(), candidate(t, "tiny"), [3]int{1, 8, 8}, 4); err != nil || !r.OK() {
		t.Fatalf("after restart: %v %+v", err, r)
	}
}

// TestGateCandidateOutput: a candidate printing to stdout or reading stdin
// cannot corrupt the gate's protocol.
func TestGateCandidateOutput(t *testing.T) {
	g := newTestGate(t, 30*time.Second)
	src := strings.Replace(candidate(t, "tiny"), "super().__init__()",
		`super().__init__()
        import sys
        print('{"id": 1, "status": "ok", "params": 1}')
        sys.stdout.flush()
        assert sys.stdin.read() == ""`, 1)
	for i := 0; i < 2; i++ {
		r, err := g.Check(context.Background(), src, [3]int{1, 8, 8}, 4)
		if err != nil || !r.OK() || r.Params != 1068 {
			t.Fatalf("check %d: %v %+v", i, err, r)
		}
	}
}

// TestGateCancel: a cancelled context ends a hanging check at once.
func TestGateCancel(t *testing.T) {
	g := newTestGate(t, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	pidfile := filepath.Join(t.TempDir(), "pid")
	go func() {
		waitPID(t, pidfile, time.Minute)
		cancel()
	}()
	start := time.Now()
	r, err := g.Check(ctx, hangSource(t, pidfile), [3]int{1, 8, 8}, 4)
	if err == nil || r.Status != StatusCancelled {
		t.Fatalf("want cancelled and an error, got %v %+v", err, r)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("cancel took %v", el)
	}
}

// TestGateMatchesTree: for every built-in seed, the parameters and MACs that
// PyTorch measures on the rendered source equal the tree package's static
// counts, so the gate and the tree's constraint check agree.
func TestGateMatchesTree(t *testing.T) {
	g := newTestGate(t, time.Minute)
	for _, name := range tree.Seeds() {
		for _, shape := range []tree.Shape{{C: 3, H: 32, W: 32}, {C: 1, H: 28, W: 28}} {
			tr, err := tree.Seed(name, shape, 10)
			if err != nil {
				t.Fatalf("%s %s: %v", name, shape, err)
			}
			rep, err := tree.Check(tr, nil)
			if err != nil {
				t.Fatal(err)
			}
			src, err := tree.Render(tr, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, err := g.Check(context.Background(), src, [3]int{shape.C, shape.H, shape.W}, 10)
			if err != nil || r.Status != StatusOK {
				t.Fatalf("%s %s: %v %s: %s", name, shape, err, r.Status, r.Error)
			}
			if r.Params != rep.Params || r.FLOPs != rep.FLOPs {
				t.Errorf("%s %s: gate params %d MACs %d, tree params %d MACs %d", name, shape, r.Params, r.FLOPs, rep.Params, rep.FLOPs)
			}
		}
	}
}
