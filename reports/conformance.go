package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/catalog"
	"github.com/grantbench/grantbench/redact"
	"github.com/grantbench/grantbench/trace"
)

// Report entry names the suites use for failure evidence (AddReportEntry).
const (
	EntryExchange   = "exchange"   // a trace.Exchange or []trace.Exchange
	EntryScreenshot = "screenshot" // the path of a PNG file
	// EntryWarning is a lapse that is not a failure (a string): a spec that
	// passes with one has the verdict warning.
	EntryWarning = "warning"
)

// Verdict is the outcome of one check or one area.
type Verdict string

// Verdicts, from best to worst. An area fails when any of its checks fails and
// passes when at least one passed and none failed.
const (
	VerdictPassed Verdict = "passed"
	// VerdictWarning is a passed spec that reported a lapse the catalogue
	// counts as a warning (EntryWarning); `--strict` runs make it a failure.
	VerdictWarning Verdict = "warning"
	VerdictSkipped Verdict = "skipped"
	VerdictFailed  Verdict = "failed"
)

// maxScreenshotBytes bounds one inlined screenshot, so a stray huge file
// cannot bloat the HTML report.
const maxScreenshotBytes = 8 << 20

// maxEvidenceBody bounds a request or response body shown as evidence; the
// 1 MiB body of a malformed-input check says nothing more at full length.
const maxEvidenceBody = 16 << 10

// CheckResult is one spec of a conformance run, redacted and ready to render.
type CheckResult struct {
	ID    string // "AC2"; "" for suite setup nodes and specs without an ID
	Area  string // "authcode", ...; "suite" for suite setup nodes
	Text  string // the spec text, "AC2: a reused code is refused"
	Suite string
	// State is Ginkgo's spec state: passed, failed, skipped, pending,
	// panicked, interrupted, aborted, timedout.
	State   string
	Verdict Verdict
	// Message is the failure message (Gomega's expected vs got), the skip
	// reason or the warnings, redacted.
	Message  string
	Location string // file:line of the failure
	Duration time.Duration
	Sources  []catalog.Source // from the catalogue, or from the spec's rfc labels
	Expect   string           // what must happen, from the catalogue
	Labels   []string
	// Evidence attached by the spec, redacted.
	Exchanges   []trace.Exchange
	Screenshots []Screenshot
	// JWTs are the tokens of the exchanges, decoded (see EntryJWT).
	JWTs []DecodedJWT
}

// Screenshot is a browser screenshot attached to a spec.
type Screenshot struct {
	Path string
	PNG  []byte // nil when the file could not be read; see Err
	Err  string
}

// Conformance is a conformance run: every spec of every suite report.
type Conformance struct {
	Suites []SuiteInfo
	Checks []CheckResult
	// Runs says what each suite report judged, in the order of Suites.
	Runs []RunInfo
}

// SuiteInfo summarises one Ginkgo suite report.
type SuiteInfo struct {
	Name      string
	Start     time.Time
	RunTime   time.Duration
	Succeeded bool
	// FailureReasons are Ginkgo's special suite failure reasons
	// ("Detected Programmatic Focus", "Interrupted by User", ...).
	FailureReasons []string
}

// ReadGinkgoReports reads a results.json: the []types.Report that
// `ginkgo --json-report` and `grantbench conform` write. A single report
// object is accepted too.
func ReadGinkgoReports(data []byte) ([]types.Report, error) {
	data = bytes.TrimSpace(data)
	var list []types.Report
	if len(data) > 0 && data[0] == '{' {
		var one types.Report
		if err := json.Unmarshal(data, &one); err != nil {
			return nil, fmt.Errorf("reports: parse Ginkgo report: %w", err)
		}
		list = []types.Report{one}
	} else if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("reports: parse Ginkgo report: %w", err)
	}
	if len(list) == 0 {
		return nil, errors.New("reports: an empty list of Ginkgo reports: no suite ran")
	}
	for i, r := range list {
		if r.SuiteDescription == "" && r.SuitePath == "" && len(r.SpecReports) == 0 {
			return nil, fmt.Errorf("reports: report %d is not a Ginkgo suite report (no suite description, path or specs)", i)
		}
	}
	return list, nil
}

