// Package loadresult is the data a load run leaves behind (DIR/load.json): per
// scenario and step counts, throughput series and latency histograms in
// HdrHistogram's encoding, with reading, writing, exact merging and the k6-style
// thresholds judged on it. It is kept
// apart from the runner, which produces it with Prometheus metrics and remote
// write, so that reports and other readers get the data without those.
package loadresult

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Outcomes: how an iteration or a request ended. Bounded, so safe as a metric label.
const (
	OutcomeOK = "ok"
	// OutcomeOAuthError: the target answered with an RFC 6749 / RFC 8628 error code.
	OutcomeOAuthError = "oauth_error"
	// OutcomeHTTPError: an error status (4xx, 5xx) without an OAuth error code.
	OutcomeHTTPError = "http_error"
	// OutcomeBadResponse: a response arrived but was unusable (malformed JSON, no
	// access_token, unexpected redirect).
	OutcomeBadResponse = "bad_response"
	OutcomeTimeout     = "timeout"
	OutcomeRefused     = "connection_refused"
	OutcomeReset       = "connection_reset"
	// OutcomeTransport: another transport failure (DNS, TLS, ...).
	OutcomeTransport = "transport_error"
	// OutcomeBrowser: a page step in the browser failed.
	OutcomeBrowser = "browser_error"
	// OutcomePending: a device-flow poll answered authorization_pending or
	// slow_down, which is the protocol working as designed, not an error.
	OutcomePending = "pending"
	// OutcomeInterrupted: the run ended (Ctrl-C, or the graceful stop ran out)
	// while the iteration was in flight. Not counted in error rates.
	OutcomeInterrupted = "interrupted"
	// OutcomeError: anything else.
	OutcomeError = "error"
)

// Reasons an iteration is dropped (the reason label of
// grantbench_dropped_iterations_total).
const (
	// DroppedMaxInFlight: the iteration's start time came while MaxInFlight
	// iterations were still running.
	DroppedMaxInFlight = "max_in_flight"
)

// FormatSeconds renders a latency in seconds the way people write it: 840µs,
// 312.5ms, 1.204s.
func FormatSeconds(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return strconv.FormatFloat(s*1000, 'f', 1, 64) + "ms"
	default:
		return strconv.FormatFloat(s, 'f', 3, 64) + "s"
	}
}

// ResultSchema is the version of the load.json layout. Fields are only ever added;
// a reader seeing a higher number may still read the fields it knows.
const ResultSchema = 1

// Histogram geometry shared by every recorded latency, so that histograms from
// different runs and shards always merge without loss: microseconds from 1 µs to one
// hour, three significant digits (0.1 % relative error).
const (
	HDRLowestMicros  = 1
	HDRHighestMicros = int64(time.Hour / time.Microsecond)
	hdrSigFigs       = 3
)

// Result is everything one `grantbench load` run measured: the content of
// DIR/load.json. It is plain data, safe to serialise, and several results (shards of
// one distributed run, or runs to compare) merge exactly with Merge, because the
// latency histograms travel in HdrHistogram's own V2 compressed encoding.
type Result struct {
	// Schema is ResultSchema at the time of writing.
	Schema int `json:"schema"`
	// RunID identifies the run; a merged result lists its parts in MergedRunIDs.
	RunID   string `json:"run_id"`
	Version string `json:"version"`
	// Target is the issuer the run was pointed at ("" when unknown).
	Target string `json:"target"`
	// Shard is "i/n" when this run was one shard of a distributed run.
	Shard        string   `json:"shard,omitempty"`
	MergedRunIDs []string `json:"merged_run_ids,omitempty"`
	// Start and End bound the timed phase (setup excluded).
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Partial is true when the run was interrupted (Ctrl-C) before its plan ended.
	Partial bool `json:"partial"`
	// Unanswered, when set, is the run's last stretch in which no iteration got
	// any response from the target (see StoppedAnswering).
	Unanswered *UnansweredTail  `json:"unanswered_tail,omitempty"`
	Scenarios  []ScenarioResult `json:"scenarios"`
	// Series holds one point per second of the timed phase, all scenarios together.
	Series []Point `json:"series"`
	// Thresholds are the verdicts, in the order the thresholds were given.
	Thresholds []Verdict `json:"thresholds"`
}

