package suites

import (
	"context"
	"flag"
	"os"
	"testing"

	"github.com/onsi/ginkgo/v2"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/reports"
)

// targetFlag names a target profile; empty runs against the bundled mock.
// GRANTBENCH_TARGET does the same for `ginkgo ./suites`.
var targetFlag = flag.String("target", "", "target profile (YAML); default: the bundled mock provider, in-process")

// TestSuites runs every check with Ginkgo's own flags (--label-filter,
// --junit-report, ...) against the target, or the bundled mock.
func TestSuites(t *testing.T) {
	path := *targetFlag
	if path == "" {
		path = os.Getenv("GRANTBENCH_TARGET")
	}
	var target *flows.Target
	if mode := os.Getenv(selftestModeEnv); mode != "" {
		target = startWrongProvider(t, mode)
	} else if path != "" {
		var err error
		if target, err = flows.LoadTarget(path); err != nil {
			t.Fatal(err)
		}
	}
	suiteConfig, reporterConfig := ginkgo.GinkgoConfiguration()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// GRANTBENCH_OUT keeps junit.xml, results.json and screenshots of the run.
	_, err := run(ctx, Options{Target: target, OutDir: os.Getenv("GRANTBENCH_OUT"), WriteResults: reports.WriteGinkgoResults}, t, suiteConfig, reporterConfig)
	if err != nil {
		t.Fatal(err)
	}
}
