package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// allCommands lists root and every command below it.
func allCommands(root *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{root}
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() {
			out = append(out, allCommands(c)...)
		}
	}
	return out
}

// TestEveryCommandHasAnExample: every command's help shows an example, and
// every example line names a real command with flags it accepts.
func TestEveryCommandHasAnExample(t *testing.T) {
	root := newRootCmd()
	for _, c := range allCommands(root) {
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s --help has no example (add one to examples in examples.go)", c.CommandPath())
			continue
		}
		for _, line := range strings.Split(strings.ReplaceAll(c.Example, "\\\n", " "), "\n") {
			line, _, _ = strings.Cut(line, "#")
			for _, part := range strings.FieldsFunc(line, func(r rune) bool { return r == '|' || r == ';' || r == '&' }) {
				part = strings.TrimSpace(part)
				part = strings.TrimPrefix(part, "ARBOR_EVOLVE_BUDGET_TRAINED=50 ")
				if !strings.HasPrefix(part, "arbor ") {
					continue
				}
				args := splitShell(part)
				fresh := newRootCmd()
				cmd, rest, err := fresh.Find(args[1:])
				if err != nil {
					t.Errorf("%s example %q: %v", c.CommandPath(), part, err)
					continue
				}
				if err := cmd.ParseFlags(rest); err != nil {
					t.Errorf("%s example %q: %v", c.CommandPath(), part, err)
					continue
				}
				if cmd.Args != nil {
					if err := cmd.Args(cmd, cmd.Flags().Args()); err != nil {
						t.Errorf("%s example %q: %v", c.CommandPath(), part, err)
					}
				}
			}
		}
	}
}

// outputFlags are every command's flags naming a file or directory it
// writes: the table in docs/cli.md. Each is -o/--output; a second output
// of the same command (best --tree) has its own name.
func outputFlags(root *cobra.Command) map[string][]string {
	out := map[string][]string{}
	for _, c := range allCommands(root) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			if f.Name == "output" || f.Name == "tree" && c.Name() == "best" || f.Name == "cpuprofile" {
				out[c.CommandPath()] = append(out[c.CommandPath()], f.Name)
			}
		})
	}
	return out
}

// TestOneOutputFlag: a command writes where -o/--output says; the old
// spellings are hidden aliases of the same value.
func TestOneOutputFlag(t *testing.T) {
	root := newRootCmd()
	for _, c := range allCommands(root) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			switch f.Name {
			case "out", "export":
				if !f.Hidden {
					t.Errorf("%s shows --%s: the output flag is -o/--output (the old spelling stays hidden)", c.CommandPath(), f.Name)
				}
			case "output":
				if f.Shorthand != "o" {
					t.Errorf("%s --output has no -o", c.CommandPath())
				}
			case "seed", "seed-base":
				if f.Value.Type() != "uint64" {
					t.Errorf("%s --%s is %s: seeds are uint64 everywhere (evolve.seed)", c.CommandPath(), f.Name, f.Value.Type())
				}
			}
		})
	}
	for _, tc := range []struct{ args []string }{
		{[]string{"bench", "compare", "--out", "X"}},
		{[]string{"bench", "nasbench201", "--out", "X"}},
		{[]string{"best", "RUN", "--export", "X"}},
	} {
		cmd, rest, err := newRootCmd().Find(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got := cmd.Flags().Lookup("output").Value.String(); got != "X" {
			t.Errorf("%v: --output = %q, want the alias's X", tc.args, got)
		}
	}
	if got := outputFlags(root); len(got) < 8 {
		t.Errorf("only %d commands write a file: %v", len(got), got)
	}
}

// TestUnknownSubcommandSuggests: a misspelt subcommand of any group gets
// "did you mean".
func TestUnknownSubcommandSuggests(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"evolv"}, "evolve"},
		{[]string{"tree", "sed"}, "did you mean seed"},
		{[]string{"bench", "compar"}, "did you mean compare"},
		{[]string{"catalog", "lst"}, "did you mean list"},
		{[]string{"config", "chek"}, "did you mean check"},
		{[]string{"llm", "tri"}, "did you mean try"},
	} {
		_, errOut, code := runUX(t, tc.args...)
		if code != 2 && tc.args[0] != "evolv" || !strings.Contains(errOut, tc.want) {
			t.Errorf("arbor %v: exit %d, stderr %q; want %q", tc.args, code, errOut, tc.want)
		}
	}
}

// splitShell splits a command line at spaces outside single or double quotes.
func splitShell(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}
