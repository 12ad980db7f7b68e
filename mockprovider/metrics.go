package mockprovider

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Provider metrics: the lock-free counters the admin API shows, exported in the
// Prometheus format on GET /metrics so a load test can watch the provider beside
// the runner. Labels come from fixed sets (endpoint, RFC error code, token kind,
// grant type, state kind), never from a client, user or URL.
var (
	providerRequestsDesc = prometheus.NewDesc("grantbench_provider_requests_total",
		"Requests the mock provider received, by endpoint.", []string{"endpoint"}, nil)
	providerResponsesDesc = prometheus.NewDesc("grantbench_provider_responses_total",
		"Responses the mock provider sent, by endpoint and HTTP status class.", []string{"endpoint", "status_class"}, nil)
	providerDroppedDesc = prometheus.NewDesc("grantbench_provider_dropped_total",
		"Requests whose connection the mock provider closed without an answer (drop faults, reset stimuli), by endpoint.", []string{"endpoint"}, nil)
	providerAbandonedDesc = prometheus.NewDesc("grantbench_provider_abandoned_total",
		"Requests the client gave up on before the mock provider answered, by endpoint.", []string{"endpoint"}, nil)
	providerRefusedDesc = prometheus.NewDesc("grantbench_provider_server_refused_total",
		"Requests the mock provider's HTTP server answered or cut before routing them (headers too large, malformed framing, unfinished requests).", nil, nil)
	providerErrorsDesc = prometheus.NewDesc("grantbench_provider_errors_total",
		"OAuth error responses the mock provider sent, by RFC error code (\"other\" for codes outside the registered ones).", []string{"oauth_error"}, nil)
	providerIssuedDesc = prometheus.NewDesc("grantbench_provider_issued_total",
		"Tokens and codes the mock provider issued, by kind.", []string{"kind"}, nil)
	providerGrantsDesc = prometheus.NewDesc("grantbench_provider_grants_total",
		"Grants the mock provider completed (tokens issued), by grant type.", []string{"grant_type"}, nil)
	providerStateDesc = prometheus.NewDesc("grantbench_provider_state_entries",
		"Live entries in the mock provider's bounded state, by kind.", []string{"kind"}, nil)
	providerStateBytesDesc = prometheus.NewDesc("grantbench_provider_state_bytes",
		"Bytes the mock provider's state is estimated to hold, by kind (all kinds share limits.max_state_bytes).", []string{"kind"}, nil)
	providerStateEvictedDesc = prometheus.NewDesc("grantbench_provider_state_evicted_total",
		"Entries the memory bound evicted before they expired, oldest first, by kind.", []string{"kind"}, nil)
	providerStateLimitDesc = prometheus.NewDesc("grantbench_provider_state_limit_bytes",
		"The mock provider's state bound, limits.max_state_bytes.", nil, nil)
)

// metricsCollector reads the provider's counters at scrape time, so counting a
// request stays one atomic add and nothing is registered globally.
type metricsCollector struct{ p *Provider }

var _ prometheus.Collector = metricsCollector{}

func (c metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{providerRequestsDesc, providerResponsesDesc, providerDroppedDesc,
		providerAbandonedDesc, providerRefusedDesc, providerErrorsDesc, providerStateBytesDesc, providerStateEvictedDesc, providerStateLimitDesc, providerIssuedDesc, providerGrantsDesc, providerStateDesc} {
		ch <- d
	}
}

func (c metricsCollector) Collect(ch chan<- prometheus.Metric) {
	counts := &c.p.counters
	for i, name := range endpointNames {
		ch <- prometheus.MustNewConstMetric(providerRequestsDesc, prometheus.CounterValue, float64(counts.requests[i].Load()), name)
		ch <- prometheus.MustNewConstMetric(providerDroppedDesc, prometheus.CounterValue, float64(counts.dropped[i].Load()), name)
		ch <- prometheus.MustNewConstMetric(providerAbandonedDesc, prometheus.CounterValue, float64(counts.abandoned[i].Load()), name)
		for j, class := range statusClasses {
			ch <- prometheus.MustNewConstMetric(providerResponsesDesc, prometheus.CounterValue, float64(counts.responses[i][j].Load()), name, class)
		}
	}
	ch <- prometheus.MustNewConstMetric(providerRefusedDesc, prometheus.CounterValue, float64(counts.refusedByServer()))
	for i := range counts.errors {
		ch <- prometheus.MustNewConstMetric(providerErrorsDesc, prometheus.CounterValue, float64(counts.errors[i].Load()), errorLabel(i))
	}
	for i, name := range issuedNames {
		ch <- prometheus.MustNewConstMetric(providerIssuedDesc, prometheus.CounterValue, float64(counts.issued[i].Load()), name)
	}
	for i, name := range knownGrants {
		ch <- prometheus.MustNewConstMetric(providerGrantsDesc, prometheus.CounterValue, float64(counts.grants[i].Load()), name)
	}
	for _, st := range c.p.store.stats() {
		ch <- prometheus.MustNewConstMetric(providerStateDesc, prometheus.GaugeValue, float64(st.entries), st.kind)
		ch <- prometheus.MustNewConstMetric(providerStateBytesDesc, prometheus.GaugeValue, float64(st.bytes), st.kind)
		ch <- prometheus.MustNewConstMetric(providerStateEvictedDesc, prometheus.CounterValue, float64(st.evicted), st.kind)
	}
	ch <- prometheus.MustNewConstMetric(providerStateLimitDesc, prometheus.GaugeValue, float64(c.p.cfg.Limits.MaxStateBytes))
}

// newMetricsHandler serves the provider's own registry (one per provider, so
// several providers in one process never collide).
func newMetricsHandler(p *Provider) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(metricsCollector{p: p}); err != nil {
		return nil, err
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}), nil
}
