package reports

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/grantbench/grantbench/loadresult"
	sample "github.com/grantbench/grantbench/reports/reportstest"
)

// What handling one hostile input may cost: a crafted result may not cost
// much more than a real one. Memory is the peak of the live heap, sampled.
const (
	// Generous for a shared 2-core machine; the hang it catches never ends.
	inputTimeBudget = 30 * time.Second
	inputHeapBudget = 192 << 20
)

// bounded runs f and fails the test when it does not end within
// inputTimeBudget or the live heap grows past inputHeapBudget above where it
// started. (A hung f is left running: the test binary ends soon after.)
func bounded(t *testing.T, what string, f func()) {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	deadline := time.After(inputTimeBudget)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: still running after %s (live heap up %d MB)", what, inputTimeBudget, (peak-base)>>20)
		}
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
		if peak-base > inputHeapBudget {
			t.Fatalf("%s: live heap grew by %d MB, budget %d MB", what, (peak-base)>>20, inputHeapBudget>>20)
		}
	}
}

// renderEverything writes every output of in, as `grantbench report` would.
func renderEverything(in Input) error {
	var b bytes.Buffer
	if err := WriteHTML(&b, in, HTMLOptions{}); err != nil {
		return err
	}
	if err := WriteMarkdown(&b, in); err != nil {
		return err
	}
	if in.Conformance != nil {
		return WriteJUnit(&b, in.Conformance)
	}
	return nil
}

// TestEmptyHistogramWithACount is issue 13's hang: a load.json whose latency
// histogram is empty but whose count says 10 sent the distribution chart's
// tick loop round log10(0) = -Inf for ever, growing to 300 MB.
func TestEmptyHistogramWithACount(t *testing.T) {
	for name, h := range map[string]loadresult.Histogram{
		"no HDR":    {Count: 10},
		"empty HDR": {Count: 10, HDR: loadresult.EncodeHDR(loadresult.NewHDR())},
	} {
		r := &loadresult.Result{Schema: loadresult.ResultSchema, Start: sampleStart, End: sampleStart.Add(3 * time.Second),
			Scenarios: []loadresult.ScenarioResult{{Name: "cc", Flow: "client_credentials", Flows: map[string]int64{"ok": 10}, Latency: h}}}
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "load.json")
		write(t, path, data)
		bounded(t, name, func() {
			in, err := ReadFiles(nil, path)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			charts, err := LoadCharts(in.Load)
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			for _, c := range charts {
				if strings.HasPrefix(c.ID, "chart-distribution") {
					t.Errorf("%s: a distribution chart for a histogram with nothing in it", name)
				}
			}
			if err := renderEverything(in); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
	}
}

func TestTickersEndOnAnyRange(t *testing.T) {
	inf := math.Inf(1)
	for _, r := range [][2]float64{{0, 0}, {0, 1e-300}, {-inf, inf}, {0, inf}, {1e18, 1e18 + 1}, {-5, -1}, {1, 0}, {0.0007, 0}, {5e-324, 1e308}} {
		bounded(t, "ticks", func() {
			if n := len((logTicks{}).Ticks(r[0], r[1])); n > 9*(maxDecades+1) {
				t.Errorf("logTicks%v: %d ticks", r, n)
			}
			if n := len((niceTicks{}).Ticks(r[0], r[1])); n > 3*yTicks+6 {
				t.Errorf("niceTicks%v: %d ticks", r, n)
			}
		})
	}
	// Enough labels to read a value off a linear axis.
	if got := labels(niceTicks{}.Ticks(0, 110)); got != "0,20,40,60,80,100" {
		t.Errorf("niceTicks(0, 110) labels %s", got)
	}
}

// craftedHDR returns a valid V2 compressed histogram header declaring the
// given geometry, with no counts.
func craftedHDR(sigFigs int32, lowest, highest int64) string {
	var payload bytes.Buffer
	for _, v := range []any{int32(0x1c849303), int32(0), int32(0), sigFigs, lowest, highest, float64(1)} {
		_ = binary.Write(&payload, binary.BigEndian, v)
	}
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	_, _ = w.Write(payload.Bytes())
	_ = w.Close()
	var out bytes.Buffer
	_ = binary.Write(&out, binary.BigEndian, int32(0x1c849304))
	_ = binary.Write(&out, binary.BigEndian, int32(z.Len()))
	out.Write(z.Bytes())
	return base64.StdEncoding.EncodeToString(out.Bytes())
}

// TestWideHistogramGeometryRefused: a histogram header is the attacker's to
// write; at 5 digits up to 2^63 one decode would allocate about 50 MB, and a
// file can hold thousands.
func TestWideHistogramGeometryRefused(t *testing.T) {
	if _, err := loadresult.DecodeHDR(craftedHDR(3, 1, 3_600_000_000)); err != nil {
		t.Fatalf("the crafting is wrong: grantbench's own geometry does not decode: %v", err)
	}
	series := make([]loadresult.Point, 40)
	for i := range series {
		series[i] = loadresult.Point{Second: i, Flows: 1, HDR: craftedHDR(5, 1, 1<<62)}
	}
	r := &loadresult.Result{Schema: loadresult.ResultSchema, Series: series, Scenarios: []loadresult.ScenarioResult{{Name: "cc"}}}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	bounded(t, "wide histograms", func() {
		_, err = ReadLoad(data)
	})
	if err == nil || !strings.Contains(err.Error(), "series second 0") || !strings.Contains(err.Error(), "5 significant digits") {
		t.Errorf("want the wide histogram refused by place, got %v", err)
	}
}

// TestScreenshotPathsThatNeverEnd: results.json names its screenshots;
// /dev/zero has size 0 and no end, a FIFO blocks on open.
func TestScreenshotPathsThatNeverEnd(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	reps := sample.Conformance(sampleStart)
	for i, spec := range reps[0].SpecReports {
		for j, e := range spec.ReportEntries {
			if e.Name == EntryScreenshot {
				reps[0].SpecReports[i].ReportEntries[j].Value = types.WrapEntryValue("/dev/zero")
			}
		}
	}
	var c *Conformance
	bounded(t, "/dev/zero as a screenshot", func() { c = NewConformance(reps, nil, t.TempDir()) })
	for _, cr := range c.Checks {
		for _, s := range cr.Screenshots {
			if s.Err != "screenshot is not a regular file" {
				t.Errorf("%s: screenshot %s: %q", cr.ID, s.Path, s.Err)
			}
		}
	}
	bounded(t, "/dev/zero as a results file", func() {
		if _, err := ReadFiles(nil, "/dev/zero"); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("reading /dev/zero: %v", err)
		}
	})
}

func TestEmptyListIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	write(t, path, []byte(" [ ] \n"))
	if _, err := ReadFiles(nil, path); err == nil || !strings.Contains(err.Error(), "empty list") {
		t.Errorf("report of []: %v", err)
	}
	if _, err := ReadGinkgoReports([]byte(`[]`)); err == nil {
		t.Error("ReadGinkgoReports took [] for a run")
	}
}

// FuzzReadFiles feeds crafted files to the reader and every writer: each
// input either is refused with an error or renders, in bounded time and
// memory, without a panic.
func FuzzReadFiles(f *testing.F) {
	in, dir := sampleRun(f)
	_ = in
	for _, name := range []string{"results.json", "load.json"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	empty, _ := json.Marshal(loadresult.Result{Schema: 1, Scenarios: []loadresult.ScenarioResult{{Name: "x", Latency: loadresult.Histogram{Count: 10}}}})
	f.Add(empty)
	for _, s := range []string{`[]`, `{}`, `[{"SuiteDescription":"s","SpecReports":[{"LeafNodeText":"AC1: x","State":"failed","ReportEntries":[{"Name":"exchange","Value":{"AsJSON":"[{\"url\":1}]"}}]}]}]`,
		`{"schema":1,"scenarios":[{"name":"a","latency":{"hdr":"HISTFAAAAB14nJNpmSzMwMDAzAABMBoEmBgYBQAHFAEb"}}],"series":[{"second":-9007199254740993,"flows":9223372036854775807,"p50_seconds":1e308}]}`,
		`{"schema":1,"start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:00:00.5Z","scenarios":[],"series":[{"time":"2026-01-01T00:00:00Z","requests":5}],"thresholds":[{"threshold":"p99<1ms","unit":"seconds","limit":1e308}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "in.json")
		write(t, path, data)
		bounded(t, "crafted file", func() {
			in, err := ReadFiles(nil, path)
			if err != nil {
				return
			}
			if err := renderEverything(in); err != nil && !strings.HasPrefix(err.Error(), "reports:") {
				t.Errorf("render: an error without a place: %v", err)
			}
		})
	})
}

// FuzzLoadCharts draws charts of results with crafted numbers: counts,
// seconds, latencies and thresholds anywhere in their types' ranges.
func FuzzLoadCharts(f *testing.F) {
	f.Add(int64(10), int64(0), 3, 0.0, 0.25, int64(5), "p99<1ms", 0.001)
	f.Add(int64(-1), int64(1<<62), 100000, 1e308, -1.0, int64(-9), "error_rate<1%", 1e308)
	f.Add(int64(0), int64(0), 0, 0.0, 0.0, int64(0), "", 0.0)
	f.Fuzz(func(t *testing.T, count, value int64, points int, latency, share float64, perSecond int64, threshold string, limit float64) {
		points = min(max(points, 0), 5000)
		h := loadresult.NewHDR()
		if value > 0 {
			loadresult.RecordDuration(h, time.Duration(value))
		}
		encoded := loadresult.EncodeHDR(h)
		start := sampleStart
		end := start.Add(time.Duration(float64(points)*float64(time.Second)*min(max(share, 0), 2)) + 1)
		r := &loadresult.Result{Schema: 1, Start: start, End: end,
			Scenarios: []loadresult.ScenarioResult{{Name: "s", Flows: map[string]int64{"ok": count, "timeout": perSecond},
				Latency: loadresult.Histogram{Count: count, HDR: encoded},
				Steps:   []loadresult.StepResult{{Name: "token", Requests: []loadresult.RequestCount{{Outcome: "http_error", StatusClass: threshold, Count: perSecond}}}}}},
			Thresholds: []loadresult.Verdict{{Threshold: threshold, Unit: "seconds", Limit: limit}},
		}
		for i := range points {
			p := loadresult.Point{Time: start.Add(time.Duration(i) * time.Second), Second: i * int(1+value%7), Flows: perSecond, Requests: count, Errors: perSecond, P50Seconds: latency, P99Seconds: latency}
			if i%3 == 0 {
				p.HDR = encoded
			}
			r.Series = append(r.Series, p)
		}
		bounded(t, "crafted numbers", func() {
			if _, err := LoadCharts(r); err != nil && !strings.HasPrefix(err.Error(), "reports:") {
				t.Errorf("an error without a place: %v", err)
			}
		})
	})
}
