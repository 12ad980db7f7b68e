package zitadel

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grantbench/grantbench/internal/zitadelop"
)

// TestServiceUserTokenEndpointFindings pins what zitadel's token endpoint does
// with the client_credentials grant of its service user (sid1). The suites
// cannot see it: the example grants client_credentials only to storage's
// service users, which are not OIDC clients, and the suites run C1-C9 with the
// profile's confidential client. docs/real-providers.md quotes these results;
// should zitadel change, this test fails and the doc must follow.
func TestServiceUserTokenEndpointFindings(t *testing.T) {
	server, err := zitadelop.Start(t.Context(), zitadelop.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Close() })
	tokenEndpoint := server.Issuer + "/oauth/token"
	client := &http.Client{Timeout: 10 * time.Second}

	type response struct {
		status int
		header http.Header
		body   map[string]any
	}
	send := func(method, rawURL, body, secret string) response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, rawURL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if secret != "" {
			req.SetBasicAuth(zitadelop.ServiceClientID, secret)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, rawURL, err)
		}
		defer resp.Body.Close()
		var decoded map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&decoded); err != nil {
			t.Fatalf("%s %s: status %d, body is not JSON: %v", method, rawURL, resp.StatusCode, err)
		}
		return response{status: resp.StatusCode, header: resp.Header, body: decoded}
	}
	issued := func(name string, r response) {
		t.Helper()
		if r.status != http.StatusOK || r.body["access_token"] == nil {
			t.Errorf("%s: got %d %v, want the known 200 with an access token", name, r.status, r.body["error"])
		}
	}
	secret := zitadelop.ServiceClientSecret

	// C1 holds for the service user: Bearer, expires_in, no refresh token.
	// AC1/C9: no Cache-Control: no-store on a response carrying a token.
	r := send(http.MethodPost, tokenEndpoint, "grant_type=client_credentials", secret)
	issued("C1", r)
	if r.body["token_type"] != "Bearer" || r.body["expires_in"] == nil || r.body["refresh_token"] != nil {
		t.Errorf("C1: token_type=%v expires_in=%v refresh_token present=%v", r.body["token_type"], r.body["expires_in"], r.body["refresh_token"] != nil)
	}
	if cc := r.header.Get("Cache-Control"); strings.Contains(cc, "no-store") {
		t.Errorf("AC1/C9: the token response now has Cache-Control %q", cc)
	}

	// C6: a scope nobody registered is granted and echoed.
	r = send(http.MethodPost, tokenEndpoint, "grant_type=client_credentials&scope=grantbench.unregistered.scope", secret)
	issued("C6", r)
	if r.body["scope"] != "grantbench.unregistered.scope" {
		t.Errorf("C6: scope %v, want the unregistered scope echoed", r.body["scope"])
	}

	// C7: GET with the credentials in the query gets a token.
	query := url.Values{"grant_type": {"client_credentials"}, "client_id": {zitadelop.ServiceClientID}, "client_secret": {secret}}
	issued("C7 GET", send(http.MethodGet, tokenEndpoint+"?"+query.Encode(), "", ""))

	// C8: a body with bad percent-encoding, or grant_type twice, gets a token.
	issued("C8 %zz", send(http.MethodPost, tokenEndpoint, "grant_type=client_credentials&scope=%zz", secret))
	issued("C8 grant_type twice", send(http.MethodPost, tokenEndpoint, "grant_type=client_credentials&grant_type=client_credentials", secret))

	// C2: a bad Basic secret gets 401 invalid_client without WWW-Authenticate.
	r = send(http.MethodPost, tokenEndpoint, "grant_type=client_credentials", secret+"-wrong")
	if r.status != http.StatusUnauthorized || r.body["error"] != "invalid_client" {
		t.Errorf("C2: got %d %v, want 401 invalid_client", r.status, r.body["error"])
	}
	if h := r.header.Get("WWW-Authenticate"); h != "" {
		t.Errorf("C2: the 401 now has WWW-Authenticate %q", h)
	}
}
