package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grantbench/grantbench/loadresult"
)

// TestDemoWritesEveryOutput runs the main job end to end (in a child process:
// Ginkgo runs once per process) with a one-second load run, and checks what it
// leaves in the output folder and prints.
// The demo runs `grantbench rp` and the example app as this binary; in tests
// that is the test binary, re-executed into run() as runChild does.
func init() {
	selfCommand = func(args ...string) ([]string, []string, error) {
		encoded, err := json.Marshal(args)
		if err != nil {
			return nil, nil, err
		}
		return []string{os.Args[0], "-test.run=^TestConformChild$", "-test.count=1"},
			[]string{conformChildEnv + "=" + string(encoded)}, nil
	}
}

func TestDemoWritesEveryOutput(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	// Only the error-rate threshold: a test asserts behaviour, not speed.
	code, output := runChild(t, nil, "demo", "--out", out, "--load-duration", "1s", "--no-color", "--threshold", "error_rate<1%")
	if code != exitOK {
		t.Fatalf("demo exit %d, want 0\n%s", code, output)
	}
	for _, name := range []string{"junit.xml", "results.json", "load.json", "report.html", "summary.md"} {
		fi, err := os.Stat(filepath.Join(out, name))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", name, err)
		}
	}
	if !strings.Contains(output, "report: "+filepath.Join(out, "report.html")) || !strings.Contains(output, "conformance ") {
		t.Errorf("demo did not print its summary and the report's path:\n%s", output)
	}

	res, err := loadresult.ReadResult(filepath.Join(out, "load.json"))
	if err != nil {
		t.Fatal(err)
	}
	flowsRun := map[string]int64{}
	for _, sc := range res.Scenarios {
		flowsRun[sc.Flow] += sc.Flows[loadresult.OutcomeOK]
	}
	for _, flow := range []string{"client_credentials", "authorization_code", "refresh"} {
		if flowsRun[flow] == 0 {
			t.Errorf("load run: no successful %s flow (%v)", flow, flowsRun)
		}
	}

	var reps []struct {
		SpecReports []struct {
			State string
		}
	}
	raw, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &reps); err != nil || len(reps) != 1 {
		t.Fatalf("results.json: %v (%d reports)", err, len(reps))
	}
	passed := 0
	for _, s := range reps[0].SpecReports {
		if s.State == "passed" {
			passed++
		}
	}
	if passed < 60 {
		t.Errorf("conformance: %d checks passed, want the whole catalogue against the clean mock", passed)
	}

	// The client-application checks ran against the bundled Go app: every P
	// check passed (or was skipped with its reason), and the combined junit
	// carries them beside the provider checks.
	rpFailed, rpSkipped, rpPassed := rpVerdicts(t, filepath.Join(out, "rp"))
	if len(rpFailed) != 0 || rpPassed+len(rpSkipped) != 20 || rpPassed < 15 {
		t.Errorf("rp against the Go example app: failed %v, skipped %v, %d passed; want all 20 passed or skipped", rpFailed, rpSkipped, rpPassed)
	}
	junit, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{`"AC1`, `"P0`, `"P19`} {
		if !strings.Contains(string(junit), id) {
			t.Errorf("junit.xml has no test case starting %s", id)
		}
	}

	// The demo's secrets never reach its outputs in full.
	for _, name := range []string{"junit.xml", "results.json", "report.html", "summary.md"} {
		raw, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"demo-secret", "legacy-secret", "wonderland", demoAppSecret} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("%s contains the secret %q", name, secret)
			}
		}
	}
}
