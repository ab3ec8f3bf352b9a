// Command arbor is the CLI of the arbor neural architecture search engine.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/arbor-nas/arbor/evolve/run"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "arbor:", err)
		os.Exit(exitCode(err))
	}
}

// usageError marks errors caused by bad input (flags, files, config) so the
// process exits with 2, distinct from runtime failures (1).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// asUsage wraps err so the CLI exits with status 2.
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// exitCode is 2 for bad input (a usage error here, or the library's
// run.ErrInput), 1 for everything else.
func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) || errors.Is(err, run.ErrInput) {
		return 2
	}
	return 1
}
