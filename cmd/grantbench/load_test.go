package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"

	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/mockprovider"
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
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("scenarios: [{flow: password, rate: 1, duration: 1s}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tiny := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(tiny, []byte("scenarios: [{flow: password, rate: 1e-300, duration: 10s}]\n"), 0o644); err != nil {
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
		// Absurd numbers are refused at parse time naming the flag (issues 13, 14):
		// 1e-10 once hung setup at 100 % CPU, and --workers 0 silently ran one worker.
		{[]string{"--flow", "password", "--rate", "1e-10", "--duration", "10s"}, "--rate:"},
		{[]string{"--flow", "password", "--rate", "1e-300", "--duration", "10s"}, "--rate:"},
		{[]string{"--flow", "password", "--rate", "1e300", "--duration", "10s"}, "--rate:"},
		{[]string{"--flow", "password", "--rate", "1e12", "--duration", "10s"}, "--rate:"},
		{[]string{"--flow", "password", "--rate", "NaN", "--duration", "10s"}, "--rate:"},
		{[]string{"--flow", "password", "--rate", "5", "--duration", "100000h"}, "--duration:"},
		{[]string{"--flow", "password", "--rate", "5", "--duration", "1s", "--max-in-flight", "1000000000"}, "--max-in-flight:"},
		{[]string{"--flow", "password", "--stages", "10s:1e300"}, "--stages:"},
		{[]string{"--flow", "password", "--stages", "10s:5", "--start-rate", "1e-300"}, "--start-rate:"},
		{[]string{"--flow", "password", "--workers", "0", "--duration", "1s"}, "--workers:"},
		{[]string{"--flow", "password", "--workers", "1000000000", "--duration", "1s"}, "--workers:"},
		{[]string{"--flow", "password", "--iterations", "-5"}, "--iterations:"},
		{[]string{"--flow", "password", "--workers", "2", "--iterations", "1e12"}, "-iterations"},
		{[]string{"--flow", "password", "--workers", "2", "--iterations", "10000000000"}, "--iterations:"},
		{[]string{"--flow", "password", "--workers", "1", "--iterations", "1", "--grace", "1000h"}, "--grace:"},
		{[]string{"--flow", "password", "--workers", "1", "--iterations", "1", "--tabs", "0"}, "--tabs:"},
		{[]string{"--flow", "password", "--workers", "1", "--iterations", "1", "--remote-write-interval", "1ns"}, "--remote-write-interval:"},
		{[]string{"--flow", "password", "--workers", "1", "--iterations", "1", "--shard", "1/100000000"}, "--shard"},
		{[]string{"--flow", "password", "--workers", "1", "--iterations", "1", "--threshold", "error_rate<NaN"}, "error_rate<NaN"},
		{[]string{"--scenario", good, "--duration", "0s"}, "--duration:"},
		{[]string{"--scenario", good, "--duration", "48h"}, "--duration:"},
		{[]string{"--scenario", tiny}, "scenarios[0].rate"},
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
duration: 10m
scenarios:
  - flow: client_credentials
    weight: 3
  - flow: password
thresholds: ["client_credentials:rate>=0.5*target"]
`
	if err := os.WriteFile(scenario, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	// --duration scales the file's 10 minutes down to half a second (issue 14).
	code, stdout, stderr := runLoadCmd(t, context.Background(), "--scenario", scenario, "--duration", "500ms", "--out", dir, "--progress", "off")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	res, err := loadresult.ReadResult(filepath.Join(dir, "load.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scenarios) != 2 || res.Scenarios[0].PlannedIterations != 15 || res.Scenarios[1].PlannedIterations != 5 ||
		res.Scenarios[0].PlannedSeconds != 0.5 {
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

// mockProfile starts the bundled mock and writes a target profile for it with
// the confidential client's secret given.
func mockProfile(t *testing.T, secret string) (*mockprovider.Local, string) {
	t.Helper()
	srv, err := mockprovider.StartBundled(context.Background(), mockprovider.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	profile := filepath.Join(t.TempDir(), "target.yaml")
	body := fmt.Sprintf("issuer: %s\nclients:\n  confidential: {client_id: demo, client_secret: %s, auth_method: client_secret_basic, scopes: [api.read]}\n", srv.Issuer(), secret)
	if err := os.WriteFile(profile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, profile
}

// TestLoadEveryFlowFailingExitsOne is the regression test of "0 ok, 40 failed"
// and exit 0 (issue 13): with no error-rate threshold given, the default one
// holds, and the summary says it is the default.
func TestLoadEveryFlowFailingExitsOne(t *testing.T) {
	_, profile := mockProfile(t, "wrong-secret")
	code, stdout, stderr := runLoadCmd(t, context.Background(), "--target", profile, "--flow", "client_credentials", "--workers", "2", "--iterations", "40",
		"--out", t.TempDir(), "--progress", "off")
	if code != exitFailed || !strings.Contains(stdout, "0 ok, 40 failed") || !strings.Contains(stdout, "FAIL  "+loadresult.DefaultErrorRate) ||
		!strings.Contains(stdout, "(default") || !strings.Contains(stderr, "threshold breached") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// Any error_rate threshold replaces the default.
	code, stdout, stderr = runLoadCmd(t, context.Background(), "--target", profile, "--flow", "client_credentials", "--workers", "1", "--iterations", "5",
		"--threshold", "error_rate<=100%", "--out", t.TempDir(), "--progress", "off")
	if code != exitOK || strings.Contains(stdout, loadresult.DefaultErrorRate) {
		t.Errorf("with error_rate<=100%%: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestLoadTargetKilledHalfwayExitsThree is the regression test of a target
// killed halfway (issue 13): thousands of refused connections and exit 0. Now
// it is exit 3 with the count, and the refusals stay out of the success latency.
func TestLoadTargetKilledHalfwayExitsThree(t *testing.T) {
	srv, profile := mockProfile(t, "demo-secret")
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Kill the target once the run has shown progress for a while.
	pr, pw := io.Pipe()
	go func() {
		buf := make([]byte, 4096)
		killed := false
		for {
			n, err := pr.Read(buf)
			if !killed && strings.Contains(string(buf[:n]), "running") {
				time.Sleep(300 * time.Millisecond)
				srv.Close()
				killed = true
			}
			if err != nil {
				return
			}
		}
	}()
	var stdout bytes.Buffer
	err := run(ctx, []string{"load", "--target", profile, "--flow", "client_credentials", "--rate", "100", "--duration", "3s",
		"--threshold", "token:p99<5s", "--out", out, "--progress", "plain"}, &stdout, pw)
	pw.Close()
	if code := exitCode(err, io.Discard); code != exitUnreachable || !strings.Contains(err.Error(), "stopped answering") {
		t.Fatalf("exit %d, error %v\nstdout:\n%s", code, err, stdout.String())
	}
	res, rerr := loadresult.ReadResult(filepath.Join(out, "load.json"))
	if rerr != nil {
		t.Fatal(rerr)
	}
	sc := res.Scenarios[0]
	tail := res.Unanswered
	if tail == nil || tail.Iterations < loadresult.MinUnansweredIterations || !strings.Contains(err.Error(), fmt.Sprintf("last %d iterations", tail.Iterations)) {
		t.Fatalf("unanswered tail %+v, error %v", tail, err)
	}
	if sc.Latency.Count != sc.Flows[loadresult.OutcomeOK] || sc.FailedLatency.Count == 0 {
		t.Errorf("latency holds %d samples for %d ok flows, failed latency %d; flows %v", sc.Latency.Count, sc.Flows[loadresult.OutcomeOK], sc.FailedLatency.Count, sc.Flows)
	}
}

// TestLoadSignalsStopTheRun: the first Ctrl-C cancels, a second one or any
// SIGTERM abandons (issue 13: later signals were swallowed).
func TestLoadSignalsStopTheRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		signals []os.Signal
		abandon bool
	}{
		{"one Ctrl-C", []os.Signal{os.Interrupt}, false},
		{"two Ctrl-C", []os.Signal{os.Interrupt, os.Interrupt}, true},
		{"SIGTERM", []os.Signal{syscall.SIGTERM}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sigs := make(chan os.Signal, len(tc.signals))
			ctx, abandon, stop := watchStopSignals(context.Background(), sigs, io.Discard)
			defer stop()
			for _, s := range tc.signals {
				sigs <- s
			}
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the run's context was not cancelled")
			}
			select {
			case <-abandon:
				if !tc.abandon {
					t.Error("one Ctrl-C abandoned the run; it should stop it in order")
				}
			case <-time.After(200 * time.Millisecond):
				if tc.abandon {
					t.Error("the run was not abandoned")
				}
			}
		})
	}
}

// TestLoadProcessEndsOnSIGTERM runs grantbench load as a process against a
// target whose token endpoint never answers, with an hour's graceful stop, and
// sends it SIGTERM: it must exit at once with the partial result written.
func TestLoadProcessEndsOnSIGTERM(t *testing.T) {
	if os.Getenv("GRANTBENCH_LOAD_CHILD") != "" {
		return
	}
	hang := make(chan struct{})
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/openid-configuration" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"issuer":%q,"token_endpoint":%q,"authorization_endpoint":%q,"jwks_uri":%q,"response_types_supported":["code"]}`,
				srv.URL, srv.URL+"/token", srv.URL+"/authorize", srv.URL+"/jwks")
			return
		}
		select { // the token endpoint hangs
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	dir := t.TempDir()
	profile := filepath.Join(dir, "target.yaml")
	if err := os.WriteFile(profile, []byte(fmt.Sprintf("issuer: %s\nclients:\n  confidential: {client_id: a, client_secret: b}\n", srv.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestLoadChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GRANTBENCH_LOAD_CHILD=load --target "+profile+" --flow client_credentials --rate 20 --duration 1h --grace 1h --progress plain --out "+dir)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(stderr.String(), "running") {
		if ctx.Err() != nil {
			t.Fatalf("the child never got running: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	took := time.Since(sent)
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitFailed || took > 5*time.Second {
		t.Fatalf("after SIGTERM: %v after %v; want exit 1 within seconds\nstderr:\n%s", err, took, stderr.String())
	}
	res, rerr := loadresult.ReadResult(filepath.Join(dir, "load.json"))
	if rerr != nil {
		t.Fatalf("no partial result: %v\nstderr:\n%s", rerr, stderr.String())
	}
	if !res.Partial || res.Scenarios[0].Started == 0 {
		t.Errorf("result partial %v, started %d", res.Partial, res.Scenarios[0].Started)
	}
}

// TestLoadChild is the child process of TestLoadProcessEndsOnSIGTERM: it runs
// main's signal handling and command line with the arguments in its
// environment.
func TestLoadChild(t *testing.T) {
	args := os.Getenv("GRANTBENCH_LOAD_CHILD")
	if args == "" {
		t.Skip("only runs as TestLoadProcessEndsOnSIGTERM's child")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, strings.Fields(args), io.Discard, os.Stderr)
	os.Exit(exitCode(err, os.Stderr))
}

// lockedBuffer is a bytes.Buffer safe for a child's output and the test reading it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestMaxDurationEnvCapsThePlan: GRANTBENCH_MAX_DURATION shortens the
// README's long runs without editing their command lines.
func TestMaxDurationEnvCapsThePlan(t *testing.T) {
	t.Setenv(maxDurationEnv, "1s")
	dir := t.TempDir()
	scenario := filepath.Join(dir, "s.yaml")
	plan := "scenarios:\n  - {flow: client_credentials, executor: constant-arrival-rate, rate: 5, duration: 10m}\n" +
		"  - {flow: password, executor: ramping-arrival-rate, stages: [{duration: 1m, target: 5}, {duration: 3m, target: 5}]}\n"
	if err := os.WriteFile(scenario, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	r, err := parseLoad([]string{"--scenario", scenario}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if d := r.plan.Scenarios[0].Executor.Duration; d != time.Second {
		t.Errorf("constant-arrival-rate duration %s, want 1s", d)
	}
	stages := r.plan.Scenarios[1].Executor.Stages
	if total := r.plan.Scenarios[1].Executor.PlannedDuration(); total > time.Second || stages[1].Duration != 3*stages[0].Duration {
		t.Errorf("ramp stages %+v: want the shape kept within 1s", stages)
	}
	if !strings.Contains(stderr.String(), maxDurationEnv) {
		t.Errorf("stderr does not say the durations were capped: %q", stderr.String())
	}
	t.Setenv(maxDurationEnv, "soon")
	if _, err := parseLoad([]string{"--scenario", scenario}, &stderr); err == nil || !strings.Contains(err.Error(), maxDurationEnv) {
		t.Errorf("a bad %s: %v", maxDurationEnv, err)
	}
}
