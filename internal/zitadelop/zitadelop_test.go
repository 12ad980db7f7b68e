package zitadelop

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	server, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := server.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return server
}

func getJSON(t *testing.T, rawURL string, into any) *http.Response {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("GET %s: decode: %v", rawURL, err)
	}
	return resp
}

func TestDiscoveryIssuerIsTheLoopbackBaseURL(t *testing.T) {
	server := startServer(t, Config{})

	base, err := url.Parse(server.Issuer)
	if err != nil {
		t.Fatalf("issuer %q: %v", server.Issuer, err)
	}
	if base.Scheme != "http" || base.Path != "" {
		t.Errorf("issuer %q: want http://host:port with no path", server.Issuer)
	}
	if ip := net.ParseIP(base.Hostname()); ip == nil || !ip.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("issuer host %q: want 127.0.0.1", base.Hostname())
	}

	var metadata map[string]any
	resp := getJSON(t, server.Issuer+"/.well-known/openid-configuration", &metadata)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery status %d, want 200", resp.StatusCode)
	}
	if got := metadata["issuer"]; got != server.Issuer {
		t.Errorf("discovery issuer = %v, want %q", got, server.Issuer)
	}
	for _, field := range []string{"authorization_endpoint", "token_endpoint", "jwks_uri", "device_authorization_endpoint", "introspection_endpoint", "revocation_endpoint"} {
		endpoint, _ := metadata[field].(string)
		if !strings.HasPrefix(endpoint, server.Issuer+"/") {
			t.Errorf("%s = %q, want an URL under %s", field, endpoint, server.Issuer)
		}
	}
}

func TestServiceUserGetsAClientCredentialsToken(t *testing.T) {
	server := startServer(t, Config{})
	var metadata struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	getJSON(t, server.Issuer+"/.well-known/openid-configuration", &metadata)

	for _, tc := range []struct {
		secret     string
		wantStatus int
	}{
		{ServiceClientSecret, http.StatusOK},
		{"not-" + ServiceClientSecret, http.StatusUnauthorized},
	} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, metadata.TokenEndpoint,
			strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(ServiceClientID, tc.secret)
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("token request: %v", err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("secret ok=%v: status %d (%v), want %d", tc.secret == ServiceClientSecret, resp.StatusCode, body["error"], tc.wantStatus)
		}
		if tc.wantStatus == http.StatusOK && body["access_token"] == nil {
			t.Errorf("no access_token in the 200 response")
		}
	}
}

func TestWebClientRedirectURIsAreTheConfiguredOnes(t *testing.T) {
	const registered = "http://127.0.0.1:41234/callback"
	server := startServer(t, Config{WebRedirectURIs: []string{registered}})
	noRedirects := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	authorize := func(clientID, redirectURI string) int {
		query := url.Values{
			"client_id": {clientID}, "response_type": {"code"}, "scope": {"openid"},
			"redirect_uri": {redirectURI}, "state": {"s"},
			"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
		}
		resp, err := noRedirects.Get(server.Issuer + "/auth?" + query.Encode())
		if err != nil {
			t.Fatalf("authorize: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// A known redirect URI sends the browser on to the login page (302);
	// an unknown one is an error page (400), never a redirect.
	if got := authorize(WebClientID, registered); got != http.StatusFound {
		t.Errorf("web client, registered URI: status %d, want 302", got)
	}
	if got := authorize(WebClientID, "http://127.0.0.1:41235/callback"); got != http.StatusBadRequest {
		t.Errorf("web client, other port: status %d, want 400", got)
	}
	if got := authorize(NativeClientID, "http://127.0.0.1:41235/callback"); got != http.StatusFound {
		t.Errorf("native client, any loopback port: status %d, want 302", got)
	}
}

func TestCloseStopsServingAndContextCancelCloses(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	server, err := Start(ctx, Config{})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	cancel()
	select {
	case <-server.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("server still running 10s after its context was cancelled")
	}
	// Close after the context's own shutdown returns the same (nil) result.
	if err := server.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := server.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	resp, err := (&http.Client{Timeout: time.Second}).Get(server.Issuer + "/.well-known/openid-configuration")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("server still answers after Close: %d", resp.StatusCode)
	}
}