// ScenarioResult is one scenario: one flow replayed by one executor.
type ScenarioResult struct {
	Name string `json:"name"`
	// Flow is the grant: client_credentials, authorization_code, refresh,
	// device_code or password.
	Flow string `json:"flow"`
	// Consent is "http" (form posts, no browser) or "browser" for
	// authorization_code; empty for other flows.
	Consent  string  `json:"consent,omitempty"`
	Executor string  `json:"executor"`
	Weight   float64 `json:"weight"`
	// TargetRate is the planned average arrival rate in iterations per second over
	// the planned duration (open models; 0 for constant-workers).
	TargetRate        float64 `json:"target_rate"`
	Workers           int     `json:"workers,omitempty"`
	MaxInFlight       int     `json:"max_in_flight,omitempty"`
	PlannedSeconds    float64 `json:"planned_seconds"`
	PlannedIterations int64   `json:"planned_iterations,omitempty"`
	// ElapsedSeconds is how long the scenario actually took: from the start of
	// the timed phase until its last iteration ended (iterations still running
	// when the schedule ended included), or until it was interrupted.
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// RunningAtScheduleEnd counts iterations that were still running, or
	// waiting for a browser tab, when the schedule ended: they finished (or
	// were interrupted) during the graceful stop, and ElapsedSeconds includes
	// that time.
	RunningAtScheduleEnd int64 `json:"running_at_schedule_end,omitempty"`
	// Started counts iterations that began; Dropped those that could not, by reason.
	Started int64            `json:"started"`
	Dropped map[string]int64 `json:"dropped"`
	// Flows counts finished iterations by outcome ("ok", "oauth_error", ...).
	Flows map[string]int64 `json:"flows"`
	// AchievedRate is iterations finished per second of ElapsedSeconds.
	AchievedRate float64 `json:"achieved_rate"`
	// Latency is measured from each iteration's intended start (corrected for
	// coordinated omission); ServiceTime from its actual start. Both hold
	// successful iterations only: a refused connection is fast, and counting it
	// would make a dead target look quick. FailedLatency holds the failed ones
	// (from the intended start), interrupted iterations aside.
	Latency       Histogram `json:"latency"`
	ServiceTime   Histogram `json:"service_time"`
	FailedLatency Histogram `json:"failed_latency"`
	// ScheduleLag is how late iterations started against their intended start.
	ScheduleLag Histogram    `json:"schedule_lag"`
	Steps       []StepResult `json:"steps"`
}

// StepResult is one step (HTTP exchange) of a flow, across all its iterations.
type StepResult struct {
	Name string `json:"name"`
	// Requests counts the step's requests by outcome, status class and RFC error code.
	Requests []RequestCount `json:"requests"`
	// Latency and ServiceTime hold the requests that succeeded (device polls
	// answered authorization_pending included); FailedLatency the others.
	Latency       Histogram `json:"latency"`
	ServiceTime   Histogram `json:"service_time"`
	FailedLatency Histogram `json:"failed_latency"`
}

// UnansweredTail is the end of a run during which the target answered nothing:
// every iteration that ended after the last response failed without one
// (refused, reset, timed out).
type UnansweredTail struct {
	// Since is when the first of those iterations ended; LastResponse when the
	// last iteration that got a response ended (zero: none ever did).
	Since        time.Time `json:"since"`
	LastResponse time.Time `json:"last_response,omitzero"`
	// Iterations counts them, Outcomes by outcome.
	Iterations int64            `json:"iterations"`
	Outcomes   map[string]int64 `json:"outcomes"`
}

// NoResponse reports whether an outcome means no response came from the target.
func NoResponse(outcome string) bool {
	switch outcome {
	case OutcomeRefused, OutcomeReset, OutcomeTimeout, OutcomeTransport:
		return true
	}
	return false
}

// When the target has stopped answering for good: at least this many
// iterations in a row at the end of the run got no response, over at least
// MinUnansweredSpan or a tenth of the run, whichever is shorter. One refused
// connection in the last millisecond is a blip, not a dead target.
const (
	MinUnansweredIterations = 10
	MinUnansweredSpan       = time.Second
)

// StoppedAnswering returns the run's unanswered tail when it shows that the
// target stopped answering for good (see MinUnansweredIterations).
func (r *Result) StoppedAnswering() (*UnansweredTail, bool) {
	t := r.Unanswered
	if t == nil || t.Iterations < MinUnansweredIterations {
		return nil, false
	}
	span := min(MinUnansweredSpan, r.End.Sub(r.Start)/10)
	if r.End.Sub(t.Since) < span {
		return nil, false
	}
	return t, true
}

