package mockprovider

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/grantbench/grantbench/oauth"
)

func withRegistration(c *Config) { c.Registration.Enabled = true }

// register POSTs client metadata to /register as RFC 7591 3.1 describes,
// with a bearer token when given one.
func register(t *testing.T, f *fixture, metadata any, bearer string) (*http.Response, map[string]any) {
	t.Helper()
	body, err := json.Marshal(metadata)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, f.url("/register"), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return doJSON(t, f.srv.Client(), req)
}

func TestDynamicRegistration(t *testing.T) {
	f := newFixture(t, withRegistration)
	var md struct {
		Registration string `json:"registration_endpoint"`
	}
	resp, err := f.srv.Client().Get(f.url("/.well-known/openid-configuration"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := decodeJSON(resp, &md); err != nil || md.Registration != f.url("/register") {
		t.Fatalf("registration_endpoint %q (%v)", md.Registration, err)
	}

	resp, got := register(t, f, map[string]any{
		"redirect_uris":             []string{testRedirect},
		"post_logout_redirect_uris": []string{testPostLogout},
		"grant_types":               []string{"authorization_code", "refresh_token", "client_credentials", TokenExchangeGrantURN},
		"client_name":               "registered by a test",
		"scope":                     "openid api.read",
		"software_id":               "ignored (RFC 7591 2)",
	}, "")
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d %v", resp.StatusCode, got)
	}
	id, _ := got["client_id"].(string)
	secret, _ := got["client_secret"].(string)
	grants, _ := got["grant_types"].([]any)
	if id == "" || len(secret) < 20 || got["token_endpoint_auth_method"] != AuthClientSecretBasic ||
		!slices.Contains(grants, any(TokenExchangeGrantURN)) || got["client_secret_expires_at"] != float64(0) || got["software_id"] != nil {
		t.Fatalf("registration response %v", got)
	}

	// The registered client works for the grants it registered.
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: f.url("/token"), Scopes: []string{"api.read"}}
	service, err := cc.Token(testContext(t))
	if err != nil {
		t.Fatalf("client credentials as the registered client: %v", err)
	}
	conf := oauthConfig(f, id, secret, "openid", "api.read")
	code, verifier := codeFlow(t, f, newBrowser(t, f), conf, "dyn")
	if _, err := conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("code flow as the registered client: %v", err)
	}
	if _, err := exchangeConfig(f, id, secret, url.Values{"subject_token": {service.AccessToken},
		"subject_token_type": {oauth.TokenTypeURNAccessToken}}).Token(testContext(t)); err != nil {
		t.Fatalf("token exchange as the registered client: %v", err)
	}
	if _, err := (&clientcredentials.Config{ClientID: id, ClientSecret: "wrong", TokenURL: f.url("/token")}).Token(testContext(t)); retrieveErrorCode(t, err) != oauth.InvalidClient {
		t.Fatal("a wrong secret for the registered client was not invalid_client")
	}
	if info := introspect(t, f, service.AccessToken); info["client_id"] != id {
		t.Fatalf("introspection of the registered client's token: %v", info)
	}

	// A public client: no secret, PKCE code flow.
	resp, got = register(t, f, map[string]any{"redirect_uris": []string{testRedirect}, "token_endpoint_auth_method": "none"}, "")
	if resp.StatusCode != http.StatusCreated || got["client_secret"] != nil {
		t.Fatalf("public registration: %d %v", resp.StatusCode, got)
	}
	public := oauthConfig(f, got["client_id"].(string), "", "openid")
	public.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	code, verifier = codeFlow(t, f, newBrowser(t, f), public, "pub")
	if _, err := public.Exchange(testContext(t), code, oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("code flow as the registered public client: %v", err)
	}
}

