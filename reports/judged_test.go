package reports

import (
	"bytes"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/redact"
	sample "github.com/grantbench/grantbench/reports/reportstest"
	"github.com/grantbench/grantbench/trace"
)

// unsignedToken is a JWT with alg none, as the mock's alg_none defect issues.
func unsignedToken() string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc([]byte(`{"iss":"http://127.0.0.1:9000","sub":"alice","nonce":"n-0fa3","email":"alice@example.com"}`)) + "."
}

// defectRun is a conformance run against the mock with alg_none on: T1 to
// T3 fail on the same error, T1 with the token as evidence.
func defectRun(t *testing.T, defects ...string) Input {
	t.Helper()
	if len(defects) == 0 {
		defects = []string{"alg_none"}
	}
	start := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
	failed := func(id, message string, entries ...types.ReportEntry) types.SpecReport {
		return types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: id + ": a check", LeafNodeLabels: []string{id, "token"},
			State: types.SpecStateFailed, NumAttempts: 1, StartTime: start, EndTime: start,
			Failure: types.Failure{Message: message, Location: types.CodeLocation{FileName: "/src/suites/token.go", LineNumber: 34}}, ReportEntries: entries}
	}
	token := unsignedToken()
	exchange := trace.Exchange{Step: "token", Method: "POST", URL: "http://127.0.0.1:9000/token", RequestBody: "grant_type=authorization_code&code=" + sample.Code,
		Status: 200, ResponseBody: `{"access_token":"` + token + `","id_token":"` + token + `","token_type":"Bearer"}`}
	cause := `jwt: header: unexpected signature algorithm "none"; expected ["RS256"]`
	rep := types.Report{SuiteDescription: "grantbench conformance: mock", SuiteSucceeded: false, StartTime: start,
		SuiteConfig: types.SuiteConfig{LabelFilter: "token"},
		SpecReports: types.SpecReports{
			failed("T1", "ID token signature: "+cause, types.ReportEntry{Name: EntryExchange, Value: types.WrapEntryValue(exchange)}),
			failed("T2", "ID token signature: "+cause),
			failed("T5", "JWT access token signature: "+cause),
			failed("C5", "Expected\n    <int>: 500\nto equal\n    <int>: 200"),
		}}
	dir := t.TempDir()
	info := &RunInfo{Command: "conform", Version: "v1.2.3", Profile: "mock", Issuer: "http://127.0.0.1:9000", Defects: defects, LabelFilter: "token"}
	if err := WriteGinkgoResultsWith(dir, []types.Report{rep}, redact.New(), info); err != nil {
		t.Fatal(err)
	}
	in, err := ReadFiles(nil, filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestReportsNameWhatWasJudged: issue 14 asks every report for the target,
// the grantbench version, the defects on, the label filter and the date.
func TestReportsNameWhatWasJudged(t *testing.T) {
	in := defectRun(t)
	var page, md bytes.Buffer
	if err := WriteHTML(&page, in, HTMLOptions{Version: "report-version"}); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, in); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mock (issuer http://127.0.0.1:9000)", "alg_none", "token", "2026-12-04 03:00:00 UTC", "grantbench v1.2.3", "grantbench conform"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("report.html does not name %q", want)
		}
		if !strings.Contains(md.String(), mdEscape(want)) {
			t.Errorf("summary.md does not name %q", want)
		}
	}
	// The run entry is no check.
	if _, failed, _ := in.Conformance.Totals(); failed != 4 || len(in.Conformance.Checks) != 4 {
		t.Errorf("%d checks, %d failed; want the 4 specs", len(in.Conformance.Checks), failed)
	}
}

