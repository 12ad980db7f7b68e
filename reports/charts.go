package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

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
}

// Chart size: wide enough for a minute of per-second points, small enough
// that two fit side by side on a laptop screen.
const (
	chartWidth  = 7 * vg.Inch
	chartHeight = 3.2 * vg.Inch
	// legendHeadroom stretches the y axis of line charts so the legend in the
	// top corner does not cover the lines.
	legendHeadroom = 1.3
	// distributionBins is the number of bars of a latency histogram.
	distributionBins = 40
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

// LoadCharts renders the charts of a load run: throughput over time,
// latency percentiles over time, the latency distribution of each scenario
// and errors by code (when there were any).
func LoadCharts(r *loadresult.Result) ([]Chart, error) {
	var charts []Chart
	add := func(id, title string, p *plot.Plot, err error) error {
		if err != nil {
			return fmt.Errorf("reports: chart %q: %w", title, err)
		}
		svg, err := renderSVG(p)
		if err != nil {
			return fmt.Errorf("reports: chart %q: %w", title, err)
		}
		charts = append(charts, Chart{ID: id, Title: title, SVG: svg})
		return nil
	}
	if len(r.Series) > 0 {
		p, err := throughputPlot(r.Series)
		if err := add("chart-throughput", "Throughput over time", p, err); err != nil {
			return nil, err
		}
		p, err = latencyOverTimePlot(r.Series)
		if err := add("chart-latency-time", "Flow latency percentiles over time", p, err); err != nil {
			return nil, err
		}
	}
	for i, sc := range r.Scenarios {
		if sc.Latency.Count == 0 {
			continue
		}
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

// newPlot returns a plot with the report's fonts and a grid. The title is
// the HTML figure's caption, so the plot carries none.
func newPlot(xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	sans := func(size vg.Length) font.Font {
		return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
	}
	p.X.Label.TextStyle.Font = sans(11)
	p.Y.Label.TextStyle.Font = sans(11)
	p.X.Tick.Label.Font = sans(9)
	p.Y.Tick.Label.Font = sans(9)
	p.Legend.TextStyle.Font = sans(10)
	p.Legend.Top = true
	p.X.Tick.Marker = plainTicks{}
	p.Y.Tick.Marker = plainTicks{}
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	return p
}

func throughputPlot(series []loadresult.Point) (*plot.Plot, error) {
	p := newPlot("seconds since start", "per second")
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
	for i, l := range lines {
		xys := make(plotter.XYs, len(series))
		for j, pt := range series {
			xys[j] = plotter.XY{X: float64(pt.Second), Y: float64(l.value(pt))}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		line.Color = palette(i)
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(l.name, line)
	}
	p.Y.Max *= legendHeadroom
	return p, nil
}

// latencyOverTimePlot draws flow latency percentiles per second. Each
// second's histogram travels in the result, so p90 and p99.9 come from it;
// a result without them (older, or hand-made) shows the p50 and p99 it has.
func latencyOverTimePlot(series []loadresult.Point) (*plot.Plot, error) {
	p := newPlot("seconds since start", "milliseconds (from intended start)")
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
	for _, pt := range series {
		if pt.Flows == 0 && pt.P50Seconds == 0 && pt.HDR == "" {
			continue // no flow finished in this second: no latency to show
		}
		var values []float64
		if pt.HDR != "" {
			h, err := loadresult.DecodeHDR(pt.HDR)
			if err != nil {
				return nil, fmt.Errorf("series second %d: %w", pt.Second, err)
			}
			for _, q := range quantiles {
				values = append(values, float64(h.ValueAtQuantile(q.percent))/1e6)
			}
		}
		for i, q := range quantiles {
			switch {
			case values != nil:
				lines[i] = append(lines[i], plotter.XY{X: float64(pt.Second), Y: values[i] * 1000})
			case q.stored != nil:
				lines[i] = append(lines[i], plotter.XY{X: float64(pt.Second), Y: q.stored(pt) * 1000})
			}
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
		p.Add(line, points)
		p.Legend.Add(quantiles[i].name, line)
	}
	p.Y.Max *= legendHeadroom
	return p, nil
}

// distributionPlot draws the latency histogram from the HDR data, on a
// logarithmic axis with logarithmic bins from the fastest to the slowest
// flow: latency is long-tailed, and on a linear axis the bulk of the flows
// would crowd into one bar.
func distributionPlot(h loadresult.Histogram, c color.Color) (*plot.Plot, error) {
	hist, err := h.Histogram()
	if err != nil {
		return nil, err
	}
	lo := float64(hist.Min()) / 1000 // milliseconds
	hi := float64(hist.Max()) / 1000
	lo = math.Max(lo, 0.001)
	if hi <= lo*1.01 {
		lo, hi = lo/1.5, hi*1.5
	}
	ratio := math.Log(hi / lo)
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
	return p, nil
}

// logTicks labels a logarithmic axis at 1, 2 and 5 times the powers of ten
// that fall in its range, and marks the other whole multiples, so that even
// a narrow range (2 to 8 ms) gets labels.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for exp := math.Floor(math.Log10(lo)); math.Pow(10, exp) <= hi; exp++ {
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

// plainTicks is plot's default ticker with labels free of trailing zeros
// ("250", "2.5" rather than "250.00", "2.50").
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = formatTick(ticks[i].Value)
		}
	}
	return ticks
}

func formatTick(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func errorsPlot(errs []ErrorCount) (*plot.Plot, error) {
	const maxBars = 12
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
		labels[j] = e.Label()
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
	p.Y.Min = -0.5
	p.X.Min = 0
	return p, nil
}

// renderSVG draws p on an SVG canvas and returns the <svg> element alone.
func renderSVG(p *plot.Plot) (string, error) {
	canvas := vgsvg.New(chartWidth, chartHeight)
	p.Draw(draw.New(canvas))
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
	// to metric-compatible and generic faces where it is not installed.
	svg = strings.ReplaceAll(svg, "font-family:Liberation Sans", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif")
	return svg, nil
}
