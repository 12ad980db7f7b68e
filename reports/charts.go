package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/grantbench/grantbench/loadresult"
)

// Chart is one rendered chart: an SVG element to inline into the HTML page.
type Chart struct {
	ID    string // stable element id, for tests and links
	Title string
	SVG   string // "<svg ...>...</svg>", no XML prolog
	// Note says what the chart leaves out or how it was drawn ("" for nothing).
	Note string
}

// Chart size: wide enough for a minute of per-second points, small enough
// that two fit side by side on a laptop screen.
const (
	chartWidth  = 7 * vg.Inch
	chartHeight = 3.2 * vg.Inch
	// legendStrip is the height of the band above the plotting area that
	// holds the legend, so it never covers a line.
	legendStrip = 18
	// distributionBins is the number of bars of a latency histogram.
	distributionBins = 40
	// maxChartPoints bounds the points of a line: a longer series is drawn
	// in buckets of whole seconds, so that a day-long run (or a crafted file
	// with a million points) renders in bounded time and size.
	maxChartPoints = 1200
	// yTicks is about how many labelled ticks a linear axis gets.
	yTicks = 6
	// thresholdReach: a latency threshold further above the data than this
	// factor is named in the chart's note rather than drawn, which would
	// squash the lines to the bottom.
	thresholdReach = 4
)

// palette holds the series colours: distinguishable, and readable for the
// common colour-vision deficiencies (Okabe–Ito).
func palette(i int) color.Color {
	colors := []color.RGBA{
		{0, 114, 178, 255},   // blue
		{213, 94, 0, 255},    // vermillion
		{0, 158, 115, 255},   // bluish green
		{204, 121, 167, 255}, // reddish purple
		{230, 159, 0, 255},   // orange
		{86, 180, 233, 255},  // sky blue
	}
	return colors[i%len(colors)]
}

// chartPlot is a plot with the legend drawn above it (see renderSVG) and a
// note for the figure.
type chartPlot struct {
	*plot.Plot
	legend []legendEntry
	note   string
}

type legendEntry struct {
	name  string
	thumb plot.Thumbnailer
}

func (c *chartPlot) addLegend(name string, thumb plot.Thumbnailer) {
	c.legend = append(c.legend, legendEntry{name, thumb})
}

// LoadCharts renders the charts of a load run: throughput over time,
// latency percentiles over time, the latency distribution of each scenario
// and errors by code (when there were any). Any result renders, however
// damaged or crafted, in time and memory bounded by its size.
func LoadCharts(r *loadresult.Result) ([]Chart, error) {
	var charts []Chart
	add := func(id, title string, p *chartPlot, err error) error {
		if err != nil {
			return fmt.Errorf("reports: chart %q: %w", title, err)
		}
		if p == nil {
			return nil // nothing to draw
		}
		svg, err := renderSVG(p)
		if err != nil {
			return fmt.Errorf("reports: chart %q: %w", title, err)
		}
		charts = append(charts, Chart{ID: id, Title: title, SVG: svg, Note: p.note})
		return nil
	}
	if len(r.Series) > 0 {
		p, err := throughputPlot(r)
		if err := add("chart-throughput", "Throughput over time", p, err); err != nil {
			return nil, err
		}
		p, err = latencyOverTimePlot(r.Series, r.Thresholds)
		if err := add("chart-latency-time", "Flow latency percentiles over time", p, err); err != nil {
			return nil, err
		}
	}
	for i, sc := range r.Scenarios {
		title := "Latency distribution: " + sc.Name
		p, err := distributionPlot(sc.Latency, palette(i))
		if err := add(fmt.Sprintf("chart-distribution-%d", i), title, p, err); err != nil {
			return nil, err
		}
	}
	if errs := ErrorsByCode(r); len(errs) > 0 {
		p, err := errorsPlot(errs)
		if err := add("chart-errors", "Failed requests by outcome and error code", p, err); err != nil {
			return nil, err
		}
	}
	return charts, nil
}

