package grants

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/grantbench/grantbench/flows"
	"github.com/grantbench/grantbench/loadresult"
	"github.com/grantbench/grantbench/runner"
)

// BenchmarkClientCredentialsClientSide is the client's cost of one client
// credentials flow (request, x/oauth2 parsing and checking of the response, trace)
// plus the runner's recording, against a server that answers a fixed token.
func BenchmarkClientCredentialsClientSide(b *testing.B) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"issuer":%q,"token_endpoint":%q,"authorization_endpoint":%q,"jwks_uri":%q,"response_types_supported":["code"]}`,
				srv.URL, srv.URL+"/token", srv.URL+"/authorize", srv.URL+"/jwks")
		case "/token":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			fmt.Fprint(w, `{"access_token":"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJl","token_type":"Bearer","expires_in":3600,"scope":"api.read"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	target := &flows.Target{Issuer: srv.URL, Clients: flows.Clients{Confidential: &flows.Client{
		ClientID: "demo", ClientSecret: "demo-secret", AuthMethod: flows.AuthClientSecretBasic, Scopes: []string{"api.read"}}}}
	if err := target.Discover(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer target.CloseIdleConnections()
	flow, err := New("client_credentials", Config{Target: target})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	res, err := runner.Run(context.Background(), []runner.Scenario{{Name: "cc", Flow: flow, Weight: 1, Classify: Classify,
		Executor: runner.Executor{Kind: runner.ExecutorConstantWorkers, Workers: 8, Iterations: int64(b.N)}}}, runner.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if ok := res.Scenarios[0].Flows[loadresult.OutcomeOK]; ok != int64(b.N) {
		b.Fatalf("%d of %d flows ok: %v", ok, b.N, res.Scenarios[0].Flows)
	}
}
