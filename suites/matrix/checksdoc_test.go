package matrix

import (
	"bytes"
	"os"
	"testing"

	"github.com/grantbench/grantbench/reports"
)

// TestChecksDocUpToDate fails when docs/checks.md is not what the generator
// makes of the catalogue and the committed matrix result.
func TestChecksDocUpToDate(t *testing.T) {
	result, err := LoadResult(resultPath)
	if err != nil {
		t.Fatal(err)
	}
	want := Render(reports.Catalog(), result)
	got, err := os.ReadFile("../../docs/checks.md")
	if err != nil {
		t.Fatalf("%v (run `go generate ./suites/matrix`)", err)
	}
	if !bytes.Equal(got, want) {
		t.Error("docs/checks.md is stale: run `go generate ./suites/matrix`")
	}
}

// TestResultCoversCatalogue fails when the committed matrix result misses a
// defect of the catalogue, or says one was not caught.
func TestResultCoversCatalogue(t *testing.T) {
	result, err := LoadResult(resultPath)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]DefectRun{}
	for _, d := range result.Defects {
		runs[d.Name] = d
	}
	for name, checks := range DefectChecks(reports.Catalog()) {
		run, ok := runs[name]
		switch {
		case !ok:
			t.Errorf("defect %s (checks %v) is not in %s", name, checks, resultPath)
		case !run.Caught:
			t.Errorf("defect %s: not caught (checks %v, failed %v)", name, run.Checks, run.Failed)
		}
	}
}

func TestCompareIDs(t *testing.T) {
	ids := sortedIDs([]string{"AC10", "B2", "AC2", "AC1", "T7", "B10"})
	want := []string{"AC1", "AC2", "AC10", "B2", "B10", "T7"}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("sorted %v, want %v", ids, want)
		}
	}
}
