package matrix

import (
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/reports"
	"github.com/grantbench/grantbench/suites"
)

// TestObserveCountsOnlyAssertionsAsFailed feeds observe a report with a spec
// in every state: only a failure with a message is a failed check; a panic, a
// timeout, an interruption, an abort, a failure without a message, a browser
// that did not start and a failed suite node make the run broken.
func TestObserveCountsOnlyAssertionsAsFailed(t *testing.T) {
	it := func(text string, state types.SpecState, msg string) types.SpecReport {
		return types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: text, State: state, Failure: types.Failure{Message: msg}}
	}
	warned := it("AC2: reuse", types.SpecStatePassed, "")
	warned.ReportEntries = types.ReportEntries{{Name: reports.EntryWarning}}
	rep := types.Report{SpecReports: []types.SpecReport{
		it("AC1: flow", types.SpecStatePassed, ""),
		warned,
		it("AC3: race", types.SpecStateFailed, "Expected\n    <int>: 2\nto be <= 1"),
		it("AC4: expiry", types.SpecStateSkipped, "the profile states no lifetime"),
		it("B1: open", types.SpecStatePanicked, "runtime error: index out of range"),
		it("B2: prefix", types.SpecStateTimedout, "A suite timeout occurred"),
		it("B3: default", types.SpecStateInterrupted, "interrupted by user"),
		it("B4: errors", types.SpecStateAborted, "aborted"),
		it("B5: framing", types.SpecStateFailed, ""),
		it("D1: device", types.SpecStateFailed, suites.BrowserDidNotStart+"\nUnexpected error: no chrome"),
		{LeafNodeType: types.NodeTypeBeforeSuite, State: types.SpecStateFailed, Failure: types.Failure{Message: "setup"}},
		it("no ID here", types.SpecStatePassed, ""),
	}}
	obs := observe(rep)
	for _, c := range []struct {
		name      string
		got, want []string
	}{
		{"passed", obs.passed, []string{"AC1"}},
		{"warned", obs.warned, []string{"AC2"}},
		{"failed", obs.failed, []string{"AC3"}},
		{"skipped", obs.skipped, []string{"AC4"}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	broken := strings.Join(obs.broken, "\n")
	for _, want := range []string{"B1 panicked", "B2 timedout", "B3 interrupted", "B4 aborted", "B5 failed without a message",
		"D1 failed because its browser did not start", "BeforeSuite failed", `"no ID here" does not start with a check ID`} {
		if !strings.Contains(broken, want) {
			t.Errorf("broken reasons lack %q:\n%s", want, broken)
		}
	}
	if len(obs.broken) != 8 {
		t.Errorf("%d broken reasons, want 8:\n%s", len(obs.broken), broken)
	}
}

// TestSetDiffNamesEveryMovedCheck is the matrix's comparison: a check failing
// that the defect's Breaks does not list ("also failed") and a listed one that
// passed are both reported.
func TestSetDiffNamesEveryMovedCheck(t *testing.T) {
	missing, extra := setDiff([]string{"AC10", "AC1", "B8"}, []string{"B8", "AC2", "AC1"})
	if !slices.Equal(missing, []string{"AC2"}) || !slices.Equal(extra, []string{"AC10"}) {
		t.Errorf("missing %v, extra %v; want [AC2] and [AC10]", missing, extra)
	}
	if missing, extra := setDiff(nil, nil); missing != nil || extra != nil {
		t.Errorf("empty sets: missing %v, extra %v", missing, extra)
	}
}
