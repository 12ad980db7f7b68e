package reports

import (
	"fmt"
	"image/color"
	"math"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"

	"github.com/grantbench/grantbench/loadresult"
	sample "github.com/grantbench/grantbench/reports/reportstest"
)

// The layout tests draw a chart on a recording canvas and replay what was
// drawn with its transforms, so that they judge where text and lines land
// on the chart, not how the code that put them there reads.

type box struct{ minX, minY, maxX, maxY float64 }

func (b box) String() string {
	return fmt.Sprintf("[%.1f,%.1f]-[%.1f,%.1f]", b.minX, b.minY, b.maxX, b.maxY)
}

type drawnText struct {
	text string
	box  box
}

type drawnLine struct {
	color  color.Color
	width  vg.Length
	dashed bool
	points []vg.Point
}

type layout struct {
	texts []drawnText
	lines []drawnLine
}

// affine is x' = a*x + b*y + c, y' = d*x + e*y + f.
type affine struct{ a, b, c, d, e, f float64 }

func (m affine) apply(p vg.Point) vg.Point {
	x, y := float64(p.X), float64(p.Y)
	return vg.Point{X: vg.Length(m.a*x + m.b*y + m.c), Y: vg.Length(m.d*x + m.e*y + m.f)}
}

func (m affine) then(n affine) affine { // m applied after n: m(n(p))
	return affine{
		a: m.a*n.a + m.b*n.d, b: m.a*n.b + m.b*n.e, c: m.a*n.c + m.b*n.f + m.c,
		d: m.d*n.a + m.e*n.d, e: m.d*n.b + m.e*n.e, f: m.d*n.c + m.e*n.f + m.f,
	}
}

type sizedRecorder struct{ *recorder.Canvas }

func (sizedRecorder) Size() (vg.Length, vg.Length) { return chartWidth, chartHeight }

func layoutOf(t *testing.T, p *chartPlot) layout {
	t.Helper()
	rec := &recorder.Canvas{}
	drawChart(draw.New(sizedRecorder{rec}), p)
	var out layout
	m := affine{a: 1, e: 1}
	var stack []affine
	var col color.Color = color.Black
	var width vg.Length
	var dashed bool
	for _, a := range rec.Actions {
		switch a := a.(type) {
		case *recorder.Push:
			stack = append(stack, m)
		case *recorder.Pop:
			m, stack = stack[len(stack)-1], stack[:len(stack)-1]
		case *recorder.Translate:
			m = m.then(affine{a: 1, c: float64(a.Point.X), e: 1, f: float64(a.Point.Y)})
		case *recorder.Rotate:
			s, c := math.Sincos(a.Angle)
			m = m.then(affine{a: c, b: -s, d: s, e: c})
		case *recorder.Scale:
			m = m.then(affine{a: a.X, e: a.Y})
		case *recorder.SetColor:
			col = a.Color
		case *recorder.SetLineWidth:
			width = a.Width
		case *recorder.SetLineDash:
			dashed = len(a.Dashes) > 0
		case *recorder.Stroke:
			var pts []vg.Point
			for _, c := range a.Path {
				if c.Type == vg.MoveComp || c.Type == vg.LineComp {
					pts = append(pts, m.apply(c.Pos))
				}
			}
			out.lines = append(out.lines, drawnLine{color: col, width: width, dashed: dashed, points: pts})
		case *recorder.FillString:
			face := font.DefaultCache.Lookup(a.Font, a.Size)
			w := float64(face.Width(a.String))
			asc, desc := float64(face.Extents().Ascent), float64(face.Extents().Descent)
			b := box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
			for _, corner := range []vg.Point{{X: a.Point.X, Y: a.Point.Y - vg.Length(desc)},
				{X: a.Point.X + vg.Length(w), Y: a.Point.Y + vg.Length(asc)},
				{X: a.Point.X, Y: a.Point.Y + vg.Length(asc)}, {X: a.Point.X + vg.Length(w), Y: a.Point.Y - vg.Length(desc)}} {
				q := m.apply(corner)
				b.minX, b.maxX = math.Min(b.minX, float64(q.X)), math.Max(b.maxX, float64(q.X))
				b.minY, b.maxY = math.Min(b.minY, float64(q.Y)), math.Max(b.maxY, float64(q.Y))
			}
			out.texts = append(out.texts, drawnText{text: a.String, box: b})
		}
	}
	return out
}

