package runner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"
	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// DefaultRemoteWriteInterval is how often a run pushes its metrics with --remote-write.
const DefaultRemoteWriteInterval = 5 * time.Second

// Remote-Write protocol versions.
const (
	// RemoteWriteV1 (prometheus.WriteRequest) is accepted by every receiver:
	// Prometheus 2 and 3 with --web.enable-remote-write-receiver, Mimir, Thanos,
	// VictoriaMetrics. Histograms go out as classic _bucket/_sum/_count series.
	RemoteWriteV1 = "v1"
	// RemoteWriteV2 (io.prometheus.write.v2.Request) needs a 2.0 receiver
	// (Prometheus 3); histograms go out as native histograms and classic series.
	RemoteWriteV2 = "v2"
)

// RemoteWriteOptions configure a RemoteWriter.
type RemoteWriteOptions struct {
	// Job and Instance label every series, since nothing scrapes the runner to add them.
	Job, Instance string
	// Interval between pushes (default DefaultRemoteWriteInterval).
	Interval time.Duration
	// Protocol is RemoteWriteV1 (default) or RemoteWriteV2.
	Protocol string
	Client   *http.Client
}

// RemoteWriter pushes a registry's metrics to a Prometheus Remote-Write receiver
// through client_golang/exp/api/remote, for runs too short or too scattered to be
// scraped.
type RemoteWriter struct {
	api      *remote.API
	gatherer prometheus.Gatherer
	labels   []string
	interval time.Duration
	protocol string
	now      func() time.Time
}

// NewRemoteWriter returns a writer pushing g to endpoint (a full URL such as
// http://127.0.0.1:9090/api/v1/write).
func NewRemoteWriter(endpoint string, g prometheus.Gatherer, opts RemoteWriteOptions) (*RemoteWriter, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, errors.New("--remote-write: not a URL; want e.g. http://127.0.0.1:9090/api/v1/write")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Redacted: the URL may carry basic-auth credentials.
		return nil, fmt.Errorf("--remote-write %q: want an http(s) URL such as http://127.0.0.1:9090/api/v1/write", u.Redacted())
	}
	p := u.Path
	if p == "" || p == "/" {
		p = "/api/v1/write"
	}
	switch opts.Protocol {
	case "":
		opts.Protocol = RemoteWriteV1
	case RemoteWriteV1, RemoteWriteV2:
	default:
		return nil, fmt.Errorf("--remote-write-protocol %q: want v1 or v2", opts.Protocol)
	}
	base := &url.URL{Scheme: u.Scheme, Host: u.Host, User: u.User}
	client := opts.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	api, err := remote.NewAPI(base.String(), remote.WithAPIPath(p), remote.WithAPIHTTPClient(client),
		remote.WithAPIBackoff(remote.BackoffConfig{Min: 200 * time.Millisecond, Max: 2 * time.Second, MaxRetries: 3}))
	if err != nil {
		return nil, fmt.Errorf("--remote-write: %w", err)
	}
	interval := opts.Interval
	if interval <= 0 {
		interval = DefaultRemoteWriteInterval
	}
	return &RemoteWriter{api: api, gatherer: g, labels: []string{"job", opts.Job, "instance", opts.Instance},
		interval: interval, protocol: opts.Protocol, now: time.Now}, nil
}

// Run pushes every interval until ctx ends, then once more so the receiver holds
// the final values. Push errors are reported to onError and do not stop the run.
func (w *RemoteWriter) Run(ctx context.Context, onError func(error)) {
	ticker := time.NewTicker(w.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if err := w.Push(final); err != nil && onError != nil {
				onError(err)
			}
			cancel()
			return
		case <-ticker.C:
			if err := w.Push(ctx); err != nil && onError != nil && ctx.Err() == nil {
				onError(err)
			}
		}
	}
}

// Push gathers the registry and sends one Remote-Write request.
func (w *RemoteWriter) Push(ctx context.Context) error {
	families, err := w.gatherer.Gather()
	if err != nil {
		return fmt.Errorf("remote write: gather: %w", err)
	}
	ts := w.now().UnixMilli()
	if w.protocol == RemoteWriteV1 {
		req := buildWriteRequestV1(families, w.labels, ts)
		if len(req) == 0 {
			return nil
		}
		if _, err := w.api.Write(ctx, remote.WriteV1MessageType, req); err != nil {
			return fmt.Errorf("remote write: %w", err)
		}
		return nil
	}
	req := buildWriteRequest(families, w.labels, ts)
	if len(req.Timeseries) == 0 {
		return nil
	}
	if _, err := w.api.Write(ctx, remote.WriteV2MessageType, req); err != nil {
		return fmt.Errorf("remote write: %w", err)
	}
	return nil
}

