package reports

import (
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"

	"github.com/grantbench/grantbench/loadresult"
	sample "github.com/grantbench/grantbench/reports/reportstest"
)

func labels(ticks []plot.Tick) string {
	var out []string
	for _, t := range ticks {
		if t.Label != "" {
			out = append(out, t.Label)
		}
	}
	return strings.Join(out, ",")
}

func TestTickLabels(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   string
	}{
		{2, 8, "2,5"},
		{0.3, 40, "0.5,1,2,5,10,20"},
		{1.5, 1.9, ""}, // no round value inside: minor marks only, axis still drawn
	} {
		if got := labels(logTicks{}.Ticks(tc.lo, tc.hi)); got != tc.want {
			t.Errorf("logTicks(%v, %v) = %q, want %q", tc.lo, tc.hi, got, tc.want)
		}
	}
	for _, tk := range (niceTicks{}).Ticks(0, 0.3) {
		if tk.Label != "" && (strings.HasSuffix(tk.Label, "0") && strings.Contains(tk.Label, ".") || len(tk.Label) > 5) {
			t.Errorf("untidy tick label %q", tk.Label)
		}
	}
}

// TestChartsOfDegenerateRuns: a run with one second, one latency value or
// nothing finished still renders (no panics from the plotting library's
// range checks) and shows no distribution without flows.
func TestChartsOfDegenerateRuns(t *testing.T) {
	full, err := sample.Load(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	oneSecond := *full
	oneSecond.Series = full.Series[:1]
	empty := loadresult.Result{Schema: loadresult.ResultSchema, Series: []loadresult.Point{{Second: 0}}, Scenarios: []loadresult.ScenarioResult{{Name: "idle", Flow: "refresh"}}}
	for name, r := range map[string]*loadresult.Result{"one second": &oneSecond, "nothing finished": &empty, "no series": {Schema: 1}} {
		charts, err := LoadCharts(r)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, c := range charts {
			if !strings.HasPrefix(c.SVG, "<svg") || !strings.HasSuffix(strings.TrimSpace(c.SVG), "</svg>") {
				t.Errorf("%s: chart %s is not an SVG element", name, c.ID)
			}
			if name == "nothing finished" && strings.HasPrefix(c.ID, "chart-distribution") {
				t.Errorf("%s: a distribution chart without flows", name)
			}
		}
	}
}

// TestHostileNamesStayText: names in a hand-edited load.json or a hostile
// provider's error codes end up in tables and chart labels as text, never as
// markup.
func TestHostileNamesStayText(t *testing.T) {
	r, err := sample.Load(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	r.Scenarios[0].Name = `<script>alert("scenario")</script>`
	r.Scenarios[0].Steps[0].Requests = append(r.Scenarios[0].Steps[0].Requests,
		loadresult.RequestCount{Outcome: "oauth_error", StatusClass: "4xx", OAuthError: `<img src=x onerror=alert(1)>`, Count: 3})
	var b strings.Builder
	if err := WriteHTML(&b, Input{Load: r}, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<img src=x"} {
		if strings.Contains(b.String(), bad) {
			t.Errorf("the page contains %q as markup", bad)
		}
	}
	if !strings.Contains(b.String(), "&lt;img src=x onerror=alert(1)&gt;") {
		t.Error("the hostile error code is not shown as text")
	}
}

func TestLatencyOverTimeUsesEachSecondsHistogram(t *testing.T) {
	r, err := sample.Load(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	legend := func(series []loadresult.Point) string {
		t.Helper()
		p, err := latencyOverTimePlot(series, nil)
		if err != nil {
			t.Fatal(err)
		}
		svg, err := renderSVG(p)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, q := range []string{"p50", "p90", "p99", "p99.9"} {
			if strings.Contains(svg, ">"+q+"</text>") {
				names = append(names, q)
			}
		}
		return strings.Join(names, ",")
	}
	if got := legend(r.Series); got != "p50,p90,p99,p99.9" {
		t.Errorf("lines from per-second histograms: %s, want p50,p90,p99,p99.9", got)
	}
	withoutHDR := append([]loadresult.Point(nil), r.Series...)
	for i := range withoutHDR {
		withoutHDR[i].HDR = ""
	}
	if got := legend(withoutHDR); got != "p50,p99" {
		t.Errorf("lines from the stored percentiles: %s, want p50,p99", got)
	}
	broken := append([]loadresult.Point(nil), r.Series...)
	broken[3].HDR = "not a histogram"
	if _, err := latencyOverTimePlot(broken, nil); err == nil || !strings.Contains(err.Error(), "second 3") {
		t.Errorf("a damaged histogram should be named by its second, got %v", err)
	}
}
