package mockprovider

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestMetricsEndpointCountsRequestsIssuanceAndErrors(t *testing.T) {
	f := newFixture(t, nil)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"api.read"}}
	if resp, body := f.postForm(t, "/token", form, "demo", "demo-secret"); resp.StatusCode != http.StatusOK {
		t.Fatalf("client_credentials: %d %v", resp.StatusCode, body)
	}
	resp, body := f.postForm(t, "/token", form, "demo", "wrong-secret")
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")

	resp, err := f.srv.Client().Get(f.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	text := string(raw)
	for _, want := range []string{
		`grantbench_provider_requests_total{endpoint="token"} 2`,
		`grantbench_provider_grants_total{grant_type="client_credentials"} 1`,
		`grantbench_provider_issued_total{kind="access_token"} 1`,
		`grantbench_provider_errors_total{oauth_error="invalid_client"} 1`,
		`grantbench_provider_errors_total{oauth_error="other"} 0`,
		`grantbench_provider_responses_total{endpoint="token",status_class="2xx"} 1`,
		`grantbench_provider_responses_total{endpoint="token",status_class="4xx"} 1`,
		`grantbench_provider_dropped_total{endpoint="token"} 0`,
		`grantbench_provider_abandoned_total{endpoint="token"} 0`,
		`grantbench_provider_server_refused_total 0`,
		`grantbench_provider_state_entries{kind="access_tokens"} 1`,
		`grantbench_provider_state_bytes{kind="access_tokens"} `,
		`grantbench_provider_state_evicted_total{kind="access_tokens"} 0`,
		`grantbench_provider_state_limit_bytes 1.34217728e+08`,
		`grantbench_provider_state_entries{kind=`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s\n%s", want, text)
		}
	}
	// Bounded labels only: no client id, user or URL ever appears.
	for _, leak := range []string{"demo", "alice", "127.0.0.1"} {
		if strings.Contains(text, leak) {
			t.Errorf("/metrics mentions %q", leak)
		}
	}
}
