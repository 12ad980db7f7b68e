package grants

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/runner"
)

// TestFaultsThroughThePreparedRequest runs the real client_credentials flow
// (a flows.PreparedTokenRequest) against token endpoints that misbehave in each
// way issue 4 lists, and wants each counted under its outcome: the runner's own
// fault test uses a stand-in flow, this one the flow `grantbench load` runs.
func TestFaultsThroughThePreparedRequest(t *testing.T) {
	release := make(chan struct{})
	var servers []*httptest.Server
	defer func() {
		close(release) // first, or closing the slow server waits for its handler
		for _, srv := range servers {
			srv.Close()
		}
	}()
	token := map[string]http.HandlerFunc{
		"ok": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"access_token":"x","token_type":"Bearer","expires_in":60}`)
		},
		"5xx": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		},
		"badjson": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"access_token": tru`)
		},
		"no_token_type": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"access_token":"x"}`)
		},
		"oauth": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
		},
		"reset": func(w http.ResponseWriter, r *http.Request) {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.(*net.TCPConn).SetLinger(0) // RST instead of FIN
				conn.Close()
			}
		},
		"slow": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		},
	}
	want := map[string]string{
		"ok": loadresult.OutcomeOK, "5xx": loadresult.OutcomeHTTPError, "badjson": loadresult.OutcomeBadResponse,
		"no_token_type": loadresult.OutcomeBadResponse, "oauth": loadresult.OutcomeOAuthError,
		"reset": loadresult.OutcomeReset, "slow": loadresult.OutcomeTimeout, "refused": loadresult.OutcomeRefused,
	}
	var scenarios []runner.Scenario
	var targets []*flows.Target
	defer func() {
		for _, tg := range targets {
			tg.CloseIdleConnections()
		}
	}()
	addScenario := func(name string, tg *flows.Target) {
		targets = append(targets, tg)
		flow, err := New("client_credentials", Config{Target: tg})
		if err != nil {
			t.Fatal(err)
		}
		scenarios = append(scenarios, runner.Scenario{Name: name, Flow: flow, Weight: 1, Classify: Classify,
			Executor: runner.Executor{Kind: runner.ExecutorConstantWorkers, Workers: 1, Iterations: 2}})
	}
	client := &flows.Client{ClientID: "c", ClientSecret: "s", Scopes: []string{"api.read"}}
	for name, h := range token {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /token", h)
		srv := httptest.NewServer(mux)
		servers = append(servers, srv)
		tg := &flows.Target{Issuer: srv.URL, Clients: flows.Clients{Confidential: client},
			Metadata: &flows.Metadata{Issuer: srv.URL, TokenEndpoint: srv.URL + "/token"}}
		if name == "slow" {
			// Only the slow endpoint meets a short timeout, so that a loaded
			// machine cannot turn the others' answers into timeouts.
			tg.Timeouts.Request = 150 * time.Millisecond
		}
		addScenario(name, tg)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	addScenario("refused", &flows.Target{Issuer: closed.URL, Clients: flows.Clients{Confidential: client},
		Metadata: &flows.Metadata{Issuer: closed.URL, TokenEndpoint: closed.URL + "/token"}})

	res, err := runner.Run(context.Background(), scenarios, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range res.Scenarios {
		if sc.Flows[want[sc.Name]] != 2 {
			t.Errorf("%s: flows %v, want 2 %s", sc.Name, sc.Flows, want[sc.Name])
		}
	}
}
