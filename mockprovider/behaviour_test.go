package mockprovider

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/grantbench/grantbench/oauth"
)

// With defer_authorization_errors a bad PKCE challenge or a repeated
// parameter is refused after login and consent, with an error redirect to
// the client that carries the state; without it, at once.
func TestDeferAuthorizationErrors(t *testing.T) {
	for _, deferred := range []bool{false, true} {
		f := newFixture(t, func(c *Config) { c.Behaviour.DeferAuthorizationErrors = deferred })
		conf := oauthConfig(f, "demo-public", "", "openid")
		for name, authURL := range map[string]string{
			"no challenge (public client)": conf.AuthCodeURL("st-1"),
			"plain challenge":              conf.AuthCodeURL("st-1", oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("code_challenge_method", "plain")),
			"scope twice":                  conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())) + "&scope=openid",
		} {
			b := newBrowser(t, f)
			first := b.get(authURL)
			if !deferred {
				if first.resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("%s: refused at once: want 303, got %d", name, first.resp.StatusCode)
				}
				if q := b.location(first).Query(); q.Get("error") != oauth.InvalidRequest.String() {
					t.Errorf("%s: error %q, want invalid_request", name, q.Get("error"))
				}
				continue
			}
			if !first.has("login-form") {
				t.Fatalf("%s: deferred: want the login page first, got %d", name, first.resp.StatusCode)
			}
			consent := b.login(first, "alice", "wonderland")
			q := b.location(b.submit(consent, "/consent", url.Values{"decision": {"approve"}})).Query()
			if q.Get("error") != oauth.InvalidRequest.String() || q.Get("state") != "st-1" || q.Has("code") {
				t.Errorf("%s: deferred refusal %v, want invalid_request with the state and no code", name, q)
			}
		}
	}
}

// With login_app the authorization endpoint redirects to a login page bound
// to a cookie; only that page carries the framing headers.
func TestLoginAppBehaviour(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Behaviour.LoginApp = true })
	conf := oauthConfig(f, "demo", "demo-secret", "openid")
	authURL := conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	b := newBrowser(t, f)
	first := b.get(authURL)
	if first.resp.StatusCode != http.StatusSeeOther || first.resp.Header.Get("X-Frame-Options") != "" {
		t.Fatalf("authorize: %d with X-Frame-Options %q, want a 303 without framing headers", first.resp.StatusCode, first.resp.Header.Get("X-Frame-Options"))
	}
	loginURL := b.location(first)
	if other := newBrowser(t, f).get(loginURL.String()); other.resp.StatusCode != http.StatusBadRequest || other.has("login-form") {
		t.Errorf("login page without the cookie: %d, want the error page", other.resp.StatusCode)
	}
	login := b.get(loginURL.String())
	if !login.has("login-form") || login.resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("login page: %d, X-Frame-Options %q", login.resp.StatusCode, login.resp.Header.Get("X-Frame-Options"))
	}
	consent := b.login(login, "alice", "wonderland")
	if q := b.location(b.submit(consent, "/consent", url.Values{"decision": {"approve"}})).Query(); q.Get("code") == "" {
		t.Errorf("no code after the login app: %v", q)
	}
}

