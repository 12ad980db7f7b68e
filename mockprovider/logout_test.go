package mockprovider

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/grantbench/grantbench/oauth"
)

const testPostLogout = "http://127.0.0.1/logged-out"

// loggedIn runs the code flow in b with go-oidc verifying the ID token and
// returns the raw ID token and the end_session_endpoint go-oidc discovered.
func loggedIn(t *testing.T, f *fixture, b *browser) (idToken, endSession string) {
	t.Helper()
	conf := oauthConfig(f, "demo", "demo-secret", "openid")
	code, verifier := codeFlow(t, f, b, conf, "login")
	tok, err := conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	verifyWithOIDC(t, f, raw, "demo")
	ctx := oidc.ClientContext(testContext(t), f.srv.Client())
	provider, err := oidc.NewProvider(ctx, f.cfg.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&md); err != nil || md.EndSession == "" {
		t.Fatalf("no end_session_endpoint in discovery (%v)", err)
	}
	return raw, md.EndSession
}

func endSessionURL(endpoint string, params url.Values) string {
	return endpoint + "?" + params.Encode()
}

// asksLogin reports whether an authorization request in b shows the login
// page (no session) rather than the consent page.
func asksLogin(t *testing.T, f *fixture, b *browser) bool {
	t.Helper()
	conf := oauthConfig(f, "demo", "demo-secret", "openid")
	return b.get(conf.AuthCodeURL("again", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))).has("login-form")
}

func TestRPInitiatedLogout(t *testing.T) {
	f := newFixture(t, nil)
	b := newBrowser(t, f)
	idToken, endSession := loggedIn(t, f, b)
	if asksLogin(t, f, b) {
		t.Fatal("the session did not survive the first login")
	}
	// The hint may have expired (RP-Initiated Logout 2): an hour and a half on.
	f.clock.Advance(90 * time.Minute)
	p := b.get(endSessionURL(endSession, url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {testPostLogout}, "state": {"st-1"}}))
	loc := b.location(p)
	if p.resp.StatusCode != http.StatusSeeOther || loc.Scheme+"://"+loc.Host+loc.Path != testPostLogout || loc.Query().Get("state") != "st-1" {
		t.Fatalf("logout answered %d to %s", p.resp.StatusCode, loc)
	}
	if !asksLogin(t, f, b) {
		t.Fatal("after logout the authorization request did not ask for a login")
	}
	// A second logout without a session, by client_id and as POST, still
	// redirects; with no URI it ends on the logged-out page.
	p = b.post("/end_session", url.Values{"client_id": {"demo"}, "post_logout_redirect_uri": {testPostLogout}})
	if p.resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST logout by client_id: %d %s", p.resp.StatusCode, p.body)
	}
	if p = b.get(endSession); p.resp.StatusCode != http.StatusOK || !p.has("logged-out") {
		t.Fatalf("logout without a redirect URI: %d %s", p.resp.StatusCode, p.body)
	}
}

func TestRPInitiatedLogoutRefusals(t *testing.T) {
	f := newFixture(t, nil)
	b := newBrowser(t, f)
	idToken, endSession := loggedIn(t, f, b)
	cases := []struct {
		name   string
		params url.Values
	}{
		{"unregistered post_logout_redirect_uri", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://attacker.invalid/"}}},
		{"a redirect URI but no client", url.Values{"post_logout_redirect_uri": {testPostLogout}}},
		{"client_id not the hint's audience", url.Values{"id_token_hint": {idToken}, "client_id": {"demo-legacy"}, "post_logout_redirect_uri": {testPostLogout}}},
		{"forged hint", url.Values{"id_token_hint": {"eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."}}},
		{"unknown client", url.Values{"client_id": {"nobody"}}},
		{"the demo-legacy client has no logout URIs", url.Values{"client_id": {"demo-legacy"}, "post_logout_redirect_uri": {testPostLogout}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := b.get(endSessionURL(endSession, tc.params))
			if p.resp.StatusCode != http.StatusBadRequest || !p.has("error") || p.resp.Header.Get("Location") != "" {
				t.Fatalf("got %d (Location %q): %s", p.resp.StatusCode, p.resp.Header.Get("Location"), p.body)
			}
			if !containsCode(p.body, oauth.InvalidRequest) {
				t.Fatalf("error page without invalid_request: %s", p.body)
			}
		})
	}
	if asksLogin(t, f, b) {
		t.Fatal("a refused logout ended the session")
	}
	if p := b.post("/end_session?x=1", url.Values{}); p.resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST with a query: %d", p.resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPut, endSession, nil)
	if p := b.do(req); p.resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d", p.resp.StatusCode)
	}
}

func containsCode(body string, code oauth.ErrorCode) bool {
	return strings.Contains(body, `id="error">`+code.String()+`<`)
}
