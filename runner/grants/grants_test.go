package grants

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/mockprovider"
	"github.com/grantbench/grantbench/runner"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestClassify(t *testing.T) {
	live := context.Background()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		ctx  context.Context
		err  error
		want string
	}{
		{live, nil, loadresult.OutcomeOK},
		{live, &flows.OAuthError{Step: "token", Status: 400, Code: "invalid_grant"}, loadresult.OutcomeOAuthError},
		{live, fmt.Errorf("wrapped: %w", &flows.OAuthError{Code: "access_denied"}), loadresult.OutcomeOAuthError},
		{live, &flows.ResponseError{Step: "token", Status: 503, Reason: "no OAuth error code"}, loadresult.OutcomeHTTPError},
		{live, &flows.ResponseError{Step: "token", Status: 200, Reason: "not JSON"}, loadresult.OutcomeBadResponse},
		{live, &flows.TransportError{Step: "token", Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, loadresult.OutcomeRefused},
		{live, &flows.TransportError{Step: "token", Err: io.ErrUnexpectedEOF}, loadresult.OutcomeReset},
		{live, &flows.TransportError{Step: "token", Err: context.DeadlineExceeded}, loadresult.OutcomeTimeout},
		{live, &flows.TransportError{Step: "token", Err: errors.New("tls: bad certificate")}, loadresult.OutcomeTransport},
		{live, &flows.BrowserError{Step: "login", Err: errors.New("no such element")}, loadresult.OutcomeBrowser},
		{live, &flows.BrowserError{Step: "login", Err: context.DeadlineExceeded}, loadresult.OutcomeTimeout},
		{live, errors.New("something else"), loadresult.OutcomeError},
		{cancelled, &flows.TransportError{Step: "token", Err: context.Canceled}, loadresult.OutcomeInterrupted},
	} {
		if got := Classify(tc.ctx, tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

func startMock(t *testing.T) *flows.Target {
	t.Helper()
	cfg, err := mockprovider.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := mockprovider.StartLocal(ctx, "127.0.0.1:0", cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	target := flows.MockTarget(srv.Issuer(), "")
	t.Cleanup(func() {
		target.CloseIdleConnections()
		srv.Close()
		cancel()
	})
	return target
}

// TestEveryGrantAgainstTheMock prepares each grant and runs a few iterations of
// it against the bundled mock provider with HTTP consent.
func TestEveryGrantAgainstTheMock(t *testing.T) {
	target := startMock(t)
	wantSteps := map[string]string{
		"client_credentials": "token", "password": "token", "refresh": "refresh",
		"authorization_code": "token", "device_code": "device_poll",
	}
	for _, name := range Table.FlowNames() {
		t.Run(name, func(t *testing.T) {
			flow, err := New(name, Config{Target: target, Consent: flows.ConsentHTTP})
			if err != nil {
				t.Fatal(err)
			}
			if c, ok := flow.(interface{ Close() error }); ok {
				defer c.Close()
			}
			if p, ok := flow.(runner.Preparer); ok {
				if err := p.Prepare(context.Background(), runner.SetupNeed{Concurrency: 2, Iterations: 6}); err != nil {
					t.Fatalf("prepare: %v", err)
				}
			}
			for i := range 6 {
				steps, err := flow.Run(context.Background())
				if err != nil {
					t.Fatalf("iteration %d: %v (steps %+v)", i, err, steps)
				}
				last := steps[len(steps)-1]
				if last.Name != wantSteps[name] || last.Status != 200 {
					t.Fatalf("iteration %d ended with step %+v, want %s 200", i, last, wantSteps[name])
				}
			}
		})
	}
}

func TestUnknownFlow(t *testing.T) {
	if _, err := New("implicit", Config{Target: &flows.Target{}}); err == nil {
		t.Error("implicit accepted")
	}
	if _, err := New("password", Config{}); err == nil {
		t.Error("no target accepted")
	}
	onlyConfidential := &flows.Target{Clients: flows.Clients{Confidential: &flows.Client{ClientID: "a"}}}
	for name, ok := range map[string]bool{"client_credentials": true, "authorization_code": true, "refresh": true, "password": false, "device_code": false} {
		_, err := New(name, Config{Target: onlyConfidential, Consent: flows.ConsentHTTP})
		if (err == nil) != ok {
			t.Errorf("%s with only a confidential client: %v", name, err)
		}
	}
	if _, err := New("authorization_code", Config{Target: onlyConfidential, Consent: flows.ConsentBrowser}); err == nil {
		t.Error("browser consent without a browser accepted")
	}
}

// TestAuthorizationCodeWithBrowserConsent logs the shared headless browser in
// during setup; the timed iteration then shows authorize, consent and token only.
func TestAuthorizationCodeWithBrowserConsent(t *testing.T) {
	if _, err := flows.FindChrome(); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("no Chromium:", err)
		}
		t.Fatal(err)
	}
	target := startMock(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	browser, err := flows.NewBrowser(ctx, flows.BrowserOptions{MaxTabs: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer browser.Close()
	flow, err := New("authorization_code", Config{Target: target, Consent: flows.ConsentBrowser, Browser: browser})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	if err := flow.(runner.Preparer).Prepare(runCtx, runner.SetupNeed{Concurrency: 2}); err != nil {
		t.Fatal(err)
	}
	steps, err := flow.Run(runCtx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range steps {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); strings.Contains(got, "login") || !strings.HasSuffix(got, "token") || !strings.Contains(got, "authorize") {
		t.Errorf("steps %s: want authorize ... token without a login (setup logged in)", got)
	}
}
