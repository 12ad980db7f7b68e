package suites

import (
	"context"
	"flag"
	"os"
	"strings"
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
	opts := Options{Target: target, OutDir: os.Getenv("GRANTBENCH_OUT"), WriteResults: reports.WriteGinkgoResults}
	// GRANTBENCH_MOCK_SETTINGS (comma-separated) applies settings of the
	// bundled mock, as conform --mock-setting does.
	if s := os.Getenv(mockSettingsEnv); s != "" && target == nil {
		opts.MockSettings = strings.Split(s, ",")
	}
	_, err := run(ctx, opts, t, suiteConfig, reporterConfig)
	if err != nil {
		t.Fatal(err)
	}
}
