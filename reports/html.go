package reports

import (
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/grantbench/grantbench/redact"
	"github.com/grantbench/grantbench/trace"
)

//go:embed templates/report.html.tmpl
var templateFS embed.FS

// HTMLOptions are the details of the page that do not come from the results.
type HTMLOptions struct {
	Version   string    // grantbench's version, shown in the header
	Generated time.Time // when the report was made; zero means now
}

// WriteHTML writes the self-contained HTML report: one file, no scripts, no
// external assets (a Content-Security-Policy forbids them), readable offline.
// Charts are inline SVG and screenshots data: URIs.
func WriteHTML(w io.Writer, in Input, opts HTMLOptions) error {
	tmpl, err := template.New("report.html.tmpl").Funcs(template.FuncMap{
		"codeSpans": codeSpans,
	}).ParseFS(templateFS, "templates/report.html.tmpl")
	if err != nil {
		return fmt.Errorf("reports: parse HTML template: %w", err)
	}
	page, err := newHTMLPage(in, opts)
	if err != nil {
		return err
	}
	if err := tmpl.Execute(w, page); err != nil {
		return fmt.Errorf("reports: write HTML: %w", err)
	}
	return nil
}

type htmlPage struct {
	Title       string
	Failed      bool
	Generated   string
	Version     string
	Judged      []judgedRow
	Conformance *htmlConformance
	Load        *htmlLoad
}

type htmlConformance struct {
	Passed, Failed, Skipped int
	SuiteProblems           []string
	RootCauses              []htmlRootCause
	Areas                   []htmlArea
}

// htmlRootCause is a RootCause with links to its checks' rows.
type htmlRootCause struct {
	Cause   string
	Defects string
	Checks  []htmlLink
}

type htmlArea struct {
	AreaSummary
	Checks []htmlCheck
	// Failing links each failed check (once per ID) to its row.
	Failing []htmlLink
}

type htmlLink struct{ Name, Anchor string }

type htmlCheck struct {
	CheckResult
	Anchor      string
	Duration    string
	Exchanges   []htmlExchange
	Screenshots []htmlScreenshot
}

type htmlExchange struct {
	Summary string
	Text    string
	// Open unfolds the exchange: the last one, which usually holds the
	// answer the check failed on. The others stay one click away.
	Open bool
}

type htmlScreenshot struct {
	Path    string
	DataURI template.URL
	Err     string
}

type htmlLoad struct {
	FlowsDone        int64
	Achieved         string
	Planned          string
	ErrorRate        string
	Dropped          int64
	Duration         string
	Target           string
	Partial          bool
	Unanswered       string
	ThresholdsFailed int
	Thresholds       []thresholdRow
	Scenarios        []scenarioRow
	Steps            []stepRow
	Charts           []htmlChart
	Errors           []ErrorCount
}

type thresholdRow struct {
	Threshold, Display string
	Passed, Default    bool
}

type scenarioRow struct {
	Name, Flow, Executor, Achieved, Planned, ErrorRate string
	Flows, Dropped                                     int64
	P50, P95, P99, Max, ServiceP99                     string
	// FailedP50 and FailedP99 are the failed iterations' latency, kept
	// apart so a fast refusal does not pass for a fast answer.
	FailedP50, FailedP99 string
}

type stepRow struct {
	Scenario, Name, ErrorRate string
	Requests                  int64
	P50, P95, P99, ServiceP99 string
}

type htmlChart struct {
	ID, Title, Note string
	SVG             template.HTML
}

