package suites

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// mockSettingsEnv carries mock settings to the child TestSuites run.
const mockSettingsEnv = "GRANTBENCH_MOCK_SETTINGS"

// fairSettings are settings of the bundled mock that behave as some real
// provider does, each with the checks it was unfair to before (issue 12):
// those checks must pass with it on. The whole catalogue passing with each
// is the matrix's to show; this runs the checks concerned, in a child
// process each (Ginkgo runs once per process).
var fairSettings = map[string]string{
	"defer_authorization_errors":   "AC10 || AC11 || AC13",
	"login_app":                    "B5 || B7",
	"error_pages_500":              "B1 || B2 || B3 || B4",
	"offline_access_needs_consent": "R1 || R2 || R6 || E2",
	"clock_skew":                   "E1 || I1",
	"unadvertised_endpoints":       "I1 || I2 || V2",
	"custom_pages":                 "AC2 || AC12 || B7",
	"device_denied_page":           "D4",
	// The one browser run: AC15 in a fresh session.
	"remember_consent": "AC15",
}

func TestFairSettingsPassTheirChecks(t *testing.T) {
	if os.Getenv(selftestModeEnv) != "" || os.Getenv(mockSettingsEnv) != "" {
		t.Skip("running as the child of a test")
	}
	if testing.Short() {
		t.Skip("runs the suites in child processes")
	}
	for setting, filter := range fairSettings {
		t.Run(setting, func(t *testing.T) {
			report := filepath.Join(t.TempDir(), "report.json")
			ctx, cancel := context.WithTimeout(context.Background(), ciTimeout(t))
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSuites$", "-test.count=1",
				"-ginkgo.json-report="+report, "-ginkgo.no-color", "-ginkgo.label-filter="+filter)
			cmd.Env = append(os.Environ(), mockSettingsEnv+"="+setting)
			out, err := cmd.CombinedOutput()
			failed, passed := specOutcomes(t, report)
			if err != nil || len(failed) > 0 {
				t.Fatalf("with %s, checks %s: failed %v (err %v)\n%s", setting, filter, failed, err, tail(out))
			}
			if len(passed) == 0 {
				t.Fatalf("with %s, none of %s passed (all skipped?)\n%s", setting, filter, tail(out))
			}
		})
	}
}