// RequestCount is how many requests ended one way.
type RequestCount struct {
	Outcome     string `json:"outcome"`
	StatusClass string `json:"status_class"`
	OAuthError  string `json:"oauth_error,omitempty"`
	Count       int64  `json:"count"`
}

// Histogram summarises a latency distribution and carries it whole: HDR is the
// HdrHistogram V2 compressed, base64 encoding (the "HISTF..." strings other
// HdrHistogram tools read) of values in microseconds. The summary fields are derived
// from it, in seconds.
type Histogram struct {
	Count       int64   `json:"count"`
	MinSeconds  float64 `json:"min_seconds"`
	MeanSeconds float64 `json:"mean_seconds"`
	P50Seconds  float64 `json:"p50_seconds"`
	P90Seconds  float64 `json:"p90_seconds"`
	P95Seconds  float64 `json:"p95_seconds"`
	P99Seconds  float64 `json:"p99_seconds"`
	P999Seconds float64 `json:"p999_seconds"`
	MaxSeconds  float64 `json:"max_seconds"`
	HDR         string  `json:"hdr"`
}

// Point is one second of the run, for charts.
type Point struct {
	// Time is the start of the second; Second its offset from Result.Start.
	Time   time.Time `json:"time"`
	Second int       `json:"second"`
	// Flows finished in this second, of which Errors did not end "ok".
	Flows    int64 `json:"flows"`
	Errors   int64 `json:"errors"`
	Requests int64 `json:"requests"`
	Dropped  int64 `json:"dropped"`
	// P50Seconds and P99Seconds are flow latencies (from intended start) of the
	// flows that finished in this second; HDR is their histogram, for merging.
	P50Seconds float64 `json:"p50_seconds"`
	P99Seconds float64 `json:"p99_seconds"`
	HDR        string  `json:"hdr,omitempty"`
}

// Verdict is one threshold judged against the run.
type Verdict struct {
	// Threshold is the expression as given, e.g. "token:p99<250ms".
	Threshold string `json:"threshold"`
	// Measured is the value found, in Unit ("seconds", "ratio", "per_second", "count").
	Measured float64 `json:"measured"`
	// Limit is the bound it was compared with, in the same unit.
	Limit float64 `json:"limit"`
	Unit  string  `json:"unit"`
	// Display is Measured in the threshold's own notation ("312ms", "0.25%").
	Display string `json:"display"`
	Passed  bool   `json:"passed"`
	// Default is true for a threshold the run applied without being asked
	// (loadresult.DefaultErrorRate).
	Default bool `json:"default,omitempty"`
}

// ReadResult reads a load.json written by WriteFile.
func ReadResult(path string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loadresult: read result: %w", err)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("loadresult: parse result %s: %w", path, err)
	}
	if r.Schema < 1 {
		return nil, fmt.Errorf("loadresult: %s is not a grantbench load result (no schema)", path)
	}
	return &r, nil
}

