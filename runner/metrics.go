package runner

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grantbench/grantbench/loadresult"
)

// Metric names; dashboards and alerts depend on them, so they are part of the
// interface (deploy/grafana, the package doc).
const (
	MetricRequests        = "grantbench_requests_total"
	MetricRequestDuration = "grantbench_request_duration_seconds"
	MetricServiceTime     = "grantbench_request_service_time_seconds"
	MetricFlowDuration    = "grantbench_flow_duration_seconds"
	MetricFlows           = "grantbench_flows_total"
	MetricScheduleLag     = "grantbench_schedule_lag_seconds"
	MetricDropped         = "grantbench_dropped_iterations_total"
	MetricInFlight        = "grantbench_in_flight_requests"
	MetricWorkers         = "grantbench_workers"
	MetricRunInfo         = "grantbench_run_info"
)

// latencyBuckets are the classic buckets every latency histogram also exposes, for
// scrapers without native histogram support: 1 ms to 10 s.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// lagBuckets cover scheduling lateness, which is normally far below a millisecond.
var lagBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}

// Metrics are the Prometheus instruments of one run. Labels are bounded: flow,
// step, outcome, status_class, oauth_error (RFC codes, else "other"), reason. No
// URL, client or user ever becomes a label.
type Metrics struct {
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	serviceTime     *prometheus.HistogramVec
	flowDuration    *prometheus.HistogramVec
	flows           *prometheus.CounterVec
	scheduleLag     prometheus.Histogram
	dropped         *prometheus.CounterVec
	inFlight        prometheus.Gauge
	workers         prometheus.Gauge
	runInfo         *prometheus.GaugeVec
}

// nativeOpts makes a histogram both native (bucket factor 1.1, about 7 % relative
// resolution) and classic.
func nativeOpts(name, help string, buckets []float64) prometheus.HistogramOpts {
	return prometheus.HistogramOpts{
		Name:                            name,
		Help:                            help,
		Buckets:                         buckets,
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  160,
		NativeHistogramMinResetDuration: time.Hour,
	}
}

// NewMetrics creates the run's instruments and registers them with reg (a registry
// per run; never the global one).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRequests,
			Help: "HTTP requests made by flow steps, by outcome, status class and RFC error code.",
		}, []string{"flow", "step", "outcome", "status_class", "oauth_error"}),
		requestDuration: prometheus.NewHistogramVec(nativeOpts(MetricRequestDuration,
			"Step latency from the iteration's intended start (corrected for coordinated omission).", latencyBuckets),
			[]string{"flow", "step", "outcome"}),
		serviceTime: prometheus.NewHistogramVec(nativeOpts(MetricServiceTime,
			"Step latency from the request's actual start (service time, not corrected).", latencyBuckets),
			[]string{"flow", "step", "outcome"}),
		flowDuration: prometheus.NewHistogramVec(nativeOpts(MetricFlowDuration,
			"Whole-flow latency from the iteration's intended start.", latencyBuckets),
			[]string{"flow", "outcome"}),
		flows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricFlows,
			Help: "Flow iterations finished, by outcome.",
		}, []string{"flow", "outcome"}),
		scheduleLag: prometheus.NewHistogram(nativeOpts(MetricScheduleLag,
			"How late open-model iterations started against their intended start.", lagBuckets)),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricDropped,
			Help: "Iterations that could not start when due, by reason.",
		}, []string{"reason"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricInFlight,
			Help: "Iterations in flight; flows are sequential, so each has at most one request outstanding.",
		}),
		workers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricWorkers,
			Help: "Closed-model workers running.",
		}),
		runInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricRunInfo,
			Help: "Always 1; identifies the run and the grantbench version.",
		}, []string{"run_id", "version"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.requestDuration, m.serviceTime, m.flowDuration,
		m.flows, m.scheduleLag, m.dropped, m.inFlight, m.workers, m.runInfo} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("runner: register metrics: %w", err)
		}
	}
	// Zero the dropped counter so a clean run shows an explicit 0 rather than no series.
	m.dropped.WithLabelValues(loadresult.DroppedMaxInFlight)
	return m, nil
}

// stepSeries holds the metric children of one (flow, step, outcome, status class,
// oauth error) combination, looked up once and reused.
type stepSeries struct {
	requests        prometheus.Counter
	requestDuration prometheus.Observer
	serviceTime     prometheus.Observer
}

func (m *Metrics) stepSeries(flow, step, outcome, class, oauthError string) stepSeries {
	return stepSeries{
		requests:        m.requests.WithLabelValues(flow, step, outcome, class, oauthError),
		requestDuration: m.requestDuration.WithLabelValues(flow, step, outcome),
		serviceTime:     m.serviceTime.WithLabelValues(flow, step, outcome),
	}
}

type flowSeries struct {
	flows    prometheus.Counter
	duration prometheus.Observer
}

func (m *Metrics) flowSeries(flow, outcome string) flowSeries {
	return flowSeries{
		flows:    m.flows.WithLabelValues(flow, outcome),
		duration: m.flowDuration.WithLabelValues(flow, outcome),
	}
}
