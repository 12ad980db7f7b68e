package matrix

import (
	"os"
	"testing"

	"github.com/grantbench/grantbench/internal/testparallel"
)

// TestMain lets four of the matrix's parallel subtests run at once (the
// default is GOMAXPROCS, two here), so they reach every job slot the matrix
// has: each subtest mostly waits on a conform child process and the shared
// browser.
func TestMain(m *testing.M) {
	if err := testparallel.Default(4); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}
