package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/train"
	"github.com/arbor-nas/arbor/train/testenv"
	"github.com/arbor-nas/arbor/tree"
)

func runTrainCmd(args ...string) (stdout, stderr string, err error) {
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(append([]string{"train"}, args...))
	err = root.Execute()
	return out.String(), errb.String(), err
}

func writeTreeFile(t *testing.T, seed string, shape tree.Shape) string {
	t.Helper()
	tr, err := tree.Seed(seed, shape, 10)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), seed+".json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTrainCmdJSON trains a tree file for real (a few synthetic images) and
// checks the one JSON object printed.
func TestTrainCmdJSON(t *testing.T) {
	testenv.Require(t, testenv.Torch)
	path := writeTreeFile(t, "resnet20", tree.Shape{C: 1, H: 28, W: 28})
	out, errOut, err := runTrainCmd(path, "--dataset", "synthetic", "--epochs", "1", "--subset", "64", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var r train.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("stdout is not one Result: %v\n%s", err, out)
	}
	if r.Status != train.StatusOK || r.Params != 272186 || r.FLOPs != 31021952 || len(r.Curve) != 1 || r.WallS <= 0 {
		t.Errorf("result %+v", r)
	}
	if strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("--json printed more than one line:\n%s", out)
	}
}

func TestTrainCmdUsageErrors(t *testing.T) {
	cifarTree := writeTreeFile(t, "resnet20", tree.Shape{C: 3, H: 32, W: 32})
	badCfg := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(badCfg, []byte("train:\n  workerz: 2\n"), 0o644)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no args", nil, "want one TREE.json"},
		{"two args", []string{"a.json", "b.json"}, "want one TREE.json"},
		{"missing file", []string{"nope.json"}, "neither a built-in seed"},
		{"bad dataset", []string{"resnet20", "--dataset", "svhn"}, "train.dataset.name"},
		{"shape mismatch", []string{cifarTree, "--dataset", "fashion-mnist"}, "pass --dataset"},
		{"bad epochs", []string{"resnet20", "--epochs", "0"}, "train.recipe.epochs"},
		{"bad config key", []string{"resnet20", "--config", badCfg}, "workerz"},
		{"bad flag", []string{"resnet20", "--epochz", "1"}, "epochz"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runTrainCmd(tc.args...)
			if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v (exit %d), want a usage error mentioning %q", err, exitCode(err), tc.want)
			}
		})
	}
}
