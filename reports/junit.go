package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/reporters"

	"github.com/grantbench/grantbench/trace"
)

// maxJUnitMessage bounds the failure message attribute, the one line CI
// systems show in their test lists; the full message is in the body.
const maxJUnitMessage = 400

// WriteJUnit writes the conformance run as JUnit XML: one test suite per
// Ginkgo suite, one test case per check. The case's name is the spec text
// (it starts with the check ID), its classname the area, so CI systems
// group checks by area; its properties carry the ID, area, sources and
// their links. A failure's message attribute is Gomega's expected-vs-got
// message on one line; its body holds the full message, the location, what
// the catalogue expects and the HTTP exchanges. Ginkgo's own JUnit reporter
// is not used because it writes report entries verbatim: the exchanges,
// secrets and all.
func WriteJUnit(w io.Writer, c *Conformance) error {
	suites := reporters.JUnitTestSuites{}
	index := map[string]int{}
	for _, s := range c.Suites {
		if _, ok := index[s.Name]; ok {
			continue
		}
		index[s.Name] = len(suites.TestSuites)
		suites.TestSuites = append(suites.TestSuites, reporters.JUnitTestSuite{
			Name:      s.Name,
			Package:   "grantbench",
			Time:      s.RunTime.Seconds(),
			Timestamp: s.Start.UTC().Format("2006-01-02T15:04:05"),
			Properties: reporters.JUnitProperties{Properties: []reporters.JUnitProperty{
				{Name: "SuiteSucceeded", Value: fmt.Sprint(s.Succeeded)},
				{Name: "SpecialSuiteFailureReason", Value: strings.Join(s.FailureReasons, ",")},
			}},
		})
	}
	for _, cr := range c.Checks {
		i, ok := index[cr.Suite]
		if !ok {
			i = len(suites.TestSuites)
			index[cr.Suite] = i
			suites.TestSuites = append(suites.TestSuites, reporters.JUnitTestSuite{Name: cr.Suite, Package: "grantbench"})
		}
		suite := &suites.TestSuites[i]
		tc := junitCase(cr)
		suite.TestCases = append(suite.TestCases, tc)
		suite.Tests++
		switch {
		case tc.Failure != nil:
			suite.Failures++
		case tc.Error != nil:
			suite.Errors++
		case tc.Skipped != nil:
			suite.Skipped++
		}
	}
	for _, s := range suites.TestSuites {
		suites.Tests += s.Tests
		suites.Failures += s.Failures
		suites.Errors += s.Errors
		suites.Disabled += s.Skipped
		suites.Time += s.Time
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(suites); err != nil {
		return fmt.Errorf("reports: write JUnit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitCase(cr CheckResult) reporters.JUnitTestCase {
	tc := reporters.JUnitTestCase{
		Name:      cr.Text,
		Classname: cr.Area,
		Status:    cr.State,
		Time:      cr.Duration.Seconds(),
	}
	props := []reporters.JUnitProperty{{Name: "id", Value: cr.ID}, {Name: "area", Value: cr.Area}}
	var texts []string
	for _, s := range cr.Sources {
		texts = append(texts, s.Text)
		if s.URL != "" {
			props = append(props, reporters.JUnitProperty{Name: "source_url", Value: s.URL})
		}
	}
	props = append(props, reporters.JUnitProperty{Name: "source", Value: strings.Join(texts, "; ")})
	tc.Properties = &reporters.JUnitProperties{Properties: props}

	switch cr.Verdict {
	case VerdictWarning:
		// A warning is a passing test case: CI must not fail the build on it
		// (`--strict` turns warnings into failures before this point). JUnit
		// has no warning state; GitHub, GitLab and Jenkins show a case's
		// properties and system-out without failing it, so the verdict goes
		// into a property and the text into system-out.
		props = append(props, reporters.JUnitProperty{Name: "verdict", Value: string(VerdictWarning)})
		tc.Properties = &reporters.JUnitProperties{Properties: props}
		tc.SystemOut = "WARNING: " + cr.Message + "\n"
	case VerdictSkipped:
		msg := cr.State
		if cr.Message != "" && cr.Message != cr.State {
			msg += " - " + oneLine(cr.Message)
		}
		tc.Skipped = &reporters.JUnitSkipped{Message: msg}
	case VerdictFailed:
		body := failureBody(cr)
		switch cr.State {
		case "panicked", "interrupted", "aborted":
			tc.Error = &reporters.JUnitError{Message: oneLine(cr.Message), Type: cr.State, Description: body}
		default:
			tc.Failure = &reporters.JUnitFailure{Message: oneLine(cr.Message), Type: cr.State, Description: body}
		}
		var out strings.Builder
		for _, shot := range cr.Screenshots {
			// The attachment notation Jenkins' JUnit attachments plugin reads.
			fmt.Fprintf(&out, "[[ATTACHMENT|%s]]\n", shot.Path)
		}
		tc.SystemOut = out.String()
	}
	return tc
}

// failureBody is the long text of a failure: what was expected and what came
// back, where, and the exchanges that show it.
func failureBody(cr CheckResult) string {
	var b strings.Builder
	b.WriteString(cr.Message)
	b.WriteString("\n")
	if cr.Location != "" {
		fmt.Fprintf(&b, "\nat %s\n", cr.Location)
	}
	if cr.Expect != "" {
		fmt.Fprintf(&b, "\ncatalogue (%s): must %s\n", cr.ID, cr.Expect)
	}
	for i, e := range cr.Exchanges {
		fmt.Fprintf(&b, "\n--- exchange %d (%s)\n", i+1, e.Step)
		b.WriteString(exchangeText(e))
	}
	for _, shot := range cr.Screenshots {
		fmt.Fprintf(&b, "\nscreenshot: %s\n", shot.Path)
	}
	return b.String()
}

// exchangeText renders an exchange as HTTP/1.1-like text.
func exchangeText(e trace.Exchange) string {
	var b strings.Builder
	if e.Method != "" || e.URL != "" {
		fmt.Fprintf(&b, "%s %s\n", e.Method, e.URL)
	}
	writeHeader(&b, e.RequestHeader)
	if e.RequestBody != "" {
		fmt.Fprintf(&b, "\n%s\n", e.RequestBody)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, "\n=> %d\n", e.Status)
		writeHeader(&b, e.ResponseHeader)
		if e.ResponseBody != "" {
			fmt.Fprintf(&b, "\n%s\n", e.ResponseBody)
		}
	}
	if e.Err != "" {
		fmt.Fprintf(&b, "error: %s\n", e.Err)
	}
	return b.String()
}

// oneLine collapses a multi-line Gomega message ("Expected\n    <int>: 200\n
// to equal\n    <int>: 400") into one line for the message attribute.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxJUnitMessage {
		cut := maxJUnitMessage
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func writeHeader(b *strings.Builder, h http.Header) {
	for _, name := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[name] {
			fmt.Fprintf(b, "%s: %s\n", name, v)
		}
	}
}