func newHTMLPage(in Input, opts HTMLOptions) (*htmlPage, error) {
	generated := opts.Generated
	if generated.IsZero() {
		generated = time.Now()
	}
	page := &htmlPage{
		Title:     in.title(),
		Failed:    in.Failed(),
		Generated: generated.UTC().Format("2006-01-02 15:04:05 UTC"),
		Version:   opts.Version,
		Judged:    in.judged(),
	}
	if page.Version == "" {
		page.Version = "(unknown version)"
	}
	if c := in.Conformance; c != nil {
		hc := &htmlConformance{}
		hc.Passed, hc.Failed, hc.Skipped = c.Totals()
		for _, s := range c.Suites {
			if !s.Succeeded && len(s.FailureReasons) > 0 {
				hc.SuiteProblems = append(hc.SuiteProblems, fmt.Sprintf("%s did not succeed: %s", s.Name, strings.Join(s.FailureReasons, ", ")))
			}
		}
		seen := map[string]int{}
		for _, a := range c.Areas() {
			ha := htmlArea{AreaSummary: a}
			linked := map[string]bool{}
			for _, cr := range a.Checks {
				hc := newHTMLCheck(cr, seen)
				ha.Checks = append(ha.Checks, hc)
				name := cr.ID
				if name == "" {
					name = cr.Text
				}
				if cr.Verdict == VerdictFailed && !linked[name] {
					linked[name] = true
					ha.Failing = append(ha.Failing, htmlLink{Name: name, Anchor: hc.Anchor})
				}
			}
			hc.Areas = append(hc.Areas, ha)
		}
		anchors := map[string]string{}
		for _, a := range hc.Areas {
			for _, ch := range a.Checks {
				if _, ok := anchors[ch.ID]; !ok && ch.Verdict == VerdictFailed {
					anchors[ch.ID] = ch.Anchor
				}
			}
		}
		for _, rc := range c.RootCauses() {
			hr := htmlRootCause{Cause: rc.Cause, Defects: strings.Join(rc.Defects, ", ")}
			for _, cr := range rc.Checks {
				hr.Checks = append(hr.Checks, htmlLink{Name: cr.ID, Anchor: anchors[cr.ID]})
			}
			hc.RootCauses = append(hc.RootCauses, hr)
		}
		page.Conformance = hc
	}
	if r := in.Load; r != nil {
		charts, err := LoadCharts(r)
		if err != nil {
			return nil, err
		}
		flowsDone, flowsFailed, dropped, achieved, target := loadTotals(r)
		hl := &htmlLoad{
			FlowsDone:        flowsDone,
			Achieved:         formatRate(achieved),
			Dropped:          dropped,
			Duration:         r.End.Sub(r.Start).Round(100 * time.Millisecond).String(),
			Target:           redact.URL(r.Target),
			Partial:          r.Partial,
			ThresholdsFailed: len(r.Failed()),
			Errors:           ErrorsByCode(r),
			ErrorRate:        formatPercent(0),
		}
		if target > 0 {
			hl.Planned = formatRate(target)
		}
		if flowsDone > 0 {
			hl.ErrorRate = formatPercent(float64(flowsFailed) / float64(flowsDone))
		}
		for _, v := range r.Thresholds {
			hl.Thresholds = append(hl.Thresholds, thresholdRow{Threshold: v.Threshold, Display: v.Display, Passed: v.Passed, Default: v.Default})
		}
		if tail, ok := r.StoppedAnswering(); ok {
			hl.Unanswered = unansweredLine(tail)
		}
		for _, sc := range r.Scenarios {
			rate, _, total := flowErrorRate(sc)
			var drop int64
			for _, n := range sc.Dropped {
				drop += n
			}
			flow := sc.Flow
			if sc.Consent != "" {
				flow += " (" + sc.Consent + " consent)"
			}
			row := scenarioRow{
				Name: sc.Name, Flow: flow, Executor: sc.Executor,
				Achieved: formatRate(sc.AchievedRate), Planned: "–",
				Flows: total, ErrorRate: formatPercent(rate), Dropped: drop,
				P50: formatSeconds(sc.Latency.P50Seconds), P95: formatSeconds(sc.Latency.P95Seconds),
				P99: formatSeconds(sc.Latency.P99Seconds), Max: formatSeconds(sc.Latency.MaxSeconds),
				ServiceP99: formatSeconds(sc.ServiceTime.P99Seconds),
				FailedP50:  formatSeconds(sc.FailedLatency.P50Seconds), FailedP99: formatSeconds(sc.FailedLatency.P99Seconds),
			}
			if sc.TargetRate > 0 {
				row.Planned = formatRate(sc.TargetRate)
			}
			hl.Scenarios = append(hl.Scenarios, row)
			for _, st := range sc.Steps {
				srate, _, stotal := stepErrorRate(st)
				hl.Steps = append(hl.Steps, stepRow{
					Scenario: sc.Name, Name: st.Name, Requests: stotal, ErrorRate: formatPercent(srate),
					P50: formatSeconds(st.Latency.P50Seconds), P95: formatSeconds(st.Latency.P95Seconds),
					P99: formatSeconds(st.Latency.P99Seconds), ServiceP99: formatSeconds(st.ServiceTime.P99Seconds),
				})
			}
		}
		for _, ch := range charts {
			// The SVG comes from our own renderer, not from the results.
			hl.Charts = append(hl.Charts, htmlChart{ID: ch.ID, Title: ch.Title, Note: ch.Note, SVG: template.HTML(ch.SVG)})
		}
		page.Load = hl
	}
	return page, nil
}

var anchorUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// newHTMLCheck prepares one check row; anchors are unique per page even when
// several specs share an ID.
func newHTMLCheck(cr CheckResult, seen map[string]int) htmlCheck {
	base := cr.ID
	if base == "" {
		base = anchorUnsafe.ReplaceAllString(strings.ToLower(cr.Text), "-")
		base = strings.Trim(base, "-")
		if len(base) > 40 {
			base = base[:40]
		}
	}
	seen[base]++
	anchor := base
	if n := seen[base]; n > 1 {
		anchor = fmt.Sprintf("%s-%d", base, n)
	}
	hc := htmlCheck{CheckResult: cr, Anchor: anchor, Duration: cr.Duration.Round(time.Millisecond).String()}
	for i, e := range cr.Exchanges {
		hc.Exchanges = append(hc.Exchanges, htmlExchange{Summary: exchangeSummary(e), Text: exchangeText(e), Open: i == len(cr.Exchanges)-1})
	}
	for _, s := range cr.Screenshots {
		hs := htmlScreenshot{Path: s.Path, Err: s.Err}
		if len(s.PNG) > 0 {
			// A PNG we read and checked the signature of: safe as an img source.
			hs.DataURI = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(s.PNG))
		}
		hc.Screenshots = append(hc.Screenshots, hs)
	}
	return hc
}

// exchangeSummary is the one-line title of an exchange: step, request line
// and status.
func exchangeSummary(e trace.Exchange) string {
	var parts []string
	if e.Step != "" {
		parts = append(parts, "["+e.Step+"]")
	}
	if e.Method != "" {
		parts = append(parts, e.Method)
	}
	if e.URL != "" {
		u := e.URL
		if r := []rune(u); len(r) > 120 {
			u = string(r[:117]) + "…"
		}
		parts = append(parts, u)
	}
	switch {
	case e.Status != 0:
		parts = append(parts, fmt.Sprintf("→ %d", e.Status))
	case e.Err != "":
		parts = append(parts, "→ error")
	}
	return strings.Join(parts, " ")
}

var backtickSpan = regexp.MustCompile("`([^`]+)`")

// codeSpans renders the catalogue's `code` notation as <code>, escaping the
// rest.
func codeSpans(s string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range backtickSpan.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(template.HTMLEscapeString(s[last:m[0]]))
		b.WriteString("<code>" + template.HTMLEscapeString(s[m[2]:m[3]]) + "</code>")
		last = m[1]
	}
	b.WriteString(template.HTMLEscapeString(s[last:]))
	return template.HTML(b.String())
}