func TestFailuresGroupedByRootCause(t *testing.T) {
	// With one defect on, every failure is its doing.
	if causes := defectRun(t).Conformance.RootCauses(); len(causes) != 1 || len(causes[0].Checks) != 4 {
		t.Errorf("one defect on: root causes %+v, want one of all 4 checks", causes)
	}
	// With two, checks are joined by their error and the catalogue's defects.
	in := defectRun(t, "alg_none", "CLIENT:wrong_iss")
	causes := in.Conformance.RootCauses()
	if len(causes) != 1 {
		t.Fatalf("root causes %+v, want one", causes)
	}
	rc := causes[0]
	var ids []string
	for _, cr := range rc.Checks {
		ids = append(ids, cr.ID)
	}
	if got := strings.Join(ids, ","); got != "T1,T2,T5" || rc.Cause != `jwt: header: unexpected signature algorithm "none"; expected ["RS256"]` || strings.Join(rc.Defects, ",") != "alg_none,wrong_iss" {
		t.Errorf("root cause %q of %s (defects %v)", rc.Cause, got, rc.Defects)
	}
	var page, md bytes.Buffer
	if err := WriteHTML(&page, in, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, in); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), `id="root-causes"`) || !strings.Contains(page.String(), `<a href="#check-T5">T5</a>`) {
		t.Error("report.html has no root-cause group linking T5")
	}
	summary := md.String()
	group := strings.Index(summary, "**Root cause of 3 checks**")
	c5 := strings.Index(summary, "**C5**")
	if group < 0 || c5 < group || strings.Count(summary, "unexpected signature algorithm") != 1 {
		t.Errorf("summary.md does not group T1, T2, T5 under their cause once, C5 apart:\n%s", summary)
	}
}

func TestJWTsInEvidenceShownDecoded(t *testing.T) {
	in := defectRun(t)
	var t1 *CheckResult
	for i := range in.Conformance.Checks {
		if in.Conformance.Checks[i].ID == "T1" {
			t1 = &in.Conformance.Checks[i]
		}
	}
	if t1 == nil || len(t1.JWTs) != 1 {
		t.Fatalf("T1's decoded tokens: %+v", t1)
	}
	j := t1.JWTs[0]
	if !strings.Contains(j.Header, `"alg": "none"`) || !strings.Contains(j.Claims, `"sub": "alice"`) || !strings.Contains(j.Short, "…(len ") || j.Where != "token response body" {
		t.Errorf("decoded token %+v", j)
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, in, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	evidence := evidenceBlock(t, page.String(), "T1")
	if !strings.Contains(evidence, "&#34;alg&#34;: &#34;none&#34;") || strings.Contains(page.String(), unsignedToken()) {
		t.Errorf("T1's evidence does not show alg none decoded, or shows the token whole:\n%s", evidence)
	}
	if strings.Contains(page.String(), sample.Code) {
		t.Error("the code in the request body is shown")
	}
}

// TestLoadShowsFailedLatencyApart: the runner keeps failed flows' latency in
// its own histogram (a refused connection is fast); the reports show it
// beside the success latency, and say when the target stopped answering.
func TestLoadShowsFailedLatencyApart(t *testing.T) {
	r, err := sample.Load(sampleStart)
	if err != nil {
		t.Fatal(err)
	}
	h := loadresult.NewHDR()
	for range 10 {
		loadresult.RecordDuration(h, 1234*time.Microsecond)
	}
	r.Scenarios[0].FailedLatency = loadresult.Summarize(h)
	want := formatSeconds(r.Scenarios[0].FailedLatency.P99Seconds)
	r.Unanswered = &loadresult.UnansweredTail{Since: r.End.Add(-5 * time.Second), Iterations: 40, Outcomes: map[string]int64{"refused": 40}}
	var page, md bytes.Buffer
	if err := WriteHTML(&page, Input{Load: r}, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, Input{Load: r}); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"report.html": page.String(), "summary.md": md.String()} {
		if !strings.Contains(out, "failed p99") || !strings.Contains(out, want) {
			t.Errorf("%s does not show the failed flows' p99 %s", name, want)
		}
		if !strings.Contains(out, "The target stopped answering: the last 40 iterations") {
			t.Errorf("%s does not say the target stopped answering", name)
		}
	}
}
