package run

import "errors"

// ErrInput marks errors caused by the caller's input: the configuration,
// the files it names, a run directory that is not one. A command line
// exits with a usage status on them; everything else is a runtime failure.
var ErrInput = errors.New("bad input")

// inputError keeps the message of the error it wraps and matches ErrInput.
type inputError struct{ err error }

func (e inputError) Error() string        { return e.err.Error() }
func (e inputError) Unwrap() error        { return e.err }
func (e inputError) Is(target error) bool { return target == ErrInput }

// Input marks err as bad input (nil stays nil). The packages built on run
// (bench, report) use it for the same kind of mistake.
func Input(err error) error {
	if err == nil {
		return nil
	}
	return inputError{err}
}