// buildWriteRequest converts gathered metric families to a Remote-Write 2.0 request
// (native histograms plus classic series).
func buildWriteRequest(families []*dto.MetricFamily, extra []string, ts int64) *writev2.Request {
	symbols := writev2.NewSymbolTable()
	req := &writev2.Request{}
	add := func(name string, labels []*dto.LabelPair, more []string, mtype writev2.Metadata_MetricType, help string) *writev2.TimeSeries {
		pairs := []string{"__name__", name}
		pairs = append(pairs, extra...)
		for _, l := range labels {
			pairs = append(pairs, l.GetName(), l.GetValue())
		}
		pairs = append(pairs, more...)
		sortLabelPairs(pairs)
		series := &writev2.TimeSeries{
			LabelsRefs: symbols.SymbolizeLabels(pairs, nil),
			Metadata:   &writev2.Metadata{Type: mtype, HelpRef: symbols.Symbolize(help)},
		}
		req.Timeseries = append(req.Timeseries, series)
		return series
	}
	sample := func(s *writev2.TimeSeries, v float64) {
		s.Samples = append(s.Samples, &writev2.Sample{Value: v, Timestamp: ts})
	}
	for _, f := range families {
		name, help := f.GetName(), f.GetHelp()
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				sample(add(name, m.GetLabel(), nil, writev2.Metadata_METRIC_TYPE_COUNTER, help), m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				sample(add(name, m.GetLabel(), nil, writev2.Metadata_METRIC_TYPE_GAUGE, help), m.GetGauge().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				if h.Schema != nil {
					s := add(name, m.GetLabel(), nil, writev2.Metadata_METRIC_TYPE_HISTOGRAM, help)
					s.Histograms = append(s.Histograms, nativeHistogram(h, ts))
				}
				for _, b := range h.GetBucket() {
					le := strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)
					sample(add(name+"_bucket", m.GetLabel(), []string{"le", le}, writev2.Metadata_METRIC_TYPE_HISTOGRAM, help), float64(b.GetCumulativeCount()))
				}
				sample(add(name+"_bucket", m.GetLabel(), []string{"le", "+Inf"}, writev2.Metadata_METRIC_TYPE_HISTOGRAM, help), float64(h.GetSampleCount()))
				sample(add(name+"_sum", m.GetLabel(), nil, writev2.Metadata_METRIC_TYPE_HISTOGRAM, help), h.GetSampleSum())
				sample(add(name+"_count", m.GetLabel(), nil, writev2.Metadata_METRIC_TYPE_HISTOGRAM, help), float64(h.GetSampleCount()))
			}
		}
	}
	req.Symbols = symbols.Symbols()
	return req
}

func nativeHistogram(h *dto.Histogram, ts int64) *writev2.Histogram {
	out := &writev2.Histogram{
		Count:         &writev2.Histogram_CountInt{CountInt: h.GetSampleCount()},
		Sum:           h.GetSampleSum(),
		Schema:        h.GetSchema(),
		ZeroThreshold: h.GetZeroThreshold(),
		ZeroCount:     &writev2.Histogram_ZeroCountInt{ZeroCountInt: h.GetZeroCount()},
		Timestamp:     ts,
	}
	for _, s := range h.GetPositiveSpan() {
		out.PositiveSpans = append(out.PositiveSpans, &writev2.BucketSpan{Offset: s.GetOffset(), Length: s.GetLength()})
	}
	out.PositiveDeltas = append(out.PositiveDeltas, h.GetPositiveDelta()...)
	for _, s := range h.GetNegativeSpan() {
		out.NegativeSpans = append(out.NegativeSpans, &writev2.BucketSpan{Offset: s.GetOffset(), Length: s.GetLength()})
	}
	out.NegativeDeltas = append(out.NegativeDeltas, h.GetNegativeDelta()...)
	return out
}

// sortLabelPairs sorts name/value pairs by name, as the protocol requires.
func sortLabelPairs(pairs []string) {
	n := len(pairs) / 2
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return pairs[2*idx[a]] < pairs[2*idx[b]] })
	sorted := make([]string, 0, len(pairs))
	for _, i := range idx {
		sorted = append(sorted, pairs[2*i], pairs[2*i+1])
	}
	copy(pairs, sorted)
}
