package reports

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/grantbench/grantbench/catalog"
	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/redact"
)

// Input is what one report shows: a conformance run, a load run, or both.
type Input struct {
	Title       string // "" for the default
	Conformance *Conformance
	Load        *loadresult.Result
}

func (in Input) title() string {
	if in.Title != "" {
		return in.Title
	}
	return "grantbench report"
}

// Failed reports whether a check failed, a suite did not succeed or a
// threshold was breached: the run's exit status 1.
func (in Input) Failed() bool {
	return (in.Conformance != nil && in.Conformance.Failed()) || (in.Load != nil && loadFailed(in.Load))
}

// WriteMarkdown writes the summary for a CI step summary or a pull-request
// comment: the verdict per area with the failing check IDs, each failure in
// one line, and the load figures (rate achieved, p50/p95/p99 per flow and
// step, error rate, threshold verdicts). It holds only redacted data.
func WriteMarkdown(w io.Writer, in Input) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: %s\n\n", mdEscape(in.title()), verdictWord(!in.Failed()))
	if rows := in.judged(); len(rows) > 0 {
		for _, row := range rows {
			fmt.Fprintf(&b, "- **%s**: %s\n", mdEscape(row.Name), mdEscape(row.Value))
		}
		b.WriteString("\n")
	}
	if c := in.Conformance; c != nil {
		writeConformanceMarkdown(&b, c)
	}
	if r := in.Load; r != nil {
		writeLoadMarkdown(&b, r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeConformanceMarkdown(b *strings.Builder, c *Conformance) {
	passed, failed, skipped := c.Totals()
	warnings := c.Warnings()
	fmt.Fprintf(b, "## Conformance: %s\n\n%d passed, %d failed, %d skipped.\n\n", verdictWord(!c.Failed()), passed, failed, skipped)
	if len(warnings) > 0 {
		fmt.Fprintf(b, "%d of the passed checks with a warning.\n\n", len(warnings))
	}
	for _, s := range c.Suites {
		if !s.Succeeded && len(s.FailureReasons) > 0 {
			fmt.Fprintf(b, "Suite %s did not succeed: %s.\n\n", mdEscape(s.Name), mdEscape(strings.Join(s.FailureReasons, ", ")))
		}
	}
	if len(c.Checks) == 0 {
		b.WriteString("No checks ran.\n\n")
		return
	}
	b.WriteString("| Area | Verdict | Passed | Failed | Skipped | Failing checks |\n|---|---|--:|--:|--:|---|\n")
	for _, a := range c.Areas() {
		fmt.Fprintf(b, "| %s | %s | %d | %d | %d | %s |\n", mdEscape(a.Title), verdictBadge(a.Verdict),
			a.Passed, a.Failed, a.Skipped, mdEscape(strings.Join(a.FailedIDs, ", ")))
	}
	b.WriteString("\n")
	if len(warnings) > 0 {
		b.WriteString("### Warnings\n\n")
		for _, cr := range warnings {
			fmt.Fprintf(b, "- **%s** %s: %s\n", mdEscape(cr.ID), mdEscape(strings.TrimSpace(strings.TrimPrefix(cr.Text, cr.ID+":"))), mdCode(oneLine(cr.Message)))
		}
		b.WriteString("\n")
	}
	if failed == 0 {
		return
	}
	b.WriteString("### Failures\n\n")
	grouped := map[string]bool{}
	for _, rc := range c.RootCauses() {
		line := fmt.Sprintf("- **Root cause of %d checks**: %s", len(rc.Checks), mdCode(rc.Cause))
		if len(rc.Defects) > 0 {
			line += fmt.Sprintf(" (defect %s switched on)", mdEscape(strings.Join(rc.Defects, ", ")))
		}
		b.WriteString(line + "\n")
		for _, cr := range rc.Checks {
			grouped[cr.ID] = true
			b.WriteString("  " + failureLine(cr, causeOf(cr.Message) != rc.Cause) + "\n")
		}
	}
	for _, cr := range c.Checks {
		if cr.Verdict != VerdictFailed || grouped[cr.ID] {
			continue
		}
		b.WriteString(failureLine(cr, true) + "\n")
	}
	b.WriteString("\n")
}

// failureLine is one failed check as a Markdown list item: ID, text, sources
// and, with message, the failure message.
func failureLine(cr CheckResult, message bool) string {
	line := fmt.Sprintf("- **%s** %s", mdEscape(cr.ID), mdEscape(strings.TrimSpace(strings.TrimPrefix(cr.Text, cr.ID+":"))))
	if cr.ID == "" {
		line = "- " + mdEscape(cr.Text)
	}
	if len(cr.Sources) > 0 {
		var links []string
		for _, s := range cr.Sources {
			links = append(links, mdLink(s))
		}
		line += " (" + strings.Join(links, ", ") + ")"
	}
	if message && cr.Message != "" {
		line += ": " + mdCode(oneLine(cr.Message))
	}
	return line
}

func writeLoadMarkdown(b *strings.Builder, r *loadresult.Result) {
	flowsDone, flowsFailed, dropped, achieved, target := loadTotals(r)
	fmt.Fprintf(b, "## Load: %s\n\n", verdictWord(!loadFailed(r)))
	duration := r.End.Sub(r.Start).Round(100 * time.Millisecond)
	errRate := 0.0
	if flowsDone > 0 {
		errRate = float64(flowsFailed) / float64(flowsDone)
	}
	fmt.Fprintf(b, "%d flows in %s: %s achieved", flowsDone, duration, formatRate(achieved))
	if target > 0 {
		fmt.Fprintf(b, " of %s planned", formatRate(target))
	}
	fmt.Fprintf(b, ", error rate %s, %d dropped.", formatPercent(errRate), dropped)
	if r.Target != "" {
		fmt.Fprintf(b, " Target: %s.", mdCode(redact.URL(r.Target)))
	}
	if r.Partial {
		b.WriteString(" **Partial run**: interrupted before its plan ended.")
	}
	if tail, ok := r.StoppedAnswering(); ok {
		b.WriteString(" **" + unansweredLine(tail) + "**")
	}
	b.WriteString("\n\n")

	if len(r.Thresholds) > 0 {
		b.WriteString("| Threshold | Measured | Verdict |\n|---|---|---|\n")
		for _, v := range r.Thresholds {
			name := mdCode(v.Threshold)
			if v.Default {
				name += " (default)"
			}
			fmt.Fprintf(b, "| %s | %s | %s |\n", name, mdEscape(v.Display), verdictBadge(passFail(v.Passed)))
		}
		b.WriteString("\n")
	}

	b.WriteString("| Scenario | Flow | Achieved | Planned | Flows | Error rate | Dropped | p50 | p95 | p99 | failed p99 |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, sc := range r.Scenarios {
		rate, _, total := flowErrorRate(sc)
		var drop int64
		for _, n := range sc.Dropped {
			drop += n
		}
		planned := "–"
		if sc.TargetRate > 0 {
			planned = formatRate(sc.TargetRate)
		}
		flow := sc.Flow
		if sc.Consent != "" {
			flow += " (" + sc.Consent + " consent)"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %d | %s | %d | %s | %s | %s | %s |\n", mdEscape(sc.Name), mdEscape(flow),
			formatRate(sc.AchievedRate), planned, total, formatPercent(rate), drop,
			formatSeconds(sc.Latency.P50Seconds), formatSeconds(sc.Latency.P95Seconds), formatSeconds(sc.Latency.P99Seconds),
			formatSeconds(sc.FailedLatency.P99Seconds))
	}
	b.WriteString("\n")

	b.WriteString("| Scenario | Step | Requests | Error rate | p50 | p95 | p99 |\n|---|---|--:|--:|--:|--:|--:|\n")
	for _, sc := range r.Scenarios {
		for _, st := range sc.Steps {
			rate, _, total := stepErrorRate(st)
			fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s | %s |\n", mdEscape(sc.Name), mdEscape(st.Name), total, formatPercent(rate),
				formatSeconds(st.Latency.P50Seconds), formatSeconds(st.Latency.P95Seconds), formatSeconds(st.Latency.P99Seconds))
		}
	}
	b.WriteString("\nLatency is measured from each iteration's intended start (corrected for coordinated omission), of the flows that succeeded; failed flows have their own.\n\n")

	if errs := ErrorsByCode(r); len(errs) > 0 {
		b.WriteString("| Failed requests | Count |\n|---|--:|\n")
		for _, e := range errs {
			fmt.Fprintf(b, "| %s | %d |\n", mdEscape(e.Label()), e.Count)
		}
		b.WriteString("\n")
	}
}

// Summary is a one-line verdict of the input, for a terminal: "conformance 7
// passed, 4 failed, 2 skipped; load 1600 flows, FAILED (1 of 3 thresholds
// breached)".
func (in Input) Summary() string {
	var parts []string
	if c := in.Conformance; c != nil {
		passed, failed, skipped := c.Totals()
		parts = append(parts, fmt.Sprintf("conformance %d passed, %d failed, %d skipped", passed, failed, skipped))
	}
	if r := in.Load; r != nil {
		verdict := "passed"
		if n := len(r.Failed()); n > 0 {
			verdict = fmt.Sprintf("FAILED (%d of %d thresholds breached)", n, len(r.Thresholds))
		} else if n := len(r.Thresholds); n == 1 {
			verdict = "passed (1 threshold)"
		} else if n > 1 {
			verdict = fmt.Sprintf("passed (%d thresholds)", n)
		}
		flowsDone, _, _, achieved, _ := loadTotals(r)
		parts = append(parts, fmt.Sprintf("load %d flows at %s, %s", flowsDone, formatRate(achieved), verdict))
	}
	if len(parts) == 0 {
		return "no results"
	}
	return strings.Join(parts, "; ")
}

func passFail(ok bool) Verdict {
	if ok {
		return VerdictPassed
	}
	return VerdictFailed
}

func verdictWord(ok bool) string {
	if ok {
		return "PASSED"
	}
	return "FAILED"
}

func verdictBadge(v Verdict) string {
	switch v {
	case VerdictPassed:
		return "✅ passed"
	case VerdictFailed:
		return "❌ failed"
	case VerdictWarning:
		return "⚠️ warning"
	}
	return "⏭️ skipped"
}

// mdEscape keeps text from breaking a table or turning into markup.
func mdEscape(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	r := strings.NewReplacer(`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`, "`", "\\`")
	return r.Replace(s)
}

// mdCode wraps text in a code span, with a fence long enough for any
// backticks inside it.
func mdCode(s string) string {
	s = strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

func mdLink(s catalog.Source) string {
	if s.URL == "" {
		return mdEscape(s.Text)
	}
	return "[" + mdEscape(s.Text) + "](" + s.URL + ")"
}

// unansweredLine says that the target stopped answering, and since when.
func unansweredLine(t *loadresult.UnansweredTail) string {
	line := fmt.Sprintf("The target stopped answering: the last %d iterations, from %s on, got no response", t.Iterations, t.Since.UTC().Format("15:04:05"))
	if !t.LastResponse.IsZero() {
		line += fmt.Sprintf(" (last response %s)", t.LastResponse.UTC().Format("15:04:05.000"))
	}
	return line + "."
}