// dataLines are the strokes in a series colour (the thumbnails of the
// legend among them, which sit beside their text, never on it) and the
// dashed threshold lines across the plot.
func (l layout) dataLines() []drawnLine {
	var out []drawnLine
	for _, ln := range l.lines {
		if ln.dashed && len(ln.points) > 1 && ln.points[len(ln.points)-1].X-ln.points[0].X > chartWidth/4 {
			out = append(out, ln)
			continue
		}
		for i := range 8 {
			if ln.color == palette(i) && len(ln.points) > 2 {
				out = append(out, ln)
			}
		}
	}
	return out
}

func crosses(b box, ln drawnLine) bool {
	for i := 1; i < len(ln.points); i++ {
		p, q := ln.points[i-1], ln.points[i]
		for s := 0.0; s <= 1; s += 0.02 {
			x := float64(p.X) + s*float64(q.X-p.X)
			y := float64(p.Y) + s*float64(q.Y-p.Y)
			if x >= b.minX && x <= b.maxX && y >= b.minY && y <= b.maxY {
				return true
			}
		}
	}
	return false
}

// busyRun is the sample run with the busiest second last among the
// complete ones and a threshold near the top, where a legend in the plot's
// corner would sit on the lines.
func busyRun(t *testing.T) *loadresult.Result {
	t.Helper()
	r, err := sample.Load(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	last := len(r.Series) - 2 // the last complete second
	// Move the sample's slow seconds to the end, under the legend's corner.
	type lat struct {
		p50, p99 float64
		hdr      string
	}
	lats := make([]lat, len(r.Series))
	for i, pt := range r.Series {
		lats[i] = lat{pt.P50Seconds, pt.P99Seconds, pt.HDR}
	}
	for i := range r.Series {
		l := lats[(i+len(lats)-4)%len(lats)]
		r.Series[i].P50Seconds, r.Series[i].P99Seconds, r.Series[i].HDR = l.p50, l.p99, l.hdr
	}
	for i := range r.Series {
		r.Series[i].Requests = int64(100 + i)
		r.Series[i].Flows = int64(50 + i)
	}
	r.Series[last].Requests, r.Series[last].Flows = 900, 880
	return r
}

func TestChartLegendsSitAboveTheLines(t *testing.T) {
	r := busyRun(t)
	through, err := throughputPlot(r)
	if err != nil {
		t.Fatal(err)
	}
	var highest float64
	for _, pt := range r.Series {
		highest = math.Max(highest, pt.P99Seconds)
	}
	// Two thresholds just above the highest p99: six legend entries, and
	// the threshold lines at the top of the data, where a legend in the
	// plot's corner (as it once was, over 30% headroom) sits on them.
	near := loadresult.Verdict{Limit: highest * 1.05, Unit: "seconds"}
	near.Threshold = fmt.Sprintf("flow:p99<%.0fms", near.Limit*1000)
	nearer := loadresult.Verdict{Limit: highest * 1.02, Unit: "seconds"}
	nearer.Threshold = fmt.Sprintf("token:p99<%.1fms", nearer.Limit*1000)
	latency, err := latencyOverTimePlot(r.Series, []loadresult.Verdict{near, nearer})
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*chartPlot{"throughput": through, "latency": latency} {
		l := layoutOf(t, p)
		lines := l.dataLines()
		if len(lines) == 0 {
			t.Fatalf("%s: no data lines drawn", name)
		}
		for _, e := range p.legend {
			found := false
			for _, tx := range l.texts {
				if tx.text != e.name {
					continue
				}
				found = true
				for _, ln := range lines {
					if crosses(tx.box, ln) {
						t.Errorf("%s: the legend entry %q at %s covers a line", name, e.name, tx.box)
						break
					}
				}
			}
			if !found {
				t.Errorf("%s: legend entry %q not drawn", name, e.name)
			}
		}
	}
}

func TestChartTextStaysOnTheCanvas(t *testing.T) {
	r := busyRun(t)
	for i := range r.Series {
		r.Series[i].Requests = 123456 + int64(i) // wide y tick labels
	}
	charts := map[string]*chartPlot{}
	var err error
	if charts["throughput"], err = throughputPlot(r); err != nil {
		t.Fatal(err)
	}
	if charts["latency"], err = latencyOverTimePlot(r.Series, r.Thresholds); err != nil {
		t.Fatal(err)
	}
	if charts["distribution"], err = distributionPlot(r.Scenarios[0].Latency, palette(0)); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("unsupported_grant_type_from_a_verbose_provider_", 3)
	if charts["errors"], err = errorsPlot([]ErrorCount{{Outcome: "oauth_error", StatusClass: "4xx", OAuthError: long, Count: 40},
		{Outcome: "timeout", Count: 3}}); err != nil {
		t.Fatal(err)
	}
	w, h := float64(chartWidth), float64(chartHeight)
	for name, p := range charts {
		if p == nil {
			t.Fatalf("%s: no chart", name)
		}
		l := layoutOf(t, p)
		if len(l.texts) == 0 {
			t.Fatalf("%s: no text drawn", name)
		}
		for _, tx := range l.texts {
			if tx.box.minX < 0 || tx.box.minY < 0 || tx.box.maxX > w || tx.box.maxY > h {
				t.Errorf("%s: %q at %s is cut at the canvas's edge (%.0fx%.0f)", name, tx.text, tx.box, w, h)
			}
		}
		if name == "errors" {
			for _, tx := range l.texts {
				if strings.HasPrefix(tx.text, "unsupported_grant") && tx.box.maxX-tx.box.minX > 0.45*w {
					t.Errorf("errors: the label %q takes %.0f of %.0f points: the bars lose the chart", tx.text, tx.box.maxX-tx.box.minX, w)
				}
			}
		}
	}
}

func TestLinearAxesHaveEnoughLabels(t *testing.T) {
	for _, hi := range []float64{7, 37, 1234, 0.3, 86000, 5e6} {
		n := 0
		for _, tk := range (niceTicks{}).Ticks(0, hi) {
			if tk.Label != "" {
				n++
			}
		}
		if n < 4 || n > 9 {
			t.Errorf("a 0..%g axis gets %d labels, want 4 to 9 to read a value off it", hi, n)
		}
	}
}

func TestLatencyChartDrawsThresholds(t *testing.T) {
	r := busyRun(t)
	var highest float64
	for _, pt := range r.Series {
		highest = math.Max(highest, pt.P99Seconds)
	}
	near := loadresult.Verdict{Threshold: "flow:p99<1s", Limit: highest * 1.2, Unit: "seconds"}
	near.Threshold = fmt.Sprintf("flow:p99<%.0fms", near.Limit*1000)
	far := loadresult.Verdict{Threshold: "flow:p50<1h", Limit: 3600, Unit: "seconds"}
	p, err := latencyOverTimePlot(r.Series, []loadresult.Verdict{near, far})
	if err != nil {
		t.Fatal(err)
	}
	l := layoutOf(t, p)
	var dashed []drawnLine
	for _, ln := range l.lines {
		// The legend's thumbnail is dashed too, and short.
		if ln.dashed && len(ln.points) > 1 && ln.points[len(ln.points)-1].X-ln.points[0].X > chartWidth/4 {
			dashed = append(dashed, ln)
		}
	}
	if len(dashed) != 1 {
		t.Fatalf("want one dashed threshold line, got %d", len(dashed))
	}
	pts := dashed[0].points
	if first, last := pts[0], pts[len(pts)-1]; math.Abs(float64(first.Y-last.Y)) > 0.5 || last.X-first.X < chartWidth/2 {
		t.Errorf("the threshold line runs from %v to %v, want horizontal across the plot", first, last)
	}
	named := false
	for _, tx := range l.texts {
		named = named || tx.text == near.Threshold
	}
	if !named {
		t.Errorf("the threshold %s is not named in the legend", near.Threshold)
	}
	if !strings.Contains(p.note, far.Threshold) {
		t.Errorf("the far threshold %s is neither drawn nor named in the note %q", far.Threshold, p.note)
	}
}

func TestThroughputLeavesOutPartialSeconds(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &loadresult.Result{Start: t0.Add(300 * time.Millisecond), End: t0.Add(5600 * time.Millisecond)}
	for i := range 6 {
		r.Series = append(r.Series, loadresult.Point{Time: t0.Add(time.Duration(i) * time.Second), Second: i, Requests: 100})
	}
	r.Series[5].Requests = 60 // 0.6 s of the last second: looks like a drop
	points, scale, note := completeSeconds(r)
	var seconds []int
	for _, p := range points {
		seconds = append(seconds, p.Second)
	}
	if fmt.Sprint(seconds) != "[1 2 3 4]" || scale != nil || !strings.Contains(note, "2 partial") {
		t.Errorf("complete seconds %v scale %v note %q, want [1 2 3 4] and a note on 2 partial seconds", seconds, scale, note)
	}
	short := &loadresult.Result{Start: t0.Add(200 * time.Millisecond), End: t0.Add(1200 * time.Millisecond),
		Series: []loadresult.Point{{Time: t0, Second: 0, Requests: 80}, {Time: t0.Add(time.Second), Second: 1, Requests: 20}}}
	_, scale, note = completeSeconds(short)
	if len(scale) != 2 || math.Abs(scale[0]-1/0.8) > 1e-9 || math.Abs(scale[1]-1/0.2) > 1e-9 || note == "" {
		t.Errorf("a 1 s run: scale %v note %q, want each point scaled to its share of the second", scale, note)
	}
}
