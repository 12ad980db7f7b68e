package verdicts

import (
	"fmt"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

// recorder keeps what Compare reports instead of failing the test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper()             {}
func (r *recorder) Failed() bool        { return len(r.errors) > 0 }
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Errorf(format string, a ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, a...))
}

func spec(text string, state types.SpecState) types.SpecReport {
	return types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: text, State: state,
		Failure: types.Failure{Message: "first line\nsecond"}}
}

func TestCompareNamesEveryDifference(t *testing.T) {
	report := types.Report{SpecReports: types.SpecReports{
		spec("AC1: normal flow", types.SpecStatePassed),
		spec("AC2: reused code", types.SpecStateFailed),
		spec("X9: new check", types.SpecStatePassed),
		spec("no id here", types.SpecStatePassed),
	}}
	expected := map[string]types.SpecState{
		"AC1": types.SpecStatePassed,
		"AC2": types.SpecStatePassed,
		"AC3": types.SpecStateSkipped,
	}
	r := &recorder{TB: t}
	got := Compare(r, "test provider", report, expected)
	joined := strings.Join(r.errors, "\n")
	for _, want := range []string{
		`spec "no id here" does not start with a check ID`,
		"AC2: got failed, want passed; first line",
		"AC3: want skipped, but no spec ran for it",
		"X9: passed, but the table has no verdict for it",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("missing %q in:\n%s", want, joined)
		}
	}
	if len(r.errors) != 4 {
		t.Errorf("%d errors, want 4:\n%s", len(r.errors), joined)
	}
	if got["AC1"].State != types.SpecStatePassed || got["AC2"].Message != "first line" {
		t.Errorf("verdicts %+v", got)
	}
}

func TestCompareAgreeingRunReportsNothing(t *testing.T) {
	report := types.Report{SpecReports: types.SpecReports{spec("AC1: normal flow", types.SpecStatePassed)}}
	r := &recorder{TB: t}
	Compare(r, "test provider", report, map[string]types.SpecState{"AC1": types.SpecStatePassed})
	if len(r.errors) != 0 {
		t.Errorf("errors for an agreeing run: %v", r.errors)
	}
}
