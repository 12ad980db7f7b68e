package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/reporters"

	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/reports/reportstest"
)

var reportStart = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// savedRun writes a sample run's results.json (with its screenshot) and
// load.json into a folder, as `grantbench conform` and `grantbench load` do.
func savedRun(t *testing.T) (dir, results, load string) {
	t.Helper()
	dir = t.TempDir()
	if err := reportstest.WriteScreenshot(dir); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(reportstest.Conformance(reportStart))
	if err != nil {
		t.Fatal(err)
	}
	results = filepath.Join(dir, "results.json")
	if err := os.WriteFile(results, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := reportstest.Load(reportStart)
	if err != nil {
		t.Fatal(err)
	}
	load = filepath.Join(dir, "load.json")
	if err := res.WriteFile(load); err != nil {
		t.Fatal(err)
	}
	return dir, results, load
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	code = exitCode(err, &errOut) // prints the error to errOut
	return out.String(), errOut.String(), code
}

func TestReportRendersEveryOutput(t *testing.T) {
	t.Parallel() // in-process, but seconds of rendering under -race: beside the child-process tests
	dir, results, load := savedRun(t)
	out := t.TempDir()
	html, md, junit := filepath.Join(out, "r.html"), filepath.Join(out, "sub", "summary.md"), filepath.Join(out, "junit.xml")
	// Flags after the files, as people type them.
	stdout, stderr, code := runCLI(t, "report", load, results, "-o", html, "--markdown", md, "--junit", junit, "--title", "nightly")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "conformance 7 passed, 4 failed, 2 skipped; load 1600 flows at 80.0/s, FAILED (1 of 3 thresholds breached)") {
		t.Errorf("summary line: %q", stdout)
	}
	page := readFile(t, html)
	if !strings.Contains(page, "<title>nightly</title>") || strings.Count(page, "<svg") != 6 ||
		!strings.Contains(page, "data:image/png;base64,") { // the screenshot, found beside results.json
		t.Errorf("HTML report incomplete (%d bytes)", len(page))
	}
	summary := readFile(t, md)
	for _, id := range reportstest.FailedIDs() {
		if !strings.Contains(summary, "**"+id+"**") {
			t.Errorf("summary does not list %s", id)
		}
	}
	var suites reporters.JUnitTestSuites
	if err := xml.Unmarshal([]byte(readFile(t, junit)), &suites); err != nil || suites.Tests != 13 {
		t.Errorf("JUnit: %v, %d tests", err, suites.Tests)
	}
	for _, path := range []string{html, md, junit} {
		content := readFile(t, path)
		// `report` knows no registered secrets: the shape and place rules
		// alone must hide every one of them.
		for _, secret := range reportstest.Secrets() {
			if strings.Contains(content, secret) {
				t.Errorf("%s contains secret %q", path, secret)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err == nil {
		t.Error("-o was ignored: report.html written beside the results")
	}
}

func TestReportMarkdownToStdout(t *testing.T) {
	t.Parallel() // in-process, but seconds of rendering under -race: beside the child-process tests
	_, _, load := savedRun(t)
	stdout, stderr, code := runCLI(t, "report", "-o", "", "--markdown", "-", load)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "# grantbench report: FAILED") || strings.Contains(stdout, "## Conformance") {
		t.Errorf("stdout = %q", stdout)
	}
	if !strings.Contains(stderr, "load 1600 flows") {
		t.Errorf("the summary line should go to stderr when stdout carries the report: %q", stderr)
	}
}

func TestReportUsageErrors(t *testing.T) {
	t.Parallel() // in-process, but seconds of rendering under -race: beside the child-process tests
	_, results, load := savedRun(t)
	junk := filepath.Join(t.TempDir(), "junk.json")
	if err := os.WriteFile(junk, []byte(`{"hello":"world"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no files":        {[]string{"report"}, "no result files"},
		"missing file":    {[]string{"report", "nope.json"}, "nope.json"},
		"unknown content": {[]string{"report", junk}, "junk.json: reports: JSON that is neither"},
		"junit from load": {[]string{"report", "--junit", "j.xml", load}, "--junit needs conformance results"},
		"all outputs off": {[]string{"report", "-o", "", results}, "every output is off"},
		"two on stdout":   {[]string{"report", "-o", "-", "--markdown", "-", results}, "only one output"},
		"unknown flag":    {[]string{"report", "--colour", results}, "flag provided but not defined: -colour"},
		"merge nothing":   {[]string{"report", "merge"}, "no load.json files"},
		"merge results":   {[]string{"report", "merge", results}, "report merge:"},
	} {
		_, stderr, code := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", name, code, stderr, tc.want)
		}
	}
}

func TestReportMerge(t *testing.T) {
	t.Parallel() // in-process, but seconds of rendering under -race: beside the child-process tests
	_, _, load := savedRun(t)
	second := filepath.Join(t.TempDir(), "load-2.json")
	data, err := os.ReadFile(load)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(second, bytes.Replace(data, []byte(`"sample-run"`), []byte(`"sample-run-2"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	merged := filepath.Join(t.TempDir(), "merged.json")
	stdout, stderr, code := runCLI(t, "report", "merge", load, second, "-o", merged)
	// The sample breaches error_rate<1% (1.31%); merged, it still does.
	if code != exitFailed || !strings.Contains(stderr, "error_rate<1%") {
		t.Errorf("exit %d, stderr %q; want 1 naming the breached threshold", code, stderr)
	}
	if !strings.Contains(stdout, "merged 2 load results into "+merged+": load 3200 flows") {
		t.Errorf("stdout = %q", stdout)
	}
	res, err := loadresult.ReadResult(merged)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.MergedRunIDs) != 2 || res.Scenarios[0].Latency.Count != 2000 {
		t.Errorf("merged result: run IDs %v, cc latency count %d", res.MergedRunIDs, res.Scenarios[0].Latency.Count)
	}
	// Rendering several load.json merges them too.
	html := filepath.Join(t.TempDir(), "r.html")
	if out, stderr, code := runCLI(t, "report", "-o", html, load, second); code != exitOK || !strings.Contains(out, "load 3200 flows") {
		t.Errorf("report of two load files: exit %d, %q %q", code, out, stderr)
	}
}

func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		files string
		o     string
	}{
		{[]string{"a", "-o", "x", "b"}, "a,b", "x"},
		{[]string{"-o", "x", "a"}, "a", "x"},
		{[]string{"a", "--", "-o", "b"}, "a,-o,b", "report.html"},
		{[]string{"a", "-"}, "a,-", "report.html"},
	} {
		var o reportOptions
		fs := reportFlags(&o, io.Discard)
		files, err := parseInterspersed(fs, tc.args)
		if err != nil || strings.Join(files, ",") != tc.files || o.html != tc.o {
			t.Errorf("%v: files %v, -o %q, err %v", tc.args, files, o.html, err)
		}
	}
}

func TestReportHelp(t *testing.T) {
	_, stderr, code := runCLI(t, "report", "-h")
	if code != exitOK || !strings.Contains(stderr, "grantbench report merge") {
		t.Errorf("help: exit %d, %q", code, stderr)
	}
	if _, ok := commands["report"]; !ok {
		t.Error("report is not registered")
	}
	if err := run(context.Background(), []string{"report", "nope.json"}, &bytes.Buffer{}, &bytes.Buffer{}); !errors.As(err, new(*exitError)) {
		t.Errorf("a bad file should be an exit error, got %T", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestReportMergeRefusesWhatWouldBeWrong is issue 13's `report merge a.json
// a.json`, which doubled every count and exited 0.
func TestReportMergeRefusesWhatWouldBeWrong(t *testing.T) {
	t.Parallel() // in-process, but seconds of rendering under -race: beside the child-process tests
	_, _, load := savedRun(t)
	data, err := os.ReadFile(load)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	variant := func(name string, replace ...string) string {
		out := data
		for i := 0; i < len(replace); i += 2 {
			if !bytes.Contains(out, []byte(replace[i])) {
				t.Fatalf("the sample has no %s: %s would be no variant", replace[i], name)
			}
			out = bytes.ReplaceAll(out, []byte(replace[i]), []byte(replace[i+1]))
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	copyOf := variant("copy.json")
	otherRun := variant("other-run.json", `"sample-run"`, `"sample-run-2"`)
	otherTarget := variant("other-target.json", `"sample-run"`, `"sample-run-3"`, `"target": "http://127.0.0.1:9000"`, `"target": "https://idp.example.com"`)
	otherPlan := variant("other-plan.json", `"sample-run"`, `"sample-run-4"`, `"name": "cc"`, `"name": "cc-slow"`)
	merged := filepath.Join(dir, "merged.json")
	for name, tc := range map[string]struct {
		args []string
		want []string
	}{
		"one file twice":       {[]string{load, load}, []string{load, "given twice"}},
		"one run twice":        {[]string{load, copyOf}, []string{load, copyOf, "run sample-run"}},
		"different targets":    {[]string{load, otherTarget}, []string{otherTarget, "https://idp.example.com", "--force"}},
		"different plans":      {[]string{load, otherPlan}, []string{otherPlan, "cc-slow", "--force"}},
		"duplicate with force": {[]string{"--force", load, copyOf}, []string{"run sample-run"}},
	} {
		for _, cmd := range [][]string{{"report", "merge", "-o", merged}, {"report", "-o", filepath.Join(dir, "r.html")}} {
			_, stderr, code := runCLI(t, append(cmd, tc.args...)...)
			if code != exitUsage {
				t.Errorf("%s: %v: exit %d, want 2 (%s)", name, cmd[:2], code, stderr)
				continue
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("%s: %v: stderr %q does not name %q", name, cmd[:2], stderr, w)
				}
			}
		}
	}
	if _, err := os.Stat(merged); err == nil {
		t.Error("a refused merge wrote its output")
	}
	// Forced, runs of different targets merge; the target is then unnamed.
	if _, stderr, code := runCLI(t, "report", "merge", "--force", "-o", merged, load, otherTarget); code != exitFailed {
		t.Errorf("forced merge: exit %d, want 1 (the sample breaches a threshold): %s", code, stderr)
	}
	// Two runs of one plan against one target merge without --force.
	if _, stderr, code := runCLI(t, "report", "merge", "-o", merged, load, otherRun); code != exitFailed {
		t.Errorf("merge of two runs: exit %d, want 1: %s", code, stderr)
	}
}

func TestReportOfAnEmptyList(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "results.json")
	if err := os.WriteFile(empty, []byte("[]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, "report", "-o", filepath.Join(t.TempDir(), "r.html"), empty); code != exitUsage || !strings.Contains(stderr, "empty list") {
		t.Errorf("report []: exit %d, %q; want 2 and a reason", code, stderr)
	}
}

// TestReportMarkdownToStdoutWritesNothingElse: `report --markdown -` also
// wrote report.html into the working directory, -o's default.
func TestReportMarkdownToStdoutWritesNothingElse(t *testing.T) {
	_, _, load := savedRun(t)
	cwd := t.TempDir()
	t.Chdir(cwd)
	stdout, stderr, code := runCLI(t, "report", "--markdown", "-", load)
	if code != exitOK || !strings.HasPrefix(stdout, "# grantbench report") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if entries, _ := os.ReadDir(cwd); len(entries) > 0 {
		t.Errorf("wrote %s beside the command", entries[0].Name())
	}
	// Asked for by name, the HTML report is still written.
	if _, stderr, code := runCLI(t, "report", "--markdown", "-", "-o", "r.html", load); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(cwd, "r.html")); err != nil {
		t.Errorf("-o r.html with --markdown -: %v", err)
	}
}