// WriteFile writes the result as indented JSON, creating the directory if needed.
// It writes to a temporary file first so a reader never sees half a result.
func (r *Result) WriteFile(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("loadresult: encode result: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("loadresult: write result: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("loadresult: write result: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("loadresult: write result: %w", err)
	}
	return nil
}

// Failed reports the thresholds that were breached.
func (r *Result) Failed() []Verdict {
	var failed []Verdict
	for _, v := range r.Thresholds {
		if !v.Passed {
			failed = append(failed, v)
		}
	}
	return failed
}

// Merge combines results into one, as if a single runner had done all their work:
// shards of one distributed run, or repeated runs. Counts add up, histograms merge
// exactly, scenarios and steps match by name, the per-second series aligns on wall
// clock seconds, and the thresholds of the inputs are judged again on the merged data
// (a rate target becomes the sum of the shards' targets).
func Merge(results ...*Result) (*Result, error) {
	if len(results) == 0 {
		return nil, errors.New("loadresult: merge: no results")
	}
	out := &Result{Schema: ResultSchema, Version: results[0].Version, Target: results[0].Target,
		Scenarios: []ScenarioResult{}, Series: []Point{}, Thresholds: []Verdict{}}
	scenarioIndex := map[string]int{}
	var thresholds []string
	seenThreshold := map[string]bool{}
	defaults := map[string]bool{}
	seriesBySecond := map[int64]*pointAccumulator{}
	for i, in := range results {
		if in == nil {
			return nil, fmt.Errorf("loadresult: merge: result %d is nil", i)
		}
		if in.Schema > ResultSchema {
			return nil, fmt.Errorf("loadresult: merge: result %s has schema %d, newer than %d", in.RunID, in.Schema, ResultSchema)
		}
		if len(in.MergedRunIDs) > 0 {
			out.MergedRunIDs = append(out.MergedRunIDs, in.MergedRunIDs...)
		} else {
			out.MergedRunIDs = append(out.MergedRunIDs, in.RunID)
		}
		if out.Start.IsZero() || (!in.Start.IsZero() && in.Start.Before(out.Start)) {
			out.Start = in.Start
		}
		if in.End.After(out.End) {
			out.End = in.End
		}
		if out.Target != in.Target {
			out.Target = ""
		}
		out.Partial = out.Partial || in.Partial
		out.Unanswered = mergeUnanswered(out.Unanswered, in.Unanswered, i == 0)
		for _, sc := range in.Scenarios {
			idx, ok := scenarioIndex[sc.Name]
			if !ok {
				scenarioIndex[sc.Name] = len(out.Scenarios)
				out.Scenarios = append(out.Scenarios, cloneScenario(sc))
				continue
			}
			if err := mergeScenario(&out.Scenarios[idx], sc); err != nil {
				return nil, err
			}
		}
		for _, p := range in.Series {
			key := p.Time.Unix()
			acc := seriesBySecond[key]
			if acc == nil {
				acc = &pointAccumulator{point: Point{Time: p.Time.Truncate(time.Second)}}
				seriesBySecond[key] = acc
			}
			if err := acc.add(p); err != nil {
				return nil, fmt.Errorf("loadresult: merge series of %s: %w", in.RunID, err)
			}
		}
		for _, v := range in.Thresholds {
			if !seenThreshold[v.Threshold] {
				seenThreshold[v.Threshold] = true
				thresholds = append(thresholds, v.Threshold)
			}
			defaults[v.Threshold] = defaults[v.Threshold] || v.Default
		}
	}
	out.RunID = "merged-" + firstN(out.MergedRunIDs, 4)
	for i := range out.Scenarios {
		sc := &out.Scenarios[i]
		// Shards ran side by side, so their elapsed times overlap rather than add up;
		// the merged achieved rate is over the merged window.
		if sc.ElapsedSeconds > 0 {
			sc.AchievedRate = float64(sumCounts(sc.Flows)) / sc.ElapsedSeconds
		}
	}
	seconds := make([]int64, 0, len(seriesBySecond))
	for s := range seriesBySecond {
		seconds = append(seconds, s)
	}
	sort.Slice(seconds, func(i, j int) bool { return seconds[i] < seconds[j] })
	for _, s := range seconds {
		p := seriesBySecond[s].finish()
		p.Second = int(p.Time.Sub(out.Start.Truncate(time.Second)) / time.Second)
		out.Series = append(out.Series, p)
	}
	if len(thresholds) > 0 {
		parsed, err := ParseThresholds(thresholds)
		if err != nil {
			return nil, fmt.Errorf("loadresult: merge: %w", err)
		}
		for i := range parsed {
			parsed[i].Default = defaults[parsed[i].Expr]
		}
		out.Thresholds, err = Judge(out, parsed)
		if err != nil {
			return nil, fmt.Errorf("loadresult: merge: %w", err)
		}
	}
	return out, nil
}

// mergeUnanswered merges the unanswered tails of shards: the merged run has one
// only when every shard's has (the target stopped answering all of them).
func mergeUnanswered(acc, in *UnansweredTail, first bool) *UnansweredTail {
	if in == nil || (acc == nil && !first) {
		return nil
	}
	if acc == nil {
		out := *in
		out.Outcomes = cloneCounts(in.Outcomes)
		return &out
	}
	if in.Since.Before(acc.Since) {
		acc.Since = in.Since
	}
	if in.LastResponse.After(acc.LastResponse) {
		acc.LastResponse = in.LastResponse
	}
	acc.Iterations += in.Iterations
	addCounts(acc.Outcomes, in.Outcomes)
	return acc
}

func firstN(ids []string, n int) string {
	s := ""
	for i, id := range ids {
		if i == n {
			s += fmt.Sprintf("+%d", len(ids)-n)
			break
		}
		if i > 0 {
			s += "+"
		}
		s += id
	}
	return s
}

func cloneScenario(sc ScenarioResult) ScenarioResult {
	out := sc
	out.Dropped = cloneCounts(sc.Dropped)
	out.Flows = cloneCounts(sc.Flows)
	out.Steps = make([]StepResult, len(sc.Steps))
	for i, st := range sc.Steps {
		out.Steps[i] = st
		out.Steps[i].Requests = append([]RequestCount(nil), st.Requests...)
	}
	return out
}

func cloneCounts(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func addCounts(dst, src map[string]int64) {
	for k, v := range src {
		dst[k] += v
	}
}

func sumCounts(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func mergeScenario(dst *ScenarioResult, src ScenarioResult) error {
	if dst.Flow != src.Flow {
		return fmt.Errorf("loadresult: merge: scenario %q replays %s in one result and %s in another", dst.Name, dst.Flow, src.Flow)
	}
	dst.TargetRate += src.TargetRate
	dst.Workers += src.Workers
	dst.MaxInFlight += src.MaxInFlight
	dst.PlannedIterations += src.PlannedIterations
	dst.PlannedSeconds = math.Max(dst.PlannedSeconds, src.PlannedSeconds)
	dst.ElapsedSeconds = math.Max(dst.ElapsedSeconds, src.ElapsedSeconds)
	dst.RunningAtScheduleEnd += src.RunningAtScheduleEnd
	dst.Started += src.Started
	addCounts(dst.Dropped, src.Dropped)
	addCounts(dst.Flows, src.Flows)
	var err error
	if dst.Latency, err = mergeHistograms(dst.Latency, src.Latency); err != nil {
		return fmt.Errorf("loadresult: merge scenario %q latency: %w", dst.Name, err)
	}
	if dst.ServiceTime, err = mergeHistograms(dst.ServiceTime, src.ServiceTime); err != nil {
		return fmt.Errorf("loadresult: merge scenario %q service time: %w", dst.Name, err)
	}
	if dst.ScheduleLag, err = mergeHistograms(dst.ScheduleLag, src.ScheduleLag); err != nil {
		return fmt.Errorf("loadresult: merge scenario %q schedule lag: %w", dst.Name, err)
	}
	if dst.FailedLatency, err = mergeHistograms(dst.FailedLatency, src.FailedLatency); err != nil {
		return fmt.Errorf("loadresult: merge scenario %q failed latency: %w", dst.Name, err)
	}
	for _, st := range src.Steps {
		found := -1
		for j := range dst.Steps {
			if dst.Steps[j].Name == st.Name {
				found = j
				break
			}
		}
		if found < 0 {
			cp := st
			cp.Requests = append([]RequestCount(nil), st.Requests...)
			dst.Steps = append(dst.Steps, cp)
			continue
		}
		d := &dst.Steps[found]
		d.Requests = mergeRequestCounts(d.Requests, st.Requests)
		if d.Latency, err = mergeHistograms(d.Latency, st.Latency); err != nil {
			return fmt.Errorf("loadresult: merge step %s/%s latency: %w", dst.Name, st.Name, err)
		}
		if d.ServiceTime, err = mergeHistograms(d.ServiceTime, st.ServiceTime); err != nil {
			return fmt.Errorf("loadresult: merge step %s/%s service time: %w", dst.Name, st.Name, err)
		}
		if d.FailedLatency, err = mergeHistograms(d.FailedLatency, st.FailedLatency); err != nil {
			return fmt.Errorf("loadresult: merge step %s/%s failed latency: %w", dst.Name, st.Name, err)
		}
	}
	return nil
}

func mergeRequestCounts(a, b []RequestCount) []RequestCount {
	type key struct{ outcome, class, oauth string }
	sums := map[key]int64{}
	var order []key
	for _, list := range [][]RequestCount{a, b} {
		for _, c := range list {
			k := key{c.Outcome, c.StatusClass, c.OAuthError}
			if _, ok := sums[k]; !ok {
				order = append(order, k)
			}
			sums[k] += c.Count
		}
	}
	out := make([]RequestCount, 0, len(order))
	for _, k := range order {
		out = append(out, RequestCount{Outcome: k.outcome, StatusClass: k.class, OAuthError: k.oauth, Count: sums[k]})
	}
	SortRequestCounts(out)
	return out
}

func SortRequestCounts(list []RequestCount) {
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Outcome != b.Outcome {
			return a.Outcome < b.Outcome
		}
		if a.StatusClass != b.StatusClass {
			return a.StatusClass < b.StatusClass
		}
		return a.OAuthError < b.OAuthError
	})
}

// pointAccumulator adds up the shards' points of one wall-clock second.
type pointAccumulator struct {
	point Point
	hist  *hdrhistogram.Histogram
}

func (a *pointAccumulator) add(p Point) error {
	a.point.Flows += p.Flows
	a.point.Errors += p.Errors
	a.point.Requests += p.Requests
	a.point.Dropped += p.Dropped
	if p.HDR == "" {
		return nil
	}
	h, err := DecodeHDR(p.HDR)
	if err != nil {
		return err
	}
	if a.hist == nil {
		a.hist = NewHDR()
	}
	a.hist.Merge(h)
	return nil
}

func (a *pointAccumulator) finish() Point {
	p := a.point
	if a.hist != nil && a.hist.TotalCount() > 0 {
		p.P50Seconds = MicrosToSeconds(a.hist.ValueAtQuantile(50))
		p.P99Seconds = MicrosToSeconds(a.hist.ValueAtQuantile(99))
		p.HDR = EncodeHDR(a.hist)
	}
	return p
}

// NewHDR returns an empty histogram with the shared geometry.
func NewHDR() *hdrhistogram.Histogram {
	return hdrhistogram.New(HDRLowestMicros, HDRHighestMicros, hdrSigFigs)
}

// RecordDuration records d, clamped into the histogram's range so an outlier is
// counted at the top (or bottom) instead of being lost.
func RecordDuration(h *hdrhistogram.Histogram, d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < HDRLowestMicros {
		us = HDRLowestMicros
	}
	if us > HDRHighestMicros {
		us = HDRHighestMicros
	}
	_ = h.RecordValue(us) // cannot fail: the value is in range
}

func MicrosToSeconds(us int64) float64 { return float64(us) / 1e6 }

// DecodeHDR decodes a Histogram.HDR string.
func DecodeHDR(encoded string) (*hdrhistogram.Histogram, error) {
	h, err := hdrhistogram.Decode([]byte(encoded))
	if err != nil {
		return nil, fmt.Errorf("loadresult: decode histogram: %w", err)
	}
	return h, nil
}

func EncodeHDR(h *hdrhistogram.Histogram) string {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		// Encoding an in-memory histogram only fails on an unsupported version,
		// which is a constant here.
		return ""
	}
	return string(b)
}