// NewConformance builds a conformance run from Ginkgo reports. Every text
// that came from the run is redacted by r. Screenshot paths that are not
// absolute are read relative to baseDir (the results file's folder).
func NewConformance(reports []types.Report, r *redact.Redactor, baseDir string) *Conformance {
	c := &Conformance{}
	for _, rep := range reports {
		c.Suites = append(c.Suites, SuiteInfo{
			Name:           rep.SuiteDescription,
			Start:          rep.StartTime,
			RunTime:        rep.RunTime,
			Succeeded:      rep.SuiteSucceeded,
			FailureReasons: redactAll(ginkgoRedaction{r}, rep.SpecialSuiteFailureReasons),
		})
		c.Runs = append(c.Runs, runInfoOf(rep, r))
		for _, spec := range rep.SpecReports {
			suiteLevel := spec.LeafNodeType.Is(types.NodeTypesForSuiteLevelNodes)
			if suiteLevel && !spec.State.Is(types.SpecStateFailureStates) {
				continue // a setup node that worked is not a check
			}
			c.Checks = append(c.Checks, newCheckResult(rep.SuiteDescription, spec, suiteLevel, r, baseDir))
		}
	}
	c.sortChecks()
	return c
}

// sortChecks orders checks by area as the catalogue does, then by ID.
func (c *Conformance) sortChecks() {
	slices.SortStableFunc(c.Checks, func(a, b CheckResult) int {
		if d := catalog.AreaRank(a.Area) - catalog.AreaRank(b.Area); d != 0 {
			return d
		}
		return catalog.CompareIDs(a.ID, b.ID)
	})
}

var (
	specIDPattern = regexp.MustCompile(`^([A-Z]+[0-9]+)\b`)
	rfcLabel      = regexp.MustCompile(`^rfc([0-9]{3,5})$`)
)

func newCheckResult(suite string, spec types.SpecReport, suiteLevel bool, r *redact.Redactor, baseDir string) CheckResult {
	labels := spec.Labels()
	cr := CheckResult{
		Text:     r.String(spec.LeafNodeText),
		Suite:    suite,
		State:    spec.State.String(),
		Duration: spec.RunTime,
		Labels:   labels,
	}
	if suiteLevel {
		cr.Text = spec.LeafNodeType.String()
		if spec.LeafNodeText != "" {
			cr.Text += ": " + r.String(spec.LeafNodeText)
		}
		cr.Area = "suite"
	}
	switch {
	case spec.State.Is(types.SpecStateFailureStates):
		cr.Verdict = VerdictFailed
	case spec.State.Is(types.SpecStateSkipped | types.SpecStatePending):
		cr.Verdict = VerdictSkipped
	default:
		cr.Verdict = VerdictPassed
	}
	if cr.Verdict != VerdictPassed {
		msg := spec.Failure.Message
		if spec.Failure.ForwardedPanic != "" {
			msg = strings.TrimSpace(msg + "\npanic: " + spec.Failure.ForwardedPanic)
		}
		if msg == "" && spec.State == types.SpecStatePending {
			msg = "pending"
		}
		cr.Message = r.String(msg)
		if loc := spec.Failure.Location; loc.FileName != "" && cr.Verdict == VerdictFailed {
			cr.Location = fmt.Sprintf("%s:%d", filepath.Base(loc.FileName), loc.LineNumber)
		}
	}

	// The ID: the spec text's prefix, else a label that names a known check.
	if m := specIDPattern.FindStringSubmatch(spec.LeafNodeText); m != nil {
		cr.ID = m[1]
	} else {
		for _, l := range labels {
			if _, ok := catalog.Lookup(l); ok {
				cr.ID = strings.ToUpper(l)
				break
			}
		}
	}
	check, known := catalog.Lookup(cr.ID)
	if !suiteLevel {
		for _, l := range labels {
			if catalog.IsArea(l) {
				cr.Area = l
				break
			}
		}
		if cr.Area == "" && known {
			cr.Area = check.Area
		}
		if cr.Area == "" {
			cr.Area = "other"
		}
	}
	if known {
		cr.Sources = check.Sources
		cr.Expect = check.Expect
	} else {
		cr.Sources = sourcesFromLabels(labels)
	}

	var raw []trace.Exchange
	for _, entry := range spec.ReportEntries {
		switch entry.Name {
		case EntryExchange:
			exchanges, err := exchangesOf(entry)
			if err != nil {
				cr.Exchanges = append(cr.Exchanges, trace.Exchange{Err: r.String(err.Error())})
				continue
			}
			raw = append(raw, exchanges...)
			for _, e := range exchanges {
				cr.Exchanges = append(cr.Exchanges, truncateBodies(r.Exchange(e)))
			}
		case EntryScreenshot:
			cr.Screenshots = append(cr.Screenshots, readScreenshot(entryString(entry), baseDir))
		case EntryJWT:
			for _, j := range jwtsOf(entry) {
				// Redacted again: results.json may have been edited since.
				cr.JWTs = append(cr.JWTs, DecodedJWT{Where: r.String(j.Where), Short: r.String(j.Short), Header: r.String(j.Header), Claims: r.String(j.Claims)})
			}
		case EntryWarning:
			if cr.Verdict == VerdictPassed || cr.Verdict == VerdictWarning {
				cr.Verdict = VerdictWarning
				cr.Message = strings.TrimSpace(cr.Message + "\n" + r.String(entryString(entry)))
			}
		}
	}
	if cr.JWTs == nil {
		// A report handed over in-process, not redacted yet: its tokens are
		// whole. (In a results.json they are shortened, and found nothing.)
		cr.JWTs = decodeJWTs(ginkgoRedaction{r}, raw)
	}
	return cr
}