// offline_access_needs_consent issues a refresh token only when the request
// had prompt=consent; remember_consent skips the consent page the session
// answered, unless prompt=consent.
func TestOfflineAccessAndRememberedConsent(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Behaviour.OfflineAccessNeedsConsent = true
		c.Behaviour.RememberConsent = true
	})
	conf := oauthConfig(f, "demo", "demo-secret", "openid", "offline_access")
	b := newBrowser(t, f)
	exchange := func(code, verifier string) *oauth2.Token {
		t.Helper()
		tok, err := conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	code, verifier := codeFlow(t, f, b, conf, "s1")
	if tok := exchange(code, verifier); tok.RefreshToken != "" {
		t.Errorf("offline_access without prompt=consent gave a refresh token")
	}
	// The session approved these scopes: no consent page now.
	verifier = oauth2.GenerateVerifier()
	again := b.get(conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier)))
	if again.resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remembered consent: want a 303 to the client, got %d", again.resp.StatusCode)
	}
	if code := b.location(again).Query().Get("code"); code == "" {
		t.Fatal("remembered consent gave no code")
	}
	code, verifier = codeFlow(t, f, b, conf, "s3", oauth2.SetAuthURLParam("prompt", "consent"))
	tok := exchange(code, verifier)
	if tok.RefreshToken == "" {
		t.Errorf("offline_access with prompt=consent gave no refresh token")
	}
	if scope, _ := tok.Extra("scope").(string); !slices.Contains(strings.Fields(scope), oauth.ScopeOfflineAccess) {
		t.Errorf("scope %q lacks offline_access", scope)
	}
}

// error_page_status, unadvertised_endpoints and clock_skew.
func TestErrorStatusEndpointsAndSkewBehaviours(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Behaviour.ErrorPageStatus = 500
		c.Behaviour.UnadvertisedEndpoints = true
		c.Behaviour.ClockSkew = DefaultClockSkew
	})
	b := newBrowser(t, f)
	resp, err := http.Get(f.url("/authorize?client_id=nobody"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 || resp.Header.Get("Location") != "" {
		t.Errorf("error page: %d, want 500 and no redirect", resp.StatusCode)
	}
	var md map[string]any
	if err := json.Unmarshal([]byte(b.get("/.well-known/openid-configuration").body), &md); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"introspection_endpoint", "revocation_endpoint"} {
		if _, ok := md[k]; ok {
			t.Errorf("metadata advertises %s", k)
		}
	}
	conf := oauthConfig(f, "demo", "demo-secret", "openid")
	code, verifier := codeFlow(t, f, b, conf, "s")
	tok, err := conf.Exchange(testContext(t), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(f.cfg.Lifetimes.AccessToken + DefaultClockSkew/2)
	if got := introspect(t, f, tok.AccessToken); got["active"] != true {
		t.Errorf("within the clock skew: active %v, want true", got["active"])
	}
	f.clock.Advance(DefaultClockSkew)
	if got := introspect(t, f, tok.AccessToken); got["active"] != false {
		t.Errorf("past exp plus the clock skew: active %v, want false", got["active"])
	}
}

// Each fairness setting switches on its behaviour.
func TestFairnessSettingsSwitchOnTheirBehaviour(t *testing.T) {
	for name, on := range pageSettings {
		cfg, err := DefaultConfig()
		if err != nil {
			t.Fatal(err)
		}
		if on(cfg.Behaviour) {
			t.Errorf("%s: on by default", name)
		}
		if err := cfg.ApplySetting(name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !on(cfg.Behaviour) {
			t.Errorf("%s: the setting did not switch its behaviour on", name)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// pageSettings are the settings this file tests, each with the behaviour it
// switches on.
var pageSettings = map[string]func(Behaviour) bool{
	"defer_authorization_errors":   func(b Behaviour) bool { return b.DeferAuthorizationErrors },
	"login_app":                    func(b Behaviour) bool { return b.LoginApp },
	"error_pages_500":              func(b Behaviour) bool { return b.ErrorPageStatus == ServerErrorPageStatus },
	"offline_access_needs_consent": func(b Behaviour) bool { return b.OfflineAccessNeedsConsent },
	"clock_skew":                   func(b Behaviour) bool { return b.ClockSkew == DefaultClockSkew },
	"unadvertised_endpoints":       func(b Behaviour) bool { return b.UnadvertisedEndpoints },
	"remember_consent":             func(b Behaviour) bool { return b.RememberConsent },
	"custom_pages":                 func(b Behaviour) bool { return b.CustomPages },
	"device_denied_page":           func(b Behaviour) bool { return b.DeviceDeniedPage },
}