func TestDynamicRegistrationRefusals(t *testing.T) {
	f := newFixture(t, withRegistration)
	cases := []struct {
		name     string
		metadata any
		want     string
	}{
		{"redirect URI with a fragment", map[string]any{"redirect_uris": []string{"http://127.0.0.1/cb#frag"}}, "invalid_redirect_uri"},
		{"relative redirect URI", map[string]any{"redirect_uris": []string{"/cb"}}, "invalid_redirect_uri"},
		{"code grant without redirect URIs", map[string]any{}, "invalid_redirect_uri"},
		{"http redirect URI off loopback", map[string]any{"redirect_uris": []string{"http://app.example/cb"}}, "invalid_redirect_uri"},
		{"javascript redirect URI", map[string]any{"redirect_uris": []string{"javascript:alert(1)"}}, "invalid_redirect_uri"},
		{"redirect URI with user info", map[string]any{"redirect_uris": []string{"https://user@app.example/cb"}}, "invalid_redirect_uri"},
		{"unsafe post-logout URI", map[string]any{"redirect_uris": []string{testRedirect}, "post_logout_redirect_uris": []string{"http://app.example/bye"}}, "invalid_redirect_uri"},
		{"response type without its grant", map[string]any{"redirect_uris": []string{testRedirect}, "response_types": []string{"token"}}, "invalid_client_metadata"},
		{"unknown response type", map[string]any{"redirect_uris": []string{testRedirect}, "response_types": []string{"code id_token"}}, "invalid_client_metadata"},
		{"jwks and jwks_uri", map[string]any{"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "private_key_jwt",
			"jwks": map[string]any{"keys": []any{}}, "jwks_uri": "https://app.example/jwks"}, "invalid_client_metadata"},
		{"unknown grant type", map[string]any{"grant_types": []string{"urn:example:magic"}}, "invalid_client_metadata"},
		{"unknown scope", map[string]any{"grant_types": []string{"client_credentials"}, "scope": "root"}, "invalid_client_metadata"},
		{"public client credentials", map[string]any{"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "none"}, "invalid_client_metadata"},
		{"unknown auth method", map[string]any{"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "magic"}, "invalid_client_metadata"},
		{"redirect_uris of the wrong type", map[string]any{"redirect_uris": "http://127.0.0.1/cb"}, "invalid_client_metadata"},
		{"not an object", []int{1}, "invalid_client_metadata"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := register(t, f, tc.metadata, "")
			if resp.StatusCode != http.StatusBadRequest || body["error"] != tc.want {
				t.Fatalf("got %d %v, want 400 %s", resp.StatusCode, body, tc.want)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodPost, f.url("/register"), bytes.NewReader([]byte("redirect_uris=x")))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, body := doJSON(t, f.srv.Client(), req); resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Fatalf("a form body: %d %v", resp.StatusCode, body)
	}
	if resp, _ := doJSON(t, f.srv.Client(), mustRequest(t, http.MethodGet, f.url("/register"))); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

func TestDynamicRegistrationSwitches(t *testing.T) {
	cc := map[string]any{"grant_types": []string{"client_credentials"}}
	t.Run("off by default", func(t *testing.T) {
		f := newFixture(t, nil)
		if resp, _ := register(t, f, cc, ""); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("registration with the default config: %d", resp.StatusCode)
		}
		if f.p.metadataHas("registration_endpoint") {
			t.Fatal("the default config advertises registration_endpoint")
		}
	})
	t.Run("initial access token", func(t *testing.T) {
		f := newFixture(t, func(c *Config) { withRegistration(c); c.Registration.InitialAccessToken = "initial-token-123" })
		resp, body := register(t, f, cc, "wrong-token")
		if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_token" || resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("a wrong initial access token: %d %v", resp.StatusCode, body)
		}
		if resp, _ := register(t, f, cc, "initial-token-123"); resp.StatusCode != http.StatusCreated {
			t.Fatalf("the right initial access token: %d", resp.StatusCode)
		}
	})
	t.Run("max_clients", func(t *testing.T) {
		f := newFixture(t, func(c *Config) { withRegistration(c); c.Registration.MaxClients = 2 })
		for i := range 3 {
			resp, body := register(t, f, cc, "")
			if want := map[bool]int{true: http.StatusCreated, false: http.StatusBadRequest}[i < 2]; resp.StatusCode != want {
				t.Fatalf("registration %d: %d %v, want %d", i+1, resp.StatusCode, body, want)
			}
		}
	})
}

// metadataHas reports whether the discovery document has member name.
func (p *Provider) metadataHas(name string) bool {
	var doc map[string]json.RawMessage
	return json.Unmarshal(p.metadata, &doc) == nil && doc[name] != nil
}
