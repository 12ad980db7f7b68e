package matrix

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/grantbench/grantbench/catalog"
	"github.com/grantbench/grantbench/mockprovider"
)

// TestChecksDocUpToDate fails when docs/checks.md is not what the generator
// makes of the catalogue, the defects and the committed matrix result.
func TestChecksDocUpToDate(t *testing.T) {
	result, err := LoadResult(resultPath)
	if err != nil {
		t.Fatal(err)
	}
	want := Render(catalog.All(), mockprovider.Defects(), result)
	got, err := os.ReadFile("../../docs/checks.md")
	if err != nil {
		t.Fatalf("%v (run `go generate ./suites/matrix`)", err)
	}
	if !bytes.Equal(got, want) {
		t.Error("docs/checks.md is stale: run `go generate ./suites/matrix`")
	}
}

// TestResultMatchesDefects fails when the committed matrix result and the
// mock's defect catalogue disagree: a defect the result lacks or has extra,
// one not caught, or Breaks and Warns sets that are not what the matrix
// measured (edited in defects.go without rerunning the matrix, or the other
// way round). It runs without the matrix, so `go test -short` sees it too.
func TestResultMatchesDefects(t *testing.T) {
	result, err := LoadResult(resultPath)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]DefectRun{}
	for _, d := range result.Defects {
		runs[d.Name] = d
	}
	rerun := "rerun the matrix: " + updateEnv + "=1 go test -run TestMutationMatrix ./suites/matrix"
	defects := mockprovider.Defects()
	for _, d := range defects {
		run, ok := runs[d.Name]
		switch {
		case !ok:
			t.Errorf("defect %s is not in %s (%s)", d.Name, resultPath, rerun)
			continue
		case !run.Caught:
			t.Errorf("defect %s: not caught (checks %v, failed %v)", d.Name, run.Checks, run.Failed)
		}
		if !slices.Equal(sortedIDs(d.Breaks), run.Failed) {
			t.Errorf("defect %s: Breaks %v in defects.go, but the matrix measured %v (%s)", d.Name, d.Breaks, run.Failed, rerun)
		}
		if !slices.Equal(sortedIDs(d.Warns), run.Warned) {
			t.Errorf("defect %s: Warns %v in defects.go, but the matrix measured %v (%s)", d.Name, d.Warns, run.Warned, rerun)
		}
		if !slices.Equal(sortedIDs(d.Checks), run.Checks) {
			t.Errorf("defect %s: Checks %v in defects.go, %v in %s (%s)", d.Name, d.Checks, run.Checks, resultPath, rerun)
		}
	}
	if len(result.Defects) != len(defects) {
		t.Errorf("%s has %d defects, the mock %d (%s)", resultPath, len(result.Defects), len(defects), rerun)
	}
	for name, checks := range DefectChecks(catalog.All()) {
		if _, ok := runs[name]; !ok {
			t.Errorf("defect %s (checks %v), named in CHECKS.md, is not in %s", name, checks, resultPath)
		}
	}
	settings := map[string]bool{}
	for _, s := range result.Settings {
		settings[s.Name] = true
		if len(s.Failed) > 0 {
			t.Errorf("mock setting %s: %v failed", s.Name, s.Failed)
		}
	}
	for _, s := range fairSettings() {
		if !settings[s.Name] {
			t.Errorf("mock setting %s is not in %s (%s)", s.Name, resultPath, rerun)
		}
	}
}

// TestDefectCatalogueAgrees checks, without running the matrix, that the
// mock's defects and CHECKS.md agree and each Breaks holds its Checks.
func TestDefectCatalogueAgrees(t *testing.T) {
	checkCatalogueAgrees(t, DefectChecks(catalog.All()), mockprovider.Defects())
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
// defect says yes, one that failed another check besides is listed under it
// as also failing, one that did not fail its check says no, one the result
// lacks says not run, and a positive check that passed clean says so; the
// defects table shows each exact set and the description.
func TestRenderMarksEachDefect(t *testing.T) {
	checks := []catalog.Check{
		{ID: "AC2", Area: "authcode", Expect: "refused", SourceText: "RFC 6749 4.1.2", Defects: []string{"code_reuse"}},
		{ID: "AC3", Area: "authcode", Expect: "at most one", SourceText: "OAuch", Defects: []string{"code_race", "code_never_run"}},
		{ID: "AC4", Area: "authcode", Expect: "expired", SourceText: "RFC 6749 4.1.2", Defects: []string{"code_never_expires"}},
		{ID: "D1", Area: "device", Expect: "tokens | more", SourceText: "RFC 8628 3"},
	}
	defects := []mockprovider.DefectInfo{
		{Name: "code_race", Does: "parallel redemptions all win"},
		{Name: "code_reuse", Does: "codes | redeemed again"},
		{Name: "code_never_expires", Does: "codes never expire", ProviderOnly: true},
	}
	result := Result{
		Clean: CleanRun{Passed: []string{"D1", "AC4", "AC3", "AC2"}},
		Defects: []DefectRun{
			{Name: "code_race", Checks: []string{"AC3"}, Failed: []string{"AC3", "AC2"}, Warned: []string{"D1"}},
			{Name: "code_reuse", Checks: []string{"AC2"}, Failed: []string{"AC2"}},
			{Name: "code_never_expires", Checks: []string{"AC4"}, Failed: []string{"AC2"}, Skipped: []string{"D1"}},
		},
		Settings: []SettingRun{{Name: "opaque", Args: []string{"--mock-setting", "opaque_access_tokens"}, Passed: []string{"AC2", "AC3"}, Skipped: []string{"D1"}}},
	}
	result.Finish()
	if !result.Defects[1].Caught || !result.Defects[2].Caught || result.Defects[0].Caught {
		t.Fatalf("Finish: caught = %v, %v, %v; want code_never_expires false (AC4 did not fail), the others true",
			result.Defects[0].Caught, result.Defects[1].Caught, result.Defects[2].Caught)
	}
	page := string(Render(checks, defects, result))
	for _, want := range []string{
		"| AC2 | refused | RFC 6749 4.1.2 | `code_reuse` | `code_reuse` yes | `code_never_expires`, `code_race` |",
		"| AC3 | at most one | OAuch | `code_race`, `code_never_run` | `code_race` yes, `code_never_run` **not run** | — |",
		"| AC4 | expired | RFC 6749 4.1.2 | `code_never_expires` | `code_never_expires` **no** | — |",
		`| D1 | tokens \| more | RFC 8628 3 | — | no defect, passes clean | (warns: ` + "`code_race`) |",
		"4 checks; 3 with a defect mode, 1 of them proven able to fail (every defect caught); 2 of 4 check-defect pairs caught",
		"| `code_race` | parallel redemptions all win | AC3 | AC2, AC3 | D1 | — |",
		"| `code_reuse` | codes \\| redeemed again | AC2 | AC2 | — | — |",
		"| `code_never_expires` | codes never expire (whole provider only) | AC4 | AC2 | — | D1 |",
		"| opaque | `--mock-setting opaque_access_tokens` | 2 | — | D1 |",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
}
