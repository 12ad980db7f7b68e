package grants

import (
	"context"
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
