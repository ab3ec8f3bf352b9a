package main

import (
	"os"
	"testing"
)

// reexecEnv makes the test binary behave as the arbor binary, so tests can
// run real arbor processes (and kill -9 them) without building one.
const reexecEnv = "ARBOR_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(reexecEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