// sans is the charts' typeface at a size.
func sans(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

// newPlot returns a plot with the report's fonts and a grid. The title is
// the HTML figure's caption, so the plot carries none.
func newPlot(xLabel, yLabel string) *chartPlot {
	p := plot.New()
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.X.Label.TextStyle.Font = sans(11)
	p.Y.Label.TextStyle.Font = sans(11)
	p.X.Tick.Label.Font = sans(9)
	p.Y.Tick.Label.Font = sans(9)
	p.X.Tick.Marker = niceTicks{}
	p.Y.Tick.Marker = niceTicks{}
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	return &chartPlot{Plot: p}
}

// finite reports whether v is a number a chart can place.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// chartPoint is one point of a time series as drawn: a second, or a bucket
// of seconds when the series is longer than maxChartPoints.
type chartPoint struct {
	X       float64 // seconds since start
	Seconds float64 // how many seconds it covers, for per-second rates
	Points  []loadresult.Point
}

// bucketSeries groups the series into at most maxChartPoints buckets of
// consecutive points.
func bucketSeries(series []loadresult.Point) []chartPoint {
	size := 1
	if len(series) > maxChartPoints {
		size = (len(series) + maxChartPoints - 1) / maxChartPoints
	}
	out := make([]chartPoint, 0, (len(series)+size-1)/size)
	for i := 0; i < len(series); i += size {
		part := series[i:min(i+size, len(series))]
		out = append(out, chartPoint{X: float64(part[0].Second), Seconds: float64(len(part)), Points: part})
	}
	return out
}

// completeSeconds keeps the points whose whole second lies in the run's
// timed phase. The series counts by wall-clock second, so the first and
// last points cover only part of a second: drawn as they are, the last one
// looks like a drop in throughput that never happened. A run shorter than
// two seconds has no complete second; its points are scaled to the share
// of the second they cover instead. A result without start and end times
// (made by hand) is drawn as it is.
func completeSeconds(r *loadresult.Result) (points []loadresult.Point, scale []float64, note string) {
	if r.Start.IsZero() || !r.End.After(r.Start) {
		return r.Series, nil, ""
	}
	var partial int
	for _, p := range r.Series {
		if !p.Time.Before(r.Start) && !p.Time.Add(time.Second).After(r.End) {
			points = append(points, p)
		} else {
			partial++
		}
	}
	switch {
	case len(points) > 0 && partial > 0:
		return points, nil, fmt.Sprintf("Complete seconds only: %d partial second(s) at the start or end of the run are left out.", partial)
	case len(points) > 0:
		return points, nil, ""
	}
	for _, p := range r.Series {
		from, to := p.Time, p.Time.Add(time.Second)
		if from.Before(r.Start) {
			from = r.Start
		}
		if to.After(r.End) {
			to = r.End
		}
		share := to.Sub(from).Seconds()
		if share <= 0 {
			continue
		}
		points = append(points, p)
		scale = append(scale, 1/share)
	}
	if len(points) == 0 {
		return r.Series, nil, ""
	}
	return points, scale, "The run was shorter than two seconds: each point is scaled to the part of its second the run covered."
}

func throughputPlot(r *loadresult.Result) (*chartPlot, error) {
	series, scale, note := completeSeconds(r)
	p := newPlot("seconds since start", "per second")
	p.note = note
	lines := []struct {
		name  string
		value func(loadresult.Point) int64
	}{
		// Requests first, so flows draws over it where a flow is one request.
		{"requests", func(pt loadresult.Point) int64 { return pt.Requests }},
		{"flows", func(pt loadresult.Point) int64 { return pt.Flows }},
		{"errors", func(pt loadresult.Point) int64 { return pt.Errors }},
		{"dropped", func(pt loadresult.Point) int64 { return pt.Dropped }},
	}
	scaleOf := map[int]float64{}
	for i, pt := range series {
		if scale != nil {
			scaleOf[pt.Second] = scale[i]
		}
	}
	buckets := bucketSeries(series)
	if len(buckets) < len(series) {
		p.note = strings.TrimSpace(p.note + fmt.Sprintf(" Each point is the mean of %d seconds.", len(buckets[0].Points)))
	}
	for i, l := range lines {
		xys := make(plotter.XYs, 0, len(buckets))
		for _, b := range buckets {
			var sum float64
			for _, pt := range b.Points {
				v := float64(l.value(pt))
				if f, ok := scaleOf[pt.Second]; ok {
					v *= f
				}
				sum += v
			}
			if y := sum / b.Seconds; finite(y) && finite(b.X) {
				xys = append(xys, plotter.XY{X: b.X, Y: y})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		line.Color = palette(i)
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.addLegend(l.name, line)
	}
	p.Y.Max *= 1.08 // the busiest line clear of the top edge
	return p, nil
}

// latencyOverTimePlot draws flow latency percentiles per second. Each
// second's histogram travels in the result, so p90 and p99.9 come from it;
// a result without them (older, or hand-made) shows the p50 and p99 it has.
// Latency thresholds of the run are drawn as dashed lines.
func latencyOverTimePlot(series []loadresult.Point, thresholds []loadresult.Verdict) (*chartPlot, error) {
	p := newPlot("seconds since start", "ms from intended start")
	quantiles := []struct {
		name    string
		percent float64
		stored  func(loadresult.Point) float64 // when the second has no histogram
	}{
		{"p50", 50, func(pt loadresult.Point) float64 { return pt.P50Seconds }},
		{"p90", 90, nil},
		{"p99", 99, func(pt loadresult.Point) float64 { return pt.P99Seconds }},
		{"p99.9", 99.9, nil},
	}
	lines := make([]plotter.XYs, len(quantiles))
	var highest float64
	for _, b := range bucketSeries(series) {
		var merged *hdrhistogram.Histogram
		var stored []float64
		for _, pt := range b.Points {
			if pt.Flows == 0 && pt.P50Seconds == 0 && pt.HDR == "" {
				continue // no flow finished in this second: no latency to show
			}
			if pt.HDR != "" {
				h, err := decodeHDR(pt.HDR)
				if err != nil {
					return nil, fmt.Errorf("series second %d: %w", pt.Second, err)
				}
				if merged == nil {
					merged = h
				} else {
					merged.Merge(h)
				}
				continue
			}
			// Without histograms a bucket shows its slowest second.
			for i, q := range quantiles {
				if stored == nil {
					stored = make([]float64, len(quantiles))
				}
				if q.stored != nil {
					stored[i] = math.Max(stored[i], q.stored(pt))
				}
			}
		}
		for i, q := range quantiles {
			var ms float64
			switch {
			case merged != nil && merged.TotalCount() > 0:
				ms = float64(merged.ValueAtQuantile(q.percent)) / 1000
			case stored != nil && q.stored != nil:
				ms = stored[i] * 1000
			default:
				continue
			}
			if !finite(ms) || ms < 0 || !finite(b.X) {
				continue
			}
			highest = math.Max(highest, ms)
			lines[i] = append(lines[i], plotter.XY{X: b.X, Y: ms})
		}
	}
	for i, xys := range lines {
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		line.Color = palette(i)
		line.Width = vg.Points(1.5)
		points.Color = palette(i)
		points.Shape = draw.CircleGlyph{}
		points.Radius = vg.Points(1.5)
		if len(xys) > 300 {
			points.Radius = 0 // dense: the dots would merge into a band
		}
		p.Add(line, points)
		p.addLegend(quantiles[i].name, line)
	}
	var above []string
	for _, v := range thresholds {
		th, err := loadresult.ParseThreshold(v.Threshold)
		if err != nil || v.Unit != "seconds" || strings.HasPrefix(th.Metric, "service_") || !finite(v.Limit) || v.Limit <= 0 {
			continue
		}
		ms := v.Limit * 1000
		if highest > 0 && ms > highest*thresholdReach {
			above = append(above, v.Threshold)
			continue
		}
		line := plotter.NewFunction(func(float64) float64 { return ms })
		line.Color = color.RGBA{207, 34, 46, 255}
		line.Width = vg.Points(1)
		line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		p.Add(line)
		p.addLegend(v.Threshold, line)
		if ms > p.Y.Max {
			p.Y.Max = ms
		}
	}
	if len(above) > 0 {
		p.note = fmt.Sprintf("Threshold %s lies far above the measured latency and is not drawn.", strings.Join(above, ", "))
	}
	p.Y.Max *= 1.08 // the top line, or a threshold on it, clear of the edge
	return p, nil
}

// distributionPlot draws the latency histogram from the HDR data, on a
// logarithmic axis with logarithmic bins from the fastest to the slowest
// flow: latency is long-tailed, and on a linear axis the bulk of the flows
// would crowd into one bar. A histogram with nothing in it (whatever its
// count field claims) has no chart: nil.
func distributionPlot(h loadresult.Histogram, c color.Color) (*chartPlot, error) {
	if h.HDR == "" {
		return nil, nil
	}
	hist, err := decodeHDR(h.HDR)
	if err != nil {
		return nil, err
	}
	if hist.TotalCount() <= 0 {
		return nil, nil
	}
	lo := float64(hist.Min()) / 1000 // milliseconds
	hi := float64(hist.Max()) / 1000
	lo = math.Max(lo, 0.001)
	if hi <= lo*1.01 {
		lo, hi = lo/1.5, math.Max(hi, lo)*1.5
	}
	ratio := math.Log(hi / lo)
	if !finite(ratio) || ratio <= 0 {
		return nil, fmt.Errorf("latency range %g to %g ms cannot be drawn", lo, hi)
	}
	bins := make([]plotter.HistogramBin, distributionBins)
	for i := range bins {
		bins[i] = plotter.HistogramBin{
			Min: lo * math.Exp(ratio*float64(i)/distributionBins),
			Max: lo * math.Exp(ratio*float64(i+1)/distributionBins),
		}
	}
	for _, bar := range hist.Distribution() {
		if bar.Count == 0 {
			continue
		}
		ms := math.Max(float64(bar.From+bar.To)/2/1000, lo)
		i := int(math.Floor(math.Log(ms/lo) / ratio * distributionBins))
		i = min(max(i, 0), distributionBins-1)
		bins[i].Weight += float64(bar.Count)
	}
	p := newPlot("milliseconds (logarithmic)", "flows")
	hp := &plotter.Histogram{Bins: bins, FillColor: c}
	hp.LineStyle.Width = vg.Points(0.5)
	hp.LineStyle.Color = color.White
	p.Add(hp)
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{}
	p.X.Min, p.X.Max = lo, hi
	p.Y.Max *= 1.08 // the tallest bar clear of the top edge
	return p, nil
}

// maxDecades bounds a logarithmic axis: microseconds to hours is ten.
const maxDecades = 24

// logTicks labels a logarithmic axis at 1, 2 and 5 times the powers of ten
// that fall in its range, and marks the other whole multiples, so that even
// a narrow range (2 to 8 ms) gets labels. A range that is not positive and
// finite gets no ticks (log10(0) would never let the loop end).
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !finite(lo) || !finite(hi) || lo <= 0 || hi < lo {
		return nil
	}
	var ticks []plot.Tick
	first := math.Floor(math.Log10(lo))
	for exp := first; exp <= first+maxDecades && math.Pow(10, exp) <= hi; exp++ {
		base := math.Pow(10, exp)
		for m := 1; m <= 9; m++ {
			v := float64(m) * base
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = formatTick(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// niceTicks labels a linear axis at about yTicks round values (1, 2 or 5
// times a power of ten apart), with an unlabelled mark between two labels,
// and labels free of trailing zeros ("250", "2.5"). plot's default asks for
// three labels, too few to read a value off the axis. A range that is not
// finite gets no ticks rather than a loop.
type niceTicks struct{}

func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !finite(lo) || !finite(hi) || hi < lo {
		return nil
	}
	if hi == lo {
		return []plot.Tick{{Value: lo, Label: formatTick(lo)}}
	}
	step := niceStep((hi - lo) / yTicks)
	if !finite(step) || step <= 0 {
		return nil
	}
	first := math.Ceil(lo/step) * step
	var ticks []plot.Tick
	// Counted, not accumulated: at 1e18 adding a small step changes nothing.
	for i := 0; i <= 2*yTicks+4; i++ {
		v := first + float64(i)*step/2
		if v > hi+step*1e-9 {
			break
		}
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		t := plot.Tick{Value: v}
		if i%2 == 0 {
			t.Label = formatTick(v)
		}
		ticks = append(ticks, t)
	}
	if i := first - step/2; i >= lo {
		ticks = append([]plot.Tick{{Value: i}}, ticks...)
	}
	return ticks
}

// niceStep rounds raw to the nearest (on a log scale) of 1, 2 or 5 times a
// power of ten. Rounding up, as it once did, gave 0..1234 a step of 500 and
// three labels; the nearest step keeps the label count between about four
// and nine.
func niceStep(raw float64) float64 {
	if raw <= 0 || !finite(raw) {
		return 0
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	best, bestDist := mag, math.Inf(1)
	for _, m := range []float64{1, 2, 5, 10} {
		if d := math.Abs(math.Log(m * mag / raw)); d < bestDist {
			best, bestDist = m*mag, d
		}
	}
	return best
}

func formatTick(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// errorsPlot draws failed requests as horizontal bars, most frequent on top.
// Long labels are shortened so the bars keep most of the width.
func errorsPlot(errs []ErrorCount) (*chartPlot, error) {
	const (
		maxBars  = 12
		maxLabel = 40 // characters
	)
	if len(errs) > maxBars {
		rest := ErrorCount{Outcome: fmt.Sprintf("%d other kinds", len(errs)-maxBars+1)}
		for _, e := range errs[maxBars-1:] {
			rest.Count += e.Count
		}
		errs = append(errs[:maxBars-1:maxBars-1], rest)
	}
	values := make(plotter.Values, len(errs))
	labels := make([]string, len(errs))
	// Most frequent on top: NominalY counts upwards.
	for i, e := range errs {
		j := len(errs) - 1 - i
		values[j] = float64(e.Count)
		label := e.Label()
		if r := []rune(label); len(r) > maxLabel {
			label = string(r[:maxLabel-1]) + "…"
		}
		labels[j] = label
	}
	p := newPlot("requests", "")
	bars, err := plotter.NewBarChart(values, vg.Points(14))
	if err != nil {
		return nil, err
	}
	bars.Horizontal = true
	bars.Color = palette(1)
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.NominalY(labels...)
	p.Y.Tick.Label.Font = sans(9)
	p.Y.Min = -0.5
	p.Y.Max = float64(len(errs)) - 0.5
	p.X.Min = 0
	return p, nil
}

// renderSVG draws p on an SVG canvas and returns the <svg> element alone.
// The legend goes in a band above the plotting area, its entries side by
// side, so it never covers data; the canvas keeps a margin so no axis label
// is cut at the edge.
func renderSVG(p *chartPlot) (string, error) {
	canvas := vgsvg.New(chartWidth, chartHeight)
	drawChart(draw.New(canvas), p)
	var b bytes.Buffer
	if _, err := canvas.WriteTo(&b); err != nil {
		return "", err
	}
	svg := b.String()
	start := strings.Index(svg, "<svg")
	if start < 0 {
		return "", fmt.Errorf("renderer wrote no <svg> element")
	}
	svg = svg[start:]
	// The canvas names Liberation, whose metrics laid the text out; fall back
	// to metric-compatible faces (Arimo, Arial), then to DejaVu's condensed
	// face, about as wide, where neither is installed (many Linux machines
	// have only DejaVu, whose regular face is wide enough to cut labels).
	svg = strings.ReplaceAll(svg, "font-family:Liberation Sans", "font-family:'Liberation Sans',Arimo,Arial,Helvetica,'DejaVu Sans Condensed',sans-serif")
	return svg, nil
}

// drawChart lays p out on a chart-sized canvas: the SVG's, or a recorder's
// in the layout tests.
func drawChart(full draw.Canvas, p *chartPlot) {
	const margin = vg.Length(6)
	area := draw.Crop(full, margin, -margin, margin/2, -margin)
	if len(p.legend) > 0 {
		strip := draw.Crop(area, 0, 0, area.Max.Y-area.Min.Y-vg.Length(legendStrip), 0)
		area = draw.Crop(area, 0, 0, 0, -vg.Length(legendStrip))
		x := vg.Length(0)
		for _, e := range p.legend {
			l := plot.NewLegend()
			l.TextStyle.Font = sans(10)
			l.Left, l.Top = true, true
			l.ThumbnailWidth = vg.Points(18)
			l.XOffs = x
			l.Add(e.name, e.thumb)
			l.Draw(strip)
			r := l.Rectangle(strip)
			x += r.Max.X - r.Min.X + vg.Points(14)
		}
	}
	p.Draw(area)
}
