package mockprovider

import (
	"net/http"
	"os"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/grantbench/grantbench/oauth"
)

// parFixture is the default provider with demo-fapi's keys replaced by key,
// so that the test can sign its client assertions.
func parFixture(t *testing.T, key testAssertionKey, mutate func(*Config)) *fixture {
	t.Helper()
	return newFixture(t, func(c *Config) {
		for i := range c.Clients {
			if c.Clients[i].ID == "demo-fapi" {
				c.Clients[i].JWKS = key.jwks()
			}
		}
		if mutate != nil {
			mutate(c)
		}
	})
}

// fapiAssertion is a fresh private_key_jwt assertion of demo-fapi for aud.
func fapiAssertion(t *testing.T, f *fixture, key testAssertionKey, aud string) url.Values {
	t.Helper()
	return url.Values{
		"client_assertion_type": {ClientAssertionTypeJWT},
		"client_assertion":      {signJWT(t, key.alg, key.signer, key.kid, clientAssertionClaims("demo-fapi", aud, f.clock.Now()))},
	}
}

// pushedAuthorization is what a client pushes: the authorization request of
// conf with PKCE, as x/oauth2 would put it in the URL.
func pushedAuthorization(t *testing.T, conf *oauth2.Config, state, verifier string) url.Values {
	t.Helper()
	u, err := url.Parse(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// push posts form to the PAR endpoint with optional Basic credentials.
func (f *fixture) push(t *testing.T, form url.Values, basicUser, basicPass string) (*http.Response, map[string]any) {
	t.Helper()
	return f.postForm(t, "/par", form, basicUser, basicPass)
}

// wantRequestURI pushes form and asserts a 201 PAR response (RFC 9126 2.2);
// it returns the request_uri.
func (f *fixture) wantRequestURI(t *testing.T, form url.Values, basicUser, basicPass string) string {
	t.Helper()
	resp, body := f.push(t, form, basicUser, basicPass)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PAR answered %d %v, want 201", resp.StatusCode, body)
	}
	uri, _ := body["request_uri"].(string)
	if !strings.HasPrefix(uri, RequestURIPrefix) || len(uri) < len(RequestURIPrefix)+40 {
		t.Fatalf("request_uri %q", uri)
	}
	if body["expires_in"] != float64(f.cfg.Lifetimes.RequestURI/time.Second) {
		t.Errorf("expires_in %v, want %v", body["expires_in"], f.cfg.Lifetimes.RequestURI.Seconds())
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	return uri
}

// authorizeWithRequestURI is the authorization request of RFC 9126 4.
func (f *fixture) authorizeWithRequestURI(clientID, requestURI string) string {
	return f.url("/authorize") + "?" + url.Values{"client_id": {clientID}, "request_uri": {requestURI}}.Encode()
}

// wantErrorPage asserts the provider's error page with code.
func wantErrorPage(t *testing.T, p page, code oauth.ErrorCode) {
	t.Helper()
	if p.resp.StatusCode != http.StatusBadRequest || !strings.Contains(p.body, `id="error">`+code.String()+`<`) {
		t.Fatalf("want the error page with %s, got %d %s", code, p.resp.StatusCode, p.body)
	}
}

func TestPushedAuthorizationRequestWithPrivateKeyJWT(t *testing.T) {
	key := newTestAssertionKey(t, "k1")
	f := parFixture(t, key, nil)
	ctx := testContext(t)
	conf := oauthConfig(f, "demo-fapi", "", "openid", "api.read")
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	verifier := oauth2.GenerateVerifier()
	form := pushedAuthorization(t, conf, "st-par", verifier)
	// RFC 9126 2: the assertion's aud may be the issuer or the PAR endpoint.
	for k, v := range fapiAssertion(t, f, key, f.url("/par")) {
		form[k] = v
	}
	requestURI := f.wantRequestURI(t, form, "", "")

	b := newBrowser(t, f)
	loc := b.authorize(f.authorizeWithRequestURI("demo-fapi", requestURI), "approve")
	q := loc.Query()
	if q.Get("code") == "" || q.Get("state") != "st-par" || q.Get("iss") != f.cfg.Issuer {
		t.Fatalf("authorization response %v", q)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != testRedirect {
		t.Fatalf("redirected to %s, want the pushed redirect_uri %s", got, testRedirect)
	}
	assertion := fapiAssertion(t, f, key, f.cfg.Issuer)
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier),
		oauth2.SetAuthURLParam("client_assertion_type", assertion.Get("client_assertion_type")),
		oauth2.SetAuthURLParam("client_assertion", assertion.Get("client_assertion")))
	if err != nil {
		t.Fatal(err)
	}
	if access := verifyAccessToken(t, f, tok.AccessToken, jose.RS256); access["client_id"] != "demo-fapi" || access["scope"] != "openid api.read" {
		t.Errorf("access token claims %v", access)
	}

	// Single use: the same request_uri again is refused (RFC 9126 4).
	wantErrorPage(t, newBrowser(t, f).get(f.authorizeWithRequestURI("demo-fapi", requestURI)), oauth.InvalidRequestURI)
}

func TestPushedRequestURIIsShortLivedAndBoundToItsClient(t *testing.T) {
	f := newFixture(t, nil)
	conf := oauthConfig(f, "demo", "demo-secret", "openid")
	pushDemo := func() string {
		return f.wantRequestURI(t, pushedAuthorization(t, conf, "s", oauth2.GenerateVerifier()), "demo", "demo-secret")
	}

	t.Run("another client", func(t *testing.T) {
		uri := pushDemo()
		wantErrorPage(t, newBrowser(t, f).get(f.authorizeWithRequestURI("demo-legacy", uri)), oauth.InvalidRequestURI)
		// The refusal did not use it up for its own client.
		if p := newBrowser(t, f).get(f.authorizeWithRequestURI("demo", uri)); !p.has("login-form") {
			t.Fatalf("the pushing client's request_uri: %d %s", p.resp.StatusCode, p.body)
		}
	})
	t.Run("expired", func(t *testing.T) {
		uri := pushDemo()
		f.clock.Advance(f.cfg.Lifetimes.RequestURI)
		wantErrorPage(t, newBrowser(t, f).get(f.authorizeWithRequestURI("demo", uri)), oauth.InvalidRequestURI)
	})
	t.Run("just before expiry", func(t *testing.T) {
		uri := pushDemo()
		f.clock.Advance(f.cfg.Lifetimes.RequestURI - time.Second)
		if p := newBrowser(t, f).get(f.authorizeWithRequestURI("demo", uri)); !p.has("login-form") {
			t.Fatalf("a live request_uri: %d %s", p.resp.StatusCode, p.body)
		}
	})
	t.Run("unknown or not from PAR", func(t *testing.T) {
		wantErrorPage(t, newBrowser(t, f).get(f.authorizeWithRequestURI("demo", RequestURIPrefix+"made-up")), oauth.InvalidRequestURI)
		wantErrorPage(t, newBrowser(t, f).get(f.authorizeWithRequestURI("demo", "https://client.example/request.jwt")), oauth.RequestURINotSupported)
		twice := f.url("/authorize") + "?client_id=demo&request_uri=" + url.QueryEscape(pushDemo()) + "&request_uri=x"
		wantErrorPage(t, newBrowser(t, f).get(twice), oauth.InvalidRequest)
	})
}

func TestPushedAuthorizationRequired(t *testing.T) {
	key := newTestAssertionKey(t, "k1")
	f := parFixture(t, key, nil)
	conf := oauthConfig(f, "demo-fapi", "", "openid")
	// demo-fapi's registration requires PAR: a plain request gets an error at
	// its (registered) redirect URI, never the login page.
	loc := newBrowser(t, f).authorize(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), "approve")
	if q := loc.Query(); q.Get("error") != oauth.InvalidRequest.String() || q.Get("code") != "" || q.Get("state") != "s" {
		t.Fatalf("plain request of a PAR client: %v", q)
	}
	// Other clients are not bound to PAR unless the provider says so.
	demo := oauthConfig(f, "demo", "demo-secret", "openid")
	if p := newBrowser(t, f).get(demo.AuthCodeURL("s")); !p.has("login-form") {
		t.Fatalf("demo's plain request: %d %s", p.resp.StatusCode, p.body)
	}

	all := parFixture(t, key, func(c *Config) { c.RequirePushedAuthorizationRequests = true })
	demo = oauthConfig(all, "demo", "demo-secret", "openid")
	loc = newBrowser(t, all).authorize(demo.AuthCodeURL("s"), "approve")
	if loc.Query().Get("error") != oauth.InvalidRequest.String() {
		t.Fatalf("plain request with require_pushed_authorization_requests: %v", loc.Query())
	}
	var md map[string]any
	resp, err := http.Get(all.url("/.well-known/oauth-authorization-server"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := decodeJSON(resp, &md); err != nil {
		t.Fatal(err)
	}
	if md["pushed_authorization_request_endpoint"] != all.url("/par") || md["require_pushed_authorization_requests"] != true {
		t.Fatalf("metadata: %v %v", md["pushed_authorization_request_endpoint"], md["require_pushed_authorization_requests"])
	}
}

func TestPushedAuthorizationRequestBadInput(t *testing.T) {
	key := newTestAssertionKey(t, "k1")
	f := parFixture(t, key, nil)
	conf := oauthConfig(f, "demo", "demo-secret", "openid")
	good := func() url.Values { return pushedAuthorization(t, conf, "s", oauth2.GenerateVerifier()) }
	with := func(k, v string) url.Values {
		form := good()
		if v == "" {
			form.Del(k)
		} else {
			form.Set(k, v)
		}
		return form
	}

	resp, err := http.Get(f.url("/par"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Fatalf("GET /par: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	for _, tc := range []struct {
		name       string
		form       url.Values
		user, pass string
		status     int
		code       oauth.ErrorCode
	}{
		{"no client authentication", good(), "", "", http.StatusUnauthorized, oauth.InvalidClient},
		{"wrong secret", good(), "demo", "wrong", http.StatusUnauthorized, oauth.InvalidClient},
		{"a request_uri pushed", with("request_uri", RequestURIPrefix+"x"), "demo", "demo-secret", http.StatusBadRequest, oauth.InvalidRequest},
		{"a request object", with("request", "eyJ.e30."), "demo", "demo-secret", http.StatusBadRequest, oauth.RequestNotSupported},
		{"unregistered redirect_uri", with("redirect_uri", "https://attacker.invalid/cb"), "demo", "demo-secret", http.StatusBadRequest, oauth.InvalidRequest},
		{"no response_type", with("response_type", ""), "demo", "demo-secret", http.StatusBadRequest, oauth.InvalidRequest},
		{"unknown response_type", with("response_type", "id_token"), "demo", "demo-secret", http.StatusBadRequest, oauth.UnsupportedResponseType},
		{"plain PKCE", with("code_challenge_method", "plain"), "demo", "demo-secret", http.StatusBadRequest, oauth.InvalidRequest},
		{"scope beyond the client's", with("scope", "openid admin"), "demo", "demo-secret", http.StatusBadRequest, oauth.InvalidScope},
		{"implicit for a code client", with("response_type", "token"), "demo", "demo-secret", http.StatusBadRequest, oauth.UnauthorizedClient},
		{"client_id of another client", with("client_id", "demo-legacy"), "demo", "demo-secret", http.StatusUnauthorized, oauth.InvalidClient},
		{"prompt none with login", with("prompt", "none login"), "demo", "demo-secret", http.StatusBadRequest, oauth.InvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.push(t, tc.form, tc.user, tc.pass)
			wantOAuthError(t, resp, body, tc.status, tc.code)
		})
	}
	t.Run("a parameter twice", func(t *testing.T) {
		body := good().Encode() + "&scope=openid"
		req, _ := http.NewRequest(http.MethodPost, f.url("/par"), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("demo", "demo-secret")
		resp, out := doJSON(t, f.srv.Client(), req)
		wantOAuthError(t, resp, out, http.StatusBadRequest, oauth.InvalidRequest)
	})
	t.Run("a bad client assertion", func(t *testing.T) {
		form := good()
		form.Set("client_id", "demo-fapi")
		other := newTestAssertionKey(t, "k1") // the right kid, the wrong key
		for k, v := range fapiAssertion(t, f, other, f.cfg.Issuer) {
			form[k] = v
		}
		resp, body := f.push(t, form, "", "")
		wantOAuthError(t, resp, body, http.StatusUnauthorized, oauth.InvalidClient)
	})
}

// TestDefaultFAPIClientPushesWithItsDemoKey: the default configuration's
// demo-fapi client authenticates at the PAR endpoint with the demo key whose
// private half is published in examples/targets.
func TestDefaultFAPIClientPushesWithItsDemoKey(t *testing.T) {
	raw, err := os.ReadFile("../examples/targets/mock-fapi-key.jwk.json")
	if err != nil {
		t.Fatal(err)
	}
	key := demoKey(t, string(raw))
	f := newFixture(t, nil)
	conf := oauthConfig(f, "demo-fapi", "", "openid")
	form := pushedAuthorization(t, conf, "s", oauth2.GenerateVerifier())
	for k, v := range fapiAssertion(t, f, key, f.cfg.Issuer) {
		form[k] = v
	}
	f.wantRequestURI(t, form, "", "")
}
