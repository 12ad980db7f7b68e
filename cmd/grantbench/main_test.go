package main

import (
	"os"
	"testing"

	"github.com/grantbench/grantbench/internal/testparallel"
)

// TestMain lets four of the parallel tests run at once (the default is
// GOMAXPROCS, two here): they mostly wait on a child process (a whole
// catalogue, an rp run or the demo, each waiting on its browser, its example
// app or a deadline the checks set), so several at once finish in about the
// time of the longest. A child process (the test binary re-executed to run
// one command) keeps the default: Ginkgo, which conform, rp and demo run,
// refuses to start when -test.parallel has been set.
func TestMain(m *testing.M) {
	if os.Getenv(conformChildEnv) == "" {
		if err := testparallel.Default(4); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