// sourcesFromLabels links "rfc6749"-style labels of a spec the catalogue does
// not know.
func sourcesFromLabels(labels []string) []catalog.Source {
	var out []catalog.Source
	for _, l := range labels {
		if m := rfcLabel.FindStringSubmatch(strings.ToLower(l)); m != nil {
			out = append(out, catalog.Source{Text: "RFC " + m[1], Key: "rfc" + m[1], URL: "https://www.rfc-editor.org/rfc/rfc" + m[1]})
		}
	}
	return out
}

// exchangesOf decodes an "exchange" entry. In a report read back from JSON
// the value is in AsJSON; in a report handed over in-process it is the raw
// value the suite passed.
func exchangesOf(entry types.ReportEntry) ([]trace.Exchange, error) {
	switch v := entry.GetRawValue().(type) {
	case trace.Exchange:
		return []trace.Exchange{v}, nil
	case *trace.Exchange:
		if v == nil {
			return nil, nil
		}
		return []trace.Exchange{*v}, nil
	case []trace.Exchange:
		return v, nil
	}
	data := []byte(entry.Value.AsJSON)
	if len(data) == 0 {
		raw, err := json.Marshal(entry.GetRawValue())
		if err != nil {
			return nil, fmt.Errorf("exchange evidence cannot be encoded: %w", err)
		}
		data = raw
	}
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var list []trace.Exchange
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("exchange evidence is not a list of exchanges: %w", err)
		}
		return list, nil
	}
	var one trace.Exchange
	if err := json.Unmarshal(data, &one); err != nil {
		return nil, fmt.Errorf("exchange evidence is not an exchange: %w", err)
	}
	return []trace.Exchange{one}, nil
}

func entryString(entry types.ReportEntry) string {
	if s, ok := entry.GetRawValue().(string); ok {
		return s
	}
	var s string
	if json.Unmarshal([]byte(entry.Value.AsJSON), &s) == nil {
		return s
	}
	return entry.Value.Representation
}

func readScreenshot(path, baseDir string) Screenshot {
	shot := Screenshot{Path: path}
	if path == "" {
		shot.Err = "empty screenshot path"
		return shot
	}
	full := locateScreenshot(path, baseDir)
	info, err := os.Stat(full)
	switch {
	case err != nil:
		shot.Err = "screenshot not readable: " + err.Error()
		return shot
	case !info.Mode().IsRegular():
		// A results file names the path: /dev/zero or a FIFO would never end.
		shot.Err = "screenshot is not a regular file"
		return shot
	case info.Size() > maxScreenshotBytes:
		shot.Err = fmt.Sprintf("screenshot too large to inline (%d bytes)", info.Size())
		return shot
	}
	f, err := os.Open(full)
	if err != nil {
		shot.Err = "screenshot not readable: " + err.Error()
		return shot
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxScreenshotBytes+1))
	switch {
	case err != nil:
		shot.Err = "screenshot not readable: " + err.Error()
		return shot
	case len(data) > maxScreenshotBytes:
		shot.Err = "screenshot too large to inline (it grew while read)"
		return shot
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		shot.Err = "screenshot is not a PNG file"
		return shot
	}
	shot.PNG = data
	return shot
}

