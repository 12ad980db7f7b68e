package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/redact"
	sample "github.com/grantbench/grantbench/reports/reportstest"
)

var sampleStart = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// sampleRun writes the sample's results.json (as Ginkgo writes it, secrets
// and all), load.json and screenshot into a temporary folder, reads them back
// the way `grantbench report` does and returns the input and the folder.
func sampleRun(t testing.TB) (Input, string) {
	t.Helper()
	dir := t.TempDir()
	if err := sample.WriteScreenshot(dir); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(sample.Conformance(sampleStart))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	load, err := sample.Load(sampleStart)
	if err != nil {
		t.Fatal(err)
	}
	if err := load.WriteFile(filepath.Join(dir, "load.json")); err != nil {
		t.Fatal(err)
	}

	reps, err := ReadGinkgoReports(raw)
	if err != nil {
		t.Fatal(err)
	}
	loadData, err := os.ReadFile(filepath.Join(dir, "load.json"))
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := ReadLoad(loadData)
	if err != nil {
		t.Fatal(err)
	}
	r := redact.New(sample.ClientSecret, sample.Password)
	return Input{Conformance: NewConformance(reps, r, dir), Load: loaded}, dir
}

// renderAll writes every output of a run into dir and returns their paths.
func renderAll(t *testing.T, in Input, dir string) map[string]string {
	t.Helper()
	paths := map[string]string{
		"html":     filepath.Join(dir, "report.html"),
		"markdown": filepath.Join(dir, "summary.md"),
		"junit":    filepath.Join(dir, "junit.xml"),
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, in, HTMLOptions{Version: "test", Generated: sampleStart}); err != nil {
		t.Fatal(err)
	}
	write(t, paths["html"], b.Bytes())
	b.Reset()
	if err := WriteMarkdown(&b, in); err != nil {
		t.Fatal(err)
	}
	write(t, paths["markdown"], b.Bytes())
	b.Reset()
	if err := WriteJUnit(&b, in.Conformance); err != nil {
		t.Fatal(err)
	}
	write(t, paths["junit"], b.Bytes())
	return paths
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestConformanceModel(t *testing.T) {
	in, _ := sampleRun(t)
	c := in.Conformance
	if len(c.Checks) != 13 { // 14 specs less the passing BeforeSuite
		t.Fatalf("got %d checks, want 13", len(c.Checks))
	}
	passed, failed, skipped := c.Totals()
	if passed != 7 || failed != 4 || skipped != 2 {
		t.Errorf("totals = %d passed, %d failed, %d skipped; want 7, 4, 2", passed, failed, skipped)
	}
	var failedIDs []string
	for _, a := range c.Areas() {
		failedIDs = append(failedIDs, a.FailedIDs...)
	}
	if strings.Join(failedIDs, ",") != strings.Join(sample.FailedIDs(), ",") {
		t.Errorf("failed IDs = %v, want %v", failedIDs, sample.FailedIDs())
	}
	byID := map[string]CheckResult{}
	for _, cr := range c.Checks {
		byID[cr.ID] = cr
	}
	if ac2 := byID["AC2"]; len(ac2.Exchanges) != 2 || ac2.Area != "authcode" || ac2.Location != "authcode.go:88" ||
		ac2.Sources[0].URL != "https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2" {
		t.Errorf("AC2 = %+v", ac2)
	}
	if ac7 := byID["AC7"]; len(ac7.Exchanges) != 3 || len(ac7.Screenshots) != 1 || len(ac7.Screenshots[0].PNG) == 0 {
		t.Errorf("AC7 evidence: %d exchanges, screenshots %+v", len(ac7.Exchanges), ac7.Screenshots)
	}
	if b6 := byID["B6"]; b6.Verdict != VerdictSkipped || !strings.Contains(b6.Message, "does not advertise") {
		t.Errorf("B6 = %+v", b6)
	}
	if c8 := byID["C8"]; c8.State != "panicked" || !strings.Contains(c8.Message, "index out of range") {
		t.Errorf("C8 = %+v", c8)
	}
	if noID := byID[""]; noID.Area != "metadata" || noID.Verdict != VerdictPassed {
		t.Errorf("spec without ID = %+v", noID)
	}
	// Areas come in catalogue order.
	var order []string
	for _, a := range c.Areas() {
		order = append(order, a.Area)
	}
	if got := strings.Join(order, ","); got != "authcode,redirect,client,device,token,metadata" {
		t.Errorf("area order = %s", got)
	}
}

func TestInProcessReportEntries(t *testing.T) {
	// A report handed over in-process carries the raw values, not JSON.
	c := NewConformance(sample.Conformance(sampleStart), nil, t.TempDir())
	for _, cr := range c.Checks {
		if cr.ID == "AC7" && len(cr.Exchanges) != 3 {
			t.Errorf("AC7 has %d exchanges from raw entry values, want 3", len(cr.Exchanges))
		}
		if cr.ID == "AC7" && (len(cr.Screenshots) != 1 || cr.Screenshots[0].Err == "") {
			t.Errorf("a missing screenshot should be reported, got %+v", cr.Screenshots)
		}
	}
}

func TestJUnit(t *testing.T) {
	in, dir := sampleRun(t)
	paths := renderAll(t, in, dir)
	var suites reporters.JUnitTestSuites
	if err := xml.Unmarshal([]byte(read(t, paths["junit"])), &suites); err != nil {
		t.Fatalf("JUnit does not parse: %v", err)
	}
	if suites.Tests != 13 || suites.Failures != 3 || suites.Errors != 1 || len(suites.TestSuites) != 1 {
		t.Fatalf("JUnit totals: tests %d failures %d errors %d suites %d", suites.Tests, suites.Failures, suites.Errors, len(suites.TestSuites))
	}
	for _, tc := range suites.TestSuites[0].TestCases {
		if tc.Properties == nil {
			t.Errorf("%s has no properties", tc.Name)
			continue
		}
		id := tc.Properties.WithName("id")
		if !strings.HasPrefix(tc.Name, id) {
			t.Errorf("case %q has id property %q", tc.Name, id)
		}
		if id != "" && tc.Properties.WithName("source") == "" {
			t.Errorf("%s has no source property", id)
		}
		switch id {
		case "AC2":
			if tc.Classname != "authcode" || tc.Failure == nil ||
				tc.Failure.Message != "second redemption of the code Expected <int>: 200 to equal <int>: 400" ||
				!strings.Contains(tc.Failure.Description, "POST http://127.0.0.1:9000/token") {
				t.Errorf("AC2 case = %+v %+v", tc, tc.Failure)
			}
			if tc.Properties.WithName("source_url") != "https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2" {
				t.Errorf("AC2 source_url = %q", tc.Properties.WithName("source_url"))
			}
		case "C8":
			if tc.Error == nil || tc.Error.Type != "panicked" {
				t.Errorf("C8 should be a JUnit error: %+v", tc)
			}
		case "B6":
			if tc.Skipped == nil || !strings.Contains(tc.Skipped.Message, "does not advertise") {
				t.Errorf("B6 should be skipped with its reason: %+v", tc.Skipped)
			}
		case "D5":
			if tc.Skipped == nil || tc.Skipped.Message != "pending" {
				t.Errorf("D5 should be skipped as pending: %+v", tc.Skipped)
			}
		case "AC7":
			if !strings.Contains(tc.SystemOut, "[[ATTACHMENT|screenshots/AC7.png]]") {
				t.Errorf("AC7 system-out = %q", tc.SystemOut)
			}
		}
	}
}

func TestMarkdown(t *testing.T) {
	in, dir := sampleRun(t)
	md := read(t, renderAll(t, in, dir)["markdown"])
	for _, want := range []string{
		"# grantbench report: FAILED",
		"## Conformance: FAILED",
		"7 passed, 4 failed, 2 skipped",
		"| Authorization code and PKCE | ❌ failed | 1 | 2 | 0 | AC2, AC7 |",
		"| Client credentials and client authentication | ❌ failed | 1 | 1 | 0 | C8 |",
		"| Token validation | ❌ failed | 1 | 1 | 0 | T2 |",
		"| Device authorization grant | ✅ passed | 1 | 0 | 1 |  |",
		"- **AC2** a reused code is refused ([RFC 6749 4.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2)",
		"## Load: FAILED",
		"| `cc:p99<250ms` |",
		"| `error_rate<1%` |",
		"| cc | client\\_credentials | 50.0/s | 50.0/s | 1000 |",
		"| code | token |",
		"| invalid\\_client (4xx) | 10 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	for _, id := range sample.FailedIDs() {
		if !strings.Contains(md, "**"+id+"**") {
			t.Errorf("summary does not list failing %s", id)
		}
	}
}

func TestHTMLStructure(t *testing.T) {
	in, dir := sampleRun(t)
	page := read(t, renderAll(t, in, dir)["html"])
	if n := strings.Count(page, "<svg"); n != 6 { // throughput, latency over time, 3 distributions, errors
		t.Errorf("%d SVG charts, want 6", n)
	}
	for _, id := range []string{"chart-throughput", "chart-latency-time", "chart-distribution-0", "chart-errors"} {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("chart %s missing", id)
		}
	}
	for _, id := range sample.FailedIDs() {
		block := evidenceBlock(t, page, id)
		if !strings.Contains(block, `class="failure-message"`) {
			t.Errorf("%s evidence has no failure message", id)
		}
	}
	if ac2 := evidenceBlock(t, page, "AC2"); strings.Count(ac2, `class="exchange"`) != 2 || !strings.Contains(ac2, "[token] POST http://127.0.0.1:9000/token → 200") {
		t.Errorf("AC2 evidence lacks its exchanges:\n%s", ac2)
	}
	if ac7 := evidenceBlock(t, page, "AC7"); !strings.Contains(ac7, `src="data:image/png;base64,iVBORw0KGgo`) {
		t.Error("AC7 evidence lacks its inlined screenshot")
	}
	// One file, no external assets, no scripts.
	for _, banned := range []*regexp.Regexp{
		regexp.MustCompile(`<script`), regexp.MustCompile(`<link`),
		regexp.MustCompile(`(?i)src="(https?:)?//`), regexp.MustCompile(`(?i)url\(`), regexp.MustCompile(`@import`),
	} {
		if banned.MatchString(page) {
			t.Errorf("the page has %s", banned)
		}
	}
	if !strings.Contains(page, `<a href="#check-AC2">AC2</a>, <a href="#check-AC7">AC7</a>`) {
		t.Error("the area summary does not link the failing checks to their rows")
	}
	if !strings.Contains(page, `<a href="https://www.rfc-editor.org/rfc/rfc7636#section-4.6">RFC 7636 4.6</a>`) {
		t.Error("AC7's source is not linked to its RFC section")
	}
}