// Histogram returns the decoded HDR histogram (an empty one when nothing was recorded).
func (h Histogram) Histogram() (*hdrhistogram.Histogram, error) {
	if h.HDR == "" {
		return NewHDR(), nil
	}
	return DecodeHDR(h.HDR)
}

// Summarize builds the serialisable summary of h.
func Summarize(h *hdrhistogram.Histogram) Histogram {
	out := Histogram{Count: h.TotalCount(), HDR: EncodeHDR(h)}
	if out.Count == 0 {
		return out
	}
	out.MinSeconds = MicrosToSeconds(h.Min())
	out.MeanSeconds = h.Mean() / 1e6
	out.MaxSeconds = MicrosToSeconds(h.Max())
	qs := h.ValueAtPercentilesSlice([]float64{50, 90, 95, 99, 99.9})
	out.P50Seconds = MicrosToSeconds(qs[0])
	out.P90Seconds = MicrosToSeconds(qs[1])
	out.P95Seconds = MicrosToSeconds(qs[2])
	out.P99Seconds = MicrosToSeconds(qs[3])
	out.P999Seconds = MicrosToSeconds(qs[4])
	return out
}

func mergeHistograms(a, b Histogram) (Histogram, error) {
	ha, err := a.Histogram()
	if err != nil {
		return Histogram{}, err
	}
	hb, err := b.Histogram()
	if err != nil {
		return Histogram{}, err
	}
	if dropped := ha.Merge(hb); dropped > 0 {
		return Histogram{}, fmt.Errorf("%d values outside the histogram range", dropped)
	}
	return Summarize(ha), nil
}