// locateScreenshot finds a screenshot file. A relative path is relative to
// the results file's folder. An absolute path that no longer exists (the
// output folder was moved or copied off a CI machine) is looked for in that
// folder by its last one or two path elements ("screenshots/AC7.png").
func locateScreenshot(path, baseDir string) string {
	if !filepath.IsAbs(path) {
		if baseDir == "" {
			return path
		}
		return filepath.Join(baseDir, path)
	}
	if _, err := os.Stat(path); err == nil || baseDir == "" {
		return path
	}
	name := filepath.Base(path)
	for _, candidate := range []string{
		filepath.Join(baseDir, filepath.Base(filepath.Dir(path)), name),
		filepath.Join(baseDir, name),
	} {
		if _, err := os.Stat(candidate); err == nil {
			return candidate
		}
	}
	return path
}

func truncateBodies(e trace.Exchange) trace.Exchange {
	e.RequestBody = truncate(e.RequestBody)
	e.ResponseBody = truncate(e.ResponseBody)
	return e
}

func truncate(s string) string {
	if len(s) <= maxEvidenceBody {
		return s
	}
	cut := maxEvidenceBody
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n…(truncated: %d bytes in all)", len(s))
}

// AreaSummary is the verdict of one area and the checks behind it.
type AreaSummary struct {
	Area    string
	Title   string
	Verdict Verdict
	Passed  int
	Failed  int
	Skipped int
	// Warnings counts the passed checks (in Passed) that had a warning.
	Warnings int
	// FailedIDs are the IDs of failed checks, each once, in catalogue order
	// (the spec text for failures without an ID).
	FailedIDs []string
	Checks    []CheckResult
}

// Areas groups the checks by area, in catalogue order.
func (c *Conformance) Areas() []AreaSummary {
	var out []AreaSummary
	index := map[string]int{}
	for _, cr := range c.Checks {
		i, ok := index[cr.Area]
		if !ok {
			i = len(out)
			index[cr.Area] = i
			out = append(out, AreaSummary{Area: cr.Area, Title: catalog.AreaTitle(cr.Area)})
		}
		a := &out[i]
		a.Checks = append(a.Checks, cr)
		switch cr.Verdict {
		case VerdictPassed:
			a.Passed++
		case VerdictWarning:
			a.Passed++
			a.Warnings++
		case VerdictFailed:
			a.Failed++
			name := cr.ID
			if name == "" {
				name = cr.Text
			}
			if !slices.Contains(a.FailedIDs, name) {
				a.FailedIDs = append(a.FailedIDs, name)
			}
		default:
			a.Skipped++
		}
	}
	for i := range out {
		a := &out[i]
		switch {
		case a.Failed > 0:
			a.Verdict = VerdictFailed
		case a.Passed > 0:
			a.Verdict = VerdictPassed
		default:
			a.Verdict = VerdictSkipped
		}
	}
	return out
}

// Totals counts the checks by verdict.
// Checks with a warning count as passed; see Warnings.
func (c *Conformance) Totals() (passed, failed, skipped int) {
	for _, cr := range c.Checks {
		switch cr.Verdict {
		case VerdictPassed, VerdictWarning:
			passed++
		case VerdictFailed:
			failed++
		default:
			skipped++
		}
	}
	return passed, failed, skipped
}

// Warnings returns the checks that passed with a warning.
func (c *Conformance) Warnings() []CheckResult {
	var out []CheckResult
	for _, cr := range c.Checks {
		if cr.Verdict == VerdictWarning {
			out = append(out, cr)
		}
	}
	return out
}

// Failed reports whether any check failed or a suite did not succeed.
func (c *Conformance) Failed() bool {
	if _, failed, _ := c.Totals(); failed > 0 {
		return true
	}
	for _, s := range c.Suites {
		if !s.Succeeded {
			return true
		}
	}
	return false
}
