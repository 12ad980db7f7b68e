package runner

import (
	"maps"
	"sort"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/trace"
)

// iteration is what one finished iteration hands to the recorder.
type iteration struct {
	intended, started, ended time.Time
	// open is true for open-model iterations, which have an intended start
	// distinct from the actual one.
	open    bool
	steps   []trace.Step
	outcome string
}

// scenarioRecorder accumulates one scenario's counts and histograms. One mutex
// guards it all: recording is a few hundred nanoseconds against iterations that
// take tens of microseconds at least, and one lock keeps counts and histograms
// consistent with each other for the progress display.
type scenarioRecorder struct {
	flow    string
	metrics *Metrics

	mu          sync.Mutex
	started     int64
	dropped     map[string]int64
	flows       map[string]int64
	latency     *hdrhistogram.Histogram // successful iterations only
	serviceTime *hdrhistogram.Histogram // successful iterations only
	failed      *hdrhistogram.Histogram // failed iterations' latency
	lag         *hdrhistogram.Histogram
	steps       map[string]*stepRecorder
	stepOrder   []string
	flowSeries  map[string]flowSeries
}

type stepKey struct{ outcome, class, oauthError string }

type stepRecorder struct {
	counts      map[stepKey]int64
	series      map[stepKey]stepSeries
	latency     *hdrhistogram.Histogram
	serviceTime *hdrhistogram.Histogram
	failed      *hdrhistogram.Histogram
}

func newScenarioRecorder(flow string, m *Metrics) *scenarioRecorder {
	return &scenarioRecorder{
		flow: flow, metrics: m,
		dropped: map[string]int64{}, flows: map[string]int64{},
		latency: loadresult.NewHDR(), serviceTime: loadresult.NewHDR(), failed: loadresult.NewHDR(), lag: loadresult.NewHDR(),
		steps: map[string]*stepRecorder{}, flowSeries: map[string]flowSeries{},
	}
}

func (r *scenarioRecorder) start() {
	r.mu.Lock()
	r.started++
	r.mu.Unlock()
}

func (r *scenarioRecorder) drop(reason string) {
	r.metrics.dropped.WithLabelValues(reason).Inc()
	r.mu.Lock()
	r.dropped[reason]++
	r.mu.Unlock()
}

func (r *scenarioRecorder) record(it iteration) {
	lag := time.Duration(0)
	if it.open {
		lag = max(it.started.Sub(it.intended), 0)
	}
	latency := it.ended.Sub(it.started) + lag
	service := it.ended.Sub(it.started)
	measured := it.outcome != loadresult.OutcomeInterrupted
	succeeded := it.outcome == loadresult.OutcomeOK

	r.mu.Lock()
	defer r.mu.Unlock()
	r.flows[it.outcome]++
	fs, ok := r.flowSeries[it.outcome]
	if !ok {
		fs = r.metrics.flowSeries(r.flow, it.outcome)
		r.flowSeries[it.outcome] = fs
	}
	fs.flows.Inc()
	if it.open {
		loadresult.RecordDuration(r.lag, lag)
		r.metrics.scheduleLag.Observe(lag.Seconds())
	}
	switch {
	case succeeded:
		loadresult.RecordDuration(r.latency, latency)
		loadresult.RecordDuration(r.serviceTime, service)
	case measured:
		loadresult.RecordDuration(r.failed, latency)
	}
	if measured {
		fs.duration.Observe(latency.Seconds()) // the outcome label keeps them apart
	}
	for i, s := range it.steps {
		outcome := stepOutcome(s, i == len(it.steps)-1, it.outcome)
		key := stepKey{outcome, statusClass(s.Status), oauthErrorLabel(s.OAuthError)}
		sr := r.steps[s.Name]
		if sr == nil {
			sr = &stepRecorder{counts: map[stepKey]int64{}, series: map[stepKey]stepSeries{},
				latency: loadresult.NewHDR(), serviceTime: loadresult.NewHDR(), failed: loadresult.NewHDR()}
			r.steps[s.Name] = sr
			r.stepOrder = append(r.stepOrder, s.Name)
		}
		sr.counts[key]++
		series, ok := sr.series[key]
		if !ok {
			series = r.metrics.stepSeries(r.flow, s.Name, key.outcome, key.class, key.oauthError)
			sr.series[key] = series
		}
		series.requests.Inc()
		if outcome == loadresult.OutcomeInterrupted {
			continue
		}
		d := max(s.End.Sub(s.Start), 0)
		if outcome == loadresult.OutcomeOK || outcome == loadresult.OutcomePending {
			loadresult.RecordDuration(sr.latency, d+lag)
			loadresult.RecordDuration(sr.serviceTime, d)
		} else {
			loadresult.RecordDuration(sr.failed, d+lag)
		}
		series.requestDuration.Observe((d + lag).Seconds())
		series.serviceTime.Observe(d.Seconds())
	}
}

