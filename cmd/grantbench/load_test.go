package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"

	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/runner/grants"
)

// runLoadCmd runs `grantbench load args...` and returns the exit code, stdout and stderr.
func runLoadCmd(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(ctx, append([]string{"load"}, args...), &stdout, &stderr)
	code := exitCode(err, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestLoadUsageErrorsNameTheFlag(t *testing.T) {
	dir := t.TempDir()
	scenario := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(scenario, []byte("scenarios: [{flow: password, rate: 0, duration: 1s}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--flow"},
		{[]string{"--flow", "client_credentials", "--scenario", scenario}, "not both"},
		{[]string{"--flow", "implicit", "--workers", "1", "--iterations", "1"}, "--flow \"implicit\""},
		{[]string{"--flow", "password"}, "--rate"},
		{[]string{"--flow", "password", "--rate", "-3", "--duration", "1s"}, "--rate:"},
		{[]string{"--flow", "password", "--rate", "3"}, "--duration:"},
		{[]string{"--flow", "password", "--stages", "10s"}, "--stages"},
		{[]string{"--flow", "password", "--workers", "1", "--iterations", "1", "--threshold", "p99<fast"}, "p99<fast"},
		{[]string{"--flow", "password", "--workers", "1", "--iterations", "1", "--threshold", "tokn:p99<1s"}, "tokn"},
		{[]string{"--flow", "password", "--workers", "1", "--iterations", "1", "--threshold", "rate>=target"}, "no target rate"},
		{[]string{"--flow", "password", "--workers", "1", "--iterations", "1", "--shard", "3/2"}, "--shard"},
		{[]string{"--flow", "password", "--workers", "1", "--iterations", "1", "--linger", "1s"}, "--metrics-addr"},
		{[]string{"--flow", "authorization_code", "--workers", "1", "--iterations", "1", "--consent", "tv"}, "--consent"},
		{[]string{"--scenario", scenario, "--rate", "5"}, "--rate belongs"},
		{[]string{"--scenario", scenario}, "scenarios[0].rate"},
		{[]string{"--scenario", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{[]string{"--flow", "password", "--workers", "1", "--iterations", "1", "--target", filepath.Join(dir, "missing.yaml")}, "--target"},
		{[]string{"--flow", "authorization_code", "--workers", "1", "--iterations", "1", "--browser-url", "127.0.0.1:9222"}, "--browser-url"},
		{[]string{"--bogus"}, "bogus"},
	} {
		code, _, stderr := runLoadCmd(t, context.Background(), tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("load %v: exit %d, stderr %q; want exit 2 naming %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestLoadAgainstTheBundledMock(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runLoadCmd(t, context.Background(), "--flow", "client_credentials", "--workers", "2", "--iterations", "40",
		"--threshold", "token:p99<5s", "--threshold", "error_rate<=0%", "--out", out, "--progress", "plain", "--metrics-addr", "127.0.0.1:0")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	res, err := loadresult.ReadResult(filepath.Join(out, "load.json"))
	if err != nil {
		t.Fatal(err)
	}
	sc := res.Scenarios[0]
	if sc.Flows[loadresult.OutcomeOK] != 40 || sc.Steps[0].Name != "token" || sc.Latency.Count != 40 {
		t.Errorf("result %+v", sc)
	}
	for _, want := range []string{"PASS  token:p99<5s", "40 ok, 0 failed", "step token", "result: " + filepath.Join(out, "load.json")} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "bundled mock provider at http://127.0.0.1:") || !strings.Contains(stderr, "done ") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

func TestLoadThresholdBreachExitsOne(t *testing.T) {
	code, stdout, stderr := runLoadCmd(t, context.Background(), "--flow", "client_credentials", "--workers", "1", "--iterations", "5",
		"--threshold", "token:p99<1us", "--out", t.TempDir(), "--progress", "off")
	if code != exitFailed || !strings.Contains(stderr, `"token:p99<1us" measured`) || !strings.Contains(stdout, "FAIL  token:p99<1us") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestLoadEveryGrantAgainstTheMock(t *testing.T) {
	for _, flow := range grants.Table.FlowNames() {
		t.Run(flow, func(t *testing.T) {
			out := t.TempDir()
			code, stdout, stderr := runLoadCmd(t, context.Background(), "--flow", flow, "--workers", "2", "--iterations", "6",
				"--out", out, "--progress", "off", "--consent", "http")
			if code != exitOK {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			res, err := loadresult.ReadResult(filepath.Join(out, "load.json"))
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Scenarios[0].Flows[loadresult.OutcomeOK]; got != 6 {
				t.Errorf("%s: flows %v, want 6 ok", flow, res.Scenarios[0].Flows)
			}
		})
	}
}

func TestLoadWeightedScenarioFile(t *testing.T) {
	dir := t.TempDir()
	scenario := filepath.Join(dir, "plan.yaml")
	plan := `
executor: constant-arrival-rate
rate: 40
duration: 500ms
scenarios:
  - flow: client_credentials
    weight: 3
  - flow: password
thresholds: ["client_credentials:rate>=0.5*target"]
`
	if err := os.WriteFile(scenario, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runLoadCmd(t, context.Background(), "--scenario", scenario, "--out", dir, "--progress", "off")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	res, err := loadresult.ReadResult(filepath.Join(dir, "load.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scenarios) != 2 || res.Scenarios[0].PlannedIterations != 15 || res.Scenarios[1].PlannedIterations != 5 {
		t.Errorf("scenarios %+v", res.Scenarios)
	}
}

func TestLoadUnreachableTargetExitsThree(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	profile := filepath.Join(t.TempDir(), "target.yaml")
	body := fmt.Sprintf("issuer: http://%s\nclients:\n  confidential: {client_id: a, client_secret: b}\n", addr)
	if err := os.WriteFile(profile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runLoadCmd(t, context.Background(), "--target", profile, "--flow", "client_credentials", "--workers", "1", "--iterations", "1", "--progress", "off", "--out", t.TempDir())
	if code != exitUnreachable {
		t.Errorf("exit %d, want 3; stderr %s", code, stderr)
	}
}

func TestLoadInterruptWritesPartialResult(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Stop the run as soon as its progress shows finished flows, as Ctrl-C would.
	pr, pw := io.Pipe()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := pr.Read(buf)
			if strings.Contains(string(buf[:n]), "running") {
				cancel()
			}
			if err != nil {
				return
			}
		}
	}()
	var stdout bytes.Buffer
	err := run(ctx, []string{"load", "--flow", "client_credentials", "--rate", "50", "--duration", "30s", "--out", out, "--progress", "plain"}, &stdout, pw)
	pw.Close()
	if code := exitCode(err, io.Discard); code != exitFailed || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("exit %d err %v", code, err)
	}
	res, rerr := loadresult.ReadResult(filepath.Join(out, "load.json"))
	if rerr != nil {
		t.Fatal(rerr)
	}
	if !res.Partial || res.End.Sub(res.Start) > 10*time.Second || res.Scenarios[0].Flows[loadresult.OutcomeOK] == 0 {
		t.Errorf("partial %v after %v with flows %v", res.Partial, res.End.Sub(res.Start), res.Scenarios[0].Flows)
	}
}

// countingStore is a Remote-Write receiver that counts the requests it accepted.
type countingStore struct{ requests atomic.Int64 }

func (s *countingStore) Store(req *http.Request, _ remote.WriteMessageType) (*remote.WriteResponse, error) {
	if _, err := io.Copy(io.Discard, req.Body); err != nil {
		return nil, err
	}
	s.requests.Add(1)
	return remote.NewWriteResponse(), nil
}

func TestLoadPushesWithRemoteWrite(t *testing.T) {
	store := &countingStore{}
	srv := httptest.NewServer(remote.NewWriteHandler(store, remote.MessageTypes{remote.WriteV1MessageType}))
	defer srv.Close()
	code, stdout, stderr := runLoadCmd(t, context.Background(), "--flow", "client_credentials", "--workers", "1", "--iterations", "5",
		"--remote-write", srv.URL+"/api/v1/write", "--out", t.TempDir(), "--progress", "off")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if store.requests.Load() == 0 {
		t.Error("the run pushed nothing (the final push is missing)")
	}
	code, _, stderr = runLoadCmd(t, context.Background(), "--flow", "client_credentials", "--workers", "1", "--iterations", "1",
		"--remote-write", srv.URL, "--remote-write-protocol", "v9", "--progress", "off")
	if code != exitUsage || !strings.Contains(stderr, "--remote-write-protocol") {
		t.Errorf("bad protocol: exit %d, %s", code, stderr)
	}
}

// TestLoadBrokenDiscoveryIsNotUnreachable: a target that answers discovery
// with an HTML page is there: exit 1 with what came back, not 3.
func TestLoadBrokenDiscoveryIsNotUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>Welcome to nginx</html>")
	}))
	defer srv.Close()
	profile := filepath.Join(t.TempDir(), "target.yaml")
	body := fmt.Sprintf("issuer: %s\nclients:\n  confidential: {client_id: a, client_secret: b}\n", srv.URL)
	if err := os.WriteFile(profile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runLoadCmd(t, context.Background(), "--target", profile, "--flow", "client_credentials", "--workers", "1", "--iterations", "1", "--progress", "off", "--out", t.TempDir())
	if code != exitFailed || !strings.Contains(stderr, "openid-configuration: the metadata is not JSON: got text/html") || !strings.Contains(stderr, "Welcome to nginx") {
		t.Errorf("exit %d, want 1 saying what came back; stderr %s", code, stderr)
	}
}
