package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grantbench/grantbench/runner"
	"github.com/grantbench/grantbench/trace"
)

// prometheusServer finds the Prometheus server binary: without it the test
// skips outside CI and fails inside (CI installs it with make test-tools).
func prometheusServer(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	if os.Getenv("CI") == "" {
		t.Skip("prometheus is not installed (Debian package prometheus, make test-tools); set CI=1 to make this a failure")
	}
	if out, err := exec.Command("../scripts/ensure-tools.sh", "prometheus").CombinedOutput(); err != nil {
		t.Fatalf("installing prometheus: %v\n%s", err, out)
	}
	p, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus still missing after installing it")
	}
	return p
}

// dashboardFlow is a flow whose iterations give every panel something to
// show: most succeed, every 5th is refused with an RFC 6749 error code, and
// every 9th is slow enough to make later arrivals wait or be dropped.
type dashboardFlow struct{ n atomic.Int64 }

func (f *dashboardFlow) Name() string { return "client_credentials" }

func (f *dashboardFlow) Run(ctx context.Context) ([]trace.Step, error) {
	i := f.n.Add(1)
	start := time.Now()
	took := time.Millisecond
	if i%9 == 0 {
		took = 60 * time.Millisecond
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(took):
	}
	step := trace.Step{Name: "token", Start: start, End: time.Now(), Status: http.StatusOK}
	if i%5 == 0 {
		step.Status, step.OAuthError = http.StatusBadRequest, "invalid_client"
		return []trace.Step{step}, errors.New("token endpoint: invalid_client")
	}
	return []trace.Step{step}, nil
}

type dashboardTarget struct {
	Panel string
	RefID string
	Expr  string
}

func dashboardTargets(t *testing.T) []dashboardTarget {
	t.Helper()
	data, err := os.ReadFile("grafana/dashboards/grantbench.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	var out []dashboardTarget
	for _, p := range dash.Panels {
		for _, q := range p.Targets {
			out = append(out, dashboardTarget{Panel: p.Title, RefID: q.RefID, Expr: q.Expr})
		}
	}
	return out
}

// TestDashboardPanelsHaveDataFromARealPrometheus runs a short load on the
// real clock and delivers its metrics to a real Prometheus both ways the
// deployments do: scraped with native histograms on (docker-compose.yml) and
// pushed with Remote-Write 1.0, which carries classic buckets only
// (deploy/k8s). Every query of every panel must return data in both modes,
// with Grafana's variables set as the dashboard's "All" and one instance.
func TestDashboardPanelsHaveDataFromARealPrometheus(t *testing.T) {
	bin := prometheusServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	reg := prometheus.NewRegistry()
	metrics, err := runner.ServeMetrics("127.0.0.1:0", reg)
	if err != nil {
		t.Fatal(err)
	}
	defer metrics.Close()

	dir := t.TempDir()
	config := fmt.Sprintf("global:\n  scrape_interval: 500ms\n  scrape_timeout: 400ms\nscrape_configs:\n  - job_name: grantbench\n    static_configs:\n      - targets: [%q]\n", metrics.Addr())
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	promAddr := ln.Addr().String()
	ln.Close()
	var logs bytes.Buffer
	prom := exec.CommandContext(ctx, bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr,
		"--enable-feature=native-histograms", // as docker-compose.yml starts it
		"--web.enable-remote-write-receiver",
	)
	prom.Stdout, prom.Stderr = &logs, &logs
	prom.WaitDelay = 2 * time.Second
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = prom.Process.Kill()
		_ = prom.Wait()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", logs.String())
		}
	}()
	query := func(q string) ([]promSample, error) { return promQuery(ctx, promAddr, q) }
	// Prometheus hands new targets to its scrapers only every 5 s: the run
	// starts once the first scrape has happened.
	waitFor(ctx, t, "Prometheus's first scrape", func() bool {
		up, err := query(`up{job="grantbench"}`)
		return err == nil && len(up) == 1
	})

	// Remote-Write 1.0, as the k8s Job pushes (job and instance of its own).
	const pushedInstance = "k8s-shard-1/1"
	writer, err := runner.NewRemoteWriter("http://"+promAddr+"/api/v1/write", reg, runner.RemoteWriteOptions{
		Job: "grantbench-push", Instance: pushedInstance, Interval: 300 * time.Millisecond, Protocol: runner.RemoteWriteV1})
	if err != nil {
		t.Fatal(err)
	}
	pushCtx, stopPush := context.WithCancel(ctx)
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		writer.Run(pushCtx, func(err error) { t.Logf("remote write: %v", err) })
	}()

	// About 4 s at 40/s; at most 2 in flight, so the slow iterations make
	// later ones wait (schedule lag) or be dropped.
	res, err := runner.Run(ctx, []runner.Scenario{{Name: "client_credentials", Flow: &dashboardFlow{}, Weight: 1,
		Executor: runner.Executor{Kind: runner.ExecutorConstantArrivalRate, Rate: 40, Duration: 4 * time.Second, MaxInFlight: 2}}},
		runner.Options{Registerer: reg, RunID: "dashboard-test", Version: "test", Target: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // a last scrape and push after the run
	stopPush()
	<-pushed
	var dropped int64
	for _, n := range res.Scenarios[0].Dropped {
		dropped += n
	}
	if dropped == 0 {
		t.Log("the run dropped no iteration; the dropped-iterations query still has its zero series")
	}

	// Grafana puts the instance chosen into instance=~"$instance"; these
	// hold no regexp characters but ".", which matches itself too.
	modes := []struct{ name, instance string }{
		{"scrape with native histograms", metrics.Addr()},
		{"remote write 1.0 (classic buckets)", pushedInstance},
	}
	// The native and classic series really are apart: otherwise the test
	// would not tell the two modes from each other.
	if s, _ := query(fmt.Sprintf(`grantbench_flow_duration_seconds_bucket{instance=%q}`, metrics.Addr())); len(s) != 0 {
		t.Fatalf("the scraped run has classic buckets too (%d series): the native mode is not tested", len(s))
	}
	if s, _ := query(fmt.Sprintf(`grantbench_flow_duration_seconds{instance=%q}`, pushedInstance)); len(s) != 0 {
		t.Fatalf("the pushed run has native histograms (%d series): the classic mode is not tested", len(s))
	}
	for _, mode := range modes {
		for _, target := range dashboardTargets(t) {
			expr := strings.NewReplacer(`$flow`, `.*`, `$instance`, mode.instance, `$__rate_interval`, `20s`).Replace(target.Expr)
			t.Run(mode.name+"/"+target.Panel+"/"+target.RefID, func(t *testing.T) {
				samples, err := query(expr)
				if err != nil {
					t.Fatalf("%s: %v", expr, err)
				}
				finite := 0
				for _, s := range samples {
					if !math.IsNaN(s.Value) && !math.IsInf(s.Value, 0) {
						finite++
					}
				}
				if finite == 0 {
					t.Errorf("the panel is empty: %s returned %d series, none with a number", expr, len(samples))
				}
			})
		}
	}
}

type promSample struct {
	Metric map[string]string
	Value  float64
}

// promQuery runs an instant query against Prometheus's HTTP API.
func promQuery(ctx context.Context, addr, q string) ([]promSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/query?query="+url.QueryEscape(q), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, body.Error)
	}
	var out []promSample
	for _, r := range body.Data.Result {
		s := promSample{Metric: r.Metric, Value: math.NaN()}
		if len(r.Value) == 2 {
			if str, ok := r.Value[1].(string); ok {
				s.Value, _ = strconv.ParseFloat(str, 64)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func waitFor(ctx context.Context, t *testing.T, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
