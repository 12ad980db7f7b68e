package grants

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/mockprovider"
	"github.com/grantbench/grantbench/oauth"
	"github.com/grantbench/grantbench/runner"
)

// TestRunnerAndProviderCountsReconcileUnderFaults runs client_credentials
// against the mock with the token endpoint failing 30% of requests and
// dropping 10% of connections, and wants the runner's outcomes and the
// provider's counters to agree request for request: every token request
// the runner sent was answered (by status class) or dropped, as the
// provider counts it (issue 13).
func TestRunnerAndProviderCountsReconcileUnderFaults(t *testing.T) {
	cfg, err := mockprovider.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Faults = []mockprovider.Fault{{Endpoint: "token", ErrorRate: 0.3, DropRate: 0.1}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := mockprovider.StartLocal(ctx, "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	target := flows.MockTarget(srv.Issuer(), "")
	defer target.CloseIdleConnections()
	flow, err := New("client_credentials", Config{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	const iterations = 400
	res, err := runner.Run(ctx, []runner.Scenario{{Name: "cc", Flow: flow, Weight: 1, Classify: Classify,
		Executor: runner.Executor{Kind: runner.ExecutorConstantWorkers, Workers: 4, Iterations: iterations}}}, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	byClass := map[string]int64{}
	var sent, oauthUnavailable int64
	for _, st := range res.Scenarios[0].Steps {
		if st.Name != "token" {
			continue
		}
		for _, rc := range st.Requests {
			sent += rc.Count
			byClass[rc.StatusClass] += rc.Count
			if rc.OAuthError == oauth.TemporarilyUnavailable.String() {
				oauthUnavailable += rc.Count
			}
		}
	}
	stats := srv.Provider().Stats()
	t.Logf("runner: %d token requests by status class %v; provider: 2xx %d, 5xx %d, dropped %d", sent, byClass,
		stats["responses"]["token:2xx"], stats["responses"]["token:5xx"], stats["dropped"]["token"])
	if sent != iterations {
		t.Fatalf("the runner recorded %d token requests, want %d", sent, iterations)
	}
	if byClass["5xx"] == 0 || byClass["none"] == 0 || byClass["2xx"] == 0 {
		t.Fatalf("faults did not show in the run: %v", byClass)
	}
	for name, pair := range map[string][2]int64{
		"requests":                       {stats["requests"]["token"], sent},
		"2xx":                            {stats["responses"]["token:2xx"], byClass["2xx"]},
		"4xx":                            {stats["responses"]["token:4xx"], byClass["4xx"]},
		"5xx":                            {stats["responses"]["token:5xx"], byClass["5xx"]},
		"dropped (no response)":          {stats["dropped"]["token"], byClass["none"]},
		"temporarily_unavailable errors": {stats["errors"][oauth.TemporarilyUnavailable.String()], oauthUnavailable},
		"tokens issued":                  {stats["issued"]["access_token"], byClass["2xx"]},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s: the provider counts %d, the runner %d", name, pair[0], pair[1])
		}
	}
	if stats["server"]["refused"] != 0 {
		t.Errorf("the HTTP server refused %d requests by itself", stats["server"]["refused"])
	}
}

// TestAuthorizationCodeCountsReconcileUnderFaults runs the authorization
// code flow (HTTP consent) with every endpoint failing 10% of requests and
// dropping 10%, after the setup logged in. The flow's steps and the
// provider's counters agree request for request, GET /authorize included:
// net/http's client used to send a GET again, unseen, when a reused
// connection was dropped before the answer, so the provider counted drops the
// flow never saw (flows.sendOnce stops that).
func TestAuthorizationCodeCountsReconcileUnderFaults(t *testing.T) {
	cfg, err := mockprovider.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := mockprovider.StartLocal(ctx, "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	target := flows.MockTarget(srv.Issuer(), "")
	defer target.CloseIdleConnections()
	flow, err := New("authorization_code", Config{Target: target, Consent: flows.ConsentHTTP})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := flow.(interface{ Close() error }); ok {
		defer c.Close()
	}
	if err := flow.(runner.Preparer).Prepare(ctx, runner.SetupNeed{Concurrency: 1, Iterations: 200}); err != nil {
		t.Fatal(err)
	}
	before := srv.Provider().Stats()
	if err := srv.Provider().SetFaults([]mockprovider.Fault{{Endpoint: "*", ErrorRate: 0.1, DropRate: 0.1}}); err != nil {
		t.Fatal(err)
	}
	// seen[step][class] counts the flow's requests by status class, "none"
	// for no answer.
	seen := map[string]map[string]int64{}
	for range 200 {
		steps, _ := flow.Run(ctx)
		for _, s := range steps {
			class := "none"
			if s.Status != 0 {
				class = fmt.Sprintf("%dxx", s.Status/100)
			}
			if seen[s.Name] == nil {
				seen[s.Name] = map[string]int64{}
			}
			seen[s.Name][class]++
		}
	}
	stats := srv.Provider().Stats()
	delta := func(group, key string) int64 { return stats[group][key] - before[group][key] }
	for _, endpoint := range []string{"authorize", "consent", "token"} {
		var sent int64
		for _, class := range []string{"2xx", "3xx", "4xx", "5xx"} {
			if got, want := delta("responses", endpoint+":"+class), seen[endpoint][class]; got != want {
				t.Errorf("%s %s: the provider counts %d responses, the flow saw %d", endpoint, class, got, want)
			}
			sent += seen[endpoint][class]
		}
		sent += seen[endpoint]["none"]
		dropped := delta("dropped", endpoint)
		t.Logf("%s: the flow sent %d (%d unanswered), the provider got %d (%d dropped)", endpoint, sent, seen[endpoint]["none"], delta("requests", endpoint), dropped)
		if dropped != seen[endpoint]["none"] || delta("requests", endpoint) != sent {
			t.Errorf("%s: the provider counts %d requests and %d drops, the flow sent %d with %d unanswered", endpoint, delta("requests", endpoint), dropped, sent, seen[endpoint]["none"])
		}
	}
}

// TestGETCountsReconcileUnderFaults sends the GETs a run makes besides
// /authorize (discovery, the JWK set, userinfo) through the target's client,
// one after another on kept-alive connections, with every endpoint failing
// 20% of requests and dropping 20%: each request the client sent is one the
// provider counts, answered or dropped, and each drop is one the client saw.
// Before, net/http resent a GET whose reused connection was dropped, and the
// provider counted more requests and drops than the client sent and saw.
func TestGETCountsReconcileUnderFaults(t *testing.T) {
	cfg, err := mockprovider.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := mockprovider.StartLocal(ctx, "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	target := flows.MockTarget(srv.Issuer(), "")
	defer target.CloseIdleConnections()
	if err := target.Discover(ctx); err != nil {
		t.Fatal(err)
	}
	before := srv.Provider().Stats()
	if err := srv.Provider().SetFaults([]mockprovider.Fault{{Endpoint: "*", ErrorRate: 0.2, DropRate: 0.2}}); err != nil {
		t.Fatal(err)
	}
	md := target.Metadata
	// userinfo without a token: a 401 is an answer to count like any other.
	urls := map[string]string{
		"discovery": srv.Issuer() + "/.well-known/openid-configuration",
		"jwks":      md.JWKSURI,
		"userinfo":  md.UserinfoEndpoint,
	}
	const perEndpoint = 150
	rec := flows.NewRecorder(flows.RecordTrace)
	for range perEndpoint {
		for endpoint, u := range urls {
			req, err := http.NewRequestWithContext(flows.WithStep(flows.WithRecorder(ctx, rec), endpoint), http.MethodGet, u, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp, err := target.HTTPClient().Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}
	seen := map[string]map[string]int64{}
	for _, s := range rec.Steps() {
		class := "none"
		if s.Status != 0 {
			class = fmt.Sprintf("%dxx", s.Status/100)
		}
		if seen[s.Name] == nil {
			seen[s.Name] = map[string]int64{}
		}
		seen[s.Name][class]++
	}
	stats := srv.Provider().Stats()
	delta := func(group, key string) int64 { return stats[group][key] - before[group][key] }
	for endpoint := range urls {
		for _, class := range []string{"2xx", "3xx", "4xx", "5xx"} {
			if got, want := delta("responses", endpoint+":"+class), seen[endpoint][class]; got != want {
				t.Errorf("%s %s: the provider counts %d responses, the client saw %d", endpoint, class, got, want)
			}
		}
		dropped, requests := delta("dropped", endpoint), delta("requests", endpoint)
		t.Logf("%s: %d sent by the client (%v), %d requests and %d drops counted by the provider", endpoint, perEndpoint, seen[endpoint], requests, dropped)
		if requests != perEndpoint || dropped != seen[endpoint]["none"] {
			t.Errorf("%s: the provider counts %d requests and %d drops; the client sent %d and saw %d unanswered",
				endpoint, requests, dropped, perEndpoint, seen[endpoint]["none"])
		}
		if seen[endpoint]["none"] == 0 || seen[endpoint]["5xx"] == 0 {
			t.Errorf("%s: the faults did not show: %v", endpoint, seen[endpoint])
		}
	}
}
