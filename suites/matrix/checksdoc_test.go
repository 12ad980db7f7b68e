package matrix

import (
	"bytes"
	"os"
	"testing"

	"github.com/grantbench/grantbench/catalog"
)

// TestChecksDocUpToDate fails when docs/checks.md is not what the generator
// makes of the catalogue and the committed matrix result.
func TestChecksDocUpToDate(t *testing.T) {
	result, err := LoadResult(resultPath)
	if err != nil {
		t.Fatal(err)
	}
	want := Render(catalog.All(), result)
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
	for name, checks := range DefectChecks(catalog.All()) {
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

// TestRenderMarksEachDefect builds a page from a made-up result: a caught
// defect says yes, one whose run failed another check too says no, one the
// result lacks says not run, and a positive check that passed clean says so.
func TestRenderMarksEachDefect(t *testing.T) {
	catalog := []catalog.Check{
		{ID: "AC2", Area: "authcode", Expect: "refused", SourceText: "RFC 6749 4.1.2", Defects: []string{"code_reuse"}},
		{ID: "AC3", Area: "authcode", Expect: "at most one", SourceText: "OAuch", Defects: []string{"code_race", "code_never_run"}},
		{ID: "D1", Area: "device", Expect: "tokens | more", SourceText: "RFC 8628 3"},
	}
	result := Result{
		Clean: CleanRun{Passed: []string{"D1", "AC3", "AC2"}},
		Defects: []DefectRun{
			{Name: "code_race", Checks: []string{"AC3"}, Failed: []string{"AC3", "AC2"}},
			{Name: "code_reuse", Checks: []string{"AC2"}, Failed: []string{"AC2"}},
		},
	}
	result.Finish()
	if !result.Defects[1].Caught || result.Defects[0].Caught {
		t.Fatalf("Finish: caught = %v, %v; want code_race false (AC2 failed too), code_reuse true", result.Defects[0].Caught, result.Defects[1].Caught)
	}
	page := string(Render(catalog, result))
	for _, want := range []string{
		"| AC2 | refused | RFC 6749 4.1.2 | `code_reuse` | `code_reuse` yes |",
		"| AC3 | at most one | OAuch | `code_race`, `code_never_run` | `code_race` **no**, `code_never_run` **not run** |",
		`| D1 | tokens \| more | RFC 8628 3 | — | no defect, passes clean |`,
		"3 checks; 2 with a defect mode, 1 of them proven able to fail",
	} {
		if !bytes.Contains([]byte(page), []byte(want)) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
}
