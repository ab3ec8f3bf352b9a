package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/tree"
)

// runTreeCLI runs arbor in-process and returns stdout and the exit code.
func runTreeCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	code := 0
	if err != nil {
		code = exitCode(err)
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

func TestTreeCLI(t *testing.T) {
	dir := t.TempDir()
	r32 := filepath.Join(dir, "r32.json")
	if _, stderr, code := runTreeCLI(t, "tree", "seed", "resnet32", "--input", "3x32x32", "--classes", "10", "-o", r32); code != 0 {
		t.Fatalf("seed: exit %d: %s", code, stderr)
	}
	seed, _ := tree.Seed("resnet32", tree.Shape{C: 3, H: 32, W: 32}, 10)
	want, _ := tree.Check(seed, nil)

	out, stderr, code := runTreeCLI(t, "tree", "check", "--json", r32)
	if code != 0 {
		t.Fatalf("check: exit %d: %s", code, stderr)
	}
	var res checkResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("check --json output %q: %v", out, err)
	}
	if !res.Valid || res.Params != want.Params || res.FLOPs != want.FLOPs || res.Hash != want.Hash || len(res.OutputShape) != 3 || res.OutputShape[0] != 10 {
		t.Fatalf("check --json = %+v, want params %d flops %d hash %s", res, want.Params, want.FLOPs, want.Hash)
	}

	out, _, code = runTreeCLI(t, "tree", "seeds")
	if code != 0 || strings.Count(out, "\n") != len(tree.Seeds()) || !strings.Contains(out, "resnet32") {
		t.Fatalf("seeds: exit %d, output %q", code, out)
	}

	out, _, code = runTreeCLI(t, "tree", "render", r32)
	if code != 0 || !strings.Contains(out, "class Candidate(nn.Module):") {
		t.Fatalf("render: exit %d", code)
	}

	grown := filepath.Join(dir, "grown.json")
	_, stderr, code = runTreeCLI(t, "tree", "apply", r32, "--op", "insert", "--at", "/stage2", "--index", "1",
		"--node", `{"kind":"op","op":"conv2d","args":{"out":48}}`, "-o", grown)
	if code != 0 {
		t.Fatalf("apply: exit %d: %s", code, stderr)
	}
	out, _, code = runTreeCLI(t, "tree", "check", "--json", grown)
	var res2 checkResult
	_ = json.Unmarshal([]byte(out), &res2)
	if code != 0 || !res2.Valid || res2.Hash == res.Hash || res2.Params <= res.Params {
		t.Fatalf("applied tree: exit %d %+v", code, res2)
	}

	out, _, code = runTreeCLI(t, "tree", "apply", r32, "--op", "change_arg", "--at", "/stem/conv", "--arg", "kernel", "--value", "5")
	if code != 0 || !strings.Contains(out, `"kernel": 5`) {
		t.Fatalf("apply change_arg: exit %d\n%s", code, out)
	}
}

func TestTreeCLIBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const good = `{"schema": 1, "input": [3, 8, 8], "classes": 4, "root": {"kind": "seq", "children": [
  {"kind": "op", "name": "conv", "op": "conv2d", "args": {"out": 8}},
  {"kind": "op", "name": "pool", "op": "adaptiveavgpool2d"},
  {"kind": "op", "name": "fc", "op": "linear", "args": {"out": 4}}]}}`
	r := strings.NewReplacer
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"valid", []string{"tree", "check", write("ok.json", good)}, 0, ""},
		{"malformed JSON", []string{"tree", "check", write("m.json", "{\"input\": [3, 8, 8],\n \"classes\": 4\n \"root\": {}}")}, 2, "line 3 column 2"},
		{"unknown kind", []string{"tree", "check", write("k.json", r(`"kind": "op", "name": "pool"`, `"kind": "layer", "name": "pool"`).Replace(good))}, 2, "node /pool: unknown kind"},
		{"unknown op", []string{"tree", "check", write("o.json", r(`"adaptiveavgpool2d"`, `"globalpool"`).Replace(good))}, 2, "node /pool: unknown op"},
		{"wrong arg type", []string{"tree", "check", write("t.json", r(`"out": 8`, `"out": "8"`).Replace(good))}, 2, `node /conv: argument "out": want int`},
		{"out of range", []string{"tree", "check", write("r.json", r(`"out": 8`, `"out": 8, "stride": 9`).Replace(good))}, 2, `node /conv: argument "stride"`},
		{"cell cycle", []string{"tree", "check", write("c.json", r(`{"kind": "op", "name": "pool"`, `{"kind": "cell", "name": "cell", "args": {"e1_0": "skip_connect", "e2_3": "nor_conv_3x3"}}, {"kind": "op", "name": "pool"`).Replace(good))}, 2, "node /cell: edge e2_3"},
		{"invalid shapes exit 1", []string{"tree", "check", write("s.json", r(`"args": {"out": 4}`, `"args": {"out": 5}`).Replace(good))}, 1, "want 4x1x1, got 5x1x1"},
		{"invalid shapes json exit 1", []string{"tree", "check", "--json", filepath.Join(dir, "s.json")}, 1, `"valid": false`},
		{"missing seed", []string{"tree", "seed", "resnet99"}, 2, `unknown seed "resnet99"`},
		{"bad input flag", []string{"tree", "seed", "resnet20", "--input", "3x32"}, 2, "CxHxW"},
		{"missing file", []string{"tree", "check", filepath.Join(dir, "nope.json")}, 2, "no such file"},
		{"no file", []string{"tree", "check"}, 2, "one tree FILE"},
		{"bad op", []string{"tree", "apply", filepath.Join(dir, "ok.json"), "--op", "explode", "--at", "/"}, 2, "--op"},
		{"apply invalid result", []string{"tree", "apply", filepath.Join(dir, "ok.json"), "--op", "delete", "--at", "/pool"}, 2, "linear"},
		{"apply bad node", []string{"tree", "apply", filepath.Join(dir, "ok.json"), "--op", "insert", "--at", "/", "--node", `{"kind":"op","op":"conv9d"}`}, 2, "unknown op"},
		{"render invalid", []string{"tree", "render", filepath.Join(dir, "s.json")}, 2, "shape mismatch"},
		{"unknown flag", []string{"tree", "check", "--frobnicate", filepath.Join(dir, "ok.json")}, 2, "frobnicate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runTreeCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, stderr)
			}
			if !strings.Contains(out+stderr, tc.want) {
				t.Fatalf("output does not mention %q\nstdout: %s\nstderr: %s", tc.want, out, stderr)
			}
		})
	}
}
