package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/arbor-nas/arbor/train/traintest"
)

func runBenchCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"bench"}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestBenchUsageErrors(t *testing.T) {
	tablePath, _ := traintest.NB201(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{}, "needs a subcommand: compare, nasbench201"},
		{[]string{"nasbench101"}, "did you mean nasbench201?"},
		{[]string{"nasbench201", "--table", "/nonexistent.csv"}, "--table"},
		{[]string{"nasbench201", "--table", tablePath, "--dataset", "imagenet"}, "--dataset"},
		{[]string{"nasbench201", "--table", tablePath, "--budgets", "10,x"}, "--budgets"},
		{[]string{"nasbench201", "--table", tablePath, "--budgets", "1"}, "--budgets"},
		{[]string{"nasbench201", "--table", tablePath, "--strategies", "random,codegen"}, "--strategies"},
		{[]string{"nasbench201", "--table", tablePath, "--seeds", "0"}, "--seeds"},
		{[]string{"nasbench201", "--table", tablePath, "--acquisition", "pi"}, "surrogate.acquisition"},
		{[]string{"nasbench201", "--table", tablePath, "--sample", "30"}, "--sample"},
		{[]string{"nasbench201", "--table", tablePath, "--surrogate-init", "0"}, "--surrogate-init"},
		{[]string{"nasbench201", "--no-such-flag"}, "unknown flag"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, err := runBenchCmd(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q\n%s", err, tc.want, out)
			}
			if exitCode(err) != 2 {
				t.Fatalf("exit code %d, want 2 for %v", exitCode(err), err)
			}
		})
	}
}
