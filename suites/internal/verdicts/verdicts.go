// Package verdicts compares what a suites run said about each check against a
// real provider with the verdicts pinned for that provider, so that a change in
// the suites or in the pinned provider shows up as a named check. It serves the
// tests of suites/zitadel and suites/oidcprovider.
package verdicts

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

// checkID is the ID a spec's text starts with ("AC2: a reused code ...").
var checkID = regexp.MustCompile(`^([A-Z]+[0-9]+):`)

// Verdict is what the run said about one check.
type Verdict struct {
	State   types.SpecState
	Message string
}

// Compare reports, as test errors, every check whose verdict in report differs
// from expected, every check that ran without a pinned verdict, and every
// pinned check no spec ran for. It logs the counts when the test failed or runs
// verbose; provider names the provider in that line.
func Compare(t testing.TB, provider string, report types.Report, expected map[string]types.SpecState) map[string]Verdict {
	t.Helper()
	got := map[string]Verdict{}
	for _, spec := range report.SpecReports {
		if spec.LeafNodeType != types.NodeTypeIt {
			continue
		}
		m := checkID.FindStringSubmatch(spec.LeafNodeText)
		if m == nil {
			t.Errorf("spec %q does not start with a check ID", spec.LeafNodeText)
			continue
		}
		if _, dup := got[m[1]]; dup {
			t.Errorf("check %s has more than one spec", m[1])
		}
		got[m[1]] = Verdict{State: spec.State, Message: firstLine(spec.Failure.Message)}
	}

	ids := make([]string, 0, len(expected)+len(got))
	for id := range expected {
		ids = append(ids, id)
	}
	for id := range got {
		if _, known := expected[id]; !known {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		want, known := expected[id]
		v, ran := got[id]
		switch {
		case !known:
			t.Errorf("%s: %s, but the table has no verdict for it (add it, and to docs/real-providers.md); %s", id, v.State, v.Message)
		case !ran:
			t.Errorf("%s: want %s, but no spec ran for it", id, want)
		case v.State != want:
			t.Errorf("%s: got %s, want %s; %s", id, v.State, want, v.Message)
		}
	}
	if t.Failed() || testing.Verbose() {
		counts := map[types.SpecState]int{}
		for _, v := range got {
			counts[v.State]++
		}
		t.Logf("%s: %d passed, %d failed, %d skipped of %d checks", provider,
			counts[types.SpecStatePassed], counts[types.SpecStateFailed], counts[types.SpecStateSkipped], len(got))
	}
	return got
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
