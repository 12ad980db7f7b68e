package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grantbench/grantbench/trace"
)

func TestServeMetricsSpeaksOpenMetrics(t *testing.T) {
	clock := newFakeClock()
	reg := prometheus.NewRegistry()
	if _, err := Run(context.Background(), []Scenario{{Name: "cc", Flow: okFlow(clock, time.Millisecond), Weight: 1,
		Executor: Executor{Kind: ExecutorConstantWorkers, Workers: 1, Iterations: 3}}}, Options{Clock: clock, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	srv, err := ServeMetrics("127.0.0.1:0", reg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://"+srv.Addr()+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Errorf("content type %q", ct)
	}
	for _, want := range []string{`grantbench_requests_total{flow="client_credentials",oauth_error="",outcome="ok",status_class="2xx",step="token"} 3.0`, "# EOF"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if _, err := ServeMetrics(srv.Addr(), reg); err == nil {
		t.Error("a second server on a taken address started")
	}
}

func TestProgressPrinter(t *testing.T) {
	var term, plain bytes.Buffer
	onTerm := NewProgressPrinter(&term, true, 10*time.Second)
	onPlain := NewProgressPrinter(&plain, false, 10*time.Second)
	for s := 1; s <= 25; s++ {
		p := Progress{Elapsed: time.Duration(s) * time.Second, Planned: 25 * time.Second, Flows: int64(s * 100), Errors: 1, Rate: 100, P50: 2 * time.Millisecond, P99: 9 * time.Millisecond}
		onTerm(p)
		onPlain(p)
	}
	final := Progress{Elapsed: 25 * time.Second, Flows: 2500, Final: true}
	onTerm(final)
	onPlain(final)
	if got := strings.Count(plain.String(), "\n"); got != 4 {
		t.Errorf("plain output has %d lines, want 4 (1s, 11s, 21s, final):\n%s", got, plain.String())
	}
	if strings.Contains(plain.String(), "\r") || !strings.Contains(term.String(), "\r") {
		t.Error("carriage returns belong on terminals only")
	}
	if !strings.Contains(plain.String(), "running 1s/25s: 100 flows, 100.0/s, p50 2.0ms, p99 9.0ms, errors 1 (1.00%)") {
		t.Errorf("plain line:\n%s", plain.String())
	}
}

// prometheusBinary finds the Prometheus server, installing the Debian package when
// running as root in CI; without it the test skips outside CI and fails inside.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	if os.Getenv("CI") == "" {
		t.Skip("prometheus is not installed (apt-get install prometheus); set CI=1 to make this a failure")
	}
	script, _ := filepath.Abs("../scripts/ensure-tools.sh")
	if out, err := exec.Command(script, "prometheus").CombinedOutput(); err != nil {
		t.Fatalf("installing prometheus: %v\n%s", err, out)
	}
	p, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus still missing after installing it")
	}
	return p
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRealPrometheusScrapesARun runs a real Prometheus server on loopback, lets it
// scrape a short run's /metrics, pushes the same registry to it with Remote-Write,
// and asks its query API what arrived each way.
func TestRealPrometheusScrapesARun(t *testing.T) {
	bin := prometheusBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	reg := prometheus.NewRegistry()
	srv, err := ServeMetrics("127.0.0.1:0", reg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// A short run on the real clock while the server is up.
	flow := funcFlow{name: "client_credentials", run: func(context.Context) ([]trace.Step, error) {
		now := time.Now()
		return []trace.Step{{Name: "token", Start: now, End: now.Add(time.Millisecond), Status: 200}}, nil
	}}
	if _, err := Run(ctx, []Scenario{{Name: "cc", Flow: flow, Weight: 1,
		Executor: Executor{Kind: ExecutorConstantArrivalRate, Rate: 200, Duration: 250 * time.Millisecond}}},
		Options{Registerer: reg, RunID: "prom-test", Version: "test"}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: grantbench\n    static_configs:\n      - targets: [%q]\n", srv.Addr())
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr,
		"--enable-feature=native-histograms",
		"--web.enable-remote-write-receiver",
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", logs.String())
		}
	}()

	query := func(q string) ([]map[string]any, error) {
		u := "http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var body struct {
			Status string `json:"status"`
			Data   struct {
				Result []map[string]any `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return nil, err
		}
		return body.Data.Result, nil
	}
	requests := `grantbench_requests_total{job="grantbench",flow="client_credentials",step="token",outcome="ok",status_class="2xx",oauth_error=""}`
	duration := `{__name__=~"grantbench_request_duration_seconds(_count)?",flow="client_credentials",step="token",outcome="ok"}`
	var lastErr error
	for ctx.Err() == nil {
		reqs, err1 := query(requests)
		durs, err2 := query(duration)
		if err1 == nil && err2 == nil && len(reqs) == 1 && len(durs) > 0 {
			value := reqs[0]["value"].([]any)[1].(string)
			if value != "50" {
				t.Errorf("requests counter %s in Prometheus, want the run's 50", value)
			}
			_, native := durs[0]["histogram"]
			t.Logf("duration histogram arrived as %v (native: %v)", durs[0]["metric"], native)
			checkRemoteWrite(ctx, t, reg, promAddr, query)
			return
		}
		lastErr = fmt.Errorf("requests %v (%v), durations %v (%v)", reqs, err1, durs, err2)
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
	t.Fatalf("Prometheus did not get the run's metrics within 20 s: %v", lastErr)
}

// checkRemoteWrite pushes reg to the running Prometheus (Remote-Write 1.0, which
// Prometheus 2 and 3 receive) and waits for the series to be queryable.
func checkRemoteWrite(ctx context.Context, t *testing.T, reg *prometheus.Registry, promAddr string, query func(string) ([]map[string]any, error)) {
	t.Helper()
	w, err := NewRemoteWriter("http://"+promAddr+"/api/v1/write", reg, RemoteWriteOptions{Job: "grantbench-push", Instance: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Push(ctx); err != nil {
		t.Fatalf("remote write to Prometheus: %v", err)
	}
	q := `grantbench_request_duration_seconds_count{job="grantbench-push",instance="test",flow="client_credentials",step="token",outcome="ok"}`
	for ctx.Err() == nil {
		res, err := query(q)
		if err == nil && len(res) == 1 {
			if v := res[0]["value"].([]any)[1].(string); v != "50" {
				t.Errorf("pushed duration count %s, want 50", v)
			}
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatalf("pushed series never became queryable: %s", q)
}
