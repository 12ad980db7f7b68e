package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/trace"
)

// tokenFlow posts to a token endpoint and checks the answer the way a client must:
// a JSON body with an access_token, or an RFC 6749 error.
func tokenFlow(url string, client *http.Client) Flow {
	return funcFlow{name: "client_credentials", run: func(ctx context.Context) ([]trace.Step, error) {
		step := trace.Step{Name: "token", Start: time.Now()}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("grant_type=client_credentials"))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err != nil {
			step.End, step.Err = time.Now(), "transport failure"
			return []trace.Step{step}, err
		}
		defer resp.Body.Close()
		step.Status = resp.StatusCode
		var body struct {
			AccessToken string `json:"access_token"`
			Error       string `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		step.End = time.Now()
		switch {
		case err != nil:
			step.Err = "malformed body"
			return []trace.Step{step}, fmt.Errorf("token response: %w", err)
		case body.Error != "":
			step.OAuthError = body.Error
			return []trace.Step{step}, errors.New("token endpoint refused")
		case resp.StatusCode != http.StatusOK || body.AccessToken == "":
			step.Err = "no token"
			return []trace.Step{step}, errors.New("no access token")
		}
		return []trace.Step{step}, nil
	}}
}

func TestFaultsAreCountedByOutcomeStatusAndCode(t *testing.T) {
	release := make(chan struct{})
	handlers := map[string]http.HandlerFunc{
		"ok": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"access_token":"x","token_type":"Bearer"}`)
		},
		"5xx": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		},
		"badjson": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"access_token": tru`)
		},
		"oauth": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
		},
		"madeup": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"made_up_code"}`)
		},
		"reset": func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0) // RST instead of FIN
				conn.Close()
			}
		},
		"slow": func(w http.ResponseWriter, r *http.Request) {
			select { // outlives the client's timeout; released at the end of the test
			case <-r.Context().Done():
			case <-release:
			}
		},
	}
	var scenarios []Scenario
	// Only the slow server meets a short timeout: a loaded machine must not turn
	// the others' answers into timeouts.
	client := &http.Client{Timeout: 20 * time.Second}
	impatient := &http.Client{Timeout: 150 * time.Millisecond}
	defer impatient.CloseIdleConnections()
	for name, h := range handlers {
		srv := httptest.NewServer(h)
		defer srv.Close()
		c := client
		if name == "slow" {
			c = impatient
		}
		scenarios = append(scenarios, Scenario{Name: name, Flow: tokenFlow(srv.URL, c), Weight: 1,
			Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 1, Iterations: 2}})
	}
	refused := httptest.NewServer(http.NotFoundHandler())
	refusedURL := refused.URL
	refused.Close()
	scenarios = append(scenarios, Scenario{Name: "refused", Flow: tokenFlow(refusedURL, client), Weight: 1,
		Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 1, Iterations: 2}})
	defer close(release)
	defer client.CloseIdleConnections()

	reg := prometheus.NewRegistry()
	res, err := Run(context.Background(), scenarios, Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ok": loadresult.OutcomeOK, "5xx": loadresult.OutcomeHTTPError, "badjson": loadresult.OutcomeBadResponse, "oauth": loadresult.OutcomeOAuthError,
		"madeup": loadresult.OutcomeOAuthError, "reset": loadresult.OutcomeReset, "slow": loadresult.OutcomeTimeout, "refused": loadresult.OutcomeRefused,
	}
	for _, sc := range res.Scenarios {
		if sc.Flows[want[sc.Name]] != 2 {
			t.Errorf("%s: flows %v, want 2 %s", sc.Name, sc.Flows, want[sc.Name])
		}
	}
	expected := `
# HELP grantbench_requests_total HTTP requests made by flow steps, by outcome, status class and RFC error code.
# TYPE grantbench_requests_total counter
grantbench_requests_total{flow="client_credentials",oauth_error="",outcome="bad_response",status_class="2xx",step="token"} 2
grantbench_requests_total{flow="client_credentials",oauth_error="",outcome="connection_refused",status_class="none",step="token"} 2
grantbench_requests_total{flow="client_credentials",oauth_error="",outcome="connection_reset",status_class="none",step="token"} 2
grantbench_requests_total{flow="client_credentials",oauth_error="",outcome="http_error",status_class="5xx",step="token"} 2
grantbench_requests_total{flow="client_credentials",oauth_error="",outcome="ok",status_class="2xx",step="token"} 2
grantbench_requests_total{flow="client_credentials",oauth_error="",outcome="timeout",status_class="none",step="token"} 2
grantbench_requests_total{flow="client_credentials",oauth_error="invalid_client",outcome="oauth_error",status_class="4xx",step="token"} 2
grantbench_requests_total{flow="client_credentials",oauth_error="other",outcome="oauth_error",status_class="4xx",step="token"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(expected), MetricRequests); err != nil {
		t.Error(err)
	}
}

func TestMetricsHaveTheDesignedLabelsAndNativeHistograms(t *testing.T) {
	clock := newFakeClock()
	reg := prometheus.NewRegistry()
	_, err := Run(context.Background(), []Scenario{{Name: "cc", Flow: okFlow(clock, 3*time.Millisecond), Weight: 1,
		Executor: Executor{Kind: ExecutorConstantArrivalRate, Rate: 10, Duration: time.Second}}},
		Options{Clock: clock, Registerer: reg, RunID: "r", Version: "v"})
	if err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{
		MetricRequests:        "flow,oauth_error,outcome,status_class,step",
		MetricRequestDuration: "flow,outcome,step",
		MetricServiceTime:     "flow,outcome,step",
		MetricFlowDuration:    "flow,outcome",
		MetricFlows:           "flow,outcome",
		MetricScheduleLag:     "",
		MetricDropped:         "reason",
		MetricInFlight:        "",
		MetricWorkers:         "",
		MetricRunInfo:         "run_id,version",
	}
	seen := map[string]bool{}
	for _, f := range families {
		want, ok := wantLabels[f.GetName()]
		if !ok {
			t.Errorf("unexpected metric %s", f.GetName())
			continue
		}
		seen[f.GetName()] = true
		for _, m := range f.GetMetric() {
			var names []string
			for _, l := range m.GetLabel() {
				names = append(names, l.GetName())
			}
			if got := strings.Join(names, ","); got != want {
				t.Errorf("%s labels %q, want %q", f.GetName(), got, want)
			}
			if h := m.GetHistogram(); h != nil {
				if h.Schema == nil || h.GetZeroThreshold() == 0 && len(h.GetPositiveSpan()) == 0 {
					t.Errorf("%s is not a native histogram", f.GetName())
				}
				if len(h.GetBucket()) == 0 {
					t.Errorf("%s has no classic buckets", f.GetName())
				}
			}
		}
	}
	for name := range wantLabels {
		if !seen[name] {
			t.Errorf("metric %s missing", name)
		}
	}
}

func TestRecorderCorrectsForCoordinatedOmission(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	rec := newScenarioRecorder("client_credentials", m)
	t0 := time.Unix(1000, 0)
	// Meant to start at t0, started 400 ms late, took 50 ms.
	rec.record(iteration{intended: t0, started: t0.Add(400 * time.Millisecond), ended: t0.Add(450 * time.Millisecond), open: true,
		steps: []trace.Step{{Name: "token", Start: t0.Add(400 * time.Millisecond), End: t0.Add(450 * time.Millisecond), Status: 200}}, outcome: loadresult.OutcomeOK})
	var sc loadresult.ScenarioResult
	rec.fill(&sc)
	if !within(sc.Latency.MaxSeconds, 0.450) || !within(sc.ServiceTime.MaxSeconds, 0.050) || !within(sc.ScheduleLag.MaxSeconds, 0.400) {
		t.Errorf("latency %v service %v lag %v; want 450ms, 50ms, 400ms", sc.Latency.MaxSeconds, sc.ServiceTime.MaxSeconds, sc.ScheduleLag.MaxSeconds)
	}
	if st := sc.Steps[0]; !within(st.Latency.MaxSeconds, 0.450) || !within(st.ServiceTime.MaxSeconds, 0.050) {
		t.Errorf("step latency %v service %v; want 450ms, 50ms", st.Latency.MaxSeconds, st.ServiceTime.MaxSeconds)
	}
}

func within(got, want float64) bool { return got >= want*0.999 && got <= want*1.001 }

func TestSeriesKeepsLateArrivalsAndFillsGaps(t *testing.T) {
	start := time.Unix(100, 0)
	s := newSeriesRecorder(start)
	s.record(start.Add(100*time.Millisecond), time.Millisecond, 1, loadresult.OutcomeOK)
	s.record(start.Add(3500*time.Millisecond), 2*time.Millisecond, 1, loadresult.OutcomeOK)
	s.record(start.Add(3600*time.Millisecond), 9*time.Second, 1, loadresult.OutcomeHTTPError) // no latency point
	s.record(start.Add(900*time.Millisecond), time.Millisecond, 1, loadresult.OutcomeOK)      // late: second 0 is closed
	s.drop(start.Add(3 * time.Second))
	pts := s.points(start.Add(4 * time.Second))
	if len(pts) != 5 {
		t.Fatalf("%d points, want 5 (seconds 0..4)", len(pts))
	}
	var flows int64
	for _, p := range pts {
		flows += p.Flows
	}
	if flows != 4 || pts[0].Flows != 1 || pts[3].Errors != 1 || pts[3].Dropped != 1 || pts[1].Flows+pts[2].Flows != 1 {
		t.Errorf("points %+v", pts)
	}
	if pts[3].P99Seconds < 0.00199 || pts[3].P99Seconds > 0.0021 || pts[3].HDR == "" {
		t.Errorf("second 3: p99 %v hdr %q", pts[3].P99Seconds, pts[3].HDR)
	}
}