// evidenceBlock returns the evidence <div> of a check.
func evidenceBlock(t *testing.T, page, id string) string {
	t.Helper()
	start := strings.Index(page, `<div class="evidence" id="evidence-`+id+`"`)
	if start < 0 {
		t.Errorf("no evidence block for %s", id)
		return ""
	}
	end := strings.Index(page[start:], "</td></tr>")
	return page[start : start+end]
}

// TestNoSecretInAnyOutput plants secrets in a run (exchanges with tokens in
// bodies, headers, URLs, fragments and cookies; failure messages; panics;
// captured output), renders every output and scans each file for them, as
// written and as HTML, XML and JSON would escape them.
func TestNoSecretInAnyOutput(t *testing.T) {
	in, dir := sampleRun(t)
	outDir := t.TempDir()
	paths := renderAll(t, in, outDir)

	// results.json as `grantbench conform` should write it: redacted.
	r := redact.New(sample.ClientSecret, sample.Password)
	redacted, err := RedactGinkgoReports(r, sample.Conformance(sampleStart))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(redacted)
	if err != nil {
		t.Fatal(err)
	}
	paths["results"] = filepath.Join(outDir, "results.json")
	write(t, paths["results"], raw)

	// Logs and progress through the writer.
	var log bytes.Buffer
	w := r.Writer(&log)
	for _, s := range sample.Secrets() {
		if _, err := w.Write([]byte("progress: got " + s + " and access_token=" + s + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	paths["log"] = filepath.Join(outDir, "run.log")
	write(t, paths["log"], log.Bytes())

	for name, path := range paths {
		content := read(t, path)
		for _, secret := range sample.Secrets() {
			jsonForm, _ := json.Marshal(secret)
			var xmlForm bytes.Buffer
			_ = xml.EscapeText(&xmlForm, []byte(secret))
			for _, form := range []string{secret, html.EscapeString(secret), strings.Trim(string(jsonForm), `"`), xmlForm.String()} {
				if strings.Contains(content, form) {
					t.Errorf("%s (%s) contains the secret %q", name, path, form)
				}
			}
		}
		if !strings.Contains(content, "…(len ") { // the marker redact.Shorten writes
			t.Errorf("%s shows no shortened secret at all; is the evidence there?", name)
		}
	}

	// The redacted results.json is still a usable report, evidence included.
	reps, err := ReadGinkgoReports(raw)
	if err != nil {
		t.Fatal(err)
	}
	c := NewConformance(reps, nil, dir)
	for _, cr := range c.Checks {
		if cr.ID == "AC2" && (len(cr.Exchanges) != 2 || !strings.HasPrefix(cr.Exchanges[0].RequestHeader.Get("Authorization"), "Basic ")) {
			t.Errorf("redacted AC2 evidence = %+v", cr.Exchanges)
		}
	}
}

func TestDetectKind(t *testing.T) {
	_, dir := sampleRun(t)
	for file, want := range map[string]Kind{"results.json": KindConformance, "load.json": KindLoad} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := DetectKind(data); err != nil || got != want {
			t.Errorf("DetectKind(%s) = %v, %v; want %v", file, got, err, want)
		}
	}
	for name, data := range map[string]string{
		"empty":       "",
		"not json":    "<testsuites/>",
		"other json":  `{"hello":"world"}`,
		"other array": `[{"a":1}]`,
		"broken":      `[{"SuiteDescription":`,
	} {
		if kind, err := DetectKind([]byte(data)); err == nil {
			t.Errorf("%s detected as %v", name, kind)
		}
	}
	if _, err := ReadLoad([]byte(`{"schema":99,"scenarios":[]}`)); err == nil || !strings.Contains(err.Error(), "schema 99") {
		t.Errorf("a newer schema should be refused by name, got %v", err)
	}
	damaged := bytes.Replace([]byte(read(t, filepath.Join(dir, "load.json"))), []byte(`"hdr": "HISTF`), []byte(`"hdr": "XISTF`), 1)
	if _, err := ReadLoad(damaged); err == nil || !strings.Contains(err.Error(), `scenario "cc" latency`) {
		t.Errorf("a damaged histogram should be refused by name, got %v", err)
	}
	if _, err := ReadGinkgoReports([]byte(`[{}]`)); err == nil {
		t.Error("an empty object was taken for a Ginkgo report")
	}
}

func TestReportsWithOneSideOnly(t *testing.T) {
	in, _ := sampleRun(t)
	for name, only := range map[string]Input{
		"conformance": {Conformance: in.Conformance},
		"load":        {Load: in.Load},
	} {
		var h, m bytes.Buffer
		if err := WriteHTML(&h, only, HTMLOptions{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := WriteMarkdown(&m, only); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		hasLoad := strings.Contains(h.String(), `id="load"`)
		hasConf := strings.Contains(h.String(), `id="conformance"`)
		if hasLoad != (only.Load != nil) || hasConf != (only.Conformance != nil) {
			t.Errorf("%s: page has load=%v conformance=%v", name, hasLoad, hasConf)
		}
		if strings.Contains(m.String(), "## Load") != (only.Load != nil) {
			t.Errorf("%s: summary load section presence wrong", name)
		}
	}
}

func TestWriteGinkgoResults(t *testing.T) {
	dir := t.TempDir()
	if err := sample.WriteScreenshot(dir); err != nil {
		t.Fatal(err)
	}
	reps := sample.Conformance(sampleStart)
	// The run wrote its screenshot by absolute path on another machine; the
	// folder was copied here since.
	for i, spec := range reps[0].SpecReports {
		for j, e := range spec.ReportEntries {
			if e.Name == EntryScreenshot {
				reps[0].SpecReports[i].ReportEntries[j].Value = types.WrapEntryValue("/builds/ci-42/out/screenshots/AC7.png")
			}
		}
	}
	if err := WriteGinkgoResults(dir, reps, redact.New(sample.ClientSecret, sample.Password)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"results.json", "junit.xml"} {
		content := read(t, filepath.Join(dir, name))
		for _, secret := range sample.Secrets() {
			if strings.Contains(content, secret) {
				t.Errorf("%s contains %q", name, secret)
			}
		}
	}
	in, err := ReadFiles(nil, filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, cr := range in.Conformance.Checks {
		if cr.ID == "AC7" {
			found = len(cr.Screenshots) == 1 && len(cr.Screenshots[0].PNG) > 0
		}
	}
	if !found {
		t.Error("the moved screenshot was not found beside results.json")
	}
	var suites reporters.JUnitTestSuites
	if err := xml.Unmarshal([]byte(read(t, filepath.Join(dir, "junit.xml"))), &suites); err != nil || suites.Tests != 13 {
		t.Errorf("junit.xml: %v, %d tests", err, suites.Tests)
	}
}
