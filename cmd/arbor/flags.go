package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// outputFlag registers -o/--output, the one spelling of "where to write"
// across commands. Older spellings (bench's --out, best's --export) stay
// as hidden aliases of the same value, so existing scripts keep working.
func outputFlag(fl *pflag.FlagSet, p *string, value, usage string, aliases ...string) {
	fl.StringVarP(p, "output", "o", value, usage)
	for _, a := range aliases {
		fl.StringVar(p, a, value, usage+" (old spelling of --output)")
		_ = fl.MarkHidden(a) // the flag was just defined
	}
}

// seedFlag registers a random seed: one type (uint64, as evolve.seed in the
// configuration) for every command that takes one.
func seedFlag(fl *pflag.FlagSet, p *uint64, name string, value uint64, usage string) {
	fl.Uint64Var(p, name, value, usage)
}

// groupArgs is the Args of a command that only groups subcommands: an
// unknown subcommand is a usage error with cobra's "did you mean".
func groupArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown %s subcommand %q", cmd.CommandPath(), args[0])
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default for the root
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usagef("%s (subcommands: %s)", msg, strings.Join(subcommands(cmd), ", "))
}

// groupRun is the RunE of a command that only groups subcommands.
func groupRun(cmd *cobra.Command, args []string) error {
	return usagef("%s needs a subcommand: %s (see %s --help)", cmd.CommandPath(), strings.Join(subcommands(cmd), ", "), cmd.CommandPath())
}

func subcommands(cmd *cobra.Command) []string {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return names
}