// fill writes the recorder's totals into a scenario result.
func (r *scenarioRecorder) fill(out *loadresult.ScenarioResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out.Started = r.started
	out.Dropped = maps.Clone(r.dropped)
	out.Flows = maps.Clone(r.flows)
	out.Latency = loadresult.Summarize(r.latency)
	out.ServiceTime = loadresult.Summarize(r.serviceTime)
	out.FailedLatency = loadresult.Summarize(r.failed)
	out.ScheduleLag = loadresult.Summarize(r.lag)
	out.Steps = []loadresult.StepResult{}
	for _, name := range r.stepOrder {
		sr := r.steps[name]
		st := loadresult.StepResult{Name: name, Latency: loadresult.Summarize(sr.latency), ServiceTime: loadresult.Summarize(sr.serviceTime),
			FailedLatency: loadresult.Summarize(sr.failed), Requests: []loadresult.RequestCount{}}
		for k, n := range sr.counts {
			st.Requests = append(st.Requests, loadresult.RequestCount{Outcome: k.outcome, StatusClass: k.class, OAuthError: k.oauthError, Count: n})
		}
		loadresult.SortRequestCounts(st.Requests)
		out.Steps = append(out.Steps, st)
	}
}

// seriesRecorder keeps the per-second points of the whole run. Points are keyed by
// wall-clock second, so shards of a distributed run line up when merged. Only the
// two most recent seconds stay open (iterations finishing around a second boundary
// may arrive slightly out of order); older ones are closed into compact points.
type seriesRecorder struct {
	mu     sync.Mutex
	origin int64 // Unix second of the run's start
	open   map[int64]*openPoint
	newest int64
	closed map[int64]loadresult.Point
	// total is the cumulative latency of the run's successful flows, for
	// progress lines.
	total                 *hdrhistogram.Histogram
	flows, errors, dropps int64
	// unanswered is the current run of iterations that got no response, since
	// the last one that did (lastResponse).
	unanswered   *loadresult.UnansweredTail
	lastResponse time.Time
}

type openPoint struct {
	point loadresult.Point
	hist  *hdrhistogram.Histogram
}

// seriesSigFigs: per-second percentiles are for charts; two significant digits
// keep each second's histogram small.
const seriesSigFigs = 2

func newSeriesRecorder(start time.Time) *seriesRecorder {
	return &seriesRecorder{origin: start.Unix(), newest: start.Unix(), open: map[int64]*openPoint{}, closed: map[int64]loadresult.Point{}, total: loadresult.NewHDR()}
}

func (s *seriesRecorder) pointAt(sec int64) *openPoint {
	if p, ok := s.open[sec]; ok {
		return p
	}
	if sec < s.newest-1 {
		// Arrived after its second was closed: count it in the oldest open second.
		sec = s.newest - 1
		if p, ok := s.open[sec]; ok {
			return p
		}
	}
	if sec > s.newest {
		s.newest = sec
		s.closeBefore(sec - 1)
	}
	p := &openPoint{point: loadresult.Point{Time: time.Unix(sec, 0).UTC(), Second: int(sec - s.origin)}}
	s.open[sec] = p
	return p
}

