package reports

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/redact"
)

// warningReport is a run with one check passed with a warning, one passed
// and one failed, read back through JSON as `grantbench report` would.
func warningReport(t *testing.T) []types.Report {
	t.Helper()
	rep := types.Report{SuiteDescription: "grantbench rp: demo", SuiteSucceeded: false, SpecReports: types.SpecReports{
		{LeafNodeText: "P3: an ID token with an invalid signature is refused", LeafNodeType: types.NodeTypeIt, LeafNodeLabels: []string{"P3", "rp"},
			State: types.SpecStatePassed, ReportEntries: types.ReportEntries{{Name: EntryWarning, Value: types.WrapEntryValue("the app accepted a bad signature")}}},
		{LeafNodeText: "P1: an ID token whose iss is another issuer is refused", LeafNodeType: types.NodeTypeIt, LeafNodeLabels: []string{"P1", "rp"}, State: types.SpecStatePassed},
		{LeafNodeText: "P4: an unsigned ID token (alg none) is refused", LeafNodeType: types.NodeTypeIt, LeafNodeLabels: []string{"P4", "rp"},
			State: types.SpecStateFailed, Failure: types.Failure{Message: "logged in"}},
	}}
	data, err := json.Marshal([]types.Report{rep})
	if err != nil {
		t.Fatal(err)
	}
	reps, err := ReadGinkgoReports(data)
	if err != nil {
		t.Fatal(err)
	}
	return reps
}

func TestWarningVerdictInEveryOutput(t *testing.T) {
	c := NewConformance(warningReport(t), redact.New(), "")
	verdicts := map[string]Verdict{}
	for _, cr := range c.Checks {
		verdicts[cr.ID] = cr.Verdict
	}
	if verdicts["P3"] != VerdictWarning || verdicts["P1"] != VerdictPassed || verdicts["P4"] != VerdictFailed {
		t.Fatalf("verdicts %v", verdicts)
	}
	if passed, failed, _ := c.Totals(); passed != 2 || failed != 1 || len(c.Warnings()) != 1 {
		t.Fatalf("totals %d passed %d failed, %d warnings", passed, failed, len(c.Warnings()))
	}

	var junit bytes.Buffer
	if err := WriteJUnit(&junit, c); err != nil {
		t.Fatal(err)
	}
	j := junit.String()
	p3 := j[strings.Index(j, "P3: "):]
	p3 = p3[:strings.Index(p3, "</testcase>")]
	if !strings.Contains(p3, `name="verdict" value="warning"`) || !strings.Contains(p3, "WARNING: the app accepted a bad signature") || strings.Contains(p3, "<failure") {
		t.Fatalf("P3's test case is not a passing case with the warning:\n%s", p3)
	}
	if !strings.Contains(j, `failures="1"`) {
		t.Fatalf("the warning must not count as a failure:\n%s", j)
	}

	var md bytes.Buffer
	if err := WriteMarkdown(&md, Input{Conformance: c}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "### Warnings") || !strings.Contains(md.String(), "the app accepted a bad signature") {
		t.Fatalf("summary lacks the warning:\n%s", md.String())
	}
	var html bytes.Buffer
	if err := WriteHTML(&html, Input{Conformance: c}, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), `data-verdict="warning"`) || !strings.Contains(html.String(), "warning: the app accepted a bad signature") {
		t.Fatal("report.html lacks the warning")
	}
}