func (s *seriesRecorder) closeBefore(sec int64) {
	for k, p := range s.open {
		if k < sec {
			s.closed[k] = p.finish()
			delete(s.open, k)
		}
	}
}

func (p *openPoint) finish() loadresult.Point {
	out := p.point
	if p.hist != nil && p.hist.TotalCount() > 0 {
		out.P50Seconds = loadresult.MicrosToSeconds(p.hist.ValueAtQuantile(50))
		out.P99Seconds = loadresult.MicrosToSeconds(p.hist.ValueAtQuantile(99))
		out.HDR = loadresult.EncodeHDR(p.hist)
	}
	return out
}

func (s *seriesRecorder) record(ended time.Time, latency time.Duration, requests int, outcome string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pointAt(ended.Unix())
	p.point.Flows++
	p.point.Requests += int64(requests)
	s.flows++
	if outcome != loadresult.OutcomeOK && outcome != loadresult.OutcomeInterrupted {
		p.point.Errors++
		s.errors++
	}
	if outcome == loadresult.OutcomeOK {
		if p.hist == nil {
			p.hist = hdrhistogram.New(loadresult.HDRLowestMicros, loadresult.HDRHighestMicros, seriesSigFigs)
		}
		loadresult.RecordDuration(p.hist, latency)
		loadresult.RecordDuration(s.total, latency)
	}
	s.trackAnswers(ended, outcome)
}

// trackAnswers follows whether the target still answers: an iteration without
// a response extends the unanswered tail, one with a response ends it.
// Iterations finish out of order by a little; one that got a response but
// ended before the tail began does not end it.
func (s *seriesRecorder) trackAnswers(ended time.Time, outcome string) {
	switch {
	case outcome == loadresult.OutcomeInterrupted:
	case loadresult.NoResponse(outcome):
		if s.unanswered == nil {
			s.unanswered = &loadresult.UnansweredTail{Since: ended, LastResponse: s.lastResponse, Outcomes: map[string]int64{}}
		}
		s.unanswered.Since = minTime(s.unanswered.Since, ended)
		s.unanswered.Iterations++
		s.unanswered.Outcomes[outcome]++
	default:
		if ended.After(s.lastResponse) {
			s.lastResponse = ended
		}
		if s.unanswered != nil && !ended.Before(s.unanswered.Since) {
			s.unanswered = nil
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// unansweredTail is a copy of the run's unanswered tail (nil: the last
// iteration got a response).
func (s *seriesRecorder) unansweredTail() *loadresult.UnansweredTail {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unanswered == nil {
		return nil
	}
	out := *s.unanswered
	out.Outcomes = maps.Clone(s.unanswered.Outcomes)
	return &out
}

func (s *seriesRecorder) drop(at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pointAt(at.Unix()).point.Dropped++
	s.dropps++
}

// progress returns cumulative totals and latency percentiles so far.
func (s *seriesRecorder) progress() (flows, errors, dropped int64, p50, p99 time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total.TotalCount() > 0 {
		p50 = time.Duration(s.total.ValueAtQuantile(50)) * time.Microsecond
		p99 = time.Duration(s.total.ValueAtQuantile(99)) * time.Microsecond
	}
	return s.flows, s.errors, s.dropps, p50, p99
}

// points closes every second up to end and returns all points in order, with
// empty seconds filled in so charts show gaps as zeros.
func (s *seriesRecorder) points(end time.Time) []loadresult.Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeBefore(s.newest + 1)
	last := end.Unix()
	for k := range s.closed {
		last = max(last, k)
	}
	out := make([]loadresult.Point, 0, last-s.origin+1)
	for sec := s.origin; sec <= last; sec++ {
		p, ok := s.closed[sec]
		if !ok {
			p = loadresult.Point{Time: time.Unix(sec, 0).UTC(), Second: int(sec - s.origin)}
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Second < out[j].Second })
	return out
}
